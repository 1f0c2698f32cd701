"""Discovering and reading inputs: which keys of a source are stories to ingest, and
their bytes, with every input that cannot be read turned into a quarantine reason.

Light on purpose (no pyarrow, no Prefect): ``wire-ingest parse`` uses it too.
"""

from __future__ import annotations

import fnmatch

from flows.workers import Quarantined
from schemas.errors import InputError, StorageError
from storage import Storage

QUARANTINE_PREFIX = "quarantine/"
#: Prefixes of a dataset root; a source that is also a root never offers them as inputs.
RESERVED_PREFIXES = ("stories/", QUARANTINE_PREFIX, "_manifests/", "_ledger/", "_lock/", "_staging/")


def is_candidate(key: str, pattern: str) -> bool:
    """Inputs are visible files matching ``pattern``; hidden and reserved paths are skipped."""
    parts = key.split("/")
    if any(part.startswith((".", "_")) for part in parts):
        return False
    if key.startswith(RESERVED_PREFIXES):
        return False
    return fnmatch.fnmatch(parts[-1], pattern)


def read_payloads(
    source: Storage, keys: list[str], max_bytes: int | None = None
) -> tuple[list[tuple[str, bytes]], list[Quarantined]]:
    """Read the batch's inputs (at most ``max_bytes`` + 1 bytes each: the parser quarantines
    anything longer as ``too_large`` without the rest being read). One that cannot be read
    is quarantined with its reason (``link_outside_root``, ``not_a_file``, ``unreadable``)."""
    payloads: list[tuple[str, bytes]] = []
    unreadable: list[Quarantined] = []
    for key in keys:
        uri = source.full_uri(key)
        try:
            payloads.append((uri, source.get(key, limit=max_bytes)))
        except InputError as exc:
            unreadable.append(Quarantined(uri, "", 0, exc.reason, exc.detail))
        except StorageError as exc:
            unreadable.append(Quarantined(uri, "", 0, "unreadable", str(exc)))
    return payloads, unreadable
