"""An input the store fails to read is a fault, not an outcome of the input: nothing is
committed for it and the next run reads it again. Until the thirty-fifth session such an
input was quarantined `unreadable` and marked done, so one failed read (an S3 object still
failing after the client's retries, an I/O error, a permission) kept its story out of the
dataset until someone replayed the quarantine by hand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import duckdb
import pytest

from flows.batch import IngestSettings, plan_batches, run_batch, run_without_prefect
from flows.ingest import ingest_flow
from schemas.errors import UnreadInputsError
from storage import open_storage
from storage.local import LocalStorage
from table.ledger import load_ledger
from tests.faultproxy import FaultProxy
from tests.test_faults_and_secrets import endpoint
from tests.test_flow_ingest import read_stories

GOLDEN = Path(__file__).parent / "golden"
STORIES = {
    "landing/a-paris.txt": GOLDEN / "afp-paris.txt",
    "landing/b-idlib.txt": GOLDEN / "bloomberg-idlib.txt",
    "landing/c-byline.txt": GOLDEN / "ap-by-line.txt",
}


def put_stories(bucket: str, stories: dict[str, Path] = STORIES) -> None:
    client = boto3.client("s3")
    for key, path in stories.items():
        client.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())


def rows_of(store: Path) -> list[tuple[str, str]]:
    """(source_uri, headline) of every row, read back with DuckDB."""
    glob = str(store / "stories" / "**" / "*.parquet")
    query = f"SELECT source_uri, headline FROM read_parquet('{glob}', hive_partitioning = true) ORDER BY 1"
    return [(str(uri), str(headline)) for uri, headline in duckdb.sql(query).fetchall()]


def ledger_uris(store: Path) -> list[str]:
    dest = open_storage(str(store))
    return sorted(e["source_uri"] for i in dest.list("_ledger/") for e in json.loads(dest.get(i.key))["entries"])


def test_an_input_the_store_cannot_read_is_left_for_the_next_run(
    prefect_server: str, s3_endpoint: str, s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_stories(s3_bucket)
    source, store = f"s3://{s3_bucket}/landing", tmp_path / "store"
    monkeypatch.setenv("WIRE_INGEST_S3_MAX_ATTEMPTS", "2")
    with FaultProxy(s3_endpoint, fail_gets_of="landing/b-idlib.txt") as proxy, endpoint(proxy.endpoint):
        # The run commits what it read, then fails (a deployment's run turns red), naming the input.
        with pytest.raises(UnreadInputsError, match=r"1 input could not be read \(cannot read s3://.*b-idlib\.txt"):
            ingest_flow.with_options(retries=0)(source=source, dest=str(store))
        assert proxy.faults >= 2  # the client retried the GET before giving up
        assert [uri.rsplit("/", 1)[1] for uri, _ in rows_of(store)] == ["a-paris.txt", "c-byline.txt"]
        assert not (store / "quarantine").exists()  # no quarantine entry: nothing about the input is known
        assert [uri.rsplit("/", 1)[1] for uri in ledger_uris(store)] == ["a-paris.txt", "c-byline.txt"]

        proxy.heal()  # the store serves the object again: the next scheduled run ingests it
        second = ingest_flow(source=source, dest=str(store))
        third = ingest_flow(source=source, dest=str(store))
    assert (second["inputs"], second["stories"], second["unread"], second["balanced"]) == (1, 1, 0, True)
    assert third["inputs"] == 0
    assert [uri.rsplit("/", 1)[1] for uri, _ in rows_of(store)] == ["a-paris.txt", "b-idlib.txt", "c-byline.txt"]
    assert len(ledger_uris(store)) == 3


def test_the_command_prints_its_totals_and_exits_74_naming_the_unread_input(
    s3_endpoint: str, s3_bucket: str, tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    put_stories(s3_bucket)
    source, store = f"s3://{s3_bucket}/landing", tmp_path / "store"
    command = [sys.executable, "-m", "flows.cli", "ingest", source, "--dest", str(store), "--json", "--workers", "1"]
    with FaultProxy(s3_endpoint, fail_gets_of="landing/c-byline.txt") as proxy:
        env = {**subprocess_env, "AWS_ENDPOINT_URL": proxy.endpoint, "WIRE_INGEST_S3_MAX_ATTEMPTS": "2"}
        failed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert failed.returncode == 74, failed.stderr[-2000:]
        totals = json.loads(failed.stdout.strip().splitlines()[-1])
        assert (totals["inputs"], totals["stories"], totals["unread"], totals["balanced"]) == (3, 2, 1, True)
        assert totals["quarantined_total"] == 0
        last = failed.stderr.strip().splitlines()[-1]
        assert last.startswith("wire-ingest: error: 1 input could not be read (cannot read s3://")
        assert "c-byline.txt" in last and "left for the next run" in last
        proxy.heal()
        again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads(again.stdout.strip().splitlines()[-1])["stories"] == 1
    assert len(rows_of(store)) == 3


def test_a_rewritten_input_that_cannot_be_read_keeps_its_row_until_it_can(
    prefect_server: str, s3_endpoint: str, s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = boto3.client("s3")
    client.put_object(Bucket=s3_bucket, Key="landing/story.txt", Body=(GOLDEN / "afp-paris.txt").read_bytes())
    source, store = f"s3://{s3_bucket}/landing", tmp_path / "store"
    ingest_flow(source=source, dest=str(store))
    [(_, before)] = rows_of(store)
    client.put_object(Bucket=s3_bucket, Key="landing/story.txt", Body=(GOLDEN / "ap-by-line.txt").read_bytes())
    monkeypatch.setenv("WIRE_INGEST_S3_MAX_ATTEMPTS", "2")
    with FaultProxy(s3_endpoint, fail_gets_of="landing/story.txt") as proxy, endpoint(proxy.endpoint):
        with pytest.raises(UnreadInputsError):
            ingest_flow.with_options(retries=0)(source=source, dest=str(store))
        assert [headline for _, headline in rows_of(store)] == [before]  # not taken out with nothing in its place
        proxy.heal()
        totals = ingest_flow(source=source, dest=str(store))
    assert (totals["rewritten"], totals["stories"]) == (1, 1)
    [(_, after)] = rows_of(store)
    assert after != before and after == str(read_stories(str(store))[0]["headline"])


def test_an_empty_s3_object_is_quarantined_empty(s3_bucket: str, tmp_path: Path) -> None:
    """S3 answers a ranged GET of an empty object with 416 InvalidRange: read as a failed
    read, it was quarantined `unreadable` (and, since this session, would be read again by
    every run)."""
    client = boto3.client("s3")
    client.put_object(Bucket=s3_bucket, Key="landing/empty.txt", Body=b"")
    client.put_object(Bucket=s3_bucket, Key="landing/story.txt", Body=(GOLDEN / "afp-paris.txt").read_bytes())
    store = tmp_path / "store"
    done = run_without_prefect(f"s3://{s3_bucket}/landing", str(store), IngestSettings(), 10)
    assert [(s.inputs, s.stories, s.quarantined, s.unread) for s in done] == [(2, 1, {"empty": 1}, 0)]
    assert run_without_prefect(f"s3://{s3_bucket}/landing", str(store), IngestSettings(), 10) == []


def test_an_input_deleted_after_it_was_listed_leaves_no_entry(tmp_path: Path) -> None:
    """Deleted (or moved away) between the listing and the read: no row, no quarantine
    entry, no ledger entry; the run's totals count it ``vanished`` and still balance."""
    landing, store = tmp_path / "landing", tmp_path / "store"
    landing.mkdir()
    for key, path in STORIES.items():
        (landing / key.split("/")[1]).write_bytes(path.read_bytes())

    class MovedAwayOnRead(LocalStorage):
        def get(self, key: str, limit: int | None = None) -> bytes:
            if key == "b-idlib.txt":
                os.replace(landing / key, tmp_path / key)  # an archiver took it meanwhile
            return super().get(key, limit)

    source, dest = MovedAwayOnRead(str(landing)), LocalStorage(str(store))
    index = load_ledger(dest)
    [plan] = plan_batches(source, index, 10, IngestSettings())
    summary = run_batch(plan, source, dest, index, IngestSettings())
    assert (summary.inputs, summary.stories, summary.vanished, summary.unread) == (3, 2, 1, 0)
    assert not (store / "quarantine").exists()
    assert [uri.rsplit("/", 1)[1] for uri in ledger_uris(store)] == ["a-paris.txt", "c-byline.txt"]
    assert run_without_prefect(str(landing), str(store), IngestSettings(), 10) == []  # gone: nothing to plan
    os.replace(tmp_path / "b-idlib.txt", landing / "b-idlib.txt")  # back: read as a new input
    [again] = run_without_prefect(str(landing), str(store), IngestSettings(), 10)
    assert (again.inputs, again.stories) == (1, 1)


