"""An input rewritten in place after it was ingested is ingested again, its rows replaced.

A feed that corrects a story by overwriting its file (or a provider re-sending a fixed copy
of a file that was quarantined) used to lose the new bytes: the ledger held the path as
done. Runs now list each input with its revision (size and modification time for a file,
the ETag for an S3 object), the ledger and its snapshot keep it, and an input found at
another revision is planned again as a reprocess of itself. Real files, real flows, rows
read back with DuckDB and pyarrow.
"""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from flows.backfill import backfill, plan_backfill
from flows.batch import IngestSettings, PlanNotes, plan_batches, run_without_prefect
from flows.cli import build_parser, run_options
from flows.ingest import ingest_flow
from flows.replay import replay
from flows.report import RunTotals
from storage import open_storage
from storage.local import LocalStorage
from table.check import check_dataset
from table.ledger import READ_AGAIN, load_ledger
from table.snapshot import SNAPSHOT_POINTER
from tests.conftest import REPO

GOLDEN = REPO / "tests" / "golden"
CORRECTED = (GOLDEN / "reuters-corrected.txt").read_bytes()
# The story as first sent: the jobless rate wrong, no correction label or note.
FIRST = (
    CORRECTED.replace(b"CORRECTED-", b"")
    .replace(b" (Corrects jobless rate in headline and paragraph 1 to 5.9% from 5.8%)", b"")
    .replace(b"5.9% in November", b"5.8% in November")
    .replace(b"rose to 5.9% from 5.5%", b"rose to 5.8% from 5.5%")
)
OTHERS = ["reuters87-basic.txt", "bloomberg-idlib.txt"]


def age(path: Path, seconds: float) -> None:
    when = time.time() - seconds
    os.utime(path, (when, when))


def select(store: Path, columns: str) -> list[tuple[str, str, str]]:
    """(source file name, two more columns) of every row, read back with DuckDB."""
    found = duckdb.sql(
        f"SELECT source_uri, {columns} FROM read_parquet('{store}/stories/**/*.parquet', "
        "hive_partitioning = true, filename = true) ORDER BY source_uri"
    ).fetchall()
    return [(uri.rsplit("/", 1)[-1], first, second) for uri, first, second in found]


def rows(store: Path) -> list[tuple[str, str, str]]:
    """(source file name, story_id, body) of every row."""
    return select(store, "story_id, body")


def row_places(store: Path) -> list[tuple[str, str, str]]:
    """(source file name, the file holding its row, ingested_at) of every row."""
    return select(store, "filename, CAST(ingested_at AS VARCHAR)")


def landing_zone(tmp_path: Path) -> Path:
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "canada.txt").write_bytes(FIRST)
    for name in OTHERS:
        (landing / name).write_bytes((GOLDEN / name).read_bytes())
    (landing / "empty.txt").write_bytes(b"")  # quarantined: the provider sends it again later
    for path in landing.iterdir():
        age(path, 600)
    return landing


