"""``wire-ingest compact``: small files merged per partition, read back with DuckDB and
pyarrow; a kill at every write of a merge never shows a row twice and is rolled forward or
back; a reprocess after a merge still leaves each story once; the scheduled deployment's
flow runs for real."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from flows.batch import IngestSettings, run_without_prefect
from flows.cli import main as cli_main
from storage.local import LocalStorage
from table.compaction import parse_size, plan_groups, run_compaction
from tests.corpus import write_corpus

REPO = Path(__file__).resolve().parents[1]


def story_ids(store: Path) -> list[str]:
    query = f"SELECT story_id FROM read_parquet('{store}/stories/**/*.parquet', hive_partitioning = true)"
    return sorted(str(row[0]) for row in duckdb.sql(query).fetchall())


def files(store: Path) -> list[Path]:
    return sorted((store / "stories").rglob("*.parquet"))


def ingested(tmp_path: Path, count: int = 40) -> tuple[Path, Path]:
    landing, store = tmp_path / "landing", tmp_path / "store"
    write_corpus(landing, count, dated=True, text_only=True)
    run_without_prefect(str(landing), str(store), IngestSettings(), 3)  # many small files
    return landing, store


def test_compact_merges_each_partition_sorted_by_time_and_a_rerun_is_a_no_op(tmp_path: Path) -> None:
    _, store = ingested(tmp_path)
    before_ids, before_files = story_ids(store), files(store)
    partitions = {p.parent for p in before_files}
    assert len(before_files) > len(partitions)  # something to merge
    summary = run_compaction(str(store))
    assert summary.files_before == len(before_files) and summary.files_after == len(files(store))
    after_files = files(store)
    assert {p.parent for p in after_files} == partitions
    assert len(after_files) == len(partitions)  # one file per partition at this size
    assert story_ids(store) == before_ids  # same rows, none twice
    for path in after_files:
        table = pq.read_table(path)
        stamps = [t for t in table.column("published_at").to_pylist() if t is not None]
        assert stamps == sorted(stamps)
    again = run_compaction(str(store))
    assert (again.partitions, again.files_after) == (0, len(after_files))
    assert [p.name for p in files(store)] == [p.name for p in after_files]


def test_a_store_that_takes_requests_at_once_is_read_that_way_to_the_same_merge(tmp_path: Path) -> None:
    # On S3 a partition's small files, and the merge records a reprocess resolves keys
    # through, were read one GET after another.
    from table.compaction import compact, key_map
    from tests.stores import AtOnceStore

    _, store = ingested(tmp_path, 24)
    before_ids, before_files = story_ids(store), files(store)
    at_once = AtOnceStore(str(store), delay=0.01)
    summary = compact(at_once)
    assert at_once.most_at_once > 1 and summary.files_before == len(before_files)
    assert story_ids(store) == before_ids and len(files(store)) == summary.files_after < len(before_files)
    records = AtOnceStore(str(store), delay=0.05)
    resolve = key_map(records, [str(p.relative_to(store)) for p in before_files])
    assert summary.partitions > 1 and records.most_at_once > 1  # a merge record per partition
    merged = {str(p.relative_to(store)) for p in files(store)}
    assert {resolve(str(p.relative_to(store))) for p in before_files} == merged


def test_a_reprocess_after_compaction_leaves_each_story_once(tmp_path: Path) -> None:
    landing, store = ingested(tmp_path, 18)
    reference = story_ids(store)
    run_compaction(str(store))
    run_without_prefect(str(landing), str(store), IngestSettings(), 5, reprocess=True)
    assert story_ids(store) == reference
    run_compaction(str(store))
    assert story_ids(store) == reference


def test_a_reprocess_reads_only_the_merge_records_of_its_rows_partitions(tmp_path: Path) -> None:
    # Records were kept flat and a reprocess read every one of them: ~80,000 a year with a
    # compaction every hour, minutes a reprocessing run on S3.
    from table.compaction import RECORD_PREFIX, key_map, partition_of
    from tests.stores import AtOnceStore

    _, store = ingested(tmp_path, 24)
    before = [str(p.relative_to(store)) for p in files(store)]
    summary = run_compaction(str(store))
    kept = sorted(str(p.relative_to(store)) for p in (store / "_manifests" / "compact").rglob("*.json"))
    assert len(kept) == summary.partitions > 2  # one merge a partition at this size
    merged = {str(p.relative_to(store)) for p in files(store)}
    one = before[0]
    partition = partition_of(one)
    reading = AtOnceStore(str(store), delay=0)
    resolve = key_map(reading, [one])
    assert reading.reads == [k for k in kept if k.startswith(f"{RECORD_PREFIX}{partition}/")]
    assert len(reading.reads) == 1
    assert resolve(one) in merged and partition_of(resolve(one)) == partition
    everything = key_map(AtOnceStore(str(store), delay=0), before)
    assert {everything(key) for key in before} == merged


def test_merge_records_of_earlier_versions_are_read_then_moved_by_partition(tmp_path: Path) -> None:
    from table.compaction import LEGACY_RECORD_PREFIX, key_map

    landing, store = ingested(tmp_path, 18)
    before = [str(p.relative_to(store)) for p in files(store)]
    run_compaction(str(store))
    merged = {str(p.relative_to(store)) for p in files(store)}
    kept = sorted((store / "_manifests" / "compact").rglob("*.json"))
    for path in kept:  # as versions before this one kept them
        record = json.loads(path.read_text())
        (store / f"{LEGACY_RECORD_PREFIX}{record['id']}.json").write_text(path.read_text())
        path.unlink()
    assert {key_map(store_of(store), before)(key) for key in before} == merged
    # A crash after a record's move was put and before the flat one went: both are read.
    first = sorted((store / "_manifests").glob("compact-*.json"))[0]
    kept[0].parent.mkdir(parents=True, exist_ok=True)
    kept[0].write_text(first.read_text())
    assert {key_map(store_of(store), before)(key) for key in before} == merged
    summary = run_compaction(str(store))  # moves them, merges nothing new
    assert summary.partitions == 0
    assert not list((store / "_manifests").glob("compact-*.json"))
    assert sorted((store / "_manifests" / "compact").rglob("*.json")) == kept
    assert {key_map(store_of(store), before)(key) for key in before} == merged
    reference = story_ids(store)
    run_without_prefect(str(landing), str(store), IngestSettings(), 5, reprocess=True)
    assert story_ids(store) == reference


def store_of(path: Path) -> LocalStorage:
    return LocalStorage(str(path))


def run_compact(store: Path, crash_at: int = 0) -> int:
    env = {k: v for k, v in os.environ.items() if k != "WIRE_INGEST_CRASH_AT"}
    if crash_at:
        env["WIRE_INGEST_CRASH_AT"] = str(crash_at)
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "compact", str(store), "--json"],
        env=env,
        cwd=REPO,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, -signal.SIGKILL), done.stderr.decode()[-2000:]
    return done.returncode


def test_a_kill_at_every_write_of_a_merge_never_shows_a_row_twice_and_is_finished_later(tmp_path: Path) -> None:
    _, original = ingested(tmp_path, 12)
    reference = story_ids(original)
    kills = 0
    for k in range(1, 60):
        store = tmp_path / f"kill-{k}"
        subprocess.run(["cp", "-a", str(original), str(store)], check=True)
        if run_compact(store, crash_at=k) == 0:
            break
        kills += 1
        seen = story_ids(store)
        assert len(seen) == len(set(seen)), f"a row twice after a kill at write {k}"
        assert set(seen) <= set(reference)
        assert run_compact(store) == 0  # the next run rolls the merge forward or back, then merges
        assert story_ids(store) == reference, k
        assert not list((store / "_compact").glob("*")) and not list((store / "_manifests").rglob("_pending_compact/*"))
    assert kills >= 6, f"only {kills} write events: the merge protocol has more"


def test_a_merge_killed_after_its_record_by_an_earlier_version_is_rolled_forward(tmp_path: Path) -> None:
    # An intent whose commit record sits in the flat place earlier versions kept it in.
    from table.compaction import LEGACY_RECORD_PREFIX

    _, original = ingested(tmp_path, 12)
    reference = story_ids(original)
    for k in range(1, 60):
        store = tmp_path / f"kill-{k}"
        subprocess.run(["cp", "-a", str(original), str(store)], check=True)
        assert run_compact(store, crash_at=k) != 0, "no kill left a committed merge unfinished"
        pending = list((store / "_manifests" / "_pending_compact").glob("*.json"))
        records = list((store / "_manifests" / "compact").rglob("*.json"))
        if pending and records:
            break
    for path in records:
        record = json.loads(path.read_text())
        (store / f"{LEGACY_RECORD_PREFIX}{record['id']}.json").write_text(path.read_text())
        path.unlink()
    assert run_compact(store) == 0
    assert story_ids(store) == reference
    assert not list((store / "_manifests").rglob("_pending_compact/*"))
    assert not list((store / "_manifests").glob("compact-*.json"))
    assert len(list((store / "_manifests" / "compact").rglob("*.json"))) >= len(records)


def test_cli_compact_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, store = ingested(tmp_path, 9)
    assert cli_main(["compact", str(store), "--partition", "reuters/2024"]) == 2
    assert "agency=NAME/date=YYYY-MM-DD" in capsys.readouterr().err
    assert cli_main(["compact", str(store), "--target-size", "lots"]) == 2
    # A target of 0 bytes compacted nothing and said so as if it had looked: now an error.
    assert cli_main(["compact", str(store), "--target-size", "0"]) == 2
    assert "above 0" in capsys.readouterr().err
    with pytest.raises(ValueError, match="above 0"):
        parse_size("0.4")
    partition = files(store)[0].parent.relative_to(store / "stories").as_posix()
    assert cli_main(["compact", str(store), "--partition", partition, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["files_after"] == 1 and printed["partitions"] in (0, 1)
    assert parse_size("128MB") == 128 * 1024**2 and parse_size("500k") == 500 * 1024
    # Files near the target stay; a lone small file is no merge.
    assert plan_groups({"a": 90, "b": 10, "c": 15, "d": 5}, 100) == [["b", "c", "d"]]
    assert plan_groups({"a": 10}, 100) == []


def test_the_compaction_flow_runs_under_prefect(prefect_server: str, tmp_path: Path) -> None:
    from flows.ingest import compact_flow

    _, store = ingested(tmp_path, 9)
    reference = story_ids(store)
    result = compact_flow(dest=str(store), target_size="64MB")
    assert result["files_after"] < result["files_before"] and story_ids(store) == reference
    with open(REPO / "infra" / "prefect.yaml", encoding="utf-8") as handle:
        assert "entrypoint: flows/ingest.py:compact_flow" in handle.read()
