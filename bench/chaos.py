"""Chaos at full size: real processes killed at write events and at random times, twice in
a row, on a local root and on S3 (moto over loopback), reprocess backfills killed, a proxy
failing a random share of S3 requests, two runs at once. Prints a table of trials, faults
injected, reruns needed and violations (lost or doubled inputs, a story id in two rows,
quarantine or ledger different from a clean run's, anything left pending).

    .venv/bin/python bench/chaos.py [--local-trials 50] [--s3-trials 20] [--quick] [--fold-after N]

``--fold-after 1`` folds the ledger at the end of every run (the default folds after 50
batches, which few trials reach), so kills and faults land in folds too.

Starts its own moto server and Prefect test server on 127.0.0.1; nothing leaves the machine.
``tests/test_chaos.py`` is the CI-sized version.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="wire-ingest-chaos-prefect-"))
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_LOGGING_LEVEL"] = "ERROR"
os.environ.setdefault("AWS_ACCESS_KEY_ID", "chaos-access-key")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "chaos-secret-key")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ["WIRE_INGEST_LEASE_SECONDS"] = "10"

import logging  # noqa: E402

logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log

from storage import open_storage  # noqa: E402
from table.check import check_dataset  # noqa: E402
from table.snapshot import Snapshot, batch_id_of, read_pointer  # noqa: E402
from tests.corpus import write_corpus  # noqa: E402


@dataclass
class Row:
    scenario: str
    trials: int = 0
    faults: int = 0
    reruns: int = 0
    violations: int = 0
    notes: list[str] = field(default_factory=list)


def snapshot(dest: str) -> dict[str, Any]:
    """Story ids of every row, quarantine keys, ledger outcomes (in commit order), pending."""
    import pyarrow.parquet as pq

    store = open_storage(dest)
    ids: list[str] = []
    for info in store.list("stories/"):
        if info.key.endswith(".parquet"):
            import io

            ids += [str(x) for x in pq.read_table(io.BytesIO(store.get(info.key)), columns=["story_id"])["story_id"]]
    # The ledger: the folded snapshot (if a run has folded one), then the batch objects it
    # has not folded, in commit order. Reading every `_ledger/` object as a batch broke
    # once a run folded (the snapshot's files are binary).
    pointer = read_pointer(store)
    outcomes: dict[str, str] = {}
    if pointer is not None:
        outcomes.update((row["source_uri"], row["outcome"]) for row in Snapshot(store, pointer[0]).iter_rows())
    folded = set(pointer[0]["folded"]) if pointer is not None else set()
    batches = [
        json.loads(store.get(i.key))
        for i in store.list("_ledger/")
        if (batch_id := batch_id_of(i.key)) is not None and batch_id not in folded
    ]
    batches.sort(key=lambda b: (b.get("committed_at", ""), b["batch_id"]))
    for batch in batches:
        for entry in batch["entries"]:
            outcomes[entry["source_uri"]] = entry["outcome"]
    return {
        "ids": sorted(ids),
        "doubled": len(ids) - len(set(ids)),
        "quarantine": sorted(i.key.split("/")[-1] for i in store.list("quarantine/")),
        "outcomes": outcomes,
        "pending": [i.key for i in store.list("_manifests/_pending/")],
        "check": dict(check_dataset(store).problems),  # what `wire-ingest check` finds
    }


def violations(after: dict[str, Any], reference: dict[str, Any]) -> list[str]:
    found = []
    if after["doubled"]:
        found.append(f"{after['doubled']} story ids in two rows")
    if after["ids"] != reference["ids"]:
        found.append(f"story ids differ ({len(after['ids'])} vs {len(reference['ids'])})")
    if after["quarantine"] != reference["quarantine"]:
        found.append("quarantine differs")
    if after["outcomes"] != reference["outcomes"]:
        found.append(f"ledger differs ({len(after['outcomes'])} vs {len(reference['outcomes'])} inputs)")
    if after["pending"]:
        found.append("batches left pending")
    if after["check"]:
        found.append(f"wire-ingest check: {after['check']}")
    return found


LAST_ERROR: list[str] = []


def plain(source: str, dest: str, batch: int, crash_at: int = 0, env: dict[str, str] | None = None) -> int:
    run_env = dict(env or os.environ)
    run_env.pop("WIRE_INGEST_CRASH_AT", None)
    if crash_at:
        run_env["WIRE_INGEST_CRASH_AT"] = str(crash_at)
    cmd = [sys.executable, "-m", "flows.batch", source, dest, str(batch)]
    done = subprocess.run(cmd, env=run_env, cwd=REPO, capture_output=True, check=False, timeout=600)
    if done.returncode not in (0, -signal.SIGKILL):
        LAST_ERROR[:] = [done.stderr.decode(errors="replace")[-1500:]]
    return done.returncode


def cli(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "flows.cli", *args],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def count_events(source: str, dest_of: Any, batch: int) -> int:
    """How many write events a clean run of ``source`` has (the first k that does not crash)."""
    low, high = 1, 4096
    while low < high:  # binary search: a run crashes at k exactly when k <= events
        mid = (low + high) // 2
        if plain(source, dest_of(f"count-{mid}"), batch, crash_at=mid) != 0:
            low = mid + 1
        else:
            high = mid
    return low - 1


def crash_point_trials(row: Row, source: str, dest_of: Any, batch: int, trials: int) -> None:
    clean = dest_of("clean")
    plain(source, clean, batch)
    reference = snapshot(clean)
    events = count_events(source, dest_of, batch)
    rng = random.Random(7)
    points = sorted(rng.sample(range(1, events + 1), min(trials, events)))
    row.notes.append(f"{events} write events per run")
    for number, k in enumerate(points):
        dest = dest_of(f"k{k}")
        row.trials += 1
        if plain(source, dest, batch, crash_at=k) == -signal.SIGKILL:
            row.faults += 1
        if number % 4 == 0 and plain(source, dest, batch, crash_at=rng.randrange(1, 12)) == -signal.SIGKILL:
            row.faults += 1  # killed again, during its recovery
        row.reruns += 1
        if plain(source, dest, batch) != 0:
            row.violations += 1
            row.notes.append(f"k={k}: the rerun failed: {LAST_ERROR[-1] if LAST_ERROR else ''}")
            continue
        problems = violations(snapshot(dest), reference)
        if problems:
            row.violations += 1
            row.notes.append(f"k={k}: {'; '.join(problems)}")


def random_kill_trials(row: Row, env: dict[str, str], source: str, dest_of: Any, trials: int, args: list[str]) -> None:
    """``wire-ingest`` (real Prefect) SIGKILLed (process group) at a random moment."""
    clean = dest_of("clean")
    started = time.monotonic()
    assert cli(env, *args, "--dest", clean).wait(timeout=600) == 0
    duration = time.monotonic() - started  # kills are drawn inside a run's own length
    reference = snapshot(clean)
    rng = random.Random(11)
    for trial in range(trials):
        dest = dest_of(f"t{trial}")
        run = subprocess.Popen(
            [sys.executable, "-m", "flows.cli", *args, "--dest", dest],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(rng.uniform(0.2, 0.9) * duration)
        row.trials += 1
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            row.faults += 1
        run.wait()
        row.reruns += 1
        rerun = cli(env, *args, "--dest", dest, "--wait-lock", "60")
        _, err = rerun.communicate(timeout=600)
        if rerun.returncode != 0:
            row.violations += 1
            row.notes.append(err.decode()[-300:])
            continue
        problems = violations(snapshot(dest), reference)
        if problems:
            row.violations += 1
            row.notes.append(f"trial {trial}: {'; '.join(problems)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--local-trials", type=int, default=50)
    parser.add_argument("--s3-trials", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="a few trials of each kind")
    parser.add_argument("--fold-after", type=int, help="fold the ledger after this many batches (default 50)")
    args = parser.parse_args()
    if args.fold_after:
        os.environ["WIRE_INGEST_LEDGER_FOLD_AFTER"] = str(args.fold_after)
    if args.quick:
        args.local_trials, args.s3_trials = 6, 4

    import boto3
    from moto.server import ThreadedMotoServer
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    from flows.batch import IngestSettings, run_without_prefect
    from tests.faultproxy import FaultProxy

    rows: list[Row] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="wire-ingest-chaos-") as tmp, prefect_test_harness(120):
        root = Path(tmp)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        endpoint = f"http://127.0.0.1:{port}"
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="chaos")
        env = dict(os.environ, PREFECT_API_URL=str(PREFECT_API_URL.value()))

        landing = root / "landing"
        write_corpus(landing, 60, bad_every=7)
        dated = root / "dated"
        write_corpus(dated, 60, dated=True, bad_every=9)

        row = Row("crash point at a write event, local (every 4th killed again in recovery)")
        crash_point_trials(row, str(landing), lambda n: str(root / f"local-{n}"), 8, args.local_trials)
        rows.append(row)

        row = Row("crash point at a write event, S3 (moto)")
        crash_point_trials(row, str(landing), lambda n: f"s3://chaos/s3-{n}", 8, args.s3_trials)
        rows.append(row)

        row = Row("random-time SIGKILL of `wire-ingest ingest` (process group), local")
        ingest_args = ["ingest", str(landing), "--batch-size", "6"]
        kills = max(2, args.local_trials // 10)
        random_kill_trials(row, env, str(landing), lambda n: str(root / f"rand-{n}"), kills, ingest_args)
        rows.append(row)

        row = Row("random-time SIGKILL of `backfill --reprocess`, local")
        range_args = ["--start", "2024-01-01", "--end", "2024-01-31", "--batch-size", "5"]
        base = root / "reprocess-base"
        assert cli(env, "backfill", str(dated), "--dest", str(base), *range_args).wait(timeout=600) == 0

        def reprocess_dest(name: str) -> str:
            dest = root / f"reprocess-{name}"
            subprocess.run(["cp", "-r", str(base), str(dest)], check=True)
            return str(dest)

        random_kill_trials(
            row, env, str(dated), reprocess_dest, kills, ["backfill", str(dated), *range_args, "--reprocess"]
        )
        rows.append(row)

        row = Row("proxy failing a random 10% of S3 requests (503, 500, drop, reset, slow past the read timeout)")
        clean = "s3://chaos/proxy-clean"
        run_without_prefect(str(landing), clean, IngestSettings(), 8)
        reference = snapshot(clean)
        os.environ["WIRE_INGEST_S3_READ_TIMEOUT"] = "1"
        for trial in range(max(3, args.s3_trials // 4)):
            dest = f"s3://chaos/proxy-{trial}"
            row.trials += 1
            with FaultProxy(endpoint, random_share=0.10, seed=trial, slow_seconds=1.5) as proxy:
                os.environ["AWS_ENDPOINT_URL"] = proxy.endpoint
                try:
                    run_without_prefect(str(landing), dest, IngestSettings(), 8, wait_lock=30)
                except Exception as exc:  # the run may fail for good: one rerun must finish it
                    row.reruns += 1
                    row.notes.append(f"trial {trial}: {type(exc).__name__}")
                    proxy.heal()
                    run_without_prefect(str(landing), dest, IngestSettings(), 8, wait_lock=30)
                row.faults += proxy.faults
            os.environ["AWS_ENDPOINT_URL"] = endpoint
            problems = violations(snapshot(dest), reference)
            if problems:
                row.violations += 1
                row.notes.append(f"trial {trial}: {'; '.join(problems)}")
        os.environ.pop("WIRE_INGEST_S3_READ_TIMEOUT", None)
        rows.append(row)

        backends: list[tuple[str, Callable[[str], str]]] = [
            ("local", lambda n: str(root / f"two-{n}")),
            ("S3", lambda n: f"s3://chaos/two-{n}"),
        ]
        for backend, dest_of in backends:
            row = Row(f"two `ingest` runs at once (batch 200 and 10), {backend}")
            clean = dest_of("clean")
            assert cli(env, "ingest", str(landing), "--dest", clean).wait(timeout=600) == 0
            reference = snapshot(clean)
            for trial in range(3):
                dest = dest_of(f"t{trial}")
                runs = [
                    cli(env, "ingest", str(landing), "--dest", dest, "--batch-size", n, "--wait-lock", "300")
                    for n in ("200", "10")
                ]
                codes = [r.wait(timeout=900) for r in runs]
                row.trials += 1
                problems = violations(snapshot(dest), reference) + [f"exit {c}" for c in codes if c != 0]
                if problems:
                    row.violations += 1
                    row.notes.append(f"trial {trial}: {'; '.join(problems)}")
            rows.append(row)
        server.stop()

    print(f"chaos run: {time.monotonic() - started:.0f} s\n")
    print("| scenario | trials | faults injected | reruns | violations |\n|---|---|---|---|---|")
    for row in rows:
        print(f"| {row.scenario} | {row.trials} | {row.faults} | {row.reruns} | {row.violations} |")
    for row in rows:
        for note in row.notes:
            print(f"- {row.scenario}: {note}")


if __name__ == "__main__":
    main()
