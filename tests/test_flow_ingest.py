"""The real Prefect flow, end to end, into a local root and into S3 over loopback HTTP.
Output is read back with pyarrow (hive partitions) and DuckDB."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.dataset as ds
import pytest

from flows.ingest import ingest_flow
from storage import open_storage
from table.commit import BatchPlan
from tests.corpus import BAD, golden_inputs


def stage(landing: Path) -> int:
    landing.mkdir(parents=True, exist_ok=True)
    for path in golden_inputs():
        (landing / path.name).write_bytes(path.read_bytes())
    # An exact copy at another path, and the bad inputs the contract names.
    seed = (landing / "bloomberg-idlib.txt").read_bytes()
    (landing / "copies").mkdir()
    (landing / "copies" / "idlib-again.txt").write_bytes(seed)
    for name, data in BAD.items():
        (landing / name).write_bytes(data)
    (landing / "huge.txt").write_bytes(b"Headline\n\n" + b"word " * 300_000)
    (landing / ".hidden.txt").write_bytes(seed)  # hidden files are not inputs
    return len(golden_inputs()) + 1 + len(BAD) + 1


def dest_uri(kind: str, tmp_path: Path, bucket: str | None) -> str:
    return str(tmp_path / "store") if kind == "local" else f"s3://{bucket}/datasets/wire"


@pytest.fixture(params=["local", "s3"])
def dest(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "s3":
        bucket = request.getfixturevalue("s3_bucket")
        return f"s3://{bucket}/datasets/wire"
    return str(tmp_path / "store")


def read_stories(dest: str) -> list[dict[str, object]]:
    store = open_storage(dest)
    keys = [info.key for info in store.list("stories/")]
    if dest.startswith("s3://"):
        import os

        import pyarrow.fs as pafs

        fs = pafs.S3FileSystem(
            endpoint_override=os.environ["AWS_ENDPOINT_URL"],
            scheme="http",
            access_key=os.environ["AWS_ACCESS_KEY_ID"],
            secret_key=os.environ["AWS_SECRET_ACCESS_KEY"],
            region="us-east-1",
        )
        base = dest.removeprefix("s3://")
        dataset = ds.dataset(
            [f"{base}/{k}" for k in keys], filesystem=fs, format="parquet", partitioning="hive", partition_base_dir=base
        )
    else:
        dataset = ds.dataset(Path(dest) / "stories", format="parquet", partitioning="hive")
    return dataset.to_table().to_pylist()


def test_ingest_end_to_end(prefect_server: str, tmp_path: Path, dest: str) -> None:
    expected_inputs = stage(tmp_path / "landing")
    totals = ingest_flow(source=str(tmp_path / "landing"), dest=dest, batch_size=7, max_bytes=1_000_000)
    assert totals["inputs"] == expected_inputs
    assert totals["balanced"] is True
    assert totals["duplicates"] == 1  # the copy of the seed
    assert totals["quarantined"] == {"empty": 1, "binary": 1, "no_body": 1, "too_large": 1}
    assert totals["stories"] == len(golden_inputs())

    rows = read_stories(dest)
    assert len(rows) == totals["stories"]
    ids = [r["story_id"] for r in rows]
    assert len(ids) == len(set(ids))
    seed = next(r for r in rows if str(r["source_uri"]).endswith("bloomberg-idlib.txt"))
    assert seed["agency"] == "bloomberg" and seed["word_count"] == 303
    assert seed["ingested_at"] is not None and seed["pipeline_version"]
    assert {r["agency"] for r in rows} >= {"bloomberg", "reuters", "ap", "afp"}

    store = open_storage(dest)
    manifests = [i.key for i in store.list("_manifests/") if "_pending" not in i.key]
    ledgers = [i.key for i in store.list("_ledger/")]
    assert len(manifests) == len(ledgers) == totals["batches"]
    assert not list(store.list("_manifests/_pending/"))
    quarantine = [json.loads(store.get(i.key)) for i in store.list("quarantine/")]
    assert sorted(q["reason"] for q in quarantine) == ["binary", "empty", "no_body", "too_large"]
    assert all(q["source_uri"] and q["detail"] for q in quarantine)
    for manifest_key in manifests:
        manifest = json.loads(store.get(manifest_key))
        for item in manifest["files"]:
            import hashlib

            assert hashlib.sha256(store.get(item["key"])).hexdigest() == item["sha256"]

    # Re-running over the same source adds nothing and writes nothing.
    before = sorted((i.key, i.size) for i in store.list())
    again = ingest_flow(source=str(tmp_path / "landing"), dest=dest, batch_size=7)
    assert again["inputs"] == 0 and again["files"] == 0
    assert sorted((i.key, i.size) for i in store.list()) == before


def test_duckdb_reads_the_local_dataset_with_hive_partitions(prefect_server: str, tmp_path: Path) -> None:
    stage(tmp_path / "landing")
    ingest_flow(source=str(tmp_path / "landing"), dest=str(tmp_path / "store"), batch_size=50, max_bytes=1_000_000)
    con = duckdb.connect()
    pattern = str(tmp_path / "store" / "stories" / "**" / "*.parquet")
    rows = con.execute(
        f"SELECT agency, date, count(*) FROM read_parquet('{pattern}', hive_partitioning = true) "
        "GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    assert sum(r[2] for r in rows) == len(golden_inputs())
    dates = {str(r[1]) for r in rows}
    assert "2021-11-29" in dates  # reuters-page.html's published_at
    seed_words = con.execute(
        f"SELECT word_count, len(contacts), copyright_year FROM read_parquet('{pattern}', hive_partitioning = true) "
        "WHERE headline LIKE 'Turkey Presses Russia%'"
    ).fetchall()
    assert seed_words == [(303, 6, 2019)]


def test_new_inputs_are_picked_up_by_the_next_run(prefect_server: str, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    golden = golden_inputs()
    for path in golden[:5]:
        (landing / path.name).write_bytes(path.read_bytes())
    first = ingest_flow(source=str(landing), dest=str(tmp_path / "store"), batch_size=3)
    for path in golden[5:9]:
        (landing / path.name).write_bytes(path.read_bytes())
    second = ingest_flow(source=str(landing), dest=str(tmp_path / "store"), batch_size=3)
    assert first["inputs"] == 5 and second["inputs"] == 4
    assert len(read_stories(str(tmp_path / "store"))) == first["stories"] + second["stories"]


def test_each_run_publishes_a_markdown_artifact(prefect_server: str, tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    stage(tmp_path / "landing")
    totals = ingest_flow(
        source=str(tmp_path / "landing"), dest=str(tmp_path / "store"), batch_size=50, max_bytes=1_000_000
    )
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["wire-ingest-run"]))
        )
    latest = max(artifacts, key=lambda a: a.created or 0)
    markdown = str(latest.data)
    assert str(tmp_path / "store") in markdown
    assert f"| inputs | {totals['inputs']} |" in markdown
    assert "too_large: 1" in markdown and "| exact duplicates (not written again) | 1 |" in markdown


def test_worker_processes_parse_exactly_as_one_process_does(prefect_server: str, tmp_path: Path) -> None:
    from tests.corpus import write_corpus

    write_corpus(tmp_path / "landing", 80, bad_every=11)
    one = ingest_flow(source=str(tmp_path / "landing"), dest=str(tmp_path / "one"), batch_size=40, workers=1)
    two = ingest_flow(source=str(tmp_path / "landing"), dest=str(tmp_path / "two"), batch_size=40, workers=2)
    assert one == two
    rows_one = {r["story_id"]: (r["headline"], r["body"], r["agency"]) for r in read_stories(str(tmp_path / "one"))}
    rows_two = {r["story_id"]: (r["headline"], r["body"], r["agency"]) for r in read_stories(str(tmp_path / "two"))}
    assert rows_one == rows_two and len(rows_one) == one["stories"]


def test_a_task_of_several_batches_retried_mid_way_runs_each_batch_once(prefect_server: str, tmp_path: Path) -> None:
    # A task runs several batches (a task run costs ~50 ms against a server); when one of
    # them fails, Prefect retries the task: the batches committed before the failure are
    # skipped and counted once, the failed one and those after it run.
    from prefect import flow

    from flows.batch import BatchSummary, IngestSettings, plan_batches
    from flows.ingest import batch_task, task_groups
    from schemas.errors import StorageError
    from storage.lease import Lease
    from storage.local import LocalStorage
    from table.ledger import load_ledger
    from tests.corpus import write_corpus

    class FailsOnce(LocalStorage):
        failed = False

        def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
            if key.startswith("_ledger/") and self.exists_ledger_count() == 1 and not FailsOnce.failed:
                FailsOnce.failed = True
                raise StorageError("storage went away at the second batch's commit point")
            return super().put(key, data, content_type)

        def exists_ledger_count(self) -> int:
            return sum(1 for k in self.keys("_ledger/") if k.count("/") == 1)

    write_corpus(tmp_path / "landing", 30, text_only=True)
    source, dest = LocalStorage(tmp_path / "landing"), FailsOnce(tmp_path / "store")
    index, settings = load_ledger(dest), IngestSettings(workers=1)
    plans = plan_batches(source, index, 10, settings)
    groups = task_groups(plans, task_inputs=1000)
    assert [len(g) for g in groups] == [3]
    assert [len(g) for g in task_groups(plans, task_inputs=10)] == [1, 1, 1]
    committed: dict[str, BatchSummary] = {}
    with Lease(dest, command="ingest") as lease:
        lease.acquire()

        @flow
        def one_task_two_tries() -> int:
            retried = batch_task.with_options(retries=1, retry_delay_seconds=0)
            return retried(groups[0], source, dest, index, settings, lease, committed)

        assert one_task_two_tries() == 2  # the retry ran the failed batch and the one after it
    assert FailsOnce.failed
    assert list(committed) == [p.batch_id for p in plans]
    assert sum(s.inputs for s in committed.values()) == 30
    ledger = [k for k in dest.keys("_ledger/") if k.count("/") == 1]
    assert sorted(ledger) == sorted(f"_ledger/{p.batch_id}.json" for p in plans)


def test_batches_write_the_same_bytes_whichever_process_prepares_the_stories(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Validation and fingerprints are worked out by the parse workers, each batch parsed
    # while the one before it is committed, and a task's last batch starts the next task's
    # first (`then`); the objects must be byte for byte those of batches prepared in this
    # process, one story at a time, one batch after another. A parse started for a next
    # task that does not take it is dropped, and the pool stays usable. A batch read in
    # slices, each read as the one before it is collected, writes the same bytes too.
    # The batches grow as a run's do (10, 20, 40, 40, 10 inputs).
    from datetime import UTC, datetime

    from flows import batch
    from flows.batch import IngestSettings, plan_batches, run_batch, run_plans
    from flows.workers import get_pool, resolve_workers
    from storage.local import LocalStorage
    from table.ledger import load_ledger
    from tests.corpus import write_corpus

    write_corpus(tmp_path / "landing", 120)
    source = LocalStorage(tmp_path / "landing")
    planned = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    stores = {}

    def run_with(name: str, plans: list[BatchPlan], *args: Any) -> None:
        source, dest, index, settings = args
        if name.startswith("pool"):
            run_plans(plans[:1], source, dest, index, settings, then=plans[1])
            assert list(batch._STARTED_AHEAD) == [plans[1].batch_id]
            if "dropped" in name:
                batch.drop_started_ahead()
            run_plans(plans[1:], source, dest, index, settings)
            assert not batch._STARTED_AHEAD
            assert not any(w.assigned for w in get_pool(resolve_workers(2)).workers)
        else:
            for plan in plans:
                run_batch(plan, source, dest, index, settings)

    monkeypatch.setattr(batch, "FIRST_BATCH", 10)
    for name, settings in (
        ("pool, two tasks", IngestSettings(workers=2)),
        ("pool, next task's parse dropped", IngestSettings(workers=2)),
        ("pool, read in slices", IngestSettings(workers=2)),
        ("in-process", IngestSettings(workers=1, parse_timeout=0)),
    ):
        dest = LocalStorage(tmp_path / name.replace(" ", "-").replace(",", ""))
        index = load_ledger(dest)
        plans = plan_batches(source, index, 40, settings, now=planned)
        assert [len(p.inputs) for p in plans] == [10, 20, 40, 40, 10]
        with monkeypatch.context() as patch:
            if "slices" in name:  # a slice of 3 inputs at a time, none read ahead
                patch.setattr(batch, "READ_SLICE", 3)
                patch.setattr(batch, "READ_AHEAD_BYTES", 1)
            run_with(name, plans, source, dest, index, settings)
        stores[name] = {k: dest.get(k) for k in dest.keys("") if not k.startswith("_staging/")}
    expected = stores.pop("in-process")
    for name, store in stores.items():
        assert any(k.startswith("stories/") for k in store)
        assert store.keys() == expected.keys(), name
        for key, data in store.items():
            other = expected[key]
            if key.startswith(("_ledger/", "_manifests/")):  # their commit times differ, nothing else
                data, other = (json.dumps({**json.loads(d), "committed_at": None}).encode() for d in (data, other))
            assert data == other, (name, key)


def test_a_failed_batch_drops_the_parse_started_ahead_and_the_pool_stays_usable(tmp_path: Path) -> None:
    # The third batch's parse is started before the second is committed; when that commit
    # fails, the third is not committed and its parse is dropped: its results, still coming
    # back from the workers, must not be taken for the next run's on the same pool.
    from flows.batch import BatchSummary, IngestSettings, plan_batches, run_plans
    from flows.workers import get_pool, resolve_workers
    from schemas.errors import StorageError
    from storage.local import LocalStorage
    from table.ledger import load_ledger
    from tests.corpus import write_corpus

    class FailsAtSecondCommit(LocalStorage):
        armed = True

        def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
            committed = sum(1 for k in self.keys("_ledger/") if k.count("/") == 1)
            if key.startswith("_ledger/") and committed == 1 and FailsAtSecondCommit.armed:
                FailsAtSecondCommit.armed = False
                raise StorageError("storage went away at the second batch's commit point")
            return super().put(key, data, content_type)

    write_corpus(tmp_path / "landing", 90, text_only=True)
    source, dest = LocalStorage(tmp_path / "landing"), FailsAtSecondCommit(tmp_path / "store")
    settings = IngestSettings(workers=2)
    index = load_ledger(dest)
    plans = plan_batches(source, index, 30, settings)
    done: list[str] = []

    def on_commit(plan: BatchPlan, summary: BatchSummary) -> None:
        done.append(plan.batch_id)

    with pytest.raises(StorageError):
        run_plans(plans, source, dest, index, settings, on_commit=on_commit)
    assert done == [plans[0].batch_id]
    pool = get_pool(resolve_workers(2))
    # The next run rolls the second batch forward, then plans only the third.
    from flows.batch import recover_pending

    index = load_ledger(dest)
    assert [s.batch_id for s in recover_pending(source, dest, index, settings)] == [plans[1].batch_id]
    again = plan_batches(source, index, 30, settings)
    assert [p.batch_id for p in again] == [p.batch_id for p in plans[2:]]
    run_plans(again, source, dest, index, settings, on_commit=on_commit)
    assert not any(w.assigned for w in pool.workers)  # nothing of the dropped parse is still out
    clean = LocalStorage(tmp_path / "clean")
    clean_index = load_ledger(clean)
    run_plans(plan_batches(source, clean_index, 30, settings), source, clean, clean_index, settings)

    def outcomes(store: LocalStorage) -> dict[str, tuple[str, str | None, str | None]]:
        return {uri: (e.outcome, e.story_id, e.duplicate_of) for uri, e in load_ledger(store).done.items()}

    assert len(outcomes(dest)) == 90
    assert outcomes(dest) == outcomes(clean)
    assert len([k for k in dest.keys("_ledger/") if k.count("/") == 1]) == 3


def test_each_task_hands_the_next_its_first_batch_parsed_ahead(
    prefect_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A run's tasks (about WIRE_INGEST_TASK_INPUTS inputs each) follow one another in the
    # flow's process: a task's last batch starts the parse of the next task's first. The
    # dataset and the ledger are those of a run made of one task.
    import flows.ingest
    from flows import batch
    from table.ledger import load_ledger
    from tests.corpus import write_corpus

    write_corpus(tmp_path / "landing", 60, text_only=True)
    started: list[str] = []
    real_start = batch.start_parse

    def recording_start(plan, source, settings, **kwargs):  # type: ignore[no-untyped-def]
        started.append(plan.batch_id)
        return real_start(plan, source, settings, **kwargs)

    monkeypatch.setattr(batch, "start_parse", recording_start)
    handed: list[bool] = []  # per task: was its first batch's parse started by the task before?
    real_run_plans = flows.ingest.run_plans

    def recording_run_plans(plans, *args, **kwargs):  # type: ignore[no-untyped-def]
        handed.append(bool(plans) and plans[0].batch_id in batch._STARTED_AHEAD)
        return real_run_plans(plans, *args, **kwargs)

    monkeypatch.setattr(flows.ingest, "run_plans", recording_run_plans)
    stores = {}
    for name, task_inputs in (("three tasks", 20), ("one task", 2000)):
        monkeypatch.setattr(flows.ingest, "TASK_INPUTS", task_inputs)
        started.clear()
        handed.clear()
        dest = str(tmp_path / name.replace(" ", "-"))
        totals = ingest_flow(source=str(tmp_path / "landing"), dest=dest, batch_size=10)
        assert totals["inputs"] == 60 and totals["batches"] == 6
        assert len(started) == len(set(started)) == 6  # every batch's parse started once
        assert not batch._STARTED_AHEAD
        assert handed == ([False, True, True] if task_inputs == 20 else [False])
        table = ds.dataset(Path(dest) / "stories", format="parquet", partitioning="hive").to_table()
        rows = sorted(table.drop_columns(["ingested_at"]).to_pylist(), key=lambda r: r["story_id"])
        ledger = {
            uri: (e.outcome, e.story_id, e.duplicate_of) for uri, e in load_ledger(open_storage(dest)).done.items()
        }
        stores[name] = (rows, ledger)
    assert stores["three tasks"] == stores["one task"]
    assert len(stores["one task"][0]) > 30


def test_prefect_hands_a_whole_argument_over_without_walking_into_it(prefect_server: str) -> None:
    # Prefect visits everything inside a task's arguments before the task runs, resolving
    # the states and futures it finds (a cost that grew with every batch a run had
    # committed: `flows.ingest.whole`). A state inside a plain argument comes out resolved;
    # inside `whole`, the task gets the very object the flow passed, state and all, so the
    # task's writes to it (the committed summaries) are the flow's.
    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE
    from prefect.states import Completed, State

    from flows.ingest import whole

    seen: dict[str, object] = {}

    @task(cache_policy=NO_CACHE)
    def look(name: str, value: dict[str, object]) -> None:
        seen[name] = value

    @flow
    def probe() -> dict[str, object]:
        marker: dict[str, object] = {"state": Completed(data=5)}
        look("plain", marker)
        look("whole", whole(marker))
        return marker

    marker = probe()
    plain = seen["plain"]
    assert isinstance(plain, dict) and plain["state"] == 5  # walked into and resolved
    assert seen["whole"] is marker and isinstance(marker["state"], State)


def test_each_batch_task_gets_its_plans_and_the_run_summaries_whole(
    prefect_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flows.ingest
    from flows.batch import BatchSummary
    from tests.corpus import write_corpus

    write_corpus(tmp_path / "landing", 60, text_only=True)
    wrapped: list[object] = []
    real_whole = flows.ingest.whole

    def recording_whole(value):  # type: ignore[no-untyped-def]
        wrapped.append(value)
        return real_whole(value)

    monkeypatch.setattr(flows.ingest, "whole", recording_whole)
    monkeypatch.setattr(flows.ingest, "TASK_INPUTS", 20)
    totals = ingest_flow(source=str(tmp_path / "landing"), dest=str(tmp_path / "store"), batch_size=10)
    assert totals["inputs"] == 60 and totals["batches"] == 6
    summaries = [v for v in wrapped if isinstance(v, dict)]
    groups = [v for v in wrapped if isinstance(v, list) and v and not isinstance(v[0], str)]
    assert len(summaries) == len(groups) == 3  # three tasks, each given both whole
    assert all(s is summaries[0] for s in summaries)  # the run's one dict, filled by the tasks
    assert len(summaries[0]) == 6 and all(isinstance(s, BatchSummary) for s in summaries[0].values())


def test_a_run_starts_with_small_batches_and_doubles_them_up_to_the_batch_size(tmp_path: Path) -> None:
    # The first commit lands soon after a run starts; the bulk goes in --batch-size batches.
    from flows.batch import FIRST_BATCH, QUICK_FIRST, IngestSettings, batch_bounds, plan_batches
    from storage.local import LocalStorage
    from table.ledger import LedgerIndex
    from tests.corpus import write_corpus

    def sizes(*args: int) -> list[int]:
        return [end - start for start, end in batch_bounds(*args)]

    assert sizes(5000, 2000, 200) == [200, 400, 800, 1600, 2000]
    assert sizes(450, 2000, 200) == [200, 250]
    assert sizes(100, 30, 200) == [30, 30, 30, 10]  # a batch size below the first batch: every batch
    assert sizes(0, 2000, 200) == []
    bounds = list(batch_bounds(12_345, 1000, 64))
    assert bounds[0][0] == 0 and bounds[-1][1] == 12_345
    assert all(end == start for (_, end), (start, _) in itertools.pairwise(bounds))  # no gap, no overlap

    # A run larger than its first batch commits a few inputs before it; a smaller one is one batch.
    assert (FIRST_BATCH, QUICK_FIRST) == (200, 20)
    assert sizes(5000, 2000) == [20, 200, 400, 800, 1600, 1980]
    assert sizes(200, 2000) == [200] and sizes(150, 2000) == [150]
    assert sizes(100, 30) == [30, 30, 30, 10]  # --batch-size at or below the first batch's: no ramp
    write_corpus(tmp_path / "landing", 700, text_only=True)
    source = LocalStorage(tmp_path / "landing")
    plans = plan_batches(source, LedgerIndex(), 2000, IngestSettings())
    assert [len(p.inputs) for p in plans] == [20, 200, 400, 80]
    assert sorted(k for p in plans for k in p.inputs) == sorted(source.keys())


def test_a_batch_is_read_a_slice_at_a_time_as_the_workers_take_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A batch of large inputs is not read whole before its parse starts: a slice is read,
    # the next only as the one before it is collected, so the process holds a few slices.
    # The results are the batch's, in input order, those that could not be read at the end.
    from flows import batch
    from flows.batch import IngestSettings, start_parse
    from flows.workers import Prepared, Quarantined
    from storage.local import LocalStorage
    from tests.corpus import write_corpus

    reads: list[str] = []

    class CountingReads(LocalStorage):
        def get(self, key: str, limit: int | None = None) -> bytes:
            reads.append(key)
            return super().get(key, limit)

    write_corpus(tmp_path / "landing", 30, text_only=True)
    source = CountingReads(tmp_path / "landing")
    keys = sorted(source.keys())
    keys.insert(7, "gone.txt")  # listed, then deleted before it was read
    plan = BatchPlan("b1", source.uri, keys, "2026-11-27T00:00:00+00:00")
    settings = IngestSettings(workers=2)
    monkeypatch.setattr(batch, "READ_SLICE", 4)
    monkeypatch.setattr(batch, "READ_AHEAD_BYTES", 1)  # one slice with the workers at a time
    job = start_parse(plan, source, settings)
    assert len(reads) == 4
    sliced = job.collect()
    assert len(reads) == 31
    monkeypatch.setattr(batch, "READ_SLICE", 200)
    monkeypatch.setattr(batch, "READ_AHEAD_BYTES", 1 << 30)
    whole = start_parse(plan, source, settings).collect()
    assert isinstance(sliced[-1], Quarantined) and sliced[-1].reason == "vanished"  # not committed: see test_unread
    assert sliced[-1].source_uri == source.full_uri("gone.txt")
    assert [r.story.source_uri for r in sliced[:-1] if isinstance(r, Prepared)] == [
        source.full_uri(k) for k in keys if k != "gone.txt"
    ]
    assert [(type(r), getattr(r, "story", r)) for r in sliced] == [(type(r), getattr(r, "story", r)) for r in whole]


def test_a_bundle_whose_members_span_slices_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Members of one bundle are listed together; a batch read in slices reads the bundle
    # once for all of them, however the slices cut them.
    import io
    import zipfile

    from flows import batch
    from flows.batch import IngestSettings, plan_batches, start_parse
    from flows.workers import Prepared
    from storage.local import LocalStorage
    from table.ledger import LedgerIndex

    reads: list[str] = []

    class CountingReads(LocalStorage):
        def get(self, key: str, limit: int | None = None) -> bytes:
            reads.append(key)
            return super().get(key, limit)

    (tmp_path / "landing").mkdir()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(10):
            archive.writestr(f"s{i:02d}.txt", f"Talks resume {i}\n\nOfficials said talks would resume, round {i}.\n")
    (tmp_path / "landing" / "a.zip").write_bytes(buffer.getvalue())
    (tmp_path / "landing" / "b.txt").write_bytes(b"Oil rises\n\nOil prices rose on Tuesday, traders said.\n")
    source = CountingReads(tmp_path / "landing")
    settings = IngestSettings(workers=2)
    (plan,) = plan_batches(source, LedgerIndex(), 100, settings)
    assert len(plan.inputs) == 11
    reads.clear()
    monkeypatch.setattr(batch, "READ_SLICE", 4)
    monkeypatch.setattr(batch, "READ_AHEAD_BYTES", 1)
    results = start_parse(plan, source, settings).collect()
    assert reads == ["a.zip", "b.txt"]
    assert all(isinstance(r, Prepared) for r in results) and len(results) == 11
    assert [r.story.source_uri for r in results if isinstance(r, Prepared)] == [source.full_uri(k) for k in plan.inputs]


def test_the_records_do_not_depend_on_where_batches_begin(tmp_path: Path) -> None:
    # The same inputs in the same order give the same records whatever the batch size: a
    # near copy's `duplicate_of` is the story a single index over everything before it
    # would name, whether that story sits in an earlier batch or in the copy's own.
    from flows.batch import IngestSettings, run_without_prefect
    from tests.corpus import write_corpus

    write_corpus(tmp_path / "landing", 400)

    def records(store: Path) -> list[tuple[str, str, str | None, str | None]]:
        query = (
            "SELECT source_uri, story_id, duplicate_of, thread_id FROM read_parquet("
            f"'{store}/stories/**/*.parquet', hive_partitioning = true) ORDER BY source_uri"
        )
        return [(str(u), str(s), d, t) for u, s, d, t in duckdb.sql(query).fetchall()]

    found = {}
    for size in (400, 13, 97):
        run_without_prefect(str(tmp_path / "landing"), str(tmp_path / f"b{size}"), IngestSettings(workers=1), size)
        found[size] = records(tmp_path / f"b{size}")
    assert sum(1 for r in found[400] if r[2]) > 50  # near copies, many of them
    assert found[13] == found[400]
    assert found[97] == found[400]
