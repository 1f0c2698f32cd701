"""What ingest costs over parsing, and what Prefect costs over the batches, in one run.

    .venv/bin/python bench/prefect_cost.py [--stories 10000] [--s3] [--repeats 3]

Builds N synthetic text stories (tests/corpus.py): by default the corpus issue 11 was
measured on, stories of 1-4 KB built from the golden text inputs in their own layouts with
words and numbers varied, every tenth a near copy of an earlier one
(``write_varied_corpus``); ``--corpus marked``: the golden inputs as filed (~0.5 KB) with
a number written into each, the corpus of this benchmark's rows before the twenty-second
session (nearly every story a near copy of an earlier one). Then times whole
processes on the same folder, in interleaved rounds (the best of each kind is reported,
with every round's figure):

1. ``wire-ingest parse --jsonl`` (the parse speed ingest is measured against);
2. ``python -m flows.batch`` (the same batches as ``ingest``, without Prefect);
3. ``wire-ingest ingest`` with no ``PREFECT_API_URL`` (Prefect starts its temporary server);
4. ``wire-ingest ingest`` against a ``prefect server start`` already running on 127.0.0.1
   (how a deployment runs), with the time from the process start to its first committed
   batch (the first ``_ledger/<batch>.json`` object). Before the rounds, one 200-story run
   against it registers the flow and lets the server's services settle, as a deployment's
   long-running server has; the first run on a fresh server is ~1-3 s slower.

Prefect's share of a run is (3 or 4 minus 2) / (3 or 4), best against best. The last
column is the whole machine's busy core-seconds during the best round (``/proc/stat``): on
two cores a run cannot take less than half of it. ``--s3`` writes to a moto S3 server on
loopback instead of a local folder. Each ingest writes to a fresh store. Run 3 runs once
(it costs 8-20 s of server start-up a run).
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

from flows.inputs import DEFAULT_BATCH_SIZE  # noqa: E402
from tests.corpus import write_corpus, write_varied_corpus  # noqa: E402

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


def busy_ticks() -> int | None:
    """The machine's CPU time spent busy so far, in clock ticks, every core summed
    (``/proc/stat``: user, nice, system, irq, softirq, steal); None where there is none."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(x) for x in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return user + nice + system + irq + softirq + steal


def timed(cmd: list[str], env: dict[str, str], dest: str | None = None) -> tuple[float, float | None, float | None]:
    """Seconds the command took, seconds to its first committed batch (with ``dest``), and
    the busy core-seconds of the whole machine meanwhile (its servers' too: what the run
    costs two cores; more than the wall time means both cores worked)."""
    found: list[float] = []
    ticks = busy_ticks()
    started = time.perf_counter()
    watcher = first_commit_watcher(dest, started, found) if dest else None
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if done.returncode != 0:  # say why before giving up: the run's own last lines
        tail = done.stderr.decode("utf-8", "replace")[-4000:]
        raise SystemExit(f"{' '.join(cmd)} exited {done.returncode}; its stderr ended:\n{tail}")
    elapsed = time.perf_counter() - started
    after = busy_ticks()
    busy = (after - ticks) / os.sysconf("SC_CLK_TCK") if ticks is not None and after is not None else None
    if watcher is not None:
        watcher.join(timeout=1)
    return elapsed, (found[0] if found else None), busy


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
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds; the best of each is reported")
    parser.add_argument(
        "--corpus",
        choices=("varied", "marked"),
        default="varied",
        help="varied: 1-4 KB stories, words and numbers varied (default); marked: the golden inputs as filed",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        landing = root / "landing"
        if args.corpus == "varied":
            paths = write_varied_corpus(landing, args.stories)
        else:
            paths = write_corpus(landing, args.stories, text_only=True)
        warm_landing = root / "warm-landing"
        write_corpus(warm_landing, 200, text_only=True)
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

            boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"]).create_bucket(Bucket="bench")

        def store(name: str) -> str:  # a fresh store for every ingest
            return f"s3://bench/{name}" if args.s3 else str(root / name)

        runs: dict[str, list[tuple[float, float | None, float | None]]] = {
            "parse": [],
            "batch": [],
            "served": [],
            "temporary": [],
        }
        # Prefect's temporary server: once (it costs 8-20 s a run and is not how a deployment runs).
        temporary = [*CLI, "ingest", str(landing), "--dest", store("temporary")]
        runs["temporary"].append(timed(temporary, env, store("temporary")))
        server, url = start_prefect_server(env)
        try:
            served_env = dict(env, PREFECT_API_URL=url)
            # A deployment's server is running and has seen the flow before: one small run
            # registers the flow and its tasks and lets the server's services settle.
            timed([*CLI, "ingest", str(warm_landing), "--dest", store("warm-up")], served_env)
            time.sleep(2)
            for round_ in range(args.repeats):  # interleaved, so a noisy spell hits every kind
                runs["parse"].append(timed([*CLI, "parse", "--jsonl", str(landing)], env))
                dest = store(f"batch-{round_}")
                batches = [sys.executable, "-m", "flows.batch", str(landing), dest, str(DEFAULT_BATCH_SIZE)]
                runs["batch"].append(timed(batches, env, dest))
                dest = store(f"served-{round_}")
                runs["served"].append(timed([*CLI, "ingest", str(landing), "--dest", dest], served_env, dest))
        finally:
            server.terminate()
            server.wait(timeout=30)
            if moto is not None:
                moto.stop()
        where = "moto S3 on loopback" if args.s3 else "local folder"
        print(
            f"{args.stories:,} text stories ({args.corpus} corpus, {megabytes:.1f} MB), store: {where}, "
            f"{os.cpu_count()}-core machine; "
            f"best of {args.repeats} interleaved rounds [all rounds]\n"
        )
        print(
            "| run | seconds | stories/s | x parse | first batch committed after | Prefect's share "
            "| busy core-s (machine) |"
        )
        print("|---|---|---|---|---|---|---|")
        best = {kind: min(results, key=lambda r: r[0]) for kind, results in runs.items()}
        parse_s, plain_s = best["parse"][0], best["batch"][0]
        labels = {
            "parse": "wire-ingest parse --jsonl",
            "batch": "python -m flows.batch (the batches, no Prefect)",
            "temporary": "wire-ingest ingest, temporary Prefect server (one run)",
            "served": "wire-ingest ingest, PREFECT_API_URL = a running prefect server",
        }
        for kind in ("parse", "batch", "temporary", "served"):
            seconds, first, busy = best[kind]
            every = ", ".join(f"{r[0]:.1f}" for r in runs[kind])
            firsts = [r[1] for r in runs[kind] if r[1] is not None]
            first_text = f"{first:.1f} s [{', '.join(f'{f:.1f}' for f in firsts)}]" if first is not None else ""
            share = f"{(seconds - plain_s) / seconds:.0%}" if kind in ("temporary", "served") else ""
            cells = [labels[kind], f"{seconds:.1f} [{every}]", f"{args.stories / seconds:,.0f}"]
            cells += [f"{parse_s / seconds:.2f}", first_text, share, f"{busy:.1f}" if busy is not None else ""]
            print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
