"""Files still being written in place: ``--settle`` leaves a landing zone's files that changed
within that time for a later run, so a story is never ingested half-written (and then taken
for done). Real files with real modification times; S3 through moto's server on loopback."""

from __future__ import annotations

import io
import os
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from flows.batch import IngestSettings, PlanNotes, plan_batches
from flows.cli import SERVE_SETTLE_SECONDS, build_parser, run_options
from flows.ingest import ingest_flow
from schemas.errors import ConfigError
from storage import open_storage
from storage.local import LocalStorage
from table.commit import BatchPlan
from table.ledger import LedgerIndex, load_ledger
from tests.conftest import REPO
from tests.test_flow_ingest import read_stories

SEED = (REPO / "tests" / "golden" / "bloomberg-idlib.txt").read_bytes()
LAST_SENTENCE = "the U.S. has supported Syrian Kurdish groups that Turkey considers terrorists."


def age(path: Path, seconds: float) -> None:
    """Set ``path``'s modification time ``seconds`` into the past (negative: the future)."""
    when = time.time() - seconds
    os.utime(path, (when, when))


def test_local_storage_names_the_files_changed_within_the_window(tmp_path: Path) -> None:
    for name in ("fresh.txt", "old.txt", "ahead.txt", "far-ahead.txt"):
        (tmp_path / name).write_bytes(b"x")
    age(tmp_path / "old.txt", 120)
    age(tmp_path / "ahead.txt", -10)  # a writer's clock a little ahead
    age(tmp_path / "far-ahead.txt", -7200)  # dated wrongly, not being written
    store = LocalStorage(str(tmp_path))
    keys = ["fresh.txt", "old.txt", "ahead.txt", "far-ahead.txt", "gone.txt"]
    assert store.settling(keys, 60, time.time()) == {"fresh.txt", "ahead.txt"}
    assert store.settling(keys, 0, time.time()) == set()
    assert store.settling(keys, 60, time.time() + 3600) == set()  # an hour later, all settled


