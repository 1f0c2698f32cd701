"""Parsing on an existing Dask cluster (``--dask-address``): a real ``dask scheduler`` and
two ``dask worker`` processes started here on loopback. The output equals the local pool's,
through the Prefect flow; a worker killed mid-batch costs nothing (its tasks run on the
other); an unreachable scheduler is a clear error."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from flows.batch import IngestSettings, run_without_prefect
from flows.cli import main as cli_main
from tests.corpus import write_corpus

DASK = str(Path(sys.executable).parent / "dask")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Cluster:
    def __init__(self, tmp: Path) -> None:
        self.address = f"tcp://127.0.0.1:{free_port()}"
        env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__WORK_STEALING": "True"}
        log = (tmp / "dask.log").open("ab")
        port = self.address.rsplit(":", 1)[1]
        self.scheduler = subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"],
            stdout=log,
            stderr=log,
            env=env,
        )
        self.workers = [
            subprocess.Popen(
                [DASK, "worker", self.address, "--nthreads", "1", "--no-nanny", "--no-dashboard", "--name", f"w{n}"],
                stdout=log,
                stderr=log,
                env=env,
                cwd=Path(__file__).resolve().parents[1],
            )
            for n in (1, 2)
        ]
        from distributed import Client

        self.client = Client(self.address, timeout=60, set_as_default=False)
        self.client.wait_for_workers(2, timeout=60)

    def close(self) -> None:
        from flows.dask_parse import close_clients

        close_clients()  # the flow's own, left reconnecting to a gone scheduler otherwise
        self.client.close()
        for process in [*self.workers, self.scheduler]:
            process.terminate()
        for process in [*self.workers, self.scheduler]:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    started = Cluster(tmp_path)
    try:
        yield started
    finally:
        started.close()


def rows(store: Path) -> list[tuple[str, str, str | None]]:
    query = (
        "SELECT source_uri, story_id, duplicate_of FROM read_parquet("
        f"'{store}/stories/**/*.parquet', hive_partitioning = true) ORDER BY source_uri"
    )
    return [(Path(str(u)).name, str(s), d) for u, s, d in duckdb.sql(query).fetchall()]


def test_the_flow_parses_on_dask_with_the_same_output(prefect_server: str, cluster: Cluster, tmp_path: Path) -> None:
    from flows.ingest import ingest_flow

    landing = tmp_path / "landing"
    write_corpus(landing, 40, bad_every=7)
    local = ingest_flow(source=str(landing), dest=str(tmp_path / "local"), batch_size=20)
    remote = ingest_flow(source=str(landing), dest=str(tmp_path / "dask"), batch_size=20, dask_address=cluster.address)
    assert (
        remote["balanced"] and remote["stories"] == local["stories"] and remote["quarantined"] == local["quarantined"]
    )
    assert rows(tmp_path / "dask") == rows(tmp_path / "local")
    # Both workers took part.
    assert len(cluster.client.run(lambda: os.getpid())) == 2


def test_a_worker_killed_mid_batch_loses_nothing(cluster: Cluster, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    write_corpus(landing, 300)
    run_without_prefect(str(landing), str(tmp_path / "local"), IngestSettings(workers=1), 300)
    reference = rows(tmp_path / "local")
    victim = cluster.workers[0]
    killed = threading.Event()

    def kill_when_busy() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            busy = cluster.client.processing()
            if sum(len(tasks) for tasks in busy.values()) >= 2:
                victim.send_signal(signal.SIGKILL)
                killed.set()
                return
            time.sleep(0.005)

    watcher = threading.Thread(target=kill_when_busy)
    watcher.start()
    settings = IngestSettings(dask_address=cluster.address)
    summaries = run_without_prefect(str(landing), str(tmp_path / "dask"), settings, 300)
    watcher.join()
    assert killed.is_set() and victim.wait(timeout=10) == -signal.SIGKILL
    assert sum(s.inputs for s in summaries) == 300
    assert rows(tmp_path / "dask") == reference
    assert len(cluster.client.scheduler_info(n_workers=-1)["workers"]) == 1


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    landing = tmp_path / "landing"
    write_corpus(landing, 2)
    address = f"tcp://127.0.0.1:{free_port()}"
    code = cli_main(["ingest", str(landing), "--dest", str(tmp_path / "store"), "--dask-address", address])
    assert code == 2
    assert "cannot reach the Dask scheduler" in capsys.readouterr().err
    assert cli_main(["ingest", str(landing), "--dest", str(tmp_path / "store"), "--dask-address", "localhost"]) == 2


def test_an_input_that_kills_its_workers_is_quarantined_alone(tmp_path: Path) -> None:
    """Workers under nannies (restarted when killed) and no allowed failures: whichever
    worker sits on one task for over a second is killed, as an OOM killer would; the chunk
    holding the slow input is retried one input a task, and only that input is lost."""
    from flows.dask_parse import parse_on_dask
    from flows.workers import Quarantined
    from schemas.story import Story

    address = f"tcp://127.0.0.1:{free_port()}"
    port = address.rsplit(":", 1)[1]
    env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"}
    log = (tmp_path / "dask.log").open("ab")
    processes = [
        subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"],
            stdout=log,
            stderr=log,
            env=env,
        ),
        subprocess.Popen(
            [DASK, "worker", address, "--nthreads", "1", "--nworkers", "2", "--no-dashboard"],
            stdout=log,
            stderr=log,
            env=env,
            cwd=Path(__file__).resolve().parents[1],
        ),
    ]
    from distributed import Client

    client = Client(address, timeout=60, set_as_default=False)
    stop = threading.Event()
    kills: list[str] = []

    def kill_stuck_workers() -> None:
        since: dict[str, tuple[frozenset[str], float]] = {}
        while not stop.is_set():
            for worker, tasks in client.processing().items():
                current = frozenset(tasks)
                seen, at = since.get(worker, (frozenset(), time.monotonic()))
                if not current or current != seen:
                    since[worker] = (current, time.monotonic())
                elif time.monotonic() - at > 1.0:
                    pids = client.run(os.getpid, workers=[worker])
                    for pid in pids.values():
                        os.kill(pid, signal.SIGKILL)
                    kills.append(worker)
                    since.pop(worker, None)
            time.sleep(0.05)

    try:
        client.wait_for_workers(2, timeout=60)
        slow = b"<html><body>" + b"<p>Officials said it was a long day at the port.</p>" * 300_000 + b"</body></html>"
        good = (Path(__file__).resolve().parent / "golden" / "reuters87-basic.txt").read_bytes()
        payloads = [(f"mem://{n}.txt", good.replace(b"ROTTERDAM", f"PORT{n}".encode())) for n in range(20)]
        payloads.insert(5, ("mem://slow.html", slow))
        watcher = threading.Thread(target=kill_stuck_workers)
        watcher.start()
        results = parse_on_dask(payloads, address=address, default_agency=None, max_bytes=1 << 30)
    finally:
        stop.set()
        client.close()
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
    assert kills, "no worker was stuck on an input"
    assert isinstance(results[5], Quarantined) and results[5].reason == "worker_crashed"
    assert all(isinstance(r, Story) for i, r in enumerate(results) if i != 5)


def test_a_batch_is_on_the_cluster_from_its_start_not_from_its_collect(cluster: Cluster, tmp_path: Path) -> None:
    # The next batch's parse is started while this one commits: on Dask its tasks must be
    # submitted then, and run, with nobody waiting for their results yet; the workers hand
    # back stories validated and fingerprinted, as the local pool's do.
    from flows.batch import plan_batches, start_parse
    from flows.dask_parse import DaskParse
    from flows.workers import Prepared, parse_payload, prepare
    from storage.local import LocalStorage
    from table.ledger import LedgerIndex

    write_corpus(tmp_path / "landing", 40, text_only=True)
    source = LocalStorage(tmp_path / "landing")
    settings = IngestSettings(dask_address=cluster.address)
    (plan,) = plan_batches(source, LedgerIndex(), 100, settings)
    job = start_parse(plan, source, settings)

    def tasks_on_scheduler(dask_scheduler: Any) -> int:
        return len(dask_scheduler.tasks)

    deadline = time.monotonic() + 30
    while not cluster.client.run_on_scheduler(tasks_on_scheduler) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert cluster.client.run_on_scheduler(tasks_on_scheduler) > 0
    results = job.collect()
    assert [r.story.source_uri for r in results if isinstance(r, Prepared)] == [source.full_uri(k) for k in plan.inputs]

    payloads = [(source.full_uri(k), source.get(k)) for k in plan.inputs]
    started = DaskParse(payloads, address=cluster.address, default_agency=None, max_bytes=1 << 30, prepared=True)
    deadline = time.monotonic() + 60
    while not all(f.done() for f in started.futures) and time.monotonic() < deadline:
        time.sleep(0.05)  # parsed before anyone asks
    assert all(f.status == "finished" for f in started.futures)
    prepared = started.result()  # validated and fingerprinted on the workers, as the local pool does
    here = [prepare(parse_payload(uri, data, None, 1 << 30)) for uri, data in payloads]
    assert all(isinstance(r, Prepared) for r in [*prepared, *here])
    expected = [(r.story, r.fingerprint, r.problems) for r in here if isinstance(r, Prepared)]
    assert [(r.story, r.fingerprint, r.problems) for r in prepared] == expected
