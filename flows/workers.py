"""The parse stage of a batch, on worker processes that one bad input cannot take down.

Reading stays in the calling thread (it is I/O); parsing is pure CPU and runs in worker
processes. Each worker has its own pipe, so the pool knows which input every worker is
on: an input that runs past its deadline (``parse_timeout``) has its worker killed and
replaced and is quarantined ``timeout``; an input that kills its worker (a crash in C, the
out-of-memory killer) is quarantined ``worker_crashed``; the other inputs of the batch are
parsed as if nothing happened. The pool is started once per process and reused.

Workers never outlive the process that started them: they exit when their pipe closes
(the parent died, however it died), and forked workers also ask the kernel to kill them
with their parent (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import atexit
import ctypes
import gc
import hashlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, cast

from parsers import parse_story
from parsers.decode import replace_unencodable
from parsers.fingerprint import Fingerprint, fingerprint_of
from schemas.errors import ParseError
from schemas.story import Story, validate_story

#: Seconds one input may take to parse before its worker is killed (``--parse-timeout``).
#: The budget is 2 s per MB on this project's 2-core reference machine; the default leaves
#: room for a loaded machine. 0 disables the deadline (and lets small batches parse in-process).
DEFAULT_PARSE_TIMEOUT = 20.0
#: Memory one input may add to its warm parse worker (``--parse-memory-mb``): an input needing
#: more is quarantined ``out_of_memory`` instead of growing the worker until the kernel kills
#: it. The largest hostile input of bench/hostile.py (a 10 MB line) adds ~600 MB.
DEFAULT_PARSE_MEMORY_MB = 2048
#: What a worker sends once it is warm, and how long the pool waits for that.
READY = "ready"
WARM_UP_SECONDS = 60.0
#: Without a deadline, below this many inputs a batch is parsed in-process.
MIN_INPUTS_FOR_POOL = 32
#: Inputs queued on one worker at a time, at most (within ``PIPE_BYTES``).
QUEUE_DEPTH = 512
#: Each worker's input and result pipes are grown to this (Linux allows 1 MB without
#: privileges, /proc/sys/fs/pipe-max-size): room for a whole batch of inputs beyond the one
#: the worker is on, and for its results while the caller is busy committing the last batch.
PIPE_BYTES = 1024 * 1024
#: A pipe's size where it cannot be grown (Linux's default).
DEFAULT_PIPE_BYTES = 64 * 1024
#: Bytes of queued, unread inputs a worker's pipe may hold at least. Beyond the first input,
#: more are queued only while they fit in the pipe's buffer, so the pool never blocks
#: writing to a worker.
QUEUE_BYTES = 48 * 1024


#: Worker starts that may fail in a row before the pool gives up (a system fault, not an input's).
MAX_START_FAILURES = 3
#: The parse workers' process name (how ``_start_without_main`` tells the pool's starts).
WORKER_NAME = "wire-ingest-parse"


class WorkerStartError(RuntimeError):
    """Parse workers cannot start at all (the machine, not an input, is at fault)."""


@dataclass
class Quarantined:
    """An input that did not become a story, and why."""

    source_uri: str
    source_sha256: str
    size: int
    reason: str
    detail: str


@dataclass(frozen=True)
class Prepared:
    """A parsed story with what its batch needs beyond the record, worked out in the worker
    that parsed it (in parallel) rather than in the coordinator (one at a time): its schema
    problems (a story with any is quarantined ``invalid_record``) and its fingerprint for
    the near-duplicate decision."""

    story: Story
    problems: tuple[str, ...]
    fingerprint: Fingerprint


def prepare(result: Story | Quarantined) -> Prepared | Quarantined:
    """``result`` with its problems and fingerprint (a quarantine entry as it is)."""
    if isinstance(result, Quarantined):
        return result
    try:
        return Prepared(result, tuple(validate_story(result)), fingerprint_of(result))
    except Exception as exc:  # a bug in either must cost one input, not the batch
        detail = replace_unencodable(f"{type(exc).__name__}: {exc}")[:2000]
        return Quarantined(result.source_uri, result.source_sha256, 0, "parser_error", detail)


def parse_payload(uri: str, data: bytes, default_agency: str | None, max_bytes: int) -> Story | Quarantined:
    """Parse one input's bytes; every failure becomes a Quarantined with its reason."""
    sha = hashlib.sha256(data).hexdigest()
    try:
        return parse_story(data, uri, default_agency=default_agency, max_bytes=max_bytes)
    except ParseError as exc:
        return Quarantined(uri, sha, len(data), exc.reason, replace_unencodable(exc.detail))
    except RecursionError:
        return Quarantined(uri, sha, len(data), "too_deep", "the input nests deeper than the parser's recursion limit")
    except MemoryError:
        return Quarantined(uri, sha, len(data), "out_of_memory", "parsing this input ran out of memory")
    except Exception as exc:  # a parser bug must cost one input, not the batch
        detail = replace_unencodable(f"{type(exc).__name__}: {exc}")[:2000]
        return Quarantined(uri, sha, len(data), "parser_error", detail)


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