@pytest.mark.parametrize("fold_after", ["1", "1000"], ids=["snapshot", "batch-objects"])
def test_a_rewritten_input_replaces_its_rows_and_an_unchanged_one_is_left_alone(
    prefect_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fold_after: str
) -> None:
    """Through the ledger's batch objects and through its folded snapshot alike."""
    monkeypatch.setenv("WIRE_INGEST_LEDGER_FOLD_AFTER", fold_after)
    landing, store = landing_zone(tmp_path), tmp_path / "store"
    first = ingest_flow(source=str(landing), dest=str(store))
    assert first["stories"] == 3 and first["quarantined"] == {"empty": 1} and first["rewritten"] == 0
    before = rows(store)
    (canada,) = [body for name, _, body in before if name == "canada.txt"]
    assert "rose to 5.8%" in canada
    assert (store / SNAPSHOT_POINTER).exists() == (fold_after == "1")

    # The feed corrects the story in place; the provider re-sends the empty file whole.
    (landing / "canada.txt").write_bytes(CORRECTED)
    (landing / "empty.txt").write_bytes((GOLDEN / "reuters87-byline.txt").read_bytes())
    second = ingest_flow(source=str(landing), dest=str(store))
    assert second["inputs"] == 2 and second["rewritten"] == 2 and second["stories"] == 2
    assert second["quarantined_total"] == 0 and second["balanced"]
    after = rows(store)
    assert [name for name, _, _ in after] == sorted(["canada.txt", "empty.txt", *OTHERS])  # each input once
    (canada,) = [body for name, _, body in after if name == "canada.txt"]
    assert "rose to 5.9% from 5.5%" in canada and "5.8%" not in canada
    assert [row for row in after if row[0] in OTHERS] == [row for row in before if row[0] in OTHERS]
    assert not list((store / "quarantine").rglob("*.json"))  # the empty file's entry is replaced by its story

    # Touched, same bytes: read again, found unchanged, and its row stays where it was (same
    # file, same ingested_at); nothing is written but the ledger entry with its new revision.
    placed = row_places(store)
    files = sorted(p.relative_to(store) for p in (store / "stories").rglob("*.parquet"))
    age(landing / "bloomberg-idlib.txt", 30)
    third = ingest_flow(source=str(landing), dest=str(store))
    assert third["inputs"] == 1 and third["rewritten"] == 1 and third["unchanged"] == 1
    assert third["stories"] == 0 and third["files"] == 0 and third["balanced"]
    assert rows(store) == after and row_places(store) == placed
    assert sorted(p.relative_to(store) for p in (store / "stories").rglob("*.parquet")) == files
    table = pq.read_table(store / "stories", partitioning="hive")
    assert table.num_rows == len(set(table.column("source_uri").to_pylist())) == 4
    summary = dict(RunTotals.from_dict(third).rows())
    assert summary["  of which rewritten since ingested"] == "1"
    assert summary["    of those with the same bytes (rows kept)"] == "1"
    assert summary["inputs = stories + quarantined + duplicates + unchanged"] == "yes"

    # Nothing changed since: a no-op, whichever path the ledger takes.
    fourth = ingest_flow(source=str(landing), dest=str(store))
    assert fourth["inputs"] == 0 and fourth["rewritten"] == 0 and fourth["batches"] == 0

    # --reprocess is not a rewrite: the same bytes are parsed again and their rows rewritten.
    again = ingest_flow(source=str(landing), dest=str(store), reprocess=True)
    assert again["inputs"] == 4 and again["stories"] == 4 and again["unchanged"] == 0
    assert [at for _, _, at in row_places(store)] != [at for _, _, at in placed]
    assert [name for name, _, _ in rows(store)] == sorted(["canada.txt", "empty.txt", *OTHERS])


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_bundle_rewritten_with_a_corrected_member_replaces_that_members_row(
    prefect_server: str, tmp_path: Path
) -> None:
    """Members are listed at their bundle's revision: when the bundle is delivered again,
    each member is read again; the changed one replaces its row, the unchanged one keeps
    its row, a new one is added."""
    landing, store = tmp_path / "landing", tmp_path / "store"
    landing.mkdir()
    idlib = (GOLDEN / "bloomberg-idlib.txt").read_bytes()
    (landing / "wires.zip").write_bytes(zip_of({"canada.txt": FIRST, "idlib.txt": idlib}))
    first = ingest_flow(source=str(landing), dest=str(store))
    assert first["stories"] == 2
    placed = {name: (file, at) for name, file, at in row_places(store)}

    later = (GOLDEN / "reuters87-basic.txt").read_bytes()
    (landing / "wires.zip").write_bytes(zip_of({"canada.txt": CORRECTED, "idlib.txt": idlib, "later.txt": later}))
    second = ingest_flow(source=str(landing), dest=str(store))
    assert second["inputs"] == 3 and second["rewritten"] == 2 and second["unchanged"] == 1
    assert second["stories"] == 2 and second["balanced"]
    bodies = {name: body for name, _, body in rows(store)}
    assert sorted(bodies) == ["wires.zip#canada.txt", "wires.zip#idlib.txt", "wires.zip#later.txt"]
    assert "rose to 5.9%" in bodies["wires.zip#canada.txt"]
    now = {name: (file, at) for name, file, at in row_places(store)}
    assert now["wires.zip#idlib.txt"] == placed["wires.zip#idlib.txt"]  # kept where it was
    assert ingest_flow(source=str(landing), dest=str(store))["inputs"] == 0


def test_with_rewrites_ignored_a_rewritten_input_stays_as_it_was(prefect_server: str, tmp_path: Path) -> None:
    landing, store = landing_zone(tmp_path), tmp_path / "store"
    ingest_flow(source=str(landing), dest=str(store))
    before = rows(store)
    (landing / "canada.txt").write_bytes(CORRECTED)
    again = ingest_flow(source=str(landing), dest=str(store), detect_rewrites=False)
    assert again["inputs"] == 0 and rows(store) == before
    # Detection back on: the rewrite is still there to be found.
    later = ingest_flow(source=str(landing), dest=str(store))
    assert later["rewritten"] == 1 and rows(store) != before


