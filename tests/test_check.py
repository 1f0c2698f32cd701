"""``wire-ingest check ROOT``: a dataset root read back against its guarantees.

Stores are made by real runs (exact duplicates, near copies, a quarantined input), then
broken the ways a hand-edited bucket, a restore or a bug would break them: a row file
deleted or copied, a foreign file dropped in, a quarantine record deleted, a row's
``duplicate_of`` pointed at nothing. Each break must be found and named, with the input
it concerns; an intact store, and one whose copies wait to be read again, must pass.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows.batch import IngestSettings, run_without_prefect
from flows.cli import EXIT_INCONSISTENT, EXIT_LOCKED
from flows.cli import main as cli_main
from storage.lease import Lease
from storage.local import LocalStorage
from table.check import check_dataset
from tests.conftest import REPO
from tests.test_rewrites import two_zones_with_a_near_copy

GOLDEN = REPO / "tests" / "golden"
DUPES = REPO / "tests" / "dupes" / "stories"


def ingested(tmp_path: Path) -> tuple[Path, Path]:
    """A landing zone and the store one run made of it: two stories, an exact duplicate of
    the first, a near copy of the second, and an empty (quarantined) file."""
    landing, store = tmp_path / "landing", tmp_path / "store"
    landing.mkdir()
    idlib = (GOLDEN / "bloomberg-idlib.txt").read_bytes()
    (landing / "a.txt").write_bytes(idlib)
    (landing / "a-copy.txt").write_bytes(idlib)
    (landing / "b.txt").write_bytes((DUPES / "reuters-update1.txt").read_bytes())
    (landing / "c.txt").write_bytes((DUPES / "reuters-update1--republished.txt").read_bytes())
    (landing / "empty.txt").write_bytes(b"")
    [done] = run_without_prefect(str(landing), str(store), IngestSettings(), 10)
    assert (done.stories, done.duplicates, done.near_duplicates, done.quarantined) == (3, 1, 1, {"empty": 1})
    return landing, store


def row_file(store: Path, source_name: str) -> Path:
    """The Parquet file holding the row of the input named ``source_name``."""
    for path in sorted(store.glob("stories/**/*.parquet")):
        names = [
            uri.rsplit("/", 1)[-1] for uri in pq.read_table(path, columns=["source_uri"])["source_uri"].to_pylist()
        ]
        if source_name in names:
            return path
    raise AssertionError(f"no row of {source_name}")


def problems(store: Path) -> dict[str, list[str]]:
    """The problems ``check`` finds, by kind, each with the file names of the inputs named."""
    report = check_dataset(LocalStorage(str(store)))
    assert report.ok == (not report.problems)
    return {kind: sorted(uri.rsplit("/", 1)[-1] for uri in uris) for kind, uris in report.examples.items()}


def test_a_store_runs_made_is_consistent_and_the_command_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, store = ingested(tmp_path)
    report = check_dataset(LocalStorage(str(store)))
    assert report.ok and (report.rows, report.inputs, report.waiting) == (3, 5, 0)
    assert dict(report.outcomes) == {"story": 3, "duplicate": 1, "quarantined": 1}
    assert cli_main(["check", str(store)]) == 0
    out = capsys.readouterr().out
    assert "3 rows in" in out and "consistent" in out
    assert cli_main(["check", str(store), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True


def test_a_deleted_row_file_is_lost_stories_and_their_copies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every row of the batch is in one file per partition: deleting the idlib story's file
    loses its story (and its exact duplicate's) from the dataset."""
    _, store = ingested(tmp_path)
    row_file(store, "a-copy.txt").unlink()  # the first of the two in input order holds the row
    found = problems(store)
    assert found["entries_without_row"] == ["a-copy.txt"]
    assert found["duplicates_of_nothing"] == ["a.txt"]
    assert "rows_without_entry" not in found and "doubled_rows" not in found
    assert cli_main(["check", str(store)]) == EXIT_INCONSISTENT
    out = capsys.readouterr().out
    assert "entries_without_row: 1" in out and "to mend: reprocess" in out and "/landing/a-copy.txt" in out
    assert cli_main(["check", str(store), "--json"]) == EXIT_INCONSISTENT
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["problems"]["entries_without_row"]["count"] == 1


