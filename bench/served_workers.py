"""What a served deployment's parse workers cost: each one's peak memory and CPU seconds
over a triggered flow run.

    .venv/bin/python bench/served_workers.py [--stories 2000] [--runs 2]

Starts a ``prefect server`` on 127.0.0.1 (in a temporary ``PREFECT_HOME``), writes N
synthetic text stories (tests/corpus.py), and for each run serves the ingest deployment
(``wire-ingest serve`` into a fresh root) and triggers it (``prefect deployment run``):
Prefect runs the flow in a process of its own, ``python -m prefect.engine``, as every
scheduled run of a deployment is run. Meanwhile it reads, every 0.1 s, the resident
memory and CPU time of the fork server's children (the parse workers) from ``/proc``
(Linux only) and prints them per worker once the run has committed.

Before the nineteenth session each worker ran ``prefect.engine`` again as its main module:
measured with this procedure on the commit before (``4737716``), 2,000 stories, two runs:
133 MB and 1.68-1.78 CPU-s a worker, against 75 MB and 0.68-0.72 CPU-s after.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.prefect_cost import start_prefect_server  # noqa: E402
from tests.corpus import write_corpus  # noqa: E402


def parse_workers() -> dict[int, tuple[int, float]]:
    """Each fork server child now: (resident MB, CPU seconds)."""
    found: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if b"multiprocessing.forkserver" not in Path(f"/proc/{entry}/cmdline").read_bytes():
                continue
            children = Path(f"/proc/{entry}/task/{entry}/children").read_text().split()
        except OSError:
            continue
        for child in children:
            try:
                fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
                status = Path(f"/proc/{child}/status").read_text().splitlines()
            except OSError:
                continue
            rss = next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))
            found[int(child)] = (rss // 1024, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    if not Path("/proc/self/stat").exists():
        raise SystemExit("this benchmark reads /proc: Linux only")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        landing = root / "landing"
        write_corpus(landing, args.stories, text_only=True)
        env = dict(os.environ, PREFECT_HOME=str(root / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
        env.pop("PREFECT_API_URL", None)
        server, url = start_prefect_server(env)
        env["PREFECT_API_URL"] = url
        print(f"{args.stories:,} text stories, one served deployment run each, 2 parse workers\n")
        print("| run | worker | peak RSS MB | CPU s | first commit after trigger s |")
        print("|---|---|---|---|---|")
        try:
            for run in range(1, args.runs + 1):
                dest = root / f"store-{run}"
                where = ["--source", str(landing), "--dest", str(dest), "--name", f"bench-{run}"]
                options = ["--cron", "0 0 1 1 *", "--settle", "0"]
                serve = subprocess.Popen(
                    [sys.executable, "-m", "flows.cli", "serve", *where, *options],
                    env=env,
                    cwd=REPO,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                try:
                    deadline = time.monotonic() + 120
                    while time.monotonic() < deadline:  # until the deployment is registered
                        triggered = subprocess.run(
                            [
                                str(Path(sys.executable).parent / "prefect"),
                                "deployment",
                                "run",
                                f"wire-ingest/bench-{run}",
                            ],
                            env=env,
                            capture_output=True,
                            check=False,
                        )
                        if triggered.returncode == 0:
                            break
                        time.sleep(1)
                    started, committed = time.monotonic(), None
                    seen: dict[int, tuple[int, float]] = {}
                    while time.monotonic() - started < 300:
                        for pid, (rss, cpu) in parse_workers().items():
                            old = seen.get(pid, (0, 0.0))
                            seen[pid] = (max(old[0], rss), max(old[1], cpu))
                        if committed is None and any((dest / "_ledger").glob("*.json")):
                            committed = time.monotonic() - started
                        if committed is not None and time.monotonic() - started > committed + 8:
                            break  # the run's last batches commit within seconds at this size
                        time.sleep(0.1)
                finally:
                    serve.terminate()
                    serve.wait(30)
                for number, (rss, cpu) in enumerate(sorted(seen.values()), 1):
                    print(f"| {run} | {number} | {rss} | {cpu:.2f} | {committed or float('nan'):.1f} |")
        finally:
            server.terminate()
            server.wait(30)


if __name__ == "__main__":
    main()
