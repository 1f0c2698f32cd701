"""The store lease: one writer per dataset root at a time, across processes and machines.

A run takes ``_lock/lease.json`` with a conditional create (``If-None-Match: *`` on S3,
a hard link locally: both fail if the object exists), renews it from a background thread
with compare-and-swap writes (``If-Match`` on the version it wrote last), and deletes it
when it ends. A run that dies stops renewing, so its lease lapses after ``ttl`` seconds
and the next run takes it over, again by compare-and-swap, so two runs racing for a
lapsed lease cannot both win. On the holder's own host a lease whose process is gone is
taken over at once (a rerun after ``kill -9`` need not wait out the ttl). A run whose
lease was lost (renewals failed for longer than the ttl, or another run took it over)
stops before its next commit (`Lease.check`).

Expiry times are wall-clock UTC written by the holder: machines sharing a root need
clocks within a few seconds of each other (NTP), far less than the ttl.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from schemas.errors import LeaseHeldError, LeaseLostError, StorageError
from storage.base import Storage

LEASE_KEY = "_lock/lease.json"
#: Seconds a lease lives without renewal (``WIRE_INGEST_LEASE_SECONDS``).
DEFAULT_TTL = float(os.environ.get("WIRE_INGEST_LEASE_SECONDS", "60"))


#: Owners of leases this process took and released (their deletion may have failed).
_ENDED_HERE: set[str] = set()


@dataclass(frozen=True)
class LeaseRecord:
    """What a lease object says: who holds it and until when."""

    owner: str
    host: str
    pid: int
    command: str
    acquired_at: float
    expires_at: float

    def encode(self) -> bytes:
        return json.dumps(self.__dict__, sort_keys=True).encode("utf-8")

    @classmethod
    def decode(cls, data: bytes) -> LeaseRecord | None:
        try:
            raw: dict[str, Any] = json.loads(data)
            return cls(**raw)
        except (ValueError, TypeError):
            return None  # unreadable: treated as lapsed

    def died_here(self) -> bool:
        """Whether the holder ran on this host and its process is gone (a killed run's lease
        need not be waited out). A reused pid only makes us wait for the expiry: safe."""
        if self.host != socket.gethostname():
            return False
        if self.pid == os.getpid():
            return self.owner in _ENDED_HERE  # a run of this process that ended (storage was down)
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False  # alive, another user's
        return False

    def describe(self) -> str:
        def when(ts: float) -> str:
            return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")

        return (
            f"run {self.owner[:8]} ({self.command}, pid {self.pid} on {self.host}), "
            f"since {when(self.acquired_at)}, lease valid until {when(self.expires_at)}"
        )


class Lease:
    """The lease on one store; use as a context manager around a run's writes."""

    def __init__(self, store: Storage, *, command: str = "ingest", ttl: float = DEFAULT_TTL) -> None:
        self.store = store
        self.command = command
        self.ttl = ttl
        self.owner = uuid.uuid4().hex
        self.acquired_at = 0.0
        self._token: str | None = None
        self._expires_at = 0.0
        self._lost: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _record(self) -> LeaseRecord:
        now = time.time()
        return LeaseRecord(
            self.owner, socket.gethostname(), os.getpid(), self.command, self.acquired_at, now + self.ttl
        )

    def acquire(self, wait: float = 0.0) -> None:
        """Take the lease, waiting up to ``wait`` seconds for another run to finish;
        raise LeaseHeldError (naming the holder and what to do) if it does not."""
        deadline = time.monotonic() + max(0.0, wait)
        self.acquired_at = time.time()
        while True:
            record = self._record()
            token = self.store.put_if_absent(LEASE_KEY, record.encode())
            if token is not None:
                return self._hold(token, record)
            current = self.store.get_with_token(LEASE_KEY)
            if current is None:
                continue  # released between our two calls: try again at once
            data, current_token = current
            holder = LeaseRecord.decode(data)
            if holder is not None and holder.owner == self.owner:
                return self._hold(current_token, holder)  # our create went through; its reply was lost
            if holder is None or holder.expires_at < time.time() or holder.died_here():
                # The holder died (or wrote garbage): take the lapsed lease over, atomically.
                token = self.store.replace_if(LEASE_KEY, record.encode(), current_token)
                if token is not None:
                    return self._hold(token, record)
                continue
            if time.monotonic() >= deadline:
                raise LeaseHeldError(
                    f"{self.store.uri} is being written by another {holder.describe()}. "
                    f"Wait for it (--wait-lock SECONDS), or, if that run is gone, its lease lapses "
                    f"by itself at the time shown (delete {self.store.full_uri(LEASE_KEY)} only if you "
                    f"are sure no run is writing)."
                )
            time.sleep(min(1.0, max(0.05, deadline - time.monotonic())))

    def _hold(self, token: str, record: LeaseRecord) -> None:
        self._token, self._expires_at = token, record.expires_at
        self._stop.clear()
        self._thread = threading.Thread(target=self._renew_loop, name="wire-ingest-lease", daemon=True)
        self._thread.start()

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.ttl / 4):
            self.renew()

    def renew(self) -> None:
        """Extend the lease (compare-and-swap on the version this run wrote last)."""
        with self._lock:
            if self._token is None or self._lost:
                return
            record = self._record()
            try:
                token = self.store.replace_if(LEASE_KEY, record.encode(), self._token)
            except StorageError as exc:
                if time.time() > self._expires_at:
                    self._lost = f"renewals failed until the lease lapsed ({exc})"
                return  # a transient fault: the next renewal tries again
            if token is None:
                # A retried write whose first attempt went through fails its condition: the
                # lease is still ours if it still names us (a takeover writes a new owner).
                try:
                    current = self.store.get_with_token(LEASE_KEY)
                except StorageError:
                    return  # the next renewal tries again
                holder = LeaseRecord.decode(current[0]) if current else None
                if current is not None and holder is not None and holder.owner == self.owner:
                    self._token, self._expires_at = current[1], holder.expires_at
                    return
                self._lost = "another run took the lease over (this run was stalled past its ttl)"
                return
            self._token, self._expires_at = token, record.expires_at

    def check(self) -> None:
        """Raise LeaseLostError if this run may no longer write (call before each commit)."""
        if self._lost or (self._token is not None and time.time() > self._expires_at):
            raise LeaseLostError(
                f"lost the lease on {self.store.uri}: {self._lost or 'it lapsed before it could be renewed'}; "
                "this run stopped before committing more. Run again: the next run rolls its batch forward."
            )

    def release(self) -> None:
        """Stop renewing and delete the lease (if it is still ours)."""
        _ENDED_HERE.add(self.owner)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            if self._token is not None and not self._lost:
                try:
                    self.store.delete_if(LEASE_KEY, self._token)
                except StorageError:
                    pass  # it lapses by itself
            self._token = None

    def __enter__(self) -> Lease:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def read_lease(store: Storage) -> LeaseRecord | None:
    """Who holds the store's lease now, if anyone (for status messages and tests)."""
    current = store.get_with_token(LEASE_KEY)
    return LeaseRecord.decode(current[0]) if current else None