def test_planning_leaves_changing_files_and_bundles_for_a_later_run(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    (landing / "wire").mkdir(parents=True)
    (landing / "wire" / "settled.txt").write_bytes(SEED)
    age(landing / "wire" / "settled.txt", 300)
    (landing / "wire" / "growing.txt").write_bytes(SEED[:500])
    # A zip still being copied in: truncated, it would list no members and be quarantined.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.txt", SEED)
        archive.writestr("b.txt", SEED.replace(b"Turkey", b"Turkiye"))
    (landing / "batch.zip").write_bytes(buffer.getvalue()[:200])

    reads: list[str] = []

    class CountingReads(LocalStorage):
        def get(self, key: str, limit: int | None = None) -> bytes:
            reads.append(key)
            return super().get(key, limit)

    source = CountingReads(str(landing))
    notes = PlanNotes()
    settings = IngestSettings(settle_seconds=60)
    plans = plan_batches(source, LedgerIndex(), 10, settings, notes=notes)
    assert [key for plan in plans for key in plan.inputs] == ["wire/settled.txt"]
    assert notes.settling == ["batch.zip", "wire/growing.txt"] and notes.left == 0
    assert reads == []  # the half-copied bundle was not opened

    # Without a settle time everything listed is planned at once (the bundle read to list it).
    everything = plan_batches(source, LedgerIndex(), 10, IngestSettings())
    assert sorted(key for plan in everything for key in plan.inputs) == [
        "batch.zip",
        "wire/growing.txt",
        "wire/settled.txt",
    ]

    # Copied and left alone: planned, the bundle as its members.
    (landing / "batch.zip").write_bytes(buffer.getvalue())
    (landing / "wire" / "growing.txt").write_bytes(SEED)
    age(landing / "batch.zip", 61)
    age(landing / "wire" / "growing.txt", 61)
    later = PlanNotes()
    plans = plan_batches(source, LedgerIndex(), 10, settings, notes=later)
    assert [key for plan in plans for key in plan.inputs] == [
        "batch.zip#a.txt",
        "batch.zip#b.txt",
        "wire/growing.txt",
        "wire/settled.txt",
    ]
    assert later.settling == []


def test_only_new_or_rewritten_inputs_are_asked_whether_they_settled(tmp_path: Path) -> None:
    """A done input the listing finds unchanged is not asked about; one touched since it was
    ingested is a rewrite (``detect_rewrites``), so it waits for its settle time too, then
    is planned again as a reprocess of itself. With ``detect_rewrites`` off it stays done."""
    landing, store = tmp_path / "landing", tmp_path / "store"
    landing.mkdir()
    for name in ("a.txt", "b.txt"):
        (landing / name).write_bytes(SEED.replace(b"Turkey", name.encode()))
        age(landing / name, 300)
    from flows.batch import run_without_prefect

    run_without_prefect(str(landing), str(store), IngestSettings(), 10)

    asked: list[str] = []

    class Watching(LocalStorage):
        def settling(self, keys: Sequence[str], seconds: float, now: float) -> set[str]:
            asked.extend(keys)
            return super().settling(keys, seconds, now)

    def plan(**settings: Any) -> tuple[list[BatchPlan], PlanNotes]:
        notes = PlanNotes()
        plans = plan_batches(
            Watching(str(landing)),
            load_ledger(LocalStorage(str(store))),
            10,
            IngestSettings(settle_seconds=60, **settings),
            notes=notes,
        )
        return plans, notes

    plans, notes = plan()
    assert plans == [] and notes.settling == [] and asked == []

    (landing / "a.txt").touch()  # changed after it was ingested
    plans, notes = plan(detect_rewrites=False)
    assert plans == [] and notes.settling == [] and asked == []
    plans, notes = plan()
    assert plans == [] and notes.settling == ["a.txt"] and notes.rewritten == [] and asked == ["a.txt"]

    age(landing / "a.txt", 120)
    plans, notes = plan()
    # b.txt, a near copy of a.txt's story (a word changed), is read with it, unasked: its row
    # is written again if a.txt's story loses its row (`flows.batch._copies_of`).
    assert [(p.inputs, p.reprocess) for p in plans] == [(["a.txt", "b.txt"], True)]
    assert notes.rewritten == ["a.txt"] and notes.settling == [] and asked == ["a.txt", "a.txt"]
    assert set(plans[0].revisions) == {"a.txt", "b.txt"}


def test_a_run_ingests_a_story_written_in_place_whole_once_it_settles(prefect_server: str, tmp_path: Path) -> None:
    landing, dest = tmp_path / "landing", str(tmp_path / "store")
    landing.mkdir()
    for number, path in enumerate(sorted((REPO / "tests" / "golden").glob("reuters-*.txt"))[:3]):
        (landing / f"old-{number}.txt").write_bytes(path.read_bytes())
        age(landing / f"old-{number}.txt", 600)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:  # a settled bundle: its members are inputs
        archive.writestr("a.txt", SEED.replace(b"Turkey", b"Turkiye"))
        archive.writestr("b.txt", SEED.replace(b"Russia", b"Moscow"))
    (landing / "bundle.zip").write_bytes(buffer.getvalue())
    age(landing / "bundle.zip", 600)
    growing = landing / "idlib.txt"
    growing.write_bytes(SEED[: len(SEED) // 2])  # the writer is half way through

    first = ingest_flow(source=str(landing), dest=dest, settle_seconds=60)
    assert first["inputs"] == 5 and first["settling"] == 1 and first["balanced"]
    uri = open_storage(str(landing)).full_uri("idlib.txt")
    assert uri not in {row["source_uri"] for row in read_stories(dest)}
    assert not (tmp_path / "store" / "quarantine").exists()

    growing.write_bytes(SEED)  # done writing; left alone past the settle time
    age(growing, 61)
    second = ingest_flow(source=str(landing), dest=dest, settle_seconds=60)
    assert second["inputs"] == 1 and second["stories"] == 1 and second["settling"] == 0
    (row,) = [row for row in read_stories(dest) if row["source_uri"] == uri]
    assert str(row["body"]).endswith(LAST_SENTENCE)
    assert row["copyright"] == "©2019 Bloomberg L.P."

    third = ingest_flow(source=str(landing), dest=dest, settle_seconds=60)
    assert third["inputs"] == 0 and third["settling"] == 0


def test_an_s3_landing_zone_is_never_held(prefect_server: str, s3_bucket: str, tmp_path: Path) -> None:
    """An object is listed only once its upload is complete, so --settle does not delay it."""
    source = open_storage(f"s3://{s3_bucket}/landing")
    source.put("wire/idlib.txt", SEED)
    assert source.settling(["wire/idlib.txt"], 3600, time.time()) == set()
    totals = ingest_flow(source=source.uri, dest=str(tmp_path / "store"), settle_seconds=3600)
    assert totals["stories"] == 1 and totals["settling"] == 0


def test_serve_settles_for_a_minute_by_default_and_the_other_commands_not_at_all() -> None:
    parser = build_parser()
    served = parser.parse_args(["serve", "--source", "in", "--dest", "out"])
    assert served.settle == SERVE_SETTLE_SECONDS == 60
    assert run_options(served)["settings"].settle_seconds == 60
    assert parser.parse_args(["ingest", "in", "--dest", "out"]).settle == 0
    assert (
        parser.parse_args(["backfill", "in", "--dest", "out", "--start", "2024-01-01", "--end", "2024-01-02"]).settle
        == 0
    )
    with pytest.raises(ConfigError, match="--settle"):
        run_options(parser.parse_args(["ingest", "in", "--dest", "out", "--settle", "-1"]))
