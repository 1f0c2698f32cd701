"""The parse stage of a batch, on one core or on a pool of worker processes.

Reading stays in the calling thread (it is I/O); parsing is pure CPU and runs in worker
processes when the batch is large enough for the hand-off to pay (a story costs ~2-30 ms
to parse; shipping it to a worker costs well under 1 ms). The pool is started once per
process and reused by every batch.
"""

from __future__ import annotations

import atexit
import gc
import hashlib
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from parsers import parse_story
from schemas.errors import ParseError
from schemas.story import Story

#: Below this many inputs a batch is parsed in-process (the pool would cost more than it saves).
MIN_INPUTS_FOR_POOL = 32


@dataclass
class Quarantined:
    """An input that did not become a story, and why."""

    source_uri: str
    source_sha256: str
    size: int
    reason: str
    detail: str


def parse_payload(uri: str, data: bytes, default_agency: str | None, max_bytes: int) -> Story | Quarantined:
    """Parse one input's bytes; every failure becomes a Quarantined with its reason."""
    sha = hashlib.sha256(data).hexdigest()
    try:
        return parse_story(data, uri, default_agency=default_agency, max_bytes=max_bytes)
    except ParseError as exc:
        return Quarantined(uri, sha, len(data), exc.reason, exc.detail)
    except Exception as exc:  # a parser bug must cost one input, not the batch
        return Quarantined(uri, sha, len(data), "parser_error", f"{type(exc).__name__}: {exc}")


def tune_gc_for_parsing() -> None:
    """Garbage-collect less often in a process that mostly parses (~4% of its CPU time).

    Parsing allocates many short-lived objects and few reference cycles (BeautifulSoup's
    region trees, freed a page at a time), so the default first-generation threshold
    (700 allocations) runs collections far more often than there is garbage to find.
    What is loaded so far (modules, the rule tables) is frozen out of every collection.
    """
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def resolve_workers(workers: int) -> int:
    """``0`` means one worker per core (at most 8); anything else is taken as given."""
    return min(os.cpu_count() or 1, 8) if workers <= 0 else workers


_POOLS: dict[tuple[int, bool], ProcessPoolExecutor] = {}


def _pool(workers: int, fork: bool = False) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes, started once per process.

    The default start method is forkserver: workers start from a clean process, not a fork
    of one running Prefect's threads. ``fork=True`` is for single-threaded callers (the
    ``parse`` command): workers inherit the loaded parsers and language model at no cost.
    """
    methods = multiprocessing.get_all_start_methods()
    fork = fork and "fork" in methods
    if (workers, fork) not in _POOLS:
        if fork:
            from parsers.language import preload

            preload()  # loaded once here, shared copy-on-write by every worker
            method = "fork"
        else:
            method = "forkserver" if "forkserver" in methods else "spawn"
        _POOLS[workers, fork] = ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context(method), initializer=tune_gc_for_parsing
        )
    return _POOLS[workers, fork]


@atexit.register
def _shutdown_pools() -> None:
    for pool in _POOLS.values():
        pool.shutdown(cancel_futures=True)
    _POOLS.clear()


def parse_payloads(
    payloads: list[tuple[str, bytes]],
    *,
    default_agency: str | None,
    max_bytes: int,
    workers: int,
    fork: bool = False,
) -> list[Story | Quarantined]:
    """Parse ``(uri, bytes)`` pairs, in order, in-process or on ``workers`` processes
    (``fork``: see `_pool`)."""
    count = resolve_workers(workers)
    if count <= 1 or len(payloads) < MIN_INPUTS_FOR_POOL:
        return [parse_payload(uri, data, default_agency, max_bytes) for uri, data in payloads]
    uris = [uri for uri, _ in payloads]
    blobs = [data for _, data in payloads]
    # Small chunks: one HTML page costs 10-30x a wire story, so big chunks leave one worker
    # with the slow tail while the other idles (measured: 1.5x on 2 cores with chunks of a
    # quarter of a worker's share, 1.95x with chunks of at most 8).
    chunk = max(1, min(8, len(payloads) // (count * 8)))
    return list(
        _pool(count, fork).map(
            parse_payload, uris, blobs, [default_agency] * len(uris), [max_bytes] * len(uris), chunksize=chunk
        )
    )