def test_a_truncated_row_file_is_named_and_its_stories_counted_lost(tmp_path: Path) -> None:
    """A story file cut short (a copy tool that died, a full disk): not Parquet any more."""
    _, store = ingested(tmp_path)
    path = row_file(store, "b.txt")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    report = check_dataset(LocalStorage(str(store)))
    [unreadable] = report.examples["unreadable_files"]
    assert unreadable.startswith(LocalStorage(str(store)).full_uri(str(path.relative_to(store))))
    assert problems(store)["entries_without_row"] == ["b.txt", "c.txt"] and report.files == 1


def test_a_row_file_copied_doubles_its_rows(tmp_path: Path) -> None:
    _, store = ingested(tmp_path)
    path = row_file(store, "b.txt")
    shutil.copy(path, path.with_name("part-restored-twice.parquet"))
    assert problems(store) == {"doubled_rows": ["b.txt", "c.txt"]}  # the file holds both Reuters rows


def test_rows_of_another_root_are_rows_no_input_holds(tmp_path: Path) -> None:
    """A file copied in from another dataset root (its inputs are that root's)."""
    _, store = ingested(tmp_path)
    other_landing, other = tmp_path / "other-landing", tmp_path / "other"
    other_landing.mkdir()
    (other_landing / "d.txt").write_bytes((GOLDEN / "ap-by-line.txt").read_bytes())
    run_without_prefect(str(other_landing), str(other), IngestSettings(), 10)
    foreign = row_file(other, "d.txt")
    target = store / foreign.relative_to(other)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(foreign, target)
    assert problems(store) == {"rows_without_entry": ["d.txt"]}


def test_a_deleted_quarantine_record_is_found(tmp_path: Path) -> None:
    _, store = ingested(tmp_path)
    [record] = store.glob("quarantine/**/*.json")
    record.unlink()
    assert problems(store) == {"missing_quarantine": ["empty.txt"]}


def test_a_copy_naming_a_story_no_row_holds_is_a_broken_chain(tmp_path: Path) -> None:
    """The near copy's ``duplicate_of`` pointed at a story that has no row (what a rewrite
    left before the thirty-seventh session), then at itself."""
    _, store = ingested(tmp_path)
    path = row_file(store, "c.txt")
    table = pq.read_table(path)
    names = [uri.rsplit("/", 1)[-1] for uri in table["source_uri"].to_pylist()]
    at = names.index("c.txt")

    def point_at(story_id: str) -> None:
        values = table["duplicate_of"].to_pylist()
        values[at] = story_id
        column = table.schema.get_field_index("duplicate_of")
        pq.write_table(table.set_column(column, table.schema.field(column), pa.array(values, pa.string())), path)

    point_at("0" * 64)
    assert problems(store) == {"broken_copy_chains": ["c.txt"]}
    point_at(table["story_id"][at].as_py())
    assert problems(store) == {"broken_copy_chains": ["c.txt"]}


def test_copies_waiting_to_be_read_again_and_pending_batches_are_reported_not_failed(tmp_path: Path) -> None:
    """A near copy under another landing zone whose story's row a rewrite took out is
    marked to be read again: until its source's next run it names a story without a row,
    which ``check`` counts as waiting. A batch a stopped run left pending is reported."""
    first, second, store = two_zones_with_a_near_copy(tmp_path)
    for landing in (first, second):
        run_without_prefect(str(landing), str(store), IngestSettings(), 10)
    (first / "a.txt").write_bytes((GOLDEN / "ap-by-line.txt").read_bytes())
    run_without_prefect(str(first), str(store), IngestSettings(), 10)
    report = check_dataset(LocalStorage(str(store)))
    assert report.ok and report.waiting == 1
    run_without_prefect(str(second), str(store), IngestSettings(), 10)
    report = check_dataset(LocalStorage(str(store)))
    assert report.ok and report.waiting == 0

    (store / "_manifests" / "_pending").mkdir(parents=True, exist_ok=True)
    (store / "_manifests" / "_pending" / "b-left.json").write_text("{}")
    report = check_dataset(LocalStorage(str(store)))
    assert report.pending_batches == ["_manifests/_pending/b-left.json"]
    assert any("rolls them forward" in line for line in report.lines())


