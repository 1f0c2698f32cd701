"""A watcher that takes a run's helper processes down with it, however the run dies.

``wire-ingest ingest`` and ``backfill`` start helpers: Prefect's temporary API server
(uvicorn, ~200 MB) when no ``PREFECT_API_URL`` is set, the forkserver, the parse workers.
A run stopped by SIGKILL (the OOM killer, a timeout, ``kill -9``) runs no exit handler,
and its helpers would live on as orphans. So the CLI starts this watcher first, in a
session of its own: it notes the run's descendants every half second and, once the run
is gone, stops the ones it noted (SIGTERM, then SIGKILL). It exits with the run.

Linux only (it reads /proc); elsewhere it is not started. Run as
``python -m flows.lifeline PID``; imports nothing beyond the standard library.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

POLL_SECONDS = 0.5


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time in clock ticks) of ``pid``, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()  # the command name may hold spaces and ")"
    return int(fields[1]), int(fields[19])


def descendants(root: int) -> dict[int, int]:
    """Every living descendant of ``root``: pid -> start time."""
    children: dict[int, list[int]] = {}
    starts: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            info = _stat(int(entry.name))
            if info is not None:
                children.setdefault(info[0], []).append(int(entry.name))
                starts[int(entry.name)] = info[1]
    found: dict[int, int] = {}
    stack = list(children.get(root, []))
    while stack:
        pid = stack.pop()
        if pid not in found and pid in starts:
            found[pid] = starts[pid]
            stack.extend(children.get(pid, []))
    return found


def _alive(pid: int, started: int) -> bool:
    info = _stat(pid)
    return info is not None and info[1] == started  # same start time: not a reused pid


def watch(run_pid: int) -> None:
    """Note ``run_pid``'s descendants until it dies, then stop them."""
    me = os.getpid()
    run = _stat(run_pid)
    if run is None:
        return
    run_started = run[1]
    noted: dict[int, int] = {}
    while _alive(run_pid, run_started):
        noted.update(descendants(run_pid))
        noted.pop(me, None)
        noted = {pid: start for pid, start in noted.items() if _alive(pid, start)}
        time.sleep(POLL_SECONDS)
    # Children of what we noted (a forkserver's workers) are still linked to their parents.
    for pid in list(noted):
        noted.update(descendants(pid))
    noted.pop(me, None)
    living = {pid: start for pid, start in noted.items() if _alive(pid, start)}
    for sig, grace in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 0.0)):
        for pid, start in living.items():
            if _alive(pid, start):
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(_alive(p, s) for p, s in living.items()):
            time.sleep(0.1)


def start_lifeline() -> subprocess.Popen[bytes] | None:
    """Start the watcher for this process (Linux; elsewhere None)."""
    if not sys.platform.startswith("linux") or not Path("/proc/self/stat").exists():
        return None
    return subprocess.Popen(
        [sys.executable, "-m", "flows.lifeline", str(os.getpid())],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a kill of the run's process group must not take the watcher too
        cwd=str(Path(__file__).resolve().parents[1]),
    )


if __name__ == "__main__":
    watch(int(sys.argv[1]))