def test_a_batch_whose_inputs_are_all_unread_commits_nothing_and_its_id_comes_again(
    s3_endpoint: str, s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Planned again with the same inputs, the batch has the same id. Committed empty, that
    id was in the ledger, and once folded in the snapshot pointer's list of folded batches,
    whose objects readers skip: the batch that then read the input wrote its entry under an
    id readers skip, and the input was read again by every run."""
    monkeypatch.setenv("WIRE_INGEST_LEDGER_FOLD_AFTER", "1")  # every run folds its batches
    monkeypatch.setenv("WIRE_INGEST_S3_MAX_ATTEMPTS", "2")
    client = boto3.client("s3")
    client.put_object(Bucket=s3_bucket, Key="landing/first.txt", Body=(GOLDEN / "afp-paris.txt").read_bytes())
    source, store = f"s3://{s3_bucket}/landing", tmp_path / "store"
    run_without_prefect(source, str(store), IngestSettings(), 10)
    client.put_object(Bucket=s3_bucket, Key="landing/only.txt", Body=(GOLDEN / "ap-by-line.txt").read_bytes())
    with FaultProxy(s3_endpoint, fail_gets_of="landing/only.txt") as proxy, endpoint(proxy.endpoint):
        [unread] = run_without_prefect(source, str(store), IngestSettings(), 10)
        assert (unread.inputs, unread.unread, unread.files) == (1, 1, [])
        assert not (store / "_ledger" / f"{unread.batch_id}.json").exists()
        assert not list((store / "_manifests" / "_pending").glob("*.json"))
        proxy.heal()
        [read] = run_without_prefect(source, str(store), IngestSettings(), 10)
    assert read.batch_id == unread.batch_id and read.stories == 1
    for _ in range(2):  # done, through the fold: not read again
        assert run_without_prefect(source, str(store), IngestSettings(), 10) == []
    assert [uri.rsplit("/", 1)[1] for uri, _ in rows_of(store)] == ["first.txt", "only.txt"]


#: Two inputs the store cannot serve, listed before two it can (``--run-inputs 2``).
BACKLOG = {
    "landing/a-1.txt": GOLDEN / "afp-paris.txt",
    "landing/a-2.txt": GOLDEN / "ap-by-line.txt",
    "landing/b.txt": GOLDEN / "bloomberg-idlib.txt",
    "landing/c.txt": GOLDEN / "afp-german.txt",
}


def unread_log(store: Path) -> dict[str, dict[str, object]]:
    """The inputs the dataset root's unread log holds ({} when it holds none)."""
    found = list((store / "_unread").glob("*.json")) if (store / "_unread").exists() else []
    assert len(found) <= 1
    return dict(json.loads(found[0].read_text())["inputs"]) if found else {}


def test_inputs_that_keep_failing_do_not_hold_back_the_inputs_after_them(
    prefect_server: str, s3_endpoint: str, s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Until the thirty-sixth session every run planned the first ``max_inputs`` inputs of
    the listing: two objects the store could not serve, listed first, were planned by every
    run, and ``b.txt`` and ``c.txt`` were never ingested."""
    put_stories(s3_bucket, BACKLOG)
    source, store = f"s3://{s3_bucket}/landing", tmp_path / "store"
    monkeypatch.setenv("WIRE_INGEST_S3_MAX_ATTEMPTS", "2")
    run = ingest_flow.with_options(retries=0)
    with FaultProxy(s3_endpoint, fail_gets_of="landing/a-") as proxy, endpoint(proxy.endpoint):
        with pytest.raises(UnreadInputsError, match="2 inputs could not be read"):
            run(source=source, dest=str(store), max_inputs=2)
        assert not (store / "stories").exists()
        log = unread_log(store)
        assert sorted(log) == ["a-1.txt", "a-2.txt"] and log["a-1.txt"]["tries"] == 1
        assert "a-1.txt" in str(log["a-1.txt"]["error"])

        second = run(source=source, dest=str(store), max_inputs=2)  # the new inputs first
        assert (second["inputs"], second["stories"], second["retried"]) == (2, 2, 0)
        assert (second["left"], second["left_unread"]) == (2, 2)
        assert [uri.rsplit("/", 1)[1] for uri, _ in rows_of(store)] == ["b.txt", "c.txt"]

        with pytest.raises(UnreadInputsError):  # then the failed ones, in the room left
            run(source=source, dest=str(store), max_inputs=2)
        assert {k: v["tries"] for k, v in unread_log(store).items()} == {"a-1.txt": 2, "a-2.txt": 2}

        proxy.heal()
        healed = run(source=source, dest=str(store), max_inputs=2)
    assert (healed["inputs"], healed["stories"], healed["retried"], healed["left"]) == (2, 2, 2, 0)
    assert [uri.rsplit("/", 1)[1] for uri, _ in rows_of(store)] == ["a-1.txt", "a-2.txt", "b.txt", "c.txt"]
    assert unread_log(store) == {} and not list((store / "_unread").iterdir())  # the log goes with them


def test_the_command_ingests_the_backlog_behind_unreadable_inputs_and_counts_each_once(
    s3_endpoint: str, s3_bucket: str, tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    """``ingest --run-inputs 2``: its first run reads neither failing input; its second run
    takes the two new ones and leaves the failed ones (not read twice by one command, so
    each is counted once); it exits 74 naming them. Until the thirty-sixth session the
    command stopped after its first run, and every later invocation did the same."""
    put_stories(s3_bucket, BACKLOG)
    source, store = f"s3://{s3_bucket}/landing", tmp_path / "store"
    command = [sys.executable, "-m", "flows.cli", "ingest", source, "--dest", str(store), "--json", "--workers", "1"]
    command += ["--run-inputs", "2"]
    with FaultProxy(s3_endpoint, fail_gets_of="landing/a-") as proxy:
        env = {**subprocess_env, "AWS_ENDPOINT_URL": proxy.endpoint, "WIRE_INGEST_S3_MAX_ATTEMPTS": "2"}
        failed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert failed.returncode == 74, failed.stderr[-2000:]
        totals = json.loads(failed.stdout.strip().splitlines()[-1])
        assert (totals["runs"], totals["inputs"], totals["stories"], totals["unread"]) == (2, 4, 2, 2)
        assert (totals["left"], totals["left_unread"], totals["balanced"]) == (2, 2, True)
        assert "2 inputs could not be read" in failed.stderr.strip().splitlines()[-1]
        assert [uri.rsplit("/", 1)[1] for uri, _ in rows_of(store)] == ["b.txt", "c.txt"]
        proxy.heal()
        again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    totals = json.loads(again.stdout.strip().splitlines()[-1])
    assert (totals["runs"], totals["stories"], totals["retried"], totals["left"]) == (1, 2, 2, 0)
    assert len(rows_of(store)) == 4 and unread_log(store) == {}


def test_planning_takes_inputs_that_failed_before_last_and_the_log_keeps_only_those_waiting(
    tmp_path: Path,
) -> None:
    """`plan_batches` with ``retry_last``: new inputs first, the failed ones in the room the
    limit leaves (or none, without ``retry``); `UnreadLog.save` counts tries, drops the
    inputs read, gone or no longer waiting, and deletes its object when empty."""
    from flows.batch import PlanNotes
    from flows.inputs import UnreadLog
    from table.ledger import LedgerIndex

    landing = tmp_path / "landing"
    landing.mkdir()
    for key, path in BACKLOG.items():
        (landing / key.split("/")[1]).write_bytes(path.read_bytes())
    source = LocalStorage(str(landing))

    def planned(limit: int | None, retry: bool = True) -> tuple[list[str], PlanNotes]:
        notes = PlanNotes()
        plans = plan_batches(
            source, LedgerIndex(), 10, IngestSettings(), notes=notes, limit=limit, retry_last={"a-1.txt"}, retry=retry
        )
        return [k for p in plans for k in p.inputs], notes

    keys, notes = planned(2)
    assert keys == ["a-2.txt", "b.txt"] and (notes.retried, notes.left, notes.left_unread) == (0, 2, 1)
    keys, notes = planned(4)
    assert keys == ["a-2.txt", "b.txt", "c.txt", "a-1.txt"] and (notes.retried, notes.left) == (1, 0)
    keys, notes = planned(None, retry=False)
    assert keys == ["a-2.txt", "b.txt", "c.txt"] and (notes.left, notes.left_unread) == (1, 1)
    assert notes.retry_listed == ["a-1.txt"]

    dest = LocalStorage(str(tmp_path / "store"))
    log = UnreadLog(dest, source.uri)
    first = log.save({}, read={"b.txt"}, unread={"a-1.txt": "cannot read a-1.txt: EIO"}, now="t1")
    assert (
        log.load()
        == first
        == {"a-1.txt": {"tries": 1, "first": "t1", "last": "t1", "error": first["a-1.txt"]["error"]}}
    )
    second = log.save(first, read=set(), unread={"a-1.txt": "again", "c.txt": "EIO"}, now="t2", keep={"a-1.txt"})
    assert (second["a-1.txt"]["tries"], second["a-1.txt"]["first"], second["c.txt"]["tries"]) == (2, "t1", 1)
    assert UnreadLog(dest, "s3://another/source").load() == {}  # one log per source
    assert log.save(second, read=set(), unread={}, now="t3", keep={"c.txt"}) == {"c.txt": second["c.txt"]}
    assert log.save(log.load(), read={"c.txt"}, unread={}, now="t4") == {} and not list(dest.list("_unread/"))


def test_a_run_that_fails_midway_keeps_in_the_log_what_it_did_not_try(tmp_path: Path) -> None:
    """`remember_unread` (called in a ``finally``: a later batch failing for good does not
    lose what the committed ones could not read) drops from the log only the inputs of
    batches that committed: a batch that never ran tried nothing."""
    from flows.batch import BatchSummary, PlanNotes, remember_unread
    from flows.inputs import UnreadLog
    from table.commit import BatchPlan

    log = UnreadLog(LocalStorage(str(tmp_path / "store")), "s3://landing/wires")
    before = {"old.txt": {"tries": 1, "first": "t0", "last": "t0", "error": "EIO"}}
    ran = BatchPlan("b1", "s3://landing/wires", ["a.txt", "b.txt"], "t1", False, {}, False)
    never = BatchPlan("b2", "s3://landing/wires", ["old.txt", "c.txt"], "t1", False, {}, False)
    committed = {"b1": BatchSummary("b1", inputs=2, stories=1, unread=1, unread_keys={"b.txt": "AccessDenied"})}
    notes = PlanNotes(retry_listed=["old.txt"], retried=1)
    remember_unread(log, before, [ran, never], committed, notes, whole_listing=True)
    kept = log.load()
    assert sorted(kept) == ["b.txt", "old.txt"] and kept["old.txt"] == before["old.txt"]
    assert (kept["b.txt"]["tries"], kept["b.txt"]["error"]) == (1, "AccessDenied")
