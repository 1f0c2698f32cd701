"""Crash points for the chaos tests: ``WIRE_INGEST_CRASH_AT=k`` makes the process SIGKILL
itself at its k-th storage write event (a put, a delete, a staged file synced but not yet
renamed into place). Unset, it costs one integer comparison per write.

This is how the tests reach every step of the commit protocol with a kill, which random
timing alone rarely does (most random kills land in Prefect's start-up).
"""

from __future__ import annotations

import os
import signal
import threading

_CRASH_AT = int(os.environ.get("WIRE_INGEST_CRASH_AT", "0") or 0)
_events = 0
_count_lock = threading.Lock()  # S3 uploads of a batch run on several threads


def crash_point(event: str) -> None:
    """Count one write event; at the configured one, die as the OOM killer would."""
    global _events
    if not _CRASH_AT:
        return
    with _count_lock:
        _events += 1
        reached = _events == _CRASH_AT
    if reached:
        os.write(2, f"wire-ingest: crash point {_CRASH_AT} reached ({event}): SIGKILL\n".encode())
        os.kill(os.getpid(), signal.SIGKILL)
