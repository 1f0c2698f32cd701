"""Transient S3 faults are survived; a run that fails for good leaves nothing a reader sees
twice and the next run finishes it; credentials never reach logs, records or artifacts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from flows.ingest import ingest_flow
from storage import open_storage
from tests.corpus import write_corpus
from tests.faultproxy import FaultProxy
from tests.test_flow_ingest import read_stories


@contextmanager
def endpoint(url: str) -> Iterator[None]:
    previous = os.environ["AWS_ENDPOINT_URL"]
    os.environ["AWS_ENDPOINT_URL"] = url
    try:
        yield
    finally:
        os.environ["AWS_ENDPOINT_URL"] = previous


def test_throttling_and_dropped_connections_are_retried(
    prefect_server: str, s3_endpoint: str, s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the retries a run has by default (8 a request). The suite's 3, under a proxy that
    fails a third of all requests and 8 uploads at once, let one request meet a fault on all
    four attempts in each of a batch's three task tries (one CI run in twelve)."""
    monkeypatch.setenv("WIRE_INGEST_S3_MAX_ATTEMPTS", "8")
    write_corpus(tmp_path / "landing", 40, bad_every=9)
    dest = f"s3://{s3_bucket}/faulty"
    with FaultProxy(s3_endpoint, throttle_every=4, drop_every=7) as proxy, endpoint(proxy.endpoint):
        totals = ingest_flow(source=str(tmp_path / "landing"), dest=dest, batch_size=10)
    assert proxy.faults >= 5, "the proxy injected too few faults to test anything"
    assert totals["inputs"] == 40 and totals["balanced"]
    rows = read_stories(dest)
    assert len(rows) == totals["stories"]
    assert len({r["story_id"] for r in rows}) == len(rows)