_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL this process when its parent exits (no-op elsewhere)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        os._exit(0)


def _worker_main(
    tasks: Connection,
    results: Connection,
    parent_pid: int,
    inherited: Sequence[Connection],
    forked: bool,
    memory_mb: int = 0,
) -> None:
    """A worker: parse what arrives on ``tasks`` until it closes (the parent is gone),
    answering each input on ``results``, in order."""
    if forked:
        die_with_parent(parent_pid)
        for other in inherited:  # siblings' parent ends, copied by fork: they would hide EOF
            other.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    # Warm up before the first deadline starts: imports and the language model cost a fresh
    # worker up to a second, which no input should be charged for.
    import parsers.html  # noqa: F401
    from parsers.language import preload

    preload()
    tune_gc_for_parsing()
    if memory_mb > 0:
        limit_memory(memory_mb)
    try:
        results.send(READY)
    except (EOFError, OSError):
        return
    while True:
        try:
            task = tasks.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        index, uri, data, default_agency, max_bytes, prepared = task
        parsed = parse_payload(uri, data, default_agency, max_bytes)
        result = prepare(parsed) if prepared else parsed
        try:
            results.send((index, result))
        except (EOFError, OSError):
            return
        except Exception as exc:  # a result that cannot be pickled
            results.send((index, Quarantined(uri, "", len(data), "parser_error", f"unsendable result: {exc}")))


def limit_memory(megabytes: int) -> None:
    """Let this (warm) process map at most ``megabytes`` more (RLIMIT_AS): past it,
    allocations raise MemoryError. Relative to its size now, because a forked worker
    inherits its parent's whole address space (a test runner's or a busy CLI's can be
    gigabytes of reserved thread stacks and mappings), which an absolute cap would eat."""
    try:
        import resource

        limit = current_address_space() + megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass  # not on this platform, or already lower: the kernel's limits stand


