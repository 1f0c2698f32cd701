"""What ingest costs over parsing, and what Prefect costs over the batches, in one run.

    .venv/bin/python bench/prefect_cost.py [--stories 10000] [--s3]

Builds N synthetic text stories (tests/corpus.py, ~0.5 KB each), then times whole
processes on the same folder, one after another:

1. ``wire-ingest parse --jsonl`` (the parse speed ingest is measured against);
2. ``python -m flows.batch`` (the same batches as ``ingest``, without Prefect);
3. ``wire-ingest ingest`` with no ``PREFECT_API_URL`` (Prefect starts its temporary server);
4. ``wire-ingest ingest`` against a ``prefect server start`` already running on 127.0.0.1
   (how a deployment runs), with the time from the process start to its first committed
   batch (the first ``_ledger/<batch>.json`` object).

Prefect's share of a run is (3 or 4 minus 2) / (3 or 4). ``--s3`` writes to a moto S3
server on loopback instead of a local folder. Each ingest writes to a fresh store.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.corpus import write_corpus  # noqa: E402

CLI = [sys.executable, "-m", "flows.cli"]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def first_commit_watcher(dest: str, started: float, found: list[float]) -> threading.Thread:
    """Poll the store for the first batch object in ``_ledger/``; record its time."""

    def watch() -> None:
        from storage import open_storage

        store = open_storage(dest)
        while not found:
            if any(k.endswith(".json") and "/" not in k[len("_ledger/") :] for k in store.keys("_ledger/")):
                found.append(time.perf_counter() - started)
                return
            time.sleep(0.02)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def timed(cmd: list[str], env: dict[str, str], dest: str | None = None) -> tuple[float, float | None]:
    found: list[float] = []
    started = time.perf_counter()
    watcher = first_commit_watcher(dest, started, found) if dest else None
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    if watcher is not None:
        watcher.join(timeout=1)
    return elapsed, (found[0] if found else None)


def start_prefect_server(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.5)
    process.terminate()
    raise SystemExit("prefect server did not answer on 127.0.0.1 within 120 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=10_000)
    parser.add_argument("--s3", action="store_true", help="write to a moto S3 server on loopback")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        landing = root / "landing"
        paths = write_corpus(landing, args.stories, text_only=True)
        megabytes = sum(p.stat().st_size for p in paths) / 1e6
        env = dict(os.environ, PREFECT_HOME=str(root / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
        env.pop("PREFECT_API_URL", None)
        moto = None
        if args.s3:
            import logging

            from moto.server import ThreadedMotoServer

            logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise

            port = free_port()
            moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
            moto.start()
            env["AWS_ENDPOINT_URL"] = os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
            env.setdefault("AWS_ACCESS_KEY_ID", "bench")
            env.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
            env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
            os.environ.update({k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")})
            import boto3

            client = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"])
            for name in ("bench-a", "bench-b", "bench-c"):
                client.create_bucket(Bucket=name)
            stores = [f"s3://bench-{x}/store" for x in "abc"]
        else:
            stores = [str(root / f"store-{x}") for x in "abc"]
        rows: list[tuple[str, float, float | None]] = []
        parse_s, _ = timed([*CLI, "parse", "--jsonl", str(landing)], env)
        rows.append(("wire-ingest parse --jsonl", parse_s, None))
        plain_cmd = [sys.executable, "-m", "flows.batch", str(landing), stores[0], "200"]
        plain_s, plain_first = timed(plain_cmd, env, stores[0])
        rows.append(("python -m flows.batch (the batches, no Prefect)", plain_s, plain_first))
        temp_s, temp_first = timed([*CLI, "ingest", str(landing), "--dest", stores[1]], env, stores[1])
        rows.append(("wire-ingest ingest, temporary Prefect server", temp_s, temp_first))
        server, url = start_prefect_server(env)
        try:
            served_env = dict(env, PREFECT_API_URL=url)
            served_s, served_first = timed([*CLI, "ingest", str(landing), "--dest", stores[2]], served_env, stores[2])
            rows.append((f"wire-ingest ingest, PREFECT_API_URL={url}", served_s, served_first))
        finally:
            server.terminate()
            server.wait(timeout=30)
            if moto is not None:
                moto.stop()
        where = "moto S3 on loopback" if args.s3 else "local folder"
        print(f"{args.stories:,} text stories ({megabytes:.1f} MB), store: {where}, 2-core machine\n")
        print("| run | seconds | stories/s | x parse | first batch committed after | Prefect's share |")
        print("|---|---|---|---|---|---|")
        for label, seconds, first in rows:
            share = f"{(seconds - plain_s) / seconds:.0%}" if "ingest," in label else ""
            first_text = f"{first:.1f} s" if first is not None else ""
            print(
                f"| {label} | {seconds:.1f} | {args.stories / seconds:,.0f} | {parse_s / seconds:.2f} | "
                f"{first_text} | {share} |"
            )


if __name__ == "__main__":
    main()
