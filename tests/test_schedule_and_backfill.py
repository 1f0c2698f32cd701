"""Scheduled runs on a real `prefect server` (started here on 127.0.0.1), and backfills."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from flows.batch import IngestSettings
from flows.cli import backfill
from flows.ingest import ingest_flow
from storage import open_storage
from tests.conftest import REPO, free_port
from tests.corpus import write_corpus
from tests.prefect_template import seed_home
from tests.test_flow_ingest import read_stories


def wait_for(url: str, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"process exited early: {process.stderr.read().decode()[-3000:] if process.stderr else ''}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


@pytest.fixture(scope="module")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`prefect server start` on a free loopback port, temporary PREFECT_HOME, analytics off."""
    home = tmp_path_factory.mktemp("prefect-server-home")
    port = free_port()
    env = dict(
        os.environ,
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_UI_ENABLED="false",
        PREFECT_SERVER_API_HOST="127.0.0.1",
    )
    env.pop("PREFECT_API_URL", None)
    seed_home(home)  # the session's migrated database, where `prefect server start` looks
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        wait_for(f"{url}/health", 120, server)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def test_served_deployment_runs_on_trigger_and_keeps_its_cron(
    prefect_api: str, s3_endpoint: str, s3_bucket: str, tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    landing = tmp_path / "landing"
    written = write_corpus(landing, 25, bad_every=8)
    for path in written:  # delivered ten minutes ago: settled
        os.utime(path, (time.time() - 600, time.time() - 600))
    dest = f"s3://{s3_bucket}/scheduled"
    env = dict(os.environ, PREFECT_API_URL=prefect_api, PREFECT_HOME=str(tmp_path / "serve-home"))
    serving = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "serve",
            "--source",
            str(landing),
            "--dest",
            dest,
            "--cron",
            "0 3 * * *",
            "--name",
            "test-scheduled",
            "--batch-size",
            "10",
            "--settle",
            "120",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        with temporary_settings({PREFECT_API_URL: prefect_api}):
            with get_client(sync_client=True) as client:
                deadline = time.monotonic() + 90
                deployment = None
                while deployment is None and time.monotonic() < deadline:
                    assert serving.poll() is None, serving.stderr.read().decode()[-3000:] if serving.stderr else ""
                    try:
                        deployment = client.read_deployment_by_name("wire-ingest/test-scheduled")
                    except Exception:
                        time.sleep(0.5)
                assert deployment is not None, "the deployment was never registered"
                assert [s.schedule.cron for s in deployment.schedules] == ["0 3 * * *"]  # type: ignore[union-attr]
                limit = deployment.global_concurrency_limit
                assert limit is not None and limit.limit == 1
                assert deployment.parameters["dest"] == dest
                assert deployment.parameters["settle_seconds"] == 120

            # A story still being written in place when the run lists the landing zone.
            seed = (REPO / "tests" / "golden" / "bloomberg-idlib.txt").read_bytes()
            late = landing / "late" / "idlib.txt"
            late.parent.mkdir()
            late.write_bytes(seed[: len(seed) // 2])
            late_uri = open_storage(str(landing)).full_uri("late/idlib.txt")

            first = run_deployment("wire-ingest/test-scheduled", timeout=180, poll_interval=1, as_subflow=False)
            assert first.state is not None and first.state.is_completed(), first.state
            store = open_storage(dest)
            rows = read_stories(dest)
            assert rows and len({r["story_id"] for r in rows}) == len(rows)
            assert late_uri not in {r["source_uri"] for r in rows}
            assert not [i for i in store.list("quarantine/") if late_uri in store.get(i.key).decode()]

            # Its writer finishes; once it has been left alone for the settle time, the next
            # run ingests the whole story.
            late.write_bytes(seed)
            os.utime(late, (time.time() - 600, time.time() - 600))
            second = run_deployment("wire-ingest/test-scheduled", timeout=180, poll_interval=1, as_subflow=False)
            assert second.state is not None and second.state.is_completed(), second.state
            (row,) = [r for r in read_stories(dest) if r["source_uri"] == late_uri]
            assert str(row["body"]).endswith("that Turkey considers terrorists.")
            assert row["copyright"] == "©2019 Bloomberg L.P." and len(row["contacts"]) == 6  # type: ignore[arg-type]
            keys_after_second = sorted((i.key, i.size) for i in store.list())

            # A run that finds nothing new finishes and writes nothing.
            third = run_deployment("wire-ingest/test-scheduled", timeout=180, poll_interval=1, as_subflow=False)
            assert third.state is not None and third.state.is_completed()
            assert sorted((i.key, i.size) for i in store.list()) == keys_after_second
    finally:
        serving.terminate()
        try:
            serving.wait(timeout=30)
        except subprocess.TimeoutExpired:
            serving.kill()


def test_serve_rejects_a_bad_cron(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "serve",
            "--source",
            str(tmp_path),
            "--dest",
            str(tmp_path.with_name(tmp_path.name + "-dataset")),  # beside the source, not inside it
            "--cron",
            "every day",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2 and "not a valid cron expression" in result.stderr


def test_backfill_takes_exactly_the_range_and_is_safe_to_rerun(prefect_server: str, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    files = write_corpus(landing, 56, dated=True)  # 2024/01/01 .. 2024/01/28, two inputs a day
    # An undated input with a publication time, and one dated only by its modification time.
    (landing / "flat").mkdir()
    (landing / "flat" / "published.txt").write_bytes(
        b"Headline of a dated story\n\nPublished: 2024-01-04T10:00:00Z\n\n"
        b"(Reuters) - Body text of the story, said one.\n"
    )
    mtime_only = landing / "flat" / "mtime.txt"
    mtime_only.write_bytes(b"Headline by mtime\n\n(AP) - Another body of a story arrived, officials said.\n")
    os.utime(mtime_only, (1704412800, 1704412800))  # 2024-01-05T00:00:00Z
    dest = str(tmp_path / "store")

    in_range = [f for f in files if f.parent.name in ("03", "04", "05")]
    totals = backfill(str(landing), dest, date(2024, 1, 3), date(2024, 1, 5), batch_size=4)
    assert totals["inputs"] == len(in_range) + 2
    assert totals["balanced"]
    again = backfill(str(landing), dest, date(2024, 1, 3), date(2024, 1, 5), batch_size=4)
    assert again["inputs"] == 0

    rest = ingest_flow(source=str(landing), dest=dest, batch_size=20)
    assert rest["inputs"] == len(files) - len(in_range)
    rows = read_stories(dest)
    assert len({r["story_id"] for r in rows}) == len(rows)
    store = open_storage(dest)
    ledger = [e for i in store.list("_ledger/") for e in json.loads(store.get(i.key))["entries"]]
    assert len(ledger) == len(files) + 2 == len({e["source_uri"] for e in ledger})


def test_backfill_cli_prints_progress_lines_and_rejects_bad_ranges(
    subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    write_corpus(landing, 12, dated=True)
    command = [sys.executable, "-m", "flows.cli", "backfill", str(landing), "--dest", str(tmp_path / "store")]
    result = subprocess.run(
        [*command, "--start", "2024-01-01", "--end", "2024-01-03"],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    progress = [line for line in result.stderr.splitlines() if line.startswith("backfill: ")]
    assert len(progress) == 3  # one flow run per day, one input a day in this corpus
    assert progress[0].startswith("backfill: 2024-01-01: 1/3 inputs done")
    assert "3/3 inputs done" in progress[-1]
    bad = subprocess.run(
        [*command, "--start", "2024-01-05", "--end", "2024-01-01"],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert bad.returncode == 2 and "before --start" in bad.stderr


def test_reprocess_replaces_earlier_rows_and_each_story_appears_once(prefect_server: str, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    files = write_corpus(landing, 56, dated=True)
    dest = str(tmp_path / "store")
    first = ingest_flow(source=str(landing), dest=dest, batch_size=9)
    before = read_stories(dest)
    assert len(before) == first["stories"]

    # "A parser improvement": stories that name no agency now get one from the source config,
    # which changes their story_id and their partition.
    totals = backfill(
        str(landing),
        dest,
        date(2024, 1, 1),
        date(2024, 1, 10),
        reprocess=True,
        batch_size=6,
        settings=IngestSettings(default_agency="wirex"),
    )
    in_range = {str(f.resolve()) for f in files if int(f.parent.name) <= 10}
    assert totals["inputs"] == len(in_range)

    after = read_stories(dest)
    uris = [str(r["source_uri"]) for r in after]
    assert len(uris) == len(set(uris)), "a reprocessed input has two rows"
    assert len({r["story_id"] for r in after}) == len(after)
    assert len(after) == len(before)
    first_ingest = {str(r["source_uri"]): r for r in before}
    for row in after:
        uri = str(row["source_uri"])
        if uri in in_range:
            assert row["ingested_at"] > first_ingest[uri]["ingested_at"]
            if first_ingest[uri]["agency"] == "unknown":
                assert row["agency"] == "wirex"
        else:
            assert row["ingested_at"] == first_ingest[uri]["ingested_at"]
            assert row["agency"] == first_ingest[uri]["agency"]
    assert any(r["agency"] == "wirex" for r in after)

    # The ledger now describes each reprocessed input by its new entry; nothing is pending.
    from table.ledger import load_ledger

    store = open_storage(dest)
    index = load_ledger(store)
    assert len(index.done) == len(files)
    assert not list(store.list("_manifests/_pending/"))
    again = ingest_flow(source=str(landing), dest=dest, batch_size=9)
    assert again["inputs"] == 0


def test_the_work_pool_deployments_pass_only_parameters_their_flows_take() -> None:
    """infra/prefect.yaml names each flow's parameters by hand: a misspelt one fails a run."""
    import inspect

    import yaml

    import flows.ingest

    with open(REPO / "infra" / "prefect.yaml", encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    checked = {}
    for deployment in config["deployments"]:
        path, _, name = deployment["entrypoint"].partition(":")
        assert path == "flows/ingest.py"
        taken = set(inspect.signature(getattr(flows.ingest, name).fn).parameters)
        assert set(deployment["parameters"]) <= taken, deployment["name"]
        checked[deployment["name"]] = deployment["parameters"]
    assert checked["scheduled"]["settle_seconds"] == 60 and "target_size" in checked["compact"]