def test_an_s3_object_overwritten_with_other_bytes_is_ingested_again_and_with_the_same_bytes_not(
    prefect_server: str, s3_bucket: str, tmp_path: Path
) -> None:
    """The ETag is the revision: re-uploading the same bytes changes nothing."""
    source = open_storage(f"s3://{s3_bucket}/landing")
    source.put("wire/canada.txt", FIRST)
    source.put("wire/idlib.txt", (GOLDEN / "bloomberg-idlib.txt").read_bytes())
    store = tmp_path / "store"
    assert ingest_flow(source=source.uri, dest=str(store))["stories"] == 2
    source.put("wire/idlib.txt", (GOLDEN / "bloomberg-idlib.txt").read_bytes())  # same bytes again
    source.put("wire/canada.txt", CORRECTED)
    again = ingest_flow(source=source.uri, dest=str(store))
    assert again["inputs"] == 1 and again["rewritten"] == 1
    bodies = {name: body for name, _, body in rows(store)}
    assert len(bodies) == 2 and "rose to 5.9%" in bodies["canada.txt"]


def test_a_snapshot_folded_before_revisions_were_kept_never_calls_an_input_rewritten(tmp_path: Path) -> None:
    """A store written by an earlier version: no ``.revs`` file, no revision column. Its
    inputs stay done whatever their files show; a new fold adds revisions for new inputs."""
    landing, store = landing_zone(tmp_path), tmp_path / "store"
    run_without_prefect(str(landing), str(store), IngestSettings(), 10)
    dest = LocalStorage(str(store))
    from table.snapshot import fold

    pointer = fold(dest, min_batches=1)
    assert pointer is not None
    # Make it the snapshot an earlier version wrote: one set of files named by a version 1
    # pointer, without revisions.
    [layer] = pointer["layers"]
    entries = store / layer["entries"]
    pq.write_table(pq.read_table(entries).drop_columns(["revision"]), entries)
    (store / layer["revisions"]).unlink()
    old = {"version": 1, "keys": layer["keys"], "entries": layer["entries"]}
    old.update({k: pointer[k] for k in ("rows", "folded", "folded_at")})
    (store / SNAPSHOT_POINTER).write_text(json.dumps(old))

    (landing / "canada.txt").write_bytes(CORRECTED)
    notes = PlanNotes()
    assert plan_batches(LocalStorage(str(landing)), load_ledger(dest), 10, IngestSettings(), notes=notes) == []
    assert notes.rewritten == []

    (landing / "new.txt").write_bytes((GOLDEN / "reuters87-byline.txt").read_bytes())
    run_without_prefect(str(landing), str(store), IngestSettings(), 10)
    assert fold(dest, min_batches=1) is not None
    (landing / "new.txt").write_bytes((GOLDEN / "reuters87-basic.txt").read_bytes())
    notes = PlanNotes()
    plans = plan_batches(LocalStorage(str(landing)), load_ledger(dest), 10, IngestSettings(), notes=notes)
    assert notes.rewritten == ["new.txt"] and [p.inputs for p in plans] == [["new.txt"]]


