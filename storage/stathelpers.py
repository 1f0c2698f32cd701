"""``lstat`` a long listing's files in helper processes, so a run's planning is not one core
waiting on a syscall per file.

Noticing inputs rewritten since they were ingested takes one ``lstat`` per listed file
(``LocalStorage.list``). On this project's machine the call itself costs ~4-5 µs (the
sandbox's syscall, not Python: threads do not help, measured), half of a no-op run over a
million files. Processes do scale (200,000 files: 0.88-0.94 s in one process, 0.49-0.53 s
split over two), so a long listing hands its paths in chunks to a few helpers and reads the
answers back in order while it walks on and the planner looks the previous keys up.

A helper is a bare ``python -I -S`` running the few lines in ``_HELPER``: it imports
nothing of this package (nothing of Prefect), inherits no threads, starts in ~20 ms and ends
when its stdin closes. A request is ``<length:u8><folder NUL name NUL name ...>``; the answer
gives each name's size, time, revision and the revision's code (``_HELPER``): hashing the
revisions there too leaves the listing process only the lookups. Each helper has a
writer and a reader thread (their pipe calls release the GIL), so neither side ever blocks
on a full pipe. A helper that dies or answers wrongly raises ``StatHelperError`` for its
chunks, and the caller stats them in its own process: the listing stays whole.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from array import array
from collections.abc import Sequence
from concurrent.futures import Future
from typing import NamedTuple

from storage.base import CODE_BYTES, revision_code

#: The helper's whole program: stdlib only, bytes paths (names that are not UTF-8 stay
#: exact). A request is one folder and names in it; the answer, after its length, is in name
#: order: the sizes (-1: gone), the ``st_mtime`` floats, each revision's 8-byte code
#: (``revision_code``) and the revisions (``size:mtime_ns``) joined by NULs.
_HELPER = r"""
import os, sys
from array import array
try:
    from _blake2 import blake2b  # hashlib's own; importing hashlib loads OpenSSL too (+3.5 MB)
except ImportError:
    from hashlib import blake2b
read, write = sys.stdin.buffer.read, sys.stdout.buffer.write
lstat, gone = os.lstat, bytes(8)
while True:
    head = read(8)
    if len(head) < 8:
        break
    folder, *names = read(int.from_bytes(head, "little")).split(b"\0")
    folder += b"/"
    sizes, times, revisions, codes = array("q"), array("d"), [], []
    for name in names:
        try:
            s = lstat(folder + name)
        except (OSError, ValueError):
            sizes.append(-1); times.append(0.0); revisions.append(""); codes.append(gone)
            continue
        revision = f"{s.st_size}:{s.st_mtime_ns}"
        sizes.append(s.st_size); times.append(s.st_mtime); revisions.append(revision)
        codes.append(blake2b(revision.encode(), digest_size=8).digest())
    body = sizes.tobytes() + times.tobytes() + b"".join(codes) + "\0".join(revisions).encode()
    write(len(body).to_bytes(8, "little") + body)
    sys.stdout.buffer.flush()
