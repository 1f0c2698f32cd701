"""The ledger folded into a snapshot answers as the batch objects did: what is done, which
stories are known (exact repeats, near copies, threads), what a reprocess supersedes. Runs
are real (``flows.batch.run_without_prefect``: lease, staging, commit protocol), outputs
are read back with DuckDB. Kills during a fold: ``tests/test_chaos.py`` (fold-every-run)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from bench.near_duplicates import DUPES
from flows.batch import IngestSettings, plan_batches, run_without_prefect
from schemas.errors import StorageError
from storage import open_storage
from storage.local import LocalStorage
from table.ledger import load_ledger
from table.snapshot import LEDGER_PREFIX, SNAPSHOT_POINTER, batch_id_of, read_pointer

STORIES = sorted(p for p in (DUPES / "stories").glob("*.txt") if "--" not in p.name)[:12]


def rows(store: Path) -> list[tuple[str, str, str | None, str | None]]:
    query = (
        "SELECT source_uri, story_id, duplicate_of, thread_id "
        f"FROM read_parquet('{store}/stories/**/*.parquet', hive_partitioning = true) ORDER BY source_uri"
    )
    return [(str(a), str(b), c, d) for a, b, c, d in duckdb.sql(query).fetchall()]


def batch_objects(store: Path) -> list[str]:
    return [i.key for i in LocalStorage(str(store)).list(LEDGER_PREFIX) if batch_id_of(i.key)]


def test_a_folded_ledger_plans_dedupes_and_reprocesses_as_the_batch_objects_did(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WIRE_INGEST_LEDGER_FOLD_AFTER", "2")
    landing, store = tmp_path / "landing", tmp_path / "store"
    landing.mkdir()
    for path in STORIES:
        (landing / path.name).write_bytes(path.read_bytes())
    settings = IngestSettings()
    first = run_without_prefect(str(landing), str(store), settings, 4)
    assert sum(s.inputs for s in first) == len(STORIES) and len(first) == 3
    pointer = read_pointer(LocalStorage(str(store)))
    assert pointer is not None and pointer[0]["rows"] == len(STORIES)
    assert batch_objects(store) == []  # folded, then deleted
    assert len(load_ledger(LocalStorage(str(store))).done) == len(STORIES)

    # Nothing new: nothing planned, nothing written.
    assert run_without_prefect(str(landing), str(store), settings, 4) == []

    # One new batch (not folded: one is under the threshold): a near copy and an exact
    # repeat of stories that are only in the snapshot now.
    base = STORIES[0].stem
    copy = DUPES / "stories" / f"{base}--update1.txt"
    (landing / "z-update.txt").write_bytes(copy.read_bytes())
    (landing / "z-repeat.txt").write_bytes(STORIES[1].read_bytes())
    second = run_without_prefect(str(landing), str(store), settings, 4)
    assert [(s.inputs, s.stories, s.duplicates, s.near_duplicates) for s in second] == [(2, 1, 1, 1)]
    assert len(batch_objects(store)) == 1
    found = {Path(uri).name: (sid, dup, thread) for uri, sid, dup, thread in rows(store)}
    original = found[STORIES[0].name][0]
    assert found["z-update.txt"][1] == original and found["z-update.txt"][2] == original
    index = load_ledger(LocalStorage(str(store)))
    assert index.done[str(landing / "z-repeat.txt")].outcome == "duplicate"
    assert len(index.done) == len(STORIES) + 2

    # A reprocess of everything: each input once afterwards, in the rows and in the ledger.
    run_without_prefect(str(landing), str(store), settings, 4, reprocess=True)
    after = rows(store)
    assert len(after) == len({uri for uri, *_ in after}) == len(STORIES) + 1  # the repeat is no row
    index = load_ledger(LocalStorage(str(store)))
    assert len(index.done) == len(STORIES) + 2
    assert read_pointer(LocalStorage(str(store)))[0]["rows"] == len(STORIES) + 2  # type: ignore[index]


@pytest.mark.parametrize("part", ["keys", "revisions"])
def test_a_damaged_snapshot_stops_planning_with_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, part: str
) -> None:
    monkeypatch.setenv("WIRE_INGEST_LEDGER_FOLD_AFTER", "1")
    landing, store = tmp_path / "landing", tmp_path / "store"
    landing.mkdir()
    for path in STORIES[:3]:
        (landing / path.name).write_bytes(path.read_bytes())
    run_without_prefect(str(landing), str(store), IngestSettings(), 4)
    pointer = read_pointer(LocalStorage(str(store)))
    assert pointer is not None
    damaged = store / pointer[0]["layers"][-1][part]
    damaged.write_bytes(damaged.read_bytes()[:-5])
    with pytest.raises(StorageError, match=r"damaged.*do not delete"):
        plan_batches(open_storage(str(landing)), load_ledger(LocalStorage(str(store))), 4, IngestSettings())
    assert (store / SNAPSHOT_POINTER).exists()
    if part == "revisions":  # only the rewrite check needs it: a run without it goes on
        assert (
            plan_batches(
                open_storage(str(landing)),
                load_ledger(LocalStorage(str(store))),
                4,
                IngestSettings(detect_rewrites=False),
            )
            == []
        )


def test_local_listing_streams_in_key_byte_order(tmp_path: Path) -> None:
    for name in ("a0.txt", "a/b.txt", "a.txt", "a-b.txt", "b/c/d.txt", "_staging/x", "B.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    listed = [i.key for i in LocalStorage(str(tmp_path)).list()]
    assert (
        listed
        == sorted(listed, key=lambda k: k.encode())
        == ["B.txt", "a-b.txt", "a.txt", "a/b.txt", "a0.txt", "b/c/d.txt"]
    )
    assert [i.key for i in LocalStorage(str(tmp_path)).list("a/")] == ["a/b.txt"]
    assert [i.key for i in LocalStorage(str(tmp_path)).list("b/c")] == ["b/c/d.txt"]


def test_ledger_entries_serialize_as_asdict_did() -> None:
    # to_dict is written out by hand (asdict's deep copy was a tenth of a batch's commit):
    # the ledger's bytes must not change.
    import dataclasses

    from table.ledger import LedgerEntry, encode_ledger

    entries = [
        LedgerEntry("/a.txt", "s" * 64, "story", "b1", "i" * 64, "c" * 64, 123, None, None, "x", ["k1"], "ab", "10-20"),
        LedgerEntry("/b.txt", "t" * 64, "quarantined", "b1", reason="no_body", key="quarantine/x.json"),
        LedgerEntry("/c.txt", "u" * 64, "duplicate", "b1", story_id="i" * 64, duplicate_of="i" * 64),
    ]
    for entry in entries:
        row = entry.to_dict()
        assert row == dataclasses.asdict(entry) and list(row) == list(dataclasses.asdict(entry))
        if entry.paragraph_keys:
            assert row["paragraph_keys"] is not entry.paragraph_keys
    record = {"batch_id": "b1", "committed_at": "t", "entries": [dataclasses.asdict(e) for e in entries]}
    assert encode_ledger("b1", entries, "t") == json.dumps(record, ensure_ascii=False).encode("utf-8")


def test_a_fold_keeps_each_input_once_at_its_latest_commit(tmp_path: Path) -> None:
    # The fold turns each batch object into columns as it reads it; an input reprocessed in
    # a later batch keeps only that batch's entry, placed where that batch commits.
    from table.ledger import LedgerEntry, encode_ledger
    from table.snapshot import latest_entries

    store = LocalStorage(tmp_path / "store")

    def batch(batch_id: str, committed_at: str, uris: list[str]) -> str:
        entries = [LedgerEntry(u, "s" * 64, "story", batch_id, story_id=f"{batch_id}-{u}") for u in uris]
        key = f"_ledger/{batch_id}.json"
        store.put(key, encode_ledger(batch_id, entries, committed_at))
        return key

    keys = [batch("b-late", "2026-11-26T10:00:02", ["/b", "/x"]), batch("a-early", "2026-11-26T10:00:01", ["/a", "/b"])]
    table = latest_entries(store, keys)
    assert table.column("source_uri").to_pylist() == ["/a", "/b", "/x"]
    assert table.column("batch_id").to_pylist() == ["a-early", "b-late", "b-late"]
    # Read several at once where the store takes that (S3), to the same table.
    from tests.stores import AtOnceStore

    at_once = AtOnceStore(str(tmp_path / "store"))
    assert latest_entries(at_once, keys).equals(table) and at_once.most_at_once > 1


def test_a_fold_streams_row_groups_to_the_entries_a_whole_table_fold_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fold reads the old entries and writes the new ones a row group at a time (it held
    # the whole snapshot twice: 1.3-1.9 GB at 1,000,000 inputs). Across several row groups:
    # inputs reprocessed in later batches keep only their latest entry, in commit order;
    # rows before the window's stories lose their fingerprints; keys sorted, each with its
    # revision's hash. One input's key hash ends in a NUL byte (numpy's S16 drops it).
    import hashlib

    import numpy as np
    import pyarrow.parquet as pq

    from table import snapshot as snap
    from table.ledger import LedgerEntry, encode_ledger

    monkeypatch.setattr(snap, "SNAPSHOT_ROW_GROUP", 5)
    monkeypatch.setattr(snap, "MAX_LAYERS", 1)  # every fold merges all: one layer, as before layers
    monkeypatch.setenv("WIRE_INGEST_DUPLICATE_WINDOW", "4")
    nul = next(f"/in/nul-{n}" for n in range(10_000) if snap.uri_hash(f"/in/nul-{n}").endswith(b"\0"))
    store = LocalStorage(tmp_path / "store")
    expected: dict[str, dict[str, object]] = {}  # by input, in commit order of its latest entry
    for number in range(12):
        batch_id = f"b{number:02d}"
        uris = [f"/in/{number}-{n}" for n in range(3)] + [f"/in/{(number * 5) % 7}-1", nul]
        entries = []
        for n, uri in enumerate(dict.fromkeys(uris)):
            outcome = "quarantined" if n == 2 else "story"
            digest = hashlib.sha256(f"{batch_id}{uri}".encode()).hexdigest()
            entry = LedgerEntry(
                uri,
                digest,
                outcome,
                batch_id,
                story_id=digest,
                paragraph_keys=[digest[:16]],
                minhash=digest[:8],
                revision=f"{number}:{n}",
            )
            entries.append(entry)
            expected.pop(uri, None)
            expected[uri] = {"batch_id": batch_id, "outcome": outcome, "revision": entry.revision}
        store.put(f"_ledger/{batch_id}.json", encode_ledger(batch_id, entries, f"2026-11-28T00:00:{number:02d}"))
        if number % 3 == 2:
            assert snap.fold(store, min_batches=1) is not None
    found = read_pointer(store)
    assert found is not None
    [pointer] = found[0]["layers"]
    entries_file = pq.ParquetFile(tmp_path / "store" / pointer["entries"])
    sizes = [entries_file.metadata.row_group(g).num_rows for g in range(entries_file.metadata.num_row_groups)]
    assert len(sizes) > 3 and set(sizes[:-1]) == {5}
    table = entries_file.read()
    assert table.column("source_uri").to_pylist() == list(expected)
    assert [
        (r["batch_id"], r["outcome"], r["revision"])
        for r in table.select(["batch_id", "outcome", "revision"]).to_pylist()
    ] == [tuple(v.values()) for v in expected.values()]
    stories = [i for i, v in enumerate(expected.values()) if v["outcome"] == "story"]
    kept = [keys is not None for keys in table.column("paragraph_keys").to_pylist()]
    assert kept == [i >= stories[-4] for i in range(len(expected))]  # every row from the window's first story
    keys = (tmp_path / "store" / pointer["keys"]).read_bytes()
    assert keys == b"".join(sorted(snap.uri_hash(u) for u in expected))
    revisions = np.frombuffer((tmp_path / "store" / pointer["revisions"]).read_bytes(), dtype="S8")
    by_key = {snap.uri_hash(u): snap.revision_hash(str(v["revision"])) for u, v in expected.items()}
    assert [bytes(r).ljust(8, b"\0") for r in revisions] == [
        by_key[keys[i : i + 16]].ljust(8, b"\0") for i in range(0, len(keys), 16)
    ]
    assert len(load_ledger(store).done) == len(expected)
    # A reprocess reads its inputs' entries from the row groups holding them only.
    asked = ["/in/absent", nul, *[u for u in list(expected)[::4] if u != nul]]
    got = load_ledger(store).done.get_many(asked)
    assert list(got) == asked[1:] and all(got[u].batch_id == expected[u]["batch_id"] for u in got)
    assert load_ledger(store).done.get("/in/absent") is None and load_ledger(store).done[nul].batch_id == "b11"


@pytest.mark.parametrize("shadow_lookup", ["by key lists", "layer by layer", "overlaps not recorded"])
@pytest.mark.parametrize(
    ("sizes", "max_layers"),
    [([5] * 12, 12), ([40, 20, 10, 6, 4, 3, 2, 2, 1], 3), ([3, 3, 30, 3, 3, 3, 3, 3, 3, 3], 12)],
)
def test_folds_stack_in_layers_that_answer_as_one_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sizes: list[int], max_layers: int, shadow_lookup: str
) -> None:
    # A fold writes its batches as the newest layer, merged with the newest layers no
    # larger than what it merges so far (it rewrote the whole history every time). After
    # every fold the layers answer as one snapshot: each input once, at its latest entry
    # (inputs reprocessed later live in several layers), in commit order; done, rewritten,
    # reprocess lookups and the duplicate index (its window's stories with their
    # fingerprints, the older ones by id and body) as the batch objects would.
    import hashlib

    from table import snapshot as snap
    from table.ledger import LedgerEntry, encode_ledger

    monkeypatch.setattr(snap, "SNAPSHOT_ROW_GROUP", 4)
    monkeypatch.setattr(snap, "MAX_LAYERS", max_layers)
    # Shadowed rows found through each layer's list of keys newer layers hold, or by
    # looking each row up in the newer layers (what few lookups do).
    # Or with the layers' recorded overlaps taken out of the pointer after each fold: every
    # list is then made from the newer layers' whole keys, and folds work without them.
    monkeypatch.setattr(snap, "HIDDEN_OVER_LOOKUPS", 1e9 if shadow_lookup == "layer by layer" else 0.0)
    monkeypatch.setattr(snap, "LOOKUP_SLICE", 3)  # lists made from newer layers' keys a slice at a time
    monkeypatch.setenv("WIRE_INGEST_DUPLICATE_WINDOW", "6")
    nul = next(f"/in/nul-{n}" for n in range(10_000) if snap.uri_hash(f"/in/nul-{n}").endswith(b"\0"))
    store = LocalStorage(tmp_path / "store")
    expected: dict[str, LedgerEntry] = {}  # by input, in commit order of its latest entry
    layer_counts = []
    overlaps = []  # keys the layers hold that older layers held when they were written
    superseded: set[str] = set()  # story ids of entries a reprocess replaced: not current
    for number, size in enumerate(sizes):
        batch_id = f"b{number:02d}"
        uris = [f"/in/{number}-{n}" for n in range(size)]
        uris += [nul, *(list(expected)[(number * 7) % len(expected)] for _ in range(1) if expected)]
        entries = []
        for n, uri in enumerate(dict.fromkeys(uris)):
            digest = hashlib.sha256(f"{batch_id}{uri}".encode()).hexdigest()
            quarantined = n == 2 and uri not in expected
            entry = LedgerEntry(
                uri,
                digest,
                "quarantined" if quarantined else "story",
                batch_id,
                story_id=None if quarantined else digest,
                content_sha256=None if quarantined else hashlib.sha256(digest.encode()).hexdigest(),
                paragraph_keys=None if quarantined else [digest[:16], digest[16:32]],
                minhash=None if quarantined else digest[:16],
                revision=f"{number}:{n}",
            )
            entries.append(entry)
            if (before := expected.pop(uri, None)) is not None and before.story_id:
                superseded.add(before.story_id)
            expected[uri] = entry
        store.put(f"_ledger/{batch_id}.json", encode_ledger(batch_id, entries, f"2026-11-28T00:00:{number:02d}"))
        pointer = snap.fold(store, min_batches=1)
        assert pointer is not None and pointer["rows"] == len(expected)
        layers = pointer["layers"]
        layer_counts.append(len(layers))
        assert len(layers) <= max_layers
        assert sorted(i.key for i in store.list(snap.SNAPSHOT_PREFIX)) == sorted(
            layer[part] for layer in layers for part in snap.LAYER_FILES if part in layer
        )
        overlaps.append(sum(layer.get("overlap", 0) for layer in layers))
        if shadow_lookup == "overlaps not recorded":
            for layer in layers:
                layer.pop("overlap", None)
                layer.pop("overlap_keys", None)
            store.put(snap.SNAPSHOT_POINTER, json.dumps(pointer).encode())
        snapshot = snap.Snapshot(store, pointer)
        rows = list(snapshot.iter_rows())
        assert [(r["source_uri"], r["batch_id"]) for r in rows] == [(u, e.batch_id) for u, e in expected.items()]
        hashes = [snap.uri_hash(u) for u in [*expected, "/in/absent"]]
        found, changed = snapshot.lookup(hashes, [e.revision for e in expected.values()] + ["1:1"])
        assert found.tolist() == [True] * len(expected) + [False] and not changed.any()
        found, changed = snapshot.lookup(hashes, ["other"] * len(hashes))
        assert changed.tolist() == [True] * len(expected) + [False]  # each against its latest revision
        index = load_ledger(store)
        assert len(index.done) == len(expected)
        asked = [nul, "/in/absent", *list(expected)[::3]]
        got = index.done.get_many(asked)
        assert {u: e.batch_id for u, e in got.items()} == {u: expected[u].batch_id for u in asked if u in expected}
        stories = [e for e in expected.values() if e.outcome == "story"]
        index.history_matches([], [])
        assert set(index._prints) == {e.story_id for e in stories[-6:]}  # the window, in full
        assert all(count == 2 for count, _, _ in index._prints.values())  # with their fingerprints
        older = stories[:-6]
        known, owners = index.history_matches(
            [e.story_id or "" for e in older] + ["f" * 64], [e.content_sha256 or "" for e in older]
        )
        assert known == {e.story_id for e in older}
        assert owners == {e.content_sha256: e.story_id for e in older}
        assert not index.history_matches(sorted(superseded), [])[0] and not superseded & set(index._prints)
    assert max(layer_counts) >= 2  # layers did stack
    assert max(overlaps) >= 1  # and shadowed rows of older ones


def test_the_pointer_lists_only_the_batches_of_the_last_fold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every run reads the pointer; listing every batch ever folded made it grow for good.
    # Folding run after run, it names only the batches whose objects may still exist, and
    # the ledger still holds every input once.
    monkeypatch.setenv("WIRE_INGEST_LEDGER_FOLD_AFTER", "1")
    landing, store = tmp_path / "landing", tmp_path / "store"
    landing.mkdir()
    settings, root = IngestSettings(), LocalStorage(str(tmp_path / "store"))
    for number, path in enumerate(STORIES[:9]):
        (landing / path.name).write_bytes(path.read_bytes())
        if number % 3 == 2:  # three runs of three new inputs, one batch each
            [summary] = run_without_prefect(str(landing), str(store), settings, 4)
            found = read_pointer(root)
            assert found is not None and found[0]["folded"] == [summary.batch_id]
            assert batch_objects(store) == []
    assert found[0]["rows"] == 9 and len(load_ledger(root).done) == 9
    assert run_without_prefect(str(landing), str(store), settings, 4) == []


def test_a_store_that_takes_requests_at_once_is_read_that_way_with_the_same_ledger(tmp_path: Path) -> None:
    # Every run reads the unfolded batch objects (up to 50) at its start; on S3 one after
    # another they cost ~1-2.5 s there. Read several at once, the ledger is the same, and
    # batches still apply in commit order (an input's latest entry wins).
    from table.ledger import LedgerEntry, encode_ledger
    from tests.stores import AtOnceStore

    local = LocalStorage(tmp_path / "store")
    for n in range(12):  # committed in reverse name order: b-11 first
        entries = [LedgerEntry(f"/{n}", "s" * 64, "story", f"b-{n:02d}", story_id=f"id-{n}")]
        entries.append(LedgerEntry("/again", "s" * 64, "story", f"b-{n:02d}", story_id=f"again-{n}"))
        local.put(f"_ledger/b-{n:02d}.json", encode_ledger(f"b-{n:02d}", entries, f"2026-11-26T10:00:{59 - n:02d}"))
    one_by_one = load_ledger(local)
    at_once = AtOnceStore(str(tmp_path / "store"))
    index = load_ledger(at_once)
    assert at_once.most_at_once > 1 and sorted(at_once.reads) == sorted(set(at_once.reads))
    assert len(at_once.reads) == 12
    assert {u: e.story_id for u, e in index.done.items()} == {u: e.story_id for u, e in one_by_one.done.items()}
    assert index.done["/again"].story_id == "again-0" and index.batches == one_by_one.batches


def test_a_run_indexes_the_latest_stories_in_full_and_finds_exact_copies_in_all_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """WIRE_INGEST_DUPLICATE_WINDOW: a run loads the fingerprints of the history's latest
    stories only; older ones are matched by story id and body hash. So an exact repeat
    or a same-body copy of the oldest story is still caught; a near copy of it is caught
    only with the window covering it (here: 0 = all history, the control)."""
    import pyarrow.parquet as pq

    monkeypatch.setenv("WIRE_INGEST_LEDGER_FOLD_AFTER", "2")
    _, _, body = STORIES[1].read_bytes().partition(b"\n")
    new = {
        "z-repeat.txt": STORIES[0].read_bytes(),
        "z-same-body.txt": b"Another headline over the same story" + b"\n" + body,
        "z-old-update.txt": (DUPES / "stories" / f"{STORIES[0].stem}--update1.txt").read_bytes(),
        "z-new-update.txt": (DUPES / "stories" / f"{STORIES[-1].stem}--update1.txt").read_bytes(),
    }

    def scenario(window: int) -> dict[str, tuple[str, str | None]]:
        monkeypatch.setenv("WIRE_INGEST_DUPLICATE_WINDOW", str(window))
        landing, store = tmp_path / f"landing{window}", tmp_path / f"store{window}"
        landing.mkdir()
        for path in STORIES:
            (landing / path.name).write_bytes(path.read_bytes())
        run_without_prefect(str(landing), str(store), IngestSettings(), 4)  # 3 batches, folded
        pointer = read_pointer(LocalStorage(str(store)))
        assert pointer is not None and pointer[0]["rows"] == len(STORIES)
        [layer] = pointer[0]["layers"]  # three batches: the third merges the first two's layers
        snapshot = pq.read_table(store / layer["entries"])
        kept = [keys is not None for keys in snapshot.column("paragraph_keys").to_pylist()]
        assert kept == ([False] * (len(STORIES) - window) + [True] * window if window else [True] * len(STORIES))
        for name, data in new.items():
            (landing / name).write_bytes(data)
        run_without_prefect(str(landing), str(store), IngestSettings(), 4)
        index = load_ledger(LocalStorage(str(store)))
        found = {Path(uri).name: (sid, dup) for uri, sid, dup, _ in rows(store)}
        found["z-repeat.txt"] = (index.done[str(landing / "z-repeat.txt")].outcome, None)
        return found

    windowed, everything = scenario(3), scenario(0)
    for found in (windowed, everything):
        assert found["z-repeat.txt"][0] == "duplicate"  # the oldest story, sent again: no second row
        assert found["z-same-body.txt"][1] == found[STORIES[1].name][0]  # same body as an old story
        assert found["z-new-update.txt"][1] == found[STORIES[-1].name][0]  # a near copy inside the window
    assert everything["z-old-update.txt"][1] == everything[STORIES[0].name][0]
    assert windowed["z-old-update.txt"][1] is None  # a near copy of a story before the window: not looked for


def test_the_window_rows_are_read_from_their_row_groups_only() -> None:
    import io

    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from table.snapshot import read_rows

    buffer = io.BytesIO()
    pq.write_table(pa.table({"n": list(range(35)), "s": [f"r{i}" for i in range(35)]}), buffer, row_group_size=10)
    file = pq.ParquetFile(io.BytesIO(buffer.getvalue()))
    assert file.metadata.num_row_groups == 4
    rows = read_rows(file, np.array([12, 20, 34]), ["s", "n"])
    assert rows.column_names == ["s", "n"]
    assert rows.column("n").to_pylist() == [12, 20, 34]
    assert rows.column("s").to_pylist() == ["r12", "r20", "r34"]
    assert read_rows(file, np.array([], dtype=np.int64), ["n"]).num_rows == 0
    assert read_rows(file, np.array([0, 9, 10]), ["n"]).column("n").to_pylist() == [0, 9, 10]


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_large_objects_go_to_and_from_files_whole_and_a_fold_runs_on_them(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # A fold copies the snapshot's entries to a local file and uploads the new ones from
    # one (past 8 MB S3 takes them as a multipart upload, over real HTTP to moto here).
    import hashlib
    import os

    from table.ledger import LedgerEntry, encode_ledger
    from table.snapshot import fold

    if kind == "s3":
        bucket = request.getfixturevalue("s3_bucket")
        store = open_storage(f"s3://{bucket}/root")
    else:
        store = open_storage(str(tmp_path / "root"))
    data = os.urandom(9 * 1024 * 1024 + 5)
    (tmp_path / "big").write_bytes(data)
    assert store.put_file("_ledger/snapshots/big.bin", str(tmp_path / "big")) == hashlib.sha256(data).hexdigest()
    store.get_file("_ledger/snapshots/big.bin", str(tmp_path / "back"))
    assert (tmp_path / "back").read_bytes() == data and (tmp_path / "big").read_bytes() == data
    with pytest.raises(StorageError, match="cannot read"):
        store.get_file("_ledger/snapshots/missing.bin", str(tmp_path / "missing"))
    store.delete("_ledger/snapshots/big.bin")
    for number in range(3):
        entries = [
            LedgerEntry(f"/in/{number}-{n}", "s" * 64, "story", f"b{number}", story_id=f"{number}{n}") for n in range(4)
        ]
        store.put(f"_ledger/b{number}.json", encode_ledger(f"b{number}", entries, f"2026-11-28T00:00:0{number}"))
        assert fold(store, min_batches=1) is not None
    assert len(load_ledger(store).done) == 12
    assert sorted(info.key for info in store.list("_ledger/snapshots/"))[0].endswith(".keys")


def test_older_stories_are_looked_up_as_digests_as_they_were_as_text() -> None:
    # The stories before the duplicate window are held as 32-byte digests (~64 bytes a
    # story, not ~136 as text plus every entry's light columns while read); the answers
    # are those of the text lookup: known ids, and each body's earliest story.
    import hashlib

    import pyarrow as pa

    from table.ledger import DIGEST, OlderStories, _digests, _string_matches

    def h(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()

    nul = next(h(str(n)) for n in range(100_000) if h(str(n)).endswith("00"))  # a trailing NUL byte
    ids = [h(f"id{n}") for n in range(40)] + [nul]
    bodies = [h(f"body{n % 13}") for n in range(40)] + [nul]  # bodies repeat: the first story owns each
    groups = [slice(0, 15), slice(15, 33), slice(33, 41)]

    def digests(values: list[str]) -> pa.Array:
        found = _digests(pa.array(values, type=pa.string()))
        assert found is not None and found.type == DIGEST
        return found

    held = OlderStories([digests(ids[g]) for g in groups], [digests(bodies[g]) for g in groups])
    text = (pa.chunked_array([ids]), pa.chunked_array([bodies]))
    asked_ids = [ids[3], nul, h("absent"), "not-a-digest", ids[3].upper()]
    asked_bodies = [bodies[20], nul, h("absent"), "", bodies[0]]
    expected = _string_matches(*text, asked_ids, asked_bodies)
    assert expected == ({ids[3], nul}, {bodies[20]: ids[7], nul: nul, bodies[0]: ids[0]})
    assert held.matches(asked_ids, asked_bodies) == expected and held._strings is None
    # Text that is not 64 lowercase hex characters is not taken as digests, and a row group
    # holding any is looked up as text.
    for odd in (["x"], [ids[0].upper()], [" " + ids[0][:62] + " "], [ids[0], None]):
        assert _digests(pa.array(odd, type=pa.string())) is None
    mixed = OlderStories(
        [digests(ids[:15]), pa.array(["x", *ids[15:]])], [digests(bodies[:15]), pa.array(["y", *bodies[15:]])]
    )
    assert mixed.matches([*asked_ids, "x"], [*asked_bodies, "y"]) == (expected[0] | {"x"}, {**expected[1], "y": "x"})


def test_a_snapshot_away_from_this_machine_is_copied_once_a_run(tmp_path: Path) -> None:
    # From S3 the entries file is copied to a temporary file; a run's duplicate index and
    # each reprocessing batch's entries read the one copy (it was once per reader).
    from table.ledger import LedgerEntry, encode_ledger
    from table.snapshot import fold

    class Remote(LocalStorage):
        copies = 0

        def local_path(self, key: str) -> str | None:
            return None  # as S3 answers

        def get_file(self, key: str, path: str) -> None:
            Remote.copies += 1
            super().get_file(key, path)

    store = Remote(tmp_path / "store")
    for number in range(2):
        entries = [
            LedgerEntry(
                f"/in/{number}-{n}",
                "s" * 64,
                "story",
                f"b{number}",
                story_id=f"{number}{n:063d}",
                content_sha256=f"{n:064d}",
            )
            for n in range(4)
        ]
        store.put(f"_ledger/b{number}.json", encode_ledger(f"b{number}", entries, f"2026-11-28T00:00:0{number}"))
        assert fold(store, min_batches=1) is not None
    Remote.copies = 0
    index = load_ledger(store)
    index.window = 2
    assert index.history_matches(["0" + "0" * 63], ["0" * 64]) == ({"0" + "0" * 63}, {"0" * 64: "0" + "0" * 63})
    assert set(index.done.get_many(["/in/0-1", "/in/1-2"])) == {"/in/0-1", "/in/1-2"}
    assert index.done.get("/in/1-3") is not None and Remote.copies == 1


def test_a_layered_snapshot_reads_its_layers_files_at_once(tmp_path: Path) -> None:
    # With up to MAX_LAYERS layers, a run reads each layer's keys and revisions, and to
    # build its duplicate index copies each layer's entries from S3: one round trip after
    # another they would add up. On a store that takes requests at once they overlap,
    # each file read once.
    import threading
    import time
    from typing import ClassVar

    from table.ledger import LedgerEntry, encode_ledger
    from table.snapshot import fold
    from tests.stores import AtOnceStore

    local = LocalStorage(tmp_path / "store")
    uris = []
    for number, size in enumerate([8, 4, 2]):
        entries = [
            LedgerEntry(f"/in/{number}-{n}", "s" * 64, "story", f"b{number}", story_id=f"{number}-{n}", revision="1")
            for n in range(size)
        ]
        uris += [e.source_uri for e in entries]
        local.put(f"_ledger/b{number}.json", encode_ledger(f"b{number}", entries, f"2026-11-28T00:00:0{number}"))
        assert fold(local, min_batches=1) is not None
    found = read_pointer(local)
    assert found is not None and len(layers := found[0]["layers"]) == 3

    class Remote(AtOnceStore):
        copies: ClassVar[list[str]] = []
        copying = most_copying = 0
        lock = threading.Lock()

        def local_path(self, key: str) -> str | None:
            return None  # as S3 answers: entries are copied

        def get_file(self, key: str, path: str) -> None:
            with Remote.lock:
                Remote.copies.append(key)
                Remote.copying += 1
                Remote.most_copying = max(Remote.most_copying, Remote.copying)
            time.sleep(0.05)
            super().get_file(key, path)
            with Remote.lock:
                Remote.copying -= 1

    store = Remote(str(tmp_path / "store"))
    index = load_ledger(store)
    done, rewritten = index.done.check_many(uris, ["2"] * len(uris))
    assert all(done) and all(rewritten)
    small = sorted(k for k in store.reads if k.endswith((".keys", ".revs")))
    assert small == sorted(layer[part] for layer in layers for part in ("keys", "revisions"))
    assert store.most_at_once > 1
    assert len(index.story_ids) == len(uris)  # the duplicate index: every layer's entries
    assert sorted(Remote.copies) == sorted(layer["entries"] for layer in layers) and Remote.most_copying > 1


def test_an_entry_marked_read_again_is_found_when_no_revision_is_listed(tmp_path: Path) -> None:
    """A run with ``--ignore-rewrites`` lists no revisions, and until the thirty-eighth
    session it took an input marked to be read again (``READ_AGAIN``: a copy of a story whose
    row went) as done: its story stayed in no row. Now the mark counts as a rewrite with or
    without a listed revision, in an unfolded batch object and in a folded layer, and a layer
    that holds no mark (counted when it is folded) has its revisions left unread."""
    from table.ledger import READ_AGAIN, LedgerEntry, encode_ledger
    from table.snapshot import fold
    from tests.stores import AtOnceStore

    local = LocalStorage(tmp_path / "store")

    def commit(number: int, entries: list[LedgerEntry]) -> None:
        local.put(f"_ledger/b{number}.json", encode_ledger(f"b{number}", entries, f"2026-11-30T00:00:0{number}"))

    def entry(name: str, number: int, revision: str) -> LedgerEntry:
        return LedgerEntry(f"/in/{name}", "s" * 64, "story", f"b{number}", story_id=name, revision=revision)

    commit(1, [entry(f"plain-{n}", 1, "1") for n in range(4)])
    assert fold(local, min_batches=1) is not None
    commit(2, [entry("marked", 2, READ_AGAIN), entry("other", 2, "1")])
    uris = [f"/in/plain-{n}" for n in range(4)] + ["/in/marked", "/in/other"]

    def ask(store: LocalStorage) -> list[bool]:
        done, rewritten = load_ledger(store).done.check_many(uris, [None] * len(uris))
        assert all(done)
        return rewritten

    assert ask(local) == [False] * 4 + [True, False]  # the mark in an unfolded batch object
    assert fold(local, min_batches=1) is not None
    pointer = read_pointer(local)
    assert pointer is not None
    assert [layer["read_again"] for layer in pointer[0]["layers"]] in ([0, 1], [1])
    store = AtOnceStore(str(tmp_path / "store"), delay=0)
    assert ask(store) == [False] * 4 + [True, False]  # the mark in a folded layer
    read_revisions = [key for key in store.reads if key.endswith(".revs")]
    assert read_revisions == [layer["revisions"] for layer in pointer[0]["layers"] if layer["read_again"]]
    # Listed revisions: the mark counts as a rewrite too, whatever revision is listed.
    done, rewritten = load_ledger(local).done.check_many(uris, ["1"] * len(uris))
    assert all(done) and rewritten == [False] * 4 + [True, False]