def test_a_run_that_fails_is_finished_by_the_next(
    prefect_server: str, s3_endpoint: str, s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_corpus(tmp_path / "landing", 30)
    dest = f"s3://{s3_bucket}/failing"
    monkeypatch.setenv("WIRE_INGEST_S3_MAX_ATTEMPTS", "2")
    # Storage goes down for good right after the first batch's intent is written.
    with FaultProxy(s3_endpoint, fail_after_path="_manifests/_pending/") as proxy, endpoint(proxy.endpoint):
        try:
            ingest_flow.with_options(retries=0)(source=str(tmp_path / "landing"), dest=dest, batch_size=10)
        except Exception as exc:  # the run must fail: storage is down for good
            failure = exc
        else:
            failure = None
        assert failure is not None
        # Between the failure and the next run, no story is visible twice.
        proxy.heal()
        partial = read_stories(dest)
        assert len({r["story_id"] for r in partial}) == len(partial)
        totals = ingest_flow(source=str(tmp_path / "landing"), dest=dest, batch_size=10)
    store = open_storage(dest)
    entries = [e for i in store.list("_ledger/") for e in json.loads(store.get(i.key))["entries"]]
    assert len(entries) == 30 and len({e["source_uri"] for e in entries}) == 30
    rows = read_stories(dest)
    assert sorted(str(r["story_id"]) for r in rows) == sorted(e["story_id"] for e in entries if e["outcome"] == "story")
    assert totals["recovered_batches"] >= 1
    assert not list(store.list("_manifests/_pending/"))


def test_credentials_never_appear_in_output_or_artifacts(
    s3_endpoint: str, s3_bucket: str, tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    secret = os.environ["AWS_SECRET_ACCESS_KEY"]
    key_id = os.environ["AWS_ACCESS_KEY_ID"]
    write_corpus(tmp_path / "landing", 12, bad_every=5)
    dest = f"s3://{s3_bucket}/secret-check"
    subprocess_env["AWS_ENDPOINT_URL"] = s3_endpoint
    subprocess_env["PREFECT_LOGGING_LEVEL"] = "DEBUG"
    result = subprocess.run(
        [sys.executable, "-m", "flows.cli", "ingest", str(tmp_path / "landing"), "--dest", dest, "--json"],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    # A failing run prints an error: it must not carry credentials either.
    bad = subprocess.run(
        [sys.executable, "-m", "flows.cli", "ingest", str(tmp_path / "landing"), "--dest", "s3://no-such-bucket-x/p"],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert bad.returncode != 0
    store = open_storage(dest)
    stored = b"".join(store.get(i.key) for i in store.list())
    for text in (result.stdout, result.stderr, bad.stdout, bad.stderr):
        assert secret not in text and key_id not in text
    assert secret.encode() not in stored and key_id.encode() not in stored
    assert json.loads(result.stdout.strip().splitlines()[-1])["balanced"] is True


def test_a_batch_uploads_its_files_at_once_and_a_failed_upload_fails_only_that_attempt(
    s3_endpoint: str, s3_bucket: str, tmp_path: Path
) -> None:
    # Against a store with a round trip, a batch's files go up several at a time (the
    # proxy sees them in flight together); when one of them fails for good the batch is
    # not committed, and the next run rolls it forward to the same objects as a clean run.
    from flows.batch import IngestSettings, run_without_prefect
    from table.commit import put_objects

    objects = {f"stories/agency=x/date=2024-01-{d:02d}/part-a.parquet": bytes([d]) * 100 for d in range(1, 13)}
    with FaultProxy(s3_endpoint, latency=0.05) as proxy, endpoint(proxy.endpoint):
        store = open_storage(f"s3://{s3_bucket}/direct")
        checksums = put_objects(store, objects)
        assert proxy.most_in_flight > 1
        assert sorted(store.keys("stories/")) == sorted(objects)
        assert all(store.get(k) == v for k, v in objects.items())
        assert len(checksums) == len(objects)

    write_corpus(tmp_path / "landing", 60, dated=True)  # several partitions a batch
    dest = f"s3://{s3_bucket}/failing-upload"
    with FaultProxy(s3_endpoint, fail_after_path="/stories/") as proxy:
        failed = subprocess.run(
            [sys.executable, "-m", "flows.batch", str(tmp_path / "landing"), dest, "30"],
            env={**os.environ, "AWS_ENDPOINT_URL": proxy.endpoint, "WIRE_INGEST_S3_MAX_ATTEMPTS": "1"},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert failed.returncode != 0 and "InternalError" in failed.stderr, failed.stderr[-2000:]
    store = open_storage(dest)
    assert not [k for k in store.keys("_ledger/") if k.count("/") == 1]  # nothing committed
    done = run_without_prefect(str(tmp_path / "landing"), dest, IngestSettings(), 30)
    assert sum(s.inputs for s in done) == 60
    clean = f"s3://{s3_bucket}/clean"
    run_without_prefect(str(tmp_path / "landing"), clean, IngestSettings(), 30)
    for prefix in ("stories/", "quarantine/"):
        ours = {k: open_storage(dest).get(k) for k in open_storage(dest).keys(prefix)}
        theirs = {k: open_storage(clean).get(k) for k in open_storage(clean).keys(prefix)}
        assert ours.keys() == theirs.keys()


def test_a_temporary_server_that_does_not_start_in_time_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Prefect's temporary server gets 120 s to start (Prefect's own 20 s ran out on a loaded
    # machine); when it does not answer in time the run says what to do, without a traceback.
    from flows.environment import prepare_prefect_environment

    write_corpus(tmp_path / "landing", 2)
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(PREFECT_HOME=str(tmp_path / "prefect"), PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="0")
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "ingest", str(tmp_path / "landing"), "--dest", str(tmp_path / "store")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "temporary server did not answer within 0 s" in done.stderr
    assert "PREFECT_API_URL" in done.stderr and "Traceback" not in done.stderr

    monkeypatch.delenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", raising=False)  # restored after
    prepare_prefect_environment()
    assert os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] == "120"
    monkeypatch.setenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "45")
    prepare_prefect_environment()
    assert os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] == "45"  # an operator's value stays


def test_a_clean_run_on_the_temporary_server_ends_without_error_lines(tmp_path: Path) -> None:
    """Prefect stops its temporary server as the command exits. When that stop met the server
    still writing the last task's events, a clean run ended with ERROR tracebacks from
    Prefect's task-run recorder (4 runs of 6, after `ingest` dropped the flow-run heartbeat
    whose wait had spaced them): an operator alerting on ERROR would be paged for nothing.
    Two runs (~20 s each), since the race did not lose every time. A third with
    ``PREFECT_API_URL`` set but empty (an env file's ``PREFECT_API_URL=``): Prefect took that
    for no API yet sent its events as if to none, and every such run ended with ~30 ERROR
    tracebacks from its events worker."""
    from tests.prefect_template import seed_home

    write_corpus(tmp_path / "landing", 30)
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    seed_home(tmp_path / "prefect")  # the temporary server starts on a migrated database
    for run in range(3):
        dest = str(tmp_path / f"store-{run}")
        done = subprocess.run(
            [sys.executable, "-m", "flows.cli", "ingest", str(tmp_path / "landing"), "--dest", dest],
            env=env if run < 2 else {**env, "PREFECT_API_URL": ""},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert "temporary server" in done.stderr or "temporary server" in done.stdout  # it was the temporary one
        assert "ERROR" not in done.stderr and "Traceback" not in done.stderr, done.stderr[-3000:]


def test_an_endpoint_that_does_not_answer_is_named_without_its_secrets(tmp_path: Path) -> None:
    """botocore's connection errors once reached the operator as their bare template ("Could
    not connect to the endpoint URL: "{endpoint_url}""): the endpoint to check was missing.
    It is named now, with a URL's user:password@ and query string (a presigned request's
    signature) left out."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ProxyConnectionError

    from schemas.errors import StorageError
    from storage.s3 import S3Storage, _describe
    from tests.conftest import free_port

    port = free_port()  # nothing listens there
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="not-a-real-secret",
        config=Config(retries={"max_attempts": 1}, connect_timeout=2),
    )
    with pytest.raises(StorageError) as caught:
        S3Storage("bucket", "p", client=client).get("_lock/lease.json")
    message = str(caught.value)
    assert f"http://127.0.0.1:{port}/bucket/p/_lock/lease.json" in message and "{endpoint_url}" not in message
    assert "not-a-real-secret" not in message

    proxied = _describe(ProxyConnectionError(proxy_url="http://bob:hunter2@proxy.example:3128", error="refused"))
    assert "proxy.example:3128" in proxied and "hunter2" not in proxied and "bob" not in proxied


@pytest.fixture
def small_volume(tmp_path: Path) -> Iterator[Path]:
    """A 1 MB tmpfs of its own (root only: skipped where mounting is not allowed)."""
    mount_point = tmp_path / "volume"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode(errors='replace').strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_full_disk_stops_the_run_saying_what_to_do_and_the_next_run_finishes(
    prefect_server: str, tmp_path: Path, small_volume: Path
) -> None:
    from schemas.errors import StorageError

    write_corpus(tmp_path / "landing", 40, text_only=True)
    filler = small_volume / "filler"
    filler.write_bytes(b"\0" * 1_000_000)  # most of the volume: the run's writes meet ENOSPC
    dest = str(small_volume / "store")
    with pytest.raises(StorageError, match="No space left on device: the file system is full: free space"):
        ingest_flow.with_options(retries=0)(source=str(tmp_path / "landing"), dest=dest, batch_size=10)
    filler.unlink()  # the operator frees space and runs again
    totals = ingest_flow(source=str(tmp_path / "landing"), dest=dest, batch_size=10)
    store = open_storage(dest)
    entries = [e for i in store.list("_ledger/") for e in json.loads(store.get(i.key))["entries"]]
    assert len(entries) == 40 and len({e["source_uri"] for e in entries}) == 40
    rows = read_stories(dest)
    assert len({str(r["story_id"]) for r in rows}) == len(rows)
    assert sorted(str(r["story_id"]) for r in rows) == sorted(e["story_id"] for e in entries if e["outcome"] == "story")
    assert not list(store.list("_manifests/_pending/"))
    assert totals["balanced"]