def test_check_waits_for_a_run_holding_the_store(tmp_path: Path) -> None:
    _, store = ingested(tmp_path)
    with Lease(LocalStorage(str(store)), command="ingest") as lease:
        lease.acquire()
        assert cli_main(["check", str(store)]) == EXIT_LOCKED
    assert cli_main(["check", str(store)]) == 0
    assert cli_main(["check", str(tmp_path / "nowhere")]) == 2
    (tmp_path / "empty").mkdir()  # a folder, but no dataset: said so, not called consistent
    assert check_dataset(LocalStorage(str(tmp_path / "empty"))).lines()[-1].startswith("no dataset here")


def test_check_reads_an_s3_root(s3_endpoint: str, s3_bucket: str, tmp_path: Path) -> None:
    import boto3

    landing = tmp_path / "landing"
    landing.mkdir()
    for name in ("bloomberg-idlib.txt", "ap-by-line.txt"):
        (landing / name).write_bytes((GOLDEN / name).read_bytes())
    root = f"s3://{s3_bucket}/store"
    run_without_prefect(str(landing), root, IngestSettings(), 10)
    from storage import open_storage

    assert check_dataset(open_storage(root)).ok
    client = boto3.client("s3")
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket, Prefix="store/stories/")["Contents"]]
    client.delete_object(Bucket=s3_bucket, Key=keys[0])
    report = check_dataset(open_storage(root))
    assert not report.ok and report.problems["entries_without_row"] == 1


def test_the_check_flow_fails_its_run_when_a_guarantee_is_broken(prefect_server: str, tmp_path: Path) -> None:
    """The scheduled deployment's flow (infra/prefect.yaml `check`), run under Prefect: its
    result on an intact store, a failed run (Prefect's notifications) on a broken one."""
    import yaml

    from flows.ingest import check_flow
    from schemas.errors import InconsistentDatasetError

    _, store = ingested(tmp_path)
    result = check_flow(dest=str(store), wait_lock=0)
    assert result["ok"] is True and result["rows"] == 3
    [record] = store.glob("quarantine/**/*.json")
    record.unlink()
    with pytest.raises(InconsistentDatasetError, match="missing_quarantine 1"):
        check_flow(dest=str(store), wait_lock=0)
    state = check_flow(dest=str(store), wait_lock=0, return_state=True)
    assert state.is_failed()
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["wire-ingest-check"]))
        )
    markdown = str(max(artifacts, key=lambda a: a.created or 0).data)
    assert "missing_quarantine: 1" in markdown and "/landing/empty.txt" in markdown and "to mend" in markdown
    with open(REPO / "infra" / "prefect.yaml", encoding="utf-8") as handle:
        deployments = {d["name"]: d for d in yaml.safe_load(handle)["deployments"]}
    assert deployments["check"]["entrypoint"] == "flows/ingest.py:check_flow"


def test_bundles_compaction_and_a_reprocess_leave_a_store_check_passes(tmp_path: Path) -> None:
    """What runs do to a root besides ingesting single files: a zip's members read as inputs
    of their own, small files merged by `compact` (rows move to merged files), a reprocess
    of everything (rows taken out and written again): each leaves a store check passes."""
    import io
    import zipfile

    from table.compaction import run_compaction
    from tests.corpus import write_corpus

    landing, store = tmp_path / "landing", tmp_path / "store"
    write_corpus(landing, 30, dated=True, text_only=True)
    run_without_prefect(str(landing), str(store), IngestSettings(), 3)  # many small files
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in ("ap-by-line.txt", "afp-paris.txt"):
            archive.writestr(name, (GOLDEN / name).read_bytes())
    (landing / "delivery.zip").write_bytes(buffer.getvalue())
    run_without_prefect(str(landing), str(store), IngestSettings(), 3)
    assert check_dataset(LocalStorage(str(store))).ok
    summary = run_compaction(str(store))
    assert summary.files_after < summary.files_before
    report = check_dataset(LocalStorage(str(store)))
    assert report.ok and report.files == summary.files_after
    run_without_prefect(str(landing), str(store), IngestSettings(), 7, reprocess=True)
    assert check_dataset(LocalStorage(str(store))).ok