def test_a_backfill_ingests_a_rewritten_input_of_its_range_again(prefect_server: str, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    day = landing / "2019" / "12" / "06"
    day.mkdir(parents=True)
    (day / "canada.txt").write_bytes(FIRST)
    (day / "idlib.txt").write_bytes((GOLDEN / "bloomberg-idlib.txt").read_bytes())
    store = tmp_path / "store"
    start = end = date(2019, 12, 6)
    first = backfill(str(landing), str(store), start, end)
    assert first["stories"] == 2
    (day / "canada.txt").write_bytes(CORRECTED)
    plan = plan_backfill(LocalStorage(str(landing)), LocalStorage(str(store)), start, end, IngestSettings())
    assert plan.by_day == {start: ["2019/12/06/canada.txt"]} and set(plan.revisions) == {"2019/12/06/canada.txt"}
    again = backfill(str(landing), str(store), start, end)
    assert again["inputs"] == 1 and again["rewritten"] == 1
    bodies = {name: body for name, _, body in rows(store)}
    assert len(bodies) == 2 and "rose to 5.9%" in bodies["canada.txt"]
    # The backfill recorded the revision: an ingest of the same landing zone finds nothing new.
    assert ingest_flow(source=str(landing), dest=str(store))["inputs"] == 0


def test_a_replayed_input_records_its_revision_so_a_later_rewrite_is_noticed(
    prefect_server: str, tmp_path: Path
) -> None:
    landing, store = tmp_path / "landing", tmp_path / "store"
    (landing / "feed").mkdir(parents=True)
    (landing / "feed" / "item.txt").write_bytes(b"")
    age(landing / "feed" / "item.txt", 600)
    assert ingest_flow(source=str(landing), dest=str(store))["quarantined"] == {"empty": 1}
    replayed = replay(str(store))
    assert replayed["inputs"] == 1 and replayed["quarantined"] == {"empty": 1}
    (entry,) = [e for _, e in load_ledger(LocalStorage(str(store))).done.items()]
    info = next(LocalStorage(str(landing)).list("feed/"))
    assert entry.revision == info.revision and entry.outcome == "quarantined"

    (landing / "feed" / "item.txt").write_bytes(CORRECTED)  # the provider sends it whole
    later = ingest_flow(source=str(landing), dest=str(store))
    assert later["rewritten"] == 1 and later["stories"] == 1
    assert [name for name, _, _ in rows(store)] == ["item.txt"]
    assert not list((store / "quarantine").rglob("*.json"))


def test_the_ignore_rewrites_option() -> None:
    parser = build_parser()
    for command in (
        ["ingest", "in", "--dest", "out"],
        ["serve", "--source", "in", "--dest", "out"],
        ["backfill", "in", "--dest", "out", "--start", "2024-01-01", "--end", "2024-01-02"],
    ):
        assert run_options(parser.parse_args(command))["settings"].detect_rewrites is True
        assert run_options(parser.parse_args([*command, "--ignore-rewrites"]))["settings"].detect_rewrites is False


def story_rows(store: Path) -> list[tuple[str, str]]:
    """(source file name, headline) of every row, read back with DuckDB."""
    return [(name, headline) for name, headline, _ in select(store, "headline, story_id")]


def latest_entries(store: Path) -> dict[str, dict[str, object]]:
    """Each input's latest ledger entry (snapshot and unfolded batches), by file name."""
    index = load_ledger(LocalStorage(store))
    return {uri.rsplit("/", 1)[-1]: entry.to_dict() for uri, entry in index.done.items()}


@pytest.mark.parametrize("folded", [False, True], ids=["unfolded", "folded"])
def test_copies_of_a_rewritten_story_carry_its_row(
    prefect_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, folded: bool
) -> None:
    """``b.txt`` and ``c.txt`` are copies of ``a.txt``: exact duplicates, no rows of their
    own. ``a.txt`` is then overwritten with another story: its row goes, and its old story,
    still in the landing zone twice, must stay in the dataset (it was lost until the
    thirty-fifth session)."""
    if folded:  # every run folds its batches into the snapshot: the copies are found there
        monkeypatch.setenv("WIRE_INGEST_LEDGER_FOLD_AFTER", "1")
    landing, store = tmp_path / "landing", tmp_path / "store"
    landing.mkdir()
    idlib = (GOLDEN / "bloomberg-idlib.txt").read_bytes()
    (landing / "a.txt").write_bytes(idlib)
    ingest_flow(source=str(landing), dest=str(store))
    [(_, headline)] = story_rows(store)
    for copy in ("b.txt", "c.txt"):
        (landing / copy).write_bytes(idlib)
    assert ingest_flow(source=str(landing), dest=str(store))["duplicates"] == 2
    assert (store / "_ledger" / SNAPSHOT_POINTER.split("/")[-1]).exists() == folded

    (landing / "a.txt").write_bytes((GOLDEN / "ap-by-line.txt").read_bytes())
    third = ingest_flow(source=str(landing), dest=str(store))
    assert (third["rewritten"], third["inputs"], third["stories"], third["duplicates"]) == (1, 3, 2, 1)
    rows = story_rows(store)
    assert [name for name, _ in rows] == ["a.txt", "b.txt"] and rows[1][1] == headline
    entries = latest_entries(store)
    carried = entries["b.txt"]["story_id"]
    assert entries["b.txt"]["outcome"] == "story"
    assert (entries["c.txt"]["outcome"], entries["c.txt"]["duplicate_of"]) == ("duplicate", carried)
    assert ingest_flow(source=str(landing), dest=str(store))["inputs"] == 0  # settled

    # A reprocess of everything keeps one row per story, and both stories.
    again = ingest_flow(source=str(landing), dest=str(store), reprocess=True)
    assert (again["inputs"], again["stories"], again["duplicates"]) == (3, 2, 1)
    assert sorted(h for _, h in story_rows(store)) == sorted({h for _, h in rows})
    assert broken_copy_chains(store) == []


def two_landing_zones(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Two landing zones feeding one dataset root, ``b.txt`` in the second a copy of
    ``a.txt`` in the first; and the root."""
    first, second, store = tmp_path / "first", tmp_path / "second", tmp_path / "store"
    for landing, name in ((first, "a.txt"), (second, "b.txt")):
        landing.mkdir()
        (landing / name).write_bytes((GOLDEN / "bloomberg-idlib.txt").read_bytes())
    return first, second, store


@pytest.mark.parametrize("folded", [False, True], ids=["unfolded", "folded"])
@pytest.mark.parametrize("second_detects_rewrites", [True, False], ids=["revisions-listed", "ignore-rewrites"])
def test_a_copy_under_another_source_root_is_read_again_when_its_story_s_row_goes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, folded: bool, second_detects_rewrites: bool
) -> None:
    """Two landing zones feed one root; ``b.txt`` in the second is a copy of ``a.txt`` in
    the first (an exact duplicate: no row of its own). ``a.txt`` is then overwritten with
    another story: the run over the first landing zone cannot read ``b.txt``, so its entry
    is marked to be read again, and the next run over the second makes its story a row.
    Until the thirty-sixth session that story was in no row; until the thirty-eighth, it
    stayed in none when the second landing zone's runs ignore rewrites (they list no
    revisions, so the mark was never seen)."""
    if folded:
        monkeypatch.setenv("WIRE_INGEST_LEDGER_FOLD_AFTER", "1")
    first, second, store = two_landing_zones(tmp_path)
    settings = IngestSettings()
    second_settings = IngestSettings(detect_rewrites=second_detects_rewrites)
    run_without_prefect(str(first), str(store), settings, 10)
    [dup] = run_without_prefect(str(second), str(store), second_settings, 10)
    assert (dup.inputs, dup.duplicates) == (1, 1)
    [(_, headline)] = story_rows(store)

    (first / "a.txt").write_bytes((GOLDEN / "ap-by-line.txt").read_bytes())
    [rewrite] = run_without_prefect(str(first), str(store), settings, 10)
    assert (rewrite.inputs, rewrite.stories) == (1, 1)
    assert latest_entries(store)["b.txt"]["revision"] == READ_AGAIN
    [again] = run_without_prefect(str(second), str(store), second_settings, 10)
    assert (again.inputs, again.stories, again.unchanged) == (1, 1, 0)
    rows = story_rows(store)
    assert sorted(rows) == sorted([("a.txt", rows[0][1]), ("b.txt", headline)]) and rows[0][1] != headline
    assert latest_entries(store)["b.txt"]["outcome"] == "story"
    assert latest_entries(store)["b.txt"]["revision"] != READ_AGAIN
    for landing, each in ((first, settings), (second, second_settings)):  # settled: nothing to do
        assert run_without_prefect(str(landing), str(store), each, 10) == []


def test_through_the_flow_a_copy_under_another_source_root_keeps_its_story(prefect_server: str, tmp_path: Path) -> None:
    """The same through Prefect flow runs: the second landing zone's run counts its copy as
    rewritten, and writes it as its story's row."""
    first, second, store = two_landing_zones(tmp_path)
    ingest_flow(source=str(first), dest=str(store))
    assert ingest_flow(source=str(second), dest=str(store))["duplicates"] == 1
    [(_, headline)] = story_rows(store)
    (first / "a.txt").write_bytes((GOLDEN / "ap-by-line.txt").read_bytes())
    rewrite = ingest_flow(source=str(first), dest=str(store))
    assert (rewrite["rewritten"], rewrite["stories"], rewrite["balanced"]) == (1, 1, True)
    again = ingest_flow(source=str(second), dest=str(store))
    assert (again["inputs"], again["rewritten"], again["stories"], again["balanced"]) == (1, 1, 1, True)
    assert ("b.txt", headline) in story_rows(store) and len(story_rows(store)) == 2
    assert ingest_flow(source=str(second), dest=str(store))["inputs"] == 0


def test_a_copy_the_store_failed_to_read_is_read_again_when_its_story_s_row_goes(
    s3_endpoint: str, s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``b.txt``, a copy of ``a.txt``, is planned with ``a.txt``'s rewrite to carry the old
    story's row, but the store fails to read it: its entry still pointed at the row that was
    taken out, and, unchanged, it was never read again. Now it is marked to be read again,
    and the run after the store heals makes its story a row."""
    import boto3

    from tests.faultproxy import FaultProxy
    from tests.test_faults_and_secrets import endpoint

    monkeypatch.setenv("WIRE_INGEST_S3_MAX_ATTEMPTS", "2")
    client = boto3.client("s3")
    idlib = (GOLDEN / "bloomberg-idlib.txt").read_bytes()
    for key in ("landing/a.txt", "landing/b.txt"):
        client.put_object(Bucket=s3_bucket, Key=key, Body=idlib)
    source, store, settings = f"s3://{s3_bucket}/landing", tmp_path / "store", IngestSettings()
    run_without_prefect(source, str(store), settings, 10)
    [(_, headline)] = story_rows(store)
    client.put_object(Bucket=s3_bucket, Key="landing/a.txt", Body=(GOLDEN / "ap-by-line.txt").read_bytes())
    with FaultProxy(s3_endpoint, fail_gets_of="landing/b.txt") as proxy, endpoint(proxy.endpoint):
        [rewrite] = run_without_prefect(source, str(store), settings, 10)
        assert (rewrite.inputs, rewrite.stories, rewrite.unread) == (2, 1, 1)
        assert latest_entries(store)["b.txt"]["revision"] == READ_AGAIN
        proxy.heal()
        [again] = run_without_prefect(source, str(store), settings, 10)
    assert (again.inputs, again.stories) == (1, 1)
    assert ("b.txt", headline) in story_rows(store) and len(story_rows(store)) == 2


def test_a_new_copy_read_in_the_run_that_rewrites_its_story_is_that_story_s_row(tmp_path: Path) -> None:
    """``a.txt`` overwritten with another story while ``d.txt``, new, holds its old one: the
    rewrite runs first, so ``d.txt`` is the old story's row (before, read first, it was a
    duplicate of the row the rewrite then took out)."""
    landing, store = tmp_path / "landing", tmp_path / "store"
    landing.mkdir()
    idlib = (GOLDEN / "bloomberg-idlib.txt").read_bytes()
    (landing / "a.txt").write_bytes(idlib)
    run_without_prefect(str(landing), str(store), IngestSettings(), 10)
    [(_, headline)] = story_rows(store)
    (landing / "a.txt").write_bytes((GOLDEN / "ap-by-line.txt").read_bytes())
    (landing / "d.txt").write_bytes(idlib)
    done = run_without_prefect(str(landing), str(store), IngestSettings(), 10)
    assert [(s.inputs, s.stories, s.duplicates) for s in done] == [(1, 1, 0), (1, 1, 0)]
    rows = story_rows(store)
    assert [name for name, _ in rows] == ["a.txt", "d.txt"] and rows[1][1] == headline


DUPES = REPO / "tests" / "dupes" / "stories"


def broken_copy_chains(store: Path) -> list[tuple[str, str]]:
    """(source file name, duplicate_of) of every row whose ``duplicate_of`` chain does not end
    at a row that is nobody's copy: it names a story no row holds, or comes back to itself
    (then the query for the stories that are nobody's copy, ``duplicate_of IS NULL``, leaves
    the story out). Rows read back with DuckDB."""
    found = duckdb.sql(
        f"SELECT source_uri, story_id, duplicate_of FROM read_parquet('{store}/stories/**/*.parquet', "
        "hive_partitioning = true) ORDER BY source_uri"
    ).fetchall()
    copy_of = {story_id: of for _, story_id, of in found}
    broken = []
    for uri, story_id, of in found:
        seen = {story_id}
        while of is not None and of in copy_of and of not in seen:
            seen.add(of)
            of = copy_of[of]
        if of is not None:
            broken.append((uri.rsplit("/", 1)[-1], of))
    return broken


def duplicate_of_by_name(store: Path) -> dict[str, str | None]:
    return {name: of for name, of, _ in select(store, "duplicate_of, story_id")}


@pytest.mark.parametrize("folded", [False, True], ids=["unfolded", "folded"])
def test_a_near_copy_of_a_rewritten_story_is_read_with_the_rewrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, folded: bool
) -> None:
    """``b.txt`` is a republished near copy of ``a.txt``: a row of its own, ``duplicate_of``
    naming ``a.txt``'s story. ``a.txt`` is then overwritten with another story: its row goes,
    and ``b.txt`` is read again in the same batch, its row written again without pointing at
    a story no row holds (until the thirty-seventh session it kept naming it: a query for
    the stories that are nobody's copy, ``duplicate_of IS NULL``, left that story out)."""
    if folded:
        monkeypatch.setenv("WIRE_INGEST_LEDGER_FOLD_AFTER", "1")
    landing, store = tmp_path / "landing", tmp_path / "store"
    landing.mkdir()
    (landing / "a.txt").write_bytes((DUPES / "reuters-update1.txt").read_bytes())
    (landing / "b.txt").write_bytes((DUPES / "reuters-update1--republished.txt").read_bytes())
    settings = IngestSettings()
    [first] = run_without_prefect(str(landing), str(store), settings, 10)
    assert (first.stories, first.near_duplicates) == (2, 1)
    assert duplicate_of_by_name(store)["b.txt"] is not None

    (landing / "a.txt").write_bytes((GOLDEN / "ap-by-line.txt").read_bytes())
    [rewrite] = run_without_prefect(str(landing), str(store), settings, 10)
    assert (rewrite.inputs, rewrite.stories, rewrite.near_duplicates, rewrite.unchanged) == (2, 2, 0, 0)
    assert broken_copy_chains(store) == []
    assert duplicate_of_by_name(store) == {"a.txt": None, "b.txt": None}
    assert run_without_prefect(str(landing), str(store), settings, 10) == []  # settled


#: A story (X: paragraphs p1-p4), a copy of it with two paragraphs changed (Y: p1 p2 q3 q4)
#: and a copy of that copy with the other two changed (W: r1 r2 q3 q4), near Y but not X.
CHAIN_PARAGRAPHS = {
    "p1": "LONDON, Nov 20 (Reuters) - Crane operators at the port of Rotterdam voted on Wednesday to "
    "accept a two-year pay deal, ending a strike that had stranded hundreds of containers.",
    "p2": "The FNV union said 78% of members backed the agreement, which raises wages by 6% over two "
    "years and caps night shifts at four a week.",
    "p3": '"This is a fair outcome for people who keep Europe\'s biggest port running," FNV negotiator '
    "Niek Stam told reporters outside the union's offices.",
    "p4": "The strike began on Nov. 11 and had left more than 300 vessels waiting at anchor in the "
    "North Sea, according to data compiled by the port authority.",
    "q3": "Shipping lines that had diverted vessels to Antwerp and Hamburg during the stoppage said "
    "they would resume calls at Rotterdam from the weekend onwards.",
    "q4": "Port operator ECT said its terminals would be back at full capacity by Friday, with extra "
    "crews working through the night to clear the backlog of boxes.",
    "r1": "LONDON, Nov 20 (Reuters) - Europe's largest container port returned to normal operations "
    "on Thursday after dockworkers ended a walkout over wages and hours.",
    "r2": "Analysts at ING estimated that the week-long disruption had cost importers and exporters "
    "in the Netherlands and Germany several hundred million euros in delays.",
}


def chain_story(*paragraphs: str) -> bytes:
    """Reuters copy as a feed delivers it: headline, blank line, paragraphs, credit."""
    body = "\n\n".join(CHAIN_PARAGRAPHS[name] for name in paragraphs)
    credit = "(Reporting by Bart Meijer; Editing by Jan Harvey)"
    return f"Dutch port strike ends as crane operators accept pay deal\n\n{body}\n\n{credit}\n".encode()


@pytest.mark.parametrize("folded", [False, True], ids=["unfolded", "folded"])
def test_a_near_copy_read_again_never_names_a_copy_of_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, folded: bool
) -> None:
    """``c.txt`` (W) names ``b.txt`` (Y), which names ``a.txt`` (X). ``a.txt`` is overwritten
    with another story: Y is read again without X, and W, near Y, must not become Y's
    original (W names Y: the two would name each other, and neither would be among the
    stories that are nobody's copy)."""
    if folded:
        monkeypatch.setenv("WIRE_INGEST_LEDGER_FOLD_AFTER", "1")
    landing, store = tmp_path / "landing", tmp_path / "store"
    landing.mkdir()
    for name, paragraphs in (("a.txt", "p1 p2 p3 p4"), ("b.txt", "p1 p2 q3 q4"), ("c.txt", "r1 r2 q3 q4")):
        (landing / name).write_bytes(chain_story(*paragraphs.split()))
    settings = IngestSettings()
    [first] = run_without_prefect(str(landing), str(store), settings, 10)
    assert (first.stories, first.near_duplicates) == (3, 2)
    ids = {name: story_id for name, _, story_id in select(store, "duplicate_of, story_id")}
    assert duplicate_of_by_name(store) == {"a.txt": None, "b.txt": ids["a.txt"], "c.txt": ids["b.txt"]}

    (landing / "a.txt").write_bytes((GOLDEN / "ap-by-line.txt").read_bytes())
    [rewrite] = run_without_prefect(str(landing), str(store), settings, 10)
    assert (rewrite.inputs, rewrite.stories) == (3, 3)  # c.txt too: its thread was a.txt's story
    assert broken_copy_chains(store) == []
    assert duplicate_of_by_name(store) == {"a.txt": None, "b.txt": None, "c.txt": ids["b.txt"]}
    assert run_without_prefect(str(landing), str(store), settings, 10) == []
    # One thread for the cluster that is left, b.txt's, in the rows written again and in a
    # copy of c.txt that comes later (its thread worked out from the ledger).
    (landing / "d.txt").write_bytes(chain_story(*"r1 r2 q3 q4".split()).replace(b"Thursday", b"Thursday morning"))
    [later] = run_without_prefect(str(landing), str(store), settings, 10)
    assert (later.stories, later.near_duplicates) == (1, 1)
    threads = {name: thread for name, thread, _ in select(store, "thread_id, story_id")}
    assert threads == {"a.txt": threads["a.txt"], "b.txt": ids["b.txt"], "c.txt": ids["b.txt"], "d.txt": ids["b.txt"]}
    # Reprocessing everything gives the same links and threads.
    links = duplicate_of_by_name(store)
    run_without_prefect(str(landing), str(store), settings, 10, reprocess=True)
    assert duplicate_of_by_name(store) == links and broken_copy_chains(store) == []
    assert {name: thread for name, thread, _ in select(store, "thread_id, story_id")} == threads


def test_a_near_copy_stays_a_copy_of_its_story_s_update(tmp_path: Path) -> None:
    """``a.txt`` overwritten with its story's update: ``b.txt``, read again with it, is a
    near copy of the update's row now (it is near both texts)."""
    landing, store = tmp_path / "landing", tmp_path / "store"
    landing.mkdir()
    (landing / "a.txt").write_bytes((DUPES / "reuters-update1.txt").read_bytes())
    (landing / "b.txt").write_bytes((DUPES / "reuters-update1--republished.txt").read_bytes())
    run_without_prefect(str(landing), str(store), IngestSettings(), 10)
    (landing / "a.txt").write_bytes((DUPES / "reuters-update1--update1.txt").read_bytes())
    run_without_prefect(str(landing), str(store), IngestSettings(), 10)
    assert broken_copy_chains(store) == []
    ids = {name: story_id for name, _, story_id in select(store, "duplicate_of, story_id")}
    assert duplicate_of_by_name(store) == {"a.txt": None, "b.txt": ids["a.txt"]}


def two_zones_with_a_near_copy(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Two landing zones feeding one root, ``b.txt`` in the second a republished near copy of
    ``a.txt`` in the first; and the root."""
    first, second, store = tmp_path / "first", tmp_path / "second", tmp_path / "store"
    for landing, name, text in (
        (first, "a.txt", "reuters-update1.txt"),
        (second, "b.txt", "reuters-update1--republished.txt"),
    ):
        landing.mkdir()
        (landing / name).write_bytes((DUPES / text).read_bytes())
    return first, second, store


def test_a_near_copy_under_another_source_root_is_read_again_when_its_story_s_row_goes(
    prefect_server: str, tmp_path: Path
) -> None:
    """The near copy in a second landing zone feeding the same root: the rewrite's run
    cannot read it, so its entry is marked to be read again, and the second zone's next
    flow run writes its row again, no longer naming the story that went. A copy of it that
    comes in between (``e.txt``) names it, in its thread; read again, it does not name
    ``e.txt`` back."""
    first, second, store = two_zones_with_a_near_copy(tmp_path)
    ingest_flow(source=str(first), dest=str(store))
    assert ingest_flow(source=str(second), dest=str(store))["near_duplicates"] == 1
    (first / "a.txt").write_bytes((GOLDEN / "ap-by-line.txt").read_bytes())
    ingest_flow(source=str(first), dest=str(store))
    assert latest_entries(store)["b.txt"]["revision"] == READ_AGAIN
    republished = (DUPES / "reuters-update1--republished.txt").read_bytes()
    (first / "e.txt").write_bytes(republished.replace(b"Wednesday", b"Wednesday evening"))
    assert ingest_flow(source=str(first), dest=str(store))["near_duplicates"] == 1
    waiting = check_dataset(LocalStorage(str(store)))  # b.txt waits; e.txt's chain ends at it
    assert waiting.ok and waiting.waiting == 1
    again = ingest_flow(source=str(second), dest=str(store))
    assert (again["inputs"], again["rewritten"], again["stories"], again["balanced"]) == (1, 1, 1, True)
    assert broken_copy_chains(store) == [] and duplicate_of_by_name(store)["b.txt"] is None
    assert len(story_rows(store)) == 3
    threads = {name: (thread, story_id) for name, thread, story_id in select(store, "thread_id, story_id")}
    b_id = threads["b.txt"][1]
    assert duplicate_of_by_name(store)["e.txt"] == b_id
    assert threads["b.txt"][0] == threads["e.txt"][0] == b_id  # b.txt's own thread now: a.txt's story went
    assert ingest_flow(source=str(second), dest=str(store))["inputs"] == 0
