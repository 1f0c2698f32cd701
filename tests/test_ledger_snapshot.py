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


def test_a_damaged_snapshot_stops_planning_with_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIRE_INGEST_LEDGER_FOLD_AFTER", "1")
    landing, store = tmp_path / "landing", tmp_path / "store"
    landing.mkdir()
    for path in STORIES[:3]:
        (landing / path.name).write_bytes(path.read_bytes())
    run_without_prefect(str(landing), str(store), IngestSettings(), 4)
    pointer = read_pointer(LocalStorage(str(store)))
    assert pointer is not None
    keys = store / pointer[0]["keys"]
    keys.write_bytes(keys.read_bytes()[:-5])
    with pytest.raises(StorageError, match=r"damaged.*do not delete"):
        plan_batches(open_storage(str(landing)), load_ledger(LocalStorage(str(store))), 4, IngestSettings())
    assert (store / SNAPSHOT_POINTER).exists()


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