def current_address_space() -> int:
    """Bytes this process maps now (VmSize), 0 where /proc does not say."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


@dataclass
class _Worker:
    process: BaseProcess
    tasks: Connection  # inputs go out on this pipe
    results: Connection  # results come back on this one
    assigned: deque[tuple[Ticket, int, int]] = field(default_factory=deque)  # (ticket, index, bytes) in order
    queued: int = 0  # bytes of the inputs assigned and not yet answered
    head_started: float = 0.0  # when the input at the head of ``assigned`` started


class Ticket:
    """One ``ParsePool.submit``: its inputs, and their results as they arrive (in input order)."""

    def __init__(
        self, payloads: Sequence[tuple[str, bytes]], default_agency: str | None, max_bytes: int, prepared: bool
    ) -> None:
        self.payloads = payloads
        self.task_options = (default_agency, max_bytes, prepared)
        self.results: list[Any] = [None] * len(payloads)
        self.missing = len(payloads)
        self.cancelled = False

    def put(self, index: int, result: Any) -> None:
        if self.results[index] is None:
            self.missing -= 1
        self.results[index] = result


def _pipe_capacity(conn: Connection, wanted: int) -> int:
    """Grow the pipe under ``conn`` to ``wanted`` bytes where Linux allows; return its size."""
    try:
        import fcntl

        set_size, get_size = getattr(fcntl, "F_SETPIPE_SZ", None), getattr(fcntl, "F_GETPIPE_SZ", None)
        if set_size is None or get_size is None:
            return DEFAULT_PIPE_BYTES
        try:
            fcntl.fcntl(conn.fileno(), set_size, wanted)
        except OSError:  # above /proc/sys/fs/pipe-max-size or the user's pipe quota: keep the default
            pass
        return int(fcntl.fcntl(conn.fileno(), get_size))
    except (ImportError, OSError):
        return DEFAULT_PIPE_BYTES


class ParsePool:
    """``size`` worker processes with a per-input deadline.

    Work is submitted as tickets (``submit``) and collected in input order (``collect``);
    a ticket submitted before the one being collected is parsed meanwhile, so a caller can
    start the next batch's parse and do its own work on this one while the workers parse.
    Each worker has a pipe for inputs and one for results, both grown to ``PIPE_BYTES``
    where Linux allows: the pool hands a worker inputs only while their bytes fit in its
    input pipe (so sending never blocks), and a worker can write a batch's results without
    waiting for the caller to read them.

    ``fork=True`` is for single-threaded callers (the ``parse`` command): workers are forks
    that inherit the loaded parsers at no cost. Otherwise workers come from a forkserver,
    a clean process, not a fork of one running Prefect's threads.
    """

    def __init__(
        self, size: int, *, fork: bool = False, timeout: float = DEFAULT_PARSE_TIMEOUT, memory_mb: int = 0
    ) -> None:
        methods = multiprocessing.get_all_start_methods()
        self.fork = fork and "fork" in methods
        if self.fork:
            from parsers.language import preload

            preload()  # loaded once here, shared copy-on-write by every worker
        method = "fork" if self.fork else ("forkserver" if "forkserver" in methods else "spawn")
        self.context: Any = multiprocessing.get_context(method)
        if method == "forkserver":
            # The fork server imports the parsers once; each worker forked from it starts
            # warm instead of importing them again (~0.4 s of CPU a worker). No effect on a
            # fork server this process already started.
            # Not "__main__": a worker needs nothing of it (see _start_without_main).
            self.context.set_forkserver_preload(["parsers.html", "parsers.language"])
        if method != "fork":
            _start_without_main()
        self.size = size
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.workers: list[_Worker] = []
        self.replaced = 0  # workers killed or lost and started anew (for tests and reports)
        self.queue_bytes = QUEUE_BYTES  # input bytes a worker may hold unread; set from the real pipe size
        self._pending: deque[tuple[Ticket, int]] = deque()
        self._start_failures = 0
        self._warming: list[_Worker] = []  # started, their "ready" not read yet
        self._launcher: threading.Thread | None = None  # launch_in_background's thread

    def _start_worker(self) -> _Worker:
        task_out, task_in = self.context.Pipe(duplex=False)  # (reader, writer)
        result_out, result_in = self.context.Pipe(duplex=False)
        capacity = _pipe_capacity(task_in, PIPE_BYTES)
        _pipe_capacity(result_in, PIPE_BYTES)
        # Leave a quarter for what the estimate of a message's size misses (pickling overhead).
        self.queue_bytes = max(QUEUE_BYTES, capacity * 3 // 4)
        inherited = [c for w in self.workers for c in (w.tasks, w.results)] if self.fork else []
        process = self.context.Process(
            target=_worker_main,
            args=(task_out, result_in, os.getpid(), inherited, self.fork, self.memory_mb),
            name=WORKER_NAME,
            daemon=True,
        )
        process.start()
        task_out.close()
        result_in.close()
        return _Worker(process, task_in, result_out)

    def launch(self) -> None:
        """Start the missing workers and return without waiting for them to be warm (a
        command starts them before importing Prefect; the first batch finds them ready)."""
        self._join_launcher()
        self.workers = [w for w in self.workers if w.process.is_alive()]
        while len(self.workers) < self.size:  # all started first: they warm up side by side
            self.workers.append(self._start_worker())
            self._warming.append(self.workers[-1])

    def launch_in_background(self) -> None:
        """``launch`` on a thread of its own: the first worker's start waits ~0.25 s for the
        fork server to import the parsers, which this process need not sit through (it
        imports Prefect meanwhile). Every other use of the pool waits for that thread first."""
        if self._launcher is None and len(self.workers) < self.size:
            self._launcher = threading.Thread(target=self.launch, name="wire-ingest-pool-launch", daemon=True)
            self._launcher.start()

    def _join_launcher(self) -> None:
        launcher = self._launcher
        if launcher is not None and launcher is not threading.current_thread():
            launcher.join()
            self._launcher = None

    def _ensure_workers(self) -> None:
        self.launch()
        started, self._warming = self._warming, []
        for worker in started:
            # Wait for each to be warm (or dead): its first input's deadline starts after.
            if worker.results.poll(WARM_UP_SECONDS):
                try:
                    worker.results.recv()
                except (EOFError, OSError):
                    pass  # died while starting: the pool's loop notices and replaces it

    def _retire(self, worker: _Worker) -> None:
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(timeout=5)
        worker.tasks.close()
        worker.results.close()
        self.workers.remove(worker)
        self.replaced += 1

    def submit(
        self,
        payloads: Sequence[tuple[str, bytes]],
        *,
        default_agency: str | None,
        max_bytes: int,
        prepared: bool = False,
    ) -> Ticket:
        """Queue ``(uri, bytes)`` pairs for parsing and hand out what the workers can take
        now; returns at once. Every ticket must be collected or cancelled."""
        ticket = Ticket(payloads, default_agency, max_bytes, prepared)
        self._pending.extend((ticket, index) for index in range(len(payloads)))
        if payloads:
            self._ensure_workers()
            self._dispatch()
        return ticket

    def collect(self, ticket: Ticket) -> list[Any]:
        """``ticket``'s results in input order, one per input, always (Story or Quarantined;
        with ``prepared``, Prepared or Quarantined), waiting for the workers as needed."""
        while ticket.missing:
            self._step()
        return list(ticket.results)

    def cancel(self, ticket: Ticket) -> None:
        """Drop ``ticket``: its unsent inputs are not parsed, results still to come are discarded."""
        ticket.cancelled = True
        self._pending = deque(item for item in self._pending if item[0] is not ticket)

    def map(
        self,
        payloads: Sequence[tuple[str, bytes]],
        *,
        default_agency: str | None,
        max_bytes: int,
        prepared: bool = False,
    ) -> list[Any]:
        """Parse ``(uri, bytes)`` pairs; results in input order, one per input, always."""
        ticket = self.submit(payloads, default_agency=default_agency, max_bytes=max_bytes, prepared=prepared)
        try:
            return self.collect(ticket)
        finally:
            self.cancel(ticket)  # a no-op once collected; stops the rest after an exception

    def _dispatch(self) -> bool:
        """Send pending inputs, each to the worker with the fewest bytes queued, while they
        fit in its pipe (a worker with nothing queued takes any size: it is reading).
        Returns False when a worker died under us."""
        now = time.monotonic()
        while self._pending:
            ticket, index = self._pending[0]
            if ticket.cancelled:
                self._pending.popleft()
                continue
            uri, data = ticket.payloads[index]
            size = len(data) + len(uri) + 256
            room = [
                w
                for w in self.workers
                if not w.assigned or (len(w.assigned) < QUEUE_DEPTH and w.queued + size <= self.queue_bytes)
            ]
            if not room:
                return True
            worker = min(room, key=lambda w: w.queued)
            try:
                worker.tasks.send((index, uri, data, *ticket.task_options))
            except (OSError, ValueError):  # the worker died under us: its inputs are handed on
                return False
            self._pending.popleft()
            if not worker.assigned:
                worker.head_started = now
            worker.assigned.append((ticket, index, size))
            worker.queued += size
        return True

    def _step(self) -> None:
        """Hand out inputs, wait for results (up to the nearest deadline), file them."""
        alive = self._dispatch()
        busy = [w for w in self.workers if w.assigned]
        if not busy:  # every worker died before taking work: start new ones, a few times
            self._start_failures += 1
            if self._start_failures > MAX_START_FAILURES:
                raise WorkerStartError(
                    f"parse workers die as they start ({self._start_failures} times); run with --workers 1 "
                    "--parse-timeout 0 to parse in this process and see the error"
                )
            self._ensure_workers()
            return
        self._start_failures = 0
        deadline = min(w.head_started for w in busy) + self.timeout if self.timeout > 0 else None
        wait_for = None if deadline is None else max(0.0, deadline - time.monotonic())
        ready = wait([w.results for w in busy], timeout=wait_for)
        for worker in busy:
            if worker.results not in ready:
                continue
            self._receive(worker)
        if self.timeout > 0:
            now = time.monotonic()
            for worker in list(self.workers):
                if worker.assigned and now - worker.head_started > self.timeout:
                    self._lose_worker(worker, "timeout")
        if not alive or len(self.workers) < self.size:
            # A worker lost on this pass is replaced (asking every worker whether it is
            # alive on every pass cost ~0.1 ms each time: 6,000 passes a 10,000-story run).
            self._ensure_workers()

    def _receive(self, worker: _Worker) -> None:
        """File the results ``worker`` has sent so far, without waiting for more."""
        try:
            while worker.assigned and worker.results.poll():
                _, result = worker.results.recv()
                ticket, index, size = worker.assigned.popleft()
                worker.queued -= size
                worker.head_started = time.monotonic()
                if not ticket.cancelled:
                    ticket.put(index, result)
        except (EOFError, OSError):
            self._lose_worker(worker, "worker_crashed")
        except Exception:  # a result this process cannot unpickle: cost the input, not the batch
            self._lose_worker(worker, "parser_error")

    def pump(self) -> None:
        """Take in the results the workers have sent and hand them more inputs, without
        waiting: a caller busy between two ``collect`` calls (deduplicating and committing a
        batch) calls it now and then, so the workers neither run out of inputs nor block on
        a full result pipe meanwhile. Deadlines and lost workers are seen at the next collect."""
        self._join_launcher()
        for worker in list(self.workers):
            if worker.assigned:
                self._receive(worker)
        self._dispatch()

    def _lose_worker(self, worker: _Worker, reason: str) -> None:
        """The input at the head of ``worker`` is quarantined; the rest go back in the queue."""
        (ticket, head, _), rest = worker.assigned[0], list(worker.assigned)[1:]
        uri, data = ticket.payloads[head]
        sha = hashlib.sha256(data).hexdigest()
        self._retire(worker)
        code = worker.process.exitcode
        if reason == "timeout":
            detail = f"parsing took longer than {self.timeout:g} s (--parse-timeout); the worker was stopped"
        else:
            how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
            detail = f"the parse worker died on this input ({how})"
        if not ticket.cancelled:
            ticket.put(head, Quarantined(uri, sha, len(data), reason, detail))
        self._pending.extendleft(reversed([(t, i) for t, i, _ in rest]))

    def close(self) -> None:
        self._join_launcher()
        for worker in list(self.workers):
            try:
                worker.tasks.send(None)
            except (OSError, ValueError):
                pass
        for worker in list(self.workers):
            worker.process.join(timeout=2)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=2)
            worker.tasks.close()
            worker.results.close()
        self.workers.clear()
        self._pending.clear()
        self._warming.clear()


_POOLS: dict[tuple[int, bool, float, int], ParsePool] = {}


_stdlib_preparation_data: Callable[[str], dict[str, Any]] | None = None


def _start_without_main() -> None:
    """Start parse workers without running the parent's ``__main__`` in them again.

    A forkserver or spawn start runs the parent's main module again in each child (as
    ``__mp_main__``), so that what it defines can be unpickled there. A worker's code is in
    this module and needs nothing of it, but Prefect runs every flow run of a deployment
    (``serve``, the work pool's process worker) as ``python -m prefect.engine``: each parse
    worker imported Prefect again, ~1.5 s of CPU and ~60 MB of memory a worker, and its
    first input waited ~1.7 s longer. What a start sends the child is made by
    ``multiprocessing.spawn.get_preparation_data`` (looked up at each start, Python 3.11 to
    3.13); for this pool's workers only, it now leaves out the main module. Other processes
    this process starts are not affected; on a Python without that function, workers start
    as before."""
    global _stdlib_preparation_data
    from multiprocessing import spawn

    if _stdlib_preparation_data is not None or not callable(getattr(spawn, "get_preparation_data", None)):
        return
    original = _stdlib_preparation_data = spawn.get_preparation_data

    def preparation_data(name: str) -> dict[str, Any]:
        data = original(name)
        if name == WORKER_NAME:
            data.pop("init_main_from_name", None)
            data.pop("init_main_from_path", None)
        return data

    spawn.get_preparation_data = preparation_data


def pump_pools() -> None:
    """``ParsePool.pump`` on every pool this process has started (none: nothing to do)."""
    for pool in _POOLS.values():
        pool.pump()


def get_pool(size: int, *, fork: bool = False, timeout: float = DEFAULT_PARSE_TIMEOUT, memory_mb: int = 0) -> ParsePool:
    """The process's pool of ``size`` workers (started on first use, reused after)."""
    key = (size, fork, timeout, memory_mb)
    if key not in _POOLS:
        _POOLS[key] = ParsePool(size, fork=fork, timeout=timeout, memory_mb=memory_mb)
    return _POOLS[key]


@atexit.register
def _shutdown_pools() -> None:
    for pool in _POOLS.values():
        pool.close()
    _POOLS.clear()


def warm_pool(workers: int, *, timeout: float, memory_mb: int) -> None:
    """Start the pool a batch's parse will use (``start_prepare``'s), without waiting, not
    even for the fork server to come up: its workers import the parsers while this process
    imports the rest (Prefect: ~1.1-1.5 s)."""
    count = resolve_workers(workers)
    if timeout <= 0 and count <= 1:
        return  # parsed in this process
    get_pool(count, fork=False, timeout=timeout, memory_mb=memory_mb).launch_in_background()


def parse_payloads(
    payloads: list[tuple[str, bytes]],
    *,
    default_agency: str | None,
    max_bytes: int,
    workers: int,
    fork: bool = False,
    timeout: float = DEFAULT_PARSE_TIMEOUT,
    memory_mb: int = DEFAULT_PARSE_MEMORY_MB,
) -> list[Story | Quarantined]:
    """Parse ``(uri, bytes)`` pairs, in order, on ``workers`` processes (``fork``: see
    `ParsePool`). With ``timeout`` 0 there is no deadline, and a single worker or a small
    batch is parsed in this process instead."""
    results = _parse_all(payloads, default_agency, max_bytes, workers, fork, timeout, memory_mb, prepared=False)
    return cast("list[Story | Quarantined]", results)


class PendingParse:
    """A batch's parse, started: ``collect`` its results (in input order) or ``cancel`` it."""

    def __init__(self, collect: Callable[[], list[Any]], cancel: Callable[[], None] = lambda: None) -> None:
        self._collect, self._cancel = collect, cancel

    def collect(self) -> list[Prepared | Quarantined]:
        try:
            return cast("list[Prepared | Quarantined]", self._collect())
        finally:
            self._cancel()

    def cancel(self) -> None:
        self._cancel()


def start_prepare(
    payloads: list[tuple[str, bytes]],
    *,
    default_agency: str | None,
    max_bytes: int,
    workers: int,
    timeout: float = DEFAULT_PARSE_TIMEOUT,
    memory_mb: int = DEFAULT_PARSE_MEMORY_MB,
) -> PendingParse:
    """Parse a batch's ``(uri, bytes)`` pairs as ``parse_payloads`` does, each story coming
    back Prepared (validated and fingerprinted by the worker that parsed it). Started on the
    pool and returned at once, so the caller can work on the last batch while the workers
    parse this one (parsed at ``collect`` where ``_parse_all`` would parse in this process)."""
    count = resolve_workers(workers)
    if not payloads or (timeout <= 0 and (count <= 1 or len(payloads) < MIN_INPUTS_FOR_POOL)):
        return PendingParse(
            lambda: _parse_all(payloads, default_agency, max_bytes, workers, False, timeout, memory_mb, prepared=True)
        )
    pool = get_pool(count, fork=False, timeout=timeout, memory_mb=memory_mb)
    ticket = pool.submit(payloads, default_agency=default_agency, max_bytes=max_bytes, prepared=True)
    return PendingParse(lambda: pool.collect(ticket), lambda: pool.cancel(ticket))


def _parse_all(
    payloads: list[tuple[str, bytes]],
    default_agency: str | None,
    max_bytes: int,
    workers: int,
    fork: bool,
    timeout: float,
    memory_mb: int,
    *,
    prepared: bool,
) -> list[Any]:
    count = resolve_workers(workers)
    if timeout <= 0 and (count <= 1 or len(payloads) < MIN_INPUTS_FOR_POOL):
        if prepared:  # each story fingerprinted right after its parse, from the words it kept
            return [prepare(parse_payload(uri, data, default_agency, max_bytes)) for uri, data in payloads]
        return [parse_payload(uri, data, default_agency, max_bytes) for uri, data in payloads]
    if not payloads:
        return []
    pool = get_pool(count, fork=fork, timeout=timeout, memory_mb=memory_mb)
    return pool.map(payloads, default_agency=default_agency, max_bytes=max_bytes, prepared=prepared)
