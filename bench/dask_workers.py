"""The parse stage on a Dask cluster: 1 worker against 2, and the local pool, same inputs.

    .venv/bin/python bench/dask_workers.py [--inputs 2000]

Starts a real ``dask scheduler`` and ``dask worker`` processes (one thread each, no nanny)
on loopback, parses the same synthetic inputs (the golden texts and pages, varied) with
``flows.dask_parse.parse_on_dask`` in batches of 200, best of 3, and prints stories/s next
to the local pool's on the same machine. On one 2-core machine the cluster can only match
the local pool (the coordinator, the scheduler and the workers share the cores); the
number that matters is the scaling from 1 to 2 workers.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from flows.dask_parse import parse_on_dask  # noqa: E402
from flows.workers import parse_payloads  # noqa: E402
from tests.corpus import write_corpus  # noqa: E402

DASK = str(Path(sys.executable).parent / "dask")
BATCH = 200


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def timed(run: object, payloads: list[tuple[str, bytes]], repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for start in range(0, len(payloads), BATCH):
            run(payloads[start : start + BATCH])  # type: ignore[operator]
        best = min(best, time.perf_counter() - started)
    return len(payloads) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        written = write_corpus(Path(tmp), args.inputs)
        payloads = [(str(p), p.read_bytes()) for p in written]
    rows = []
    local = timed(lambda chunk: parse_payloads(chunk, default_agency=None, max_bytes=10**7, workers=0), payloads)
    rows.append(("local pool (one worker process per core)", local))
    for count in (1, 2):
        address = f"tcp://127.0.0.1:{free_port()}"
        port = address.rsplit(":", 1)[1]
        quiet = subprocess.DEVNULL
        scheduler = [DASK, "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"]
        worker = [DASK, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard"]
        processes = [subprocess.Popen(scheduler, stdout=quiet, stderr=quiet)]
        processes += [subprocess.Popen(worker, stdout=quiet, stderr=quiet, cwd=REPO) for _ in range(count)]
        try:
            from distributed import Client

            with Client(address, timeout=60, set_as_default=False) as client:  # type: ignore[no-untyped-call]
                client.wait_for_workers(count, timeout=60)
                rate = timed(
                    lambda chunk, at=address: parse_on_dask(chunk, address=at, default_agency=None, max_bytes=10**7),
                    payloads,
                )
                rows.append((f"Dask, {count} worker{'s' if count > 1 else ''}", rate))
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=20)
    print(f"{len(payloads):,} inputs (text and HTML), batches of {BATCH}, best of 3\n")
    print("| parse stage | stories/s | vs 1 Dask worker |\n|---|---|---|")
    one = next(rate for name, rate in rows if name == "Dask, 1 worker")
    for name, rate in rows:
        print(f"| {name} | {rate:.0f} | {rate / one:.2f}x |")


if __name__ == "__main__":
    main()
