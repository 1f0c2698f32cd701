"""What a flow run costs ``wire-ingest ingest``, with Prefect's flow-run heartbeat and without.

    .venv/bin/python bench/flow_run_cost.py [--stories 100] [--repeats 3]

Prefect 3.9 joins each flow run's heartbeat thread at the run's end, and that thread
sleeps in whole seconds; ``ingest``'s runs go without it unless
``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` is configured (``flows.environment.command_runs``).
This times, against a ``prefect server`` this script starts on 127.0.0.1 (how a
deployment's server runs), in alternated rounds, each kind with the variable set to
Prefect's default (180: the heartbeat on, as before) and unset (``ingest``'s default):

- ``wire-ingest ingest`` of ``--stories`` new stories into a fresh store;
- a no-op ``wire-ingest ingest`` (every input already done).

Prints each kind's median and every round, and the machine's busy core-seconds (its
server's too). The stories are the golden text inputs (``tests/corpus.write_corpus``), so
nothing outside the repository is read.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.prefect_cost import start_prefect_server, timed  # noqa: E402
from tests.corpus import write_corpus  # noqa: E402

CLI = [sys.executable, "-m", "flows.cli"]
HEARTBEAT = "PREFECT_FLOWS_HEARTBEAT_FREQUENCY"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=100, help="new stories the first kind ingests")
    parser.add_argument("--repeats", type=int, default=3, help="alternated rounds")
    args = parser.parse_args()
    if args.stories < 1 or args.repeats < 1:
        raise SystemExit("--stories and --repeats take at least 1")

    with tempfile.TemporaryDirectory(prefix="wire-ingest-flow-run-cost-") as tmp:
        root = Path(tmp)
        landing = root / "landing"
        write_corpus(landing, args.stories, text_only=True)
        env = dict(os.environ, PREFECT_HOME=str(root / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
        env.pop(HEARTBEAT, None)
        env.pop("PREFECT_API_URL", None)
        server, url = start_prefect_server(env)
        results: dict[tuple[str, str], list[tuple[float, float | None]]] = {}
        try:
            env["PREFECT_API_URL"] = url
            done = str(root / "done")
            timed([*CLI, "ingest", str(landing), "--dest", done], env)  # registers the flow; all done after it
            time.sleep(2)
            for round_ in range(args.repeats):
                for heartbeat in ("180", "unset"):
                    run_env = dict(env, **({HEARTBEAT: heartbeat} if heartbeat != "unset" else {}))
                    fresh = str(root / f"fresh-{heartbeat}-{round_}")
                    elapsed, _, busy = timed([*CLI, "ingest", str(landing), "--dest", fresh], run_env)
                    results.setdefault((f"ingest of {args.stories} new stories", heartbeat), []).append((elapsed, busy))
                    elapsed, _, busy = timed([*CLI, "ingest", str(landing), "--dest", done], run_env)
                    results.setdefault(("no-op ingest", heartbeat), []).append((elapsed, busy))
        finally:
            server.terminate()
            server.wait(timeout=30)

    print(
        f"\nwhole wire-ingest processes against a running prefect server on 127.0.0.1; "
        f"{args.repeats} alternated rounds\n"
    )
    print(f"| run | {HEARTBEAT} | seconds, median [each round] | busy core-s, median |")
    print("|---|---|---|---|")
    for (kind, heartbeat), runs in results.items():
        seconds = [s for s, _ in runs]
        cores = [b for _, b in runs if b is not None]
        shown = "180 (heartbeat on)" if heartbeat == "180" else "unset (no heartbeat)"
        rounds = ", ".join(f"{s:.1f}" for s in seconds)
        core = f"{statistics.median(cores):.1f}" if cores else "-"
        print(f"| {kind} | {shown} | {statistics.median(seconds):.2f} [{rounds}] | {core} |")


if __name__ == "__main__":
    main()