"""


class Stats(NamedTuple):
    """A chunk of files' answers, in name order: sizes (-1: gone), modification times as
    ``os.stat`` gives them, revisions (``size:mtime_ns``; "" for gone) and their 8-byte
    codes end to end (zeros for gone)."""

    sizes: array[int]
    times: array[float]
    revisions: list[str]
    codes: bytes


class StatHelperError(RuntimeError):
    """A helper died or answered wrongly; the caller stats that chunk itself."""


def helper_count() -> int:
    """``WIRE_INGEST_STAT_HELPERS`` if set (0: stat in the listing process), else one
    fewer than the cores this process may use, at most 2: a helper's share of a file
    (~5-6 µs) is about twice the planner's, so two keep up with it. On two cores, planning
    over a million done files took 6.8-7.9 s with one helper and 6.8-7.8 s with two (each
    ~10 MB more at the peak), ~9.6 s with none."""
    value = os.environ.get("WIRE_INGEST_STAT_HELPERS", "").strip()
    if value:
        try:
            return max(0, int(value))
        except ValueError:
            from schemas.errors import ConfigError

            raise ConfigError(
                f"WIRE_INGEST_STAT_HELPERS={value!r} is not a number: set how many helper processes stat a long "
                "listing (0: none), or unset it for the default (one fewer than the cores, at most 2)"
            ) from None
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(0, min(2, cores - 1))


class _Helper:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _HELPER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
        )
        self.requests: queue.SimpleQueue[tuple[bytes, int, Future[Stats]] | None] = queue.SimpleQueue()
        self.answers: queue.SimpleQueue[tuple[int, Future[Stats]] | None] = queue.SimpleQueue()
        self.writer = threading.Thread(target=self._write, name="wire-ingest-stat-writer", daemon=True)
        self.reader = threading.Thread(target=self._read, name="wire-ingest-stat-reader", daemon=True)
        self.writer.start()
        self.reader.start()

    def _write(self) -> None:
        pipe = self.process.stdin
        assert pipe is not None
        while (item := self.requests.get()) is not None:
            message, count, future = item
            try:
                pipe.write(message)
                pipe.flush()
            except (OSError, ValueError):
                future.set_exception(StatHelperError("the stat helper stopped reading"))
                continue
            self.answers.put((count, future))
        self.answers.put(None)
        try:
            pipe.close()
        except OSError:
            pass

    def _read(self) -> None:
        pipe = self.process.stdout
        assert pipe is not None
        broken = False
        while (item := self.answers.get()) is not None:
            count, future = item
            if broken:
                future.set_exception(StatHelperError("the stat helper is gone"))
                continue
            try:
                size = int.from_bytes(_read_exactly(pipe, 8), "little")
                body = _read_exactly(pipe, size)
                future.set_result(_parse_answer(body, count))
            except (OSError, ValueError, StatHelperError) as exc:
                broken = True
                future.set_exception(StatHelperError(f"the stat helper is gone: {exc}"))

    def submit(self, folder: str, names: Sequence[str]) -> Future[Stats]:
        future: Future[Stats] = Future()
        # One encode a request, not one a name (``os.fsencode`` is this, per string).
        body = "\0".join((folder, *names)).encode("utf-8", "surrogateescape")
        self.requests.put((len(body).to_bytes(8, "little") + body, len(names), future))
        return future

    def close(self) -> None:
        self.requests.put(None)
        self.writer.join(timeout=5)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.reader.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()


def _read_exactly(pipe: object, size: int) -> bytes:
    read = pipe.read  # type: ignore[attr-defined]
    parts, missing = [], size
    while missing:
        part = read(missing)
        if not part:
            raise StatHelperError(f"it answered {size - missing} of {size} bytes")
        parts.append(part)
        missing -= len(part)
    return b"".join(parts)


def _parse_answer(body: bytes, count: int) -> Stats:
    """A helper's answer for ``count`` names (``_HELPER``), or StatHelperError if it is not one."""
    sizes, times = array("q"), array("d")
    fixed = count * (8 + 8 + CODE_BYTES)
    if len(body) < fixed:
        raise StatHelperError(f"it answered {len(body)} bytes for {count} names")
    sizes.frombytes(body[: count * 8])
    times.frombytes(body[count * 8 : count * 16])
    revisions = body[fixed:].decode("ascii").split("\0")
    if len(revisions) != count:
        raise StatHelperError(f"it answered {len(revisions)} revisions for {count} names")
    return Stats(sizes, times, revisions, body[count * 16 : fixed])


class StatHelpers:
    """``count`` helper processes; ``submit`` hands a folder and names in it to the next one
    in turn and returns a future of its answers, in name order."""

    def __init__(self, count: int) -> None:
        self.helpers: list[_Helper] = []
        try:
            for _ in range(count):
                self.helpers.append(_Helper())
        except (OSError, ValueError):
            self.close()
            raise
        self._turn = 0

    def submit(self, folder: str, names: Sequence[str]) -> Future[Stats]:
        helper = self.helpers[self._turn % len(self.helpers)]
        self._turn += 1
        return helper.submit(folder, names)

    def close(self) -> None:
        for helper in self.helpers:
            helper.close()
        self.helpers.clear()


def stat_here(folder: str, names: Sequence[str]) -> Stats:
    """What a helper answers, computed in this process (a helper lost, or none started)."""
    sizes, times = array("q"), array("d")
    revisions: list[str] = []
    codes: list[bytes] = []
    gone = bytes(CODE_BYTES)
    for name in names:
        try:
            s = os.lstat(f"{folder}/{name}")
        except (OSError, ValueError):
            sizes.append(-1)
            times.append(0.0)
            revisions.append("")
            codes.append(gone)
            continue
        revision = f"{s.st_size}:{s.st_mtime_ns}"
        sizes.append(s.st_size)
        times.append(s.st_mtime)
        revisions.append(revision)
        codes.append(revision_code(revision))
    return Stats(sizes, times, revisions, b"".join(codes))
