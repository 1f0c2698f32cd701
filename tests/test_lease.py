"""The store lease on a local root and on S3 (moto over loopback HTTP): one holder at a
time, a clear error or a wait for the second, takeover of a lapsed or dead holder's lease
by compare-and-swap, and a holder that lost its lease stops before committing."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from schemas.errors import LeaseHeldError, LeaseLostError
from storage import Storage, open_storage
from storage.lease import LEASE_KEY, Lease, LeaseRecord, read_lease


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "s3":
        bucket = request.getfixturevalue("s3_bucket")
        return open_storage(f"s3://{bucket}/root")
    return open_storage(str(tmp_path / "root"))


def test_conditional_writes(store: Storage) -> None:
    token = store.put_if_absent("_lock/x.json", b"one")
    assert token is not None
    assert store.put_if_absent("_lock/x.json", b"two") is None
    current = store.get_with_token("_lock/x.json")
    assert current == (b"one", token)
    assert store.replace_if("_lock/x.json", b"three", "not-the-token") is None
    newer = store.replace_if("_lock/x.json", b"three", token)
    assert newer is not None and newer != token
    assert store.delete_if("_lock/x.json", token) is False
    assert store.delete_if("_lock/x.json", newer) is True
    assert store.get_with_token("_lock/x.json") is None


def test_second_holder_is_refused_with_a_message_naming_the_first(store: Storage) -> None:
    with Lease(store, command="backfill", ttl=30) as first:
        first.acquire()
        second = Lease(store, ttl=30)
        with pytest.raises(LeaseHeldError) as info:
            second.acquire(wait=0)
        message = str(info.value)
        assert "backfill" in message and "--wait-lock" in message
        first.check()
    assert read_lease(store) is None  # released on exit


def test_a_waiting_holder_gets_the_lease_when_the_first_releases(store: Storage) -> None:
    first = Lease(store, ttl=30)
    first.acquire()
    threading.Timer(1.0, first.release).start()
    second = Lease(store, ttl=30)
    started = time.monotonic()
    second.acquire(wait=20)
    assert time.monotonic() - started >= 0.9
    holder = read_lease(store)
    assert holder is not None and holder.owner == second.owner
    second.release()


def test_renewal_keeps_the_lease_alive_past_its_ttl(store: Storage) -> None:
    lease = Lease(store, ttl=1.2)
    lease.acquire()
    time.sleep(2.5)  # two ttls: only renewals keep it
    lease.check()
    with pytest.raises(LeaseHeldError):
        Lease(store, ttl=1.2).acquire()
    lease.release()


def test_a_lapsed_lease_of_another_machine_is_taken_over_and_its_holder_stops(store: Storage) -> None:
    # A holder on another host that stopped renewing (paused, partitioned): written by hand.
    stale = LeaseRecord("0" * 32, "other-host", 1, "ingest", time.time() - 100, time.time() - 1)
    assert store.put_if_absent(LEASE_KEY, stale.encode()) is not None
    newcomer = Lease(store, ttl=30)
    newcomer.acquire()
    holder = read_lease(store)
    assert holder is not None and holder.owner == newcomer.owner
    newcomer.release()


def test_a_holder_whose_lease_was_taken_over_cannot_commit(store: Storage) -> None:
    paused = Lease(store, ttl=30)
    paused.acquire()
    paused._stop.set()  # stands in for a process stalled past its ttl: no more renewals
    current = store.get_with_token(LEASE_KEY)
    assert current is not None
    record = LeaseRecord.decode(current[0])
    assert record is not None
    expired = LeaseRecord(record.owner, "other-host", record.pid, "ingest", record.acquired_at, time.time() - 1)
    token = store.replace_if(LEASE_KEY, expired.encode(), current[1])
    assert token is not None
    paused._token = token  # its view of the lease: the version that lapsed
    newcomer = Lease(store, ttl=30)
    newcomer.acquire()
    paused.renew()  # the compare-and-swap fails: the lease is someone else's now
    with pytest.raises(LeaseLostError):
        paused.check()
    newcomer.release()
    paused.release()


def test_a_killed_holder_on_this_host_is_taken_over_at_once(tmp_path: Path) -> None:
    root = tmp_path / "root"
    script = (
        "import sys, time; from storage import open_storage; from storage.lease import Lease; "
        f"lease = Lease(open_storage({str(root)!r}), ttl=600); lease.acquire(); print('held', flush=True); "
        "time.sleep(600)"
    )
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=Path(__file__).parents[1])
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == b"held"
    holder.kill()
    holder.wait()
    store = open_storage(str(root))
    record = read_lease(store)
    assert record is not None and record.expires_at > time.time() + 500  # far from lapsing
    lease = Lease(store, ttl=30)
    lease.acquire(wait=0)  # the holder's pid is gone on this host: no need to wait 10 minutes
    lease.release()


def test_the_lease_object_says_who_holds_it(store: Storage) -> None:
    with Lease(store, command="replay", ttl=30) as lease:
        lease.acquire()
        current = store.get_with_token(LEASE_KEY)
        assert current is not None
        raw = json.loads(current[0])
        assert raw["command"] == "replay" and raw["owner"] == lease.owner
