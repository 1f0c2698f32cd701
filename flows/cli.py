"""``wire-ingest``: a thin command line over library functions of the same names.

Prefect is imported only by the commands that run flows, so ``parse`` starts fast.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flows.bundles import BundleLimits
from flows.inputs import DEFAULT_BATCH_SIZE, DEFAULT_RUN_INPUTS, is_candidate
from flows.lifeline import start_lifeline
from flows.workers import DEFAULT_PARSE_MEMORY_MB, DEFAULT_PARSE_TIMEOUT
from parsers import DEFAULT_MAX_BYTES
from schemas.errors import ConfigError, LeaseHeldError, QuarantineShareError, UnreadInputsError, WireIngestError
from storage.local import LocalStorage

if TYPE_CHECKING:
    from flows.batch import IngestSettings  # imports pyarrow: only the flow commands load it
    from flows.ingest import RunWatcher  # imports Prefect


def iter_input_files(paths: Sequence[str]) -> Iterator[tuple[Path, Path]]:
    """``(input, folder it was found under)`` for files named and every visible entry under
    folders named, in sorted order. Links and special files are yielded too (reading them
    quarantines them with a reason); linked folders are not walked into."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir() and not path.is_symlink():
            for key in LocalStorage(path).keys():  # names only: no stat a file
                if is_candidate(key, "*"):
                    yield path / key, path
        elif path.exists() or path.is_symlink():
            yield path, path.parent
        elif "://" in raw:
            raise ConfigError(
                f"{raw}: `parse` reads local files and folders only; an object store is read by "
                "`wire-ingest ingest SOURCE --dest ROOT` (or copy the objects to a folder first)"
            )
        else:
            raise ConfigError(f"{raw}: no such file or folder")


#: Exit codes besides 0 (success) and 2 (usage or another error the message explains).
EXIT_LOCKED = 75  # EX_TEMPFAIL: another run holds the store; try again later
EXIT_TOO_MUCH_QUARANTINED = 3
EXIT_UNREAD = 74  # EX_IOERR: the store failed to read some inputs; the next run reads them again
EXIT_INCONSISTENT = 65  # EX_DATAERR: `check` found the dataset's guarantees broken (it says where)

#: Inputs read and parsed together by ``parse`` (bounded memory, steady output).
PARSE_CHUNK = 256


def parse(
    paths: Sequence[str],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    default_agency: str | None = None,
    workers: int = 0,
    parse_timeout: float = DEFAULT_PARSE_TIMEOUT,
    parse_memory_mb: int = DEFAULT_PARSE_MEMORY_MB,
) -> Iterator[dict[str, Any]]:
    """Parse files (or folders of them) without Prefect or storage: one dict per input, in order.

    A quarantined input yields ``{"source_uri": ..., "error": reason, "detail": ...}``; every
    input yields exactly one dict. Parsing runs on ``workers`` processes (0: one per core),
    each input within ``parse_timeout`` seconds (0: no deadline, and one worker parses here).
    """
    chunk: list[tuple[Path, Path]] = []
    for item in iter_input_files(paths):
        chunk.append(item)
        if len(chunk) == PARSE_CHUNK:
            yield from _parse_chunk(chunk, max_bytes, default_agency, workers, parse_timeout, parse_memory_mb)
            chunk = []
    yield from _parse_chunk(chunk, max_bytes, default_agency, workers, parse_timeout, parse_memory_mb)


def _parse_chunk(
    chunk: list[tuple[Path, Path]],
    max_bytes: int,
    default_agency: str | None,
    workers: int,
    parse_timeout: float,
    parse_memory_mb: int,
) -> Iterator[dict[str, Any]]:
    from flows.inputs import expand_bundles, read_payloads
    from flows.workers import Quarantined, parse_payloads

    results: dict[str, dict[str, Any]] = {}
    readable: list[tuple[str, bytes]] = []
    order: list[str] = []
    for path, folder in chunk:
        store = LocalStorage(folder)
        name = path.relative_to(folder).as_posix() if path.is_relative_to(folder) else path.name
        keys = expand_bundles(store, [name])  # a bundle is one input per member
        order.extend(store.full_uri(key) for key in keys)
        payloads, unreadable = read_payloads(store, keys, max_bytes)
        readable.extend(payloads)
        for item in unreadable:
            results[item.source_uri] = {"source_uri": item.source_uri, "error": item.reason, "detail": item.detail}
    # This command runs no threads, so its workers may be plain forks of it.
    parsed = parse_payloads(
        readable,
        default_agency=default_agency,
        max_bytes=max_bytes,
        workers=workers,
        fork=True,
        timeout=parse_timeout,
        memory_mb=parse_memory_mb,
    )
    for (uri, _), result in zip(readable, parsed, strict=True):
        if isinstance(result, Quarantined):
            results[uri] = {"source_uri": uri, "error": result.reason, "detail": result.detail}
        else:
            results[uri] = result.to_json_dict()
    for uri in order:
        yield results[uri]


def check_parse_options(args: argparse.Namespace) -> None:
    """The parse knobs ``parse`` shares with the flow-running commands, checked."""
    if args.workers < 0:
        raise ConfigError("--workers takes a number of parse processes, or 0 for one per core")
    if args.max_bytes < 1:
        raise ConfigError("--max-bytes must be at least 1 (inputs larger than it are quarantined as too_large)")
    if args.parse_timeout < 0 or args.parse_memory_mb < 0:
        raise ConfigError("--parse-timeout and --parse-memory-mb take 0 (no limit) or more")


def _cmd_parse(args: argparse.Namespace) -> int:
    from flows.workers import tune_gc_for_parsing

    check_parse_options(args)
    tune_gc_for_parsing()  # this process only parses until it exits
    out = sys.stdout
    records = parse(
        args.paths,
        max_bytes=args.max_bytes,
        default_agency=args.agency,
        workers=args.workers,
        parse_timeout=args.parse_timeout,
        parse_memory_mb=args.parse_memory_mb,
    )
    for record in records:
        if args.jsonl:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            out.write(json.dumps(record, ensure_ascii=False, indent=2) + "\n")
    return 0


def ingest(
    source: str,
    dest: str,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    settings: IngestSettings | None = None,
    wait_lock: float = 0.0,
    max_quarantine_share: float | None = None,
    run_inputs: int | None = DEFAULT_RUN_INPUTS,
    progress: Callable[[str], None] | None = None,
    batches: RunWatcher | None = None,
) -> dict[str, Any]:
    """Run the Prefect ingest flow until nothing new is left and return the summed totals
    (``settings``: the parse and bundle knobs, `flows.batch.IngestSettings`; defaults when
    None). Each flow run takes at most ``run_inputs`` new inputs (None: all of them); a
    larger backlog is taken by as many runs, one after another, each reported to
    ``progress``; ``batches`` is told each run's plan and each batch it commits. ``runs``
    in the totals says how many there were."""
    from flows.environment import (
        command_runs,
        prepare_prefect_environment,
        settle_temporary_server,
        temporary_server_notice,
    )

    prepare_prefect_environment()
    from flows.batch import IngestSettings
    from flows.ingest import ingest_flow, watching
    from flows.report import RunTotals

    notice = temporary_server_notice()
    if notice and progress is not None:
        progress(notice)
    parameters = (settings or IngestSettings()).flow_parameters()
    summed, runs, retry = RunTotals(), 0, True
    while True:
        with watching(batches), command_runs():
            totals: dict[str, Any] = ingest_flow(
                source=source,
                dest=dest,
                batch_size=batch_size,
                wait_lock=wait_lock,
                max_quarantine_share=max_quarantine_share,
                max_inputs=run_inputs,
                fail_on_unread=False,  # reported with the totals, below
                retry_unread=retry,
                **parameters,
            )
        runs += 1
        summed.merge(totals)
        # Inputs left unread are planned by later runs after every other input
        # (`flows.inputs.UnreadLog`); once a run of this command failed to read some, its
        # later runs leave them (each is then counted once), and the command stops when only
        # such inputs are left: its next invocation, or the next scheduled run, tries them.
        # (Until the thirty-sixth session a backlog led by more unreadable inputs than
        # --run-inputs stopped here for good: every run planned those first.)
        retry = retry and not totals.get("unread", 0)
        only_unread_left = totals["left"] <= totals.get("left_unread", 0)
        if not totals["left"] or not totals["inputs"] or (only_unread_left and not retry):
            break
        if progress is not None:
            progress(
                f"run {runs}: {totals['inputs']:,} inputs ingested, {totals['left']:,} more waiting: "
                "starting the next run"
            )
    if notice:
        settle_temporary_server(runs)
    summed.left = totals["left"]  # what the last run left, not a sum over runs
    summed.left_unread = totals.get("left_unread", 0)
    summed.settling = totals["settling"]
    return {**summed.to_dict(), "runs": runs}


def print_totals(totals: dict[str, Any]) -> None:
    from flows.report import RunTotals, render_table

    print(render_table(RunTotals.from_dict(totals)))


def warm_workers(settings: IngestSettings) -> None:
    """Start the parse workers now, so they are warm when the flow's first batch needs them."""
    if not settings.dask_address:
        from flows.workers import warm_pool

        warm_pool(settings.workers, timeout=settings.parse_timeout, memory_mb=settings.parse_memory_mb)


def run_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options every flow-running command shares (see `add_run_options`), checked:
    ``batch_size``, ``wait_lock``, ``max_quarantine_share`` and ``settings``."""
    from flows.batch import IngestSettings

    if args.batch_size < 1:
        raise ConfigError("--batch-size must be at least 1")
    check_parse_options(args)
    if args.wait_lock < 0 or args.settle < 0:
        raise ConfigError("--wait-lock and --settle take a number of seconds, 0 or more")
    share = args.max_quarantine_share
    if share is not None and not 0 <= share <= 1:
        raise ConfigError("--max-quarantine-share takes a share between 0 and 1, e.g. 0.2")
    if args.bundle_max_members < 1 or args.bundle_max_mb < 1 or args.bundle_max_ratio < 1:
        raise ConfigError("--bundle-max-members, --bundle-max-mb and --bundle-max-ratio must be at least 1")
    settings = IngestSettings(
        max_bytes=args.max_bytes,
        default_agency=args.agency,
        pattern=args.pattern,
        workers=args.workers,
        parse_timeout=args.parse_timeout,
        parse_memory_mb=args.parse_memory_mb,
        bundle_limits=BundleLimits(args.bundle_max_members, args.bundle_max_mb * 1024**2, args.bundle_max_ratio),
        dask_address=args.dask_address,
        settle_seconds=args.settle,
        detect_rewrites=not args.ignore_rewrites,
    )
    if args.dask_address and not args.dask_address.startswith(("tcp://", "tls://", "ucx://", "inproc://")):
        raise ConfigError(f"--dask-address {args.dask_address!r}: give the scheduler's address, e.g. tcp://HOST:8786")
    return {
        "batch_size": args.batch_size,
        "wait_lock": args.wait_lock,
        "max_quarantine_share": share,
        "settings": settings,
    }


def run_inputs_option(args: argparse.Namespace) -> int | None:
    if args.run_inputs < 0:
        raise ConfigError("--run-inputs takes a number of inputs, or 0 for no limit")
    return int(args.run_inputs) or None


def check_roots(source: str, dest: str) -> None:
    """A SOURCE or ROOT that cannot be one (`storage.check_source_and_dest`): a clear error
    now, before Prefect loads (its temporary server alone takes 10-25 s); the flows check
    again, for deployments' runs. An S3 bucket must be there and its endpoint answer
    (`storage.check_reachable`)."""
    from storage import check_reachable, check_source_and_dest

    check_source_and_dest(source, dest)
    check_reachable(source, "source")
    check_reachable(dest, "dest")


def _cmd_ingest(args: argparse.Namespace) -> int:
    check_roots(args.source, args.dest)
    start_lifeline()
    options = run_options(args)
    run_inputs = run_inputs_option(args)
    warm_workers(options["settings"])
    from flows.report import BatchProgress

    totals = ingest(
        args.source,
        args.dest,
        run_inputs=run_inputs,
        progress=lambda line: print(line, file=sys.stderr),
        batches=BatchProgress(),
        **options,
    )
    if args.json:
        print(json.dumps(totals))
    else:
        if totals["inputs"] == 0:
            print("nothing new to ingest" + (" yet (see the settling inputs below)" if totals.get("settling") else ""))
        print_totals(totals)
    return report_unread(totals)


def report_unread(totals: dict[str, Any]) -> int:
    """The exit code of a command that ran flows: EXIT_UNREAD, saying why on stderr, when the
    store failed to read some inputs (left for the next run), else 0."""
    if not totals.get("unread"):
        return 0
    from flows.ingest import unread_message

    print(f"wire-ingest: error: {unread_message(totals['unread'], totals.get('unread_first'))}", file=sys.stderr)
    return EXIT_UNREAD


def _parse_day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"{option} {value!r} is not a date: use YYYY-MM-DD") from exc


def backfill(
    source: str,
    dest: str,
    start: date,
    end: date,
    *,
    reprocess: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    chunk_size: int = 2000,
    settings: IngestSettings | None = None,
    wait_lock: float = 0.0,
    max_quarantine_share: float | None = None,
) -> dict[str, Any]:
    """Ingest the inputs dated inside ``[start, end]``, one flow run per day; return totals."""
    from flows.environment import prepare_prefect_environment, temporary_server_notice

    prepare_prefect_environment()
    from flows.backfill import backfill as run_backfill

    notice = temporary_server_notice()
    if notice:
        print(notice, file=sys.stderr)

    # A backfill's runs keep Prefect's heartbeat (see flows.environment.command_runs).
    return run_backfill(
        source,
        dest,
        start,
        end,
        reprocess=reprocess,
        batch_size=batch_size,
        chunk_size=chunk_size,
        settings=settings,
        wait_lock=wait_lock,
        max_quarantine_share=max_quarantine_share,
    )


def _cmd_backfill(args: argparse.Namespace) -> int:
    start, end = _parse_day(args.start, "--start"), _parse_day(args.end, "--end")
    if end < start:
        raise ConfigError(f"--end {end} is before --start {start}")
    if args.chunk_size < 1:
        raise ConfigError("--chunk-size must be at least 1")
    check_roots(args.source, args.dest)
    options = run_options(args)
    start_lifeline()
    totals = backfill(
        args.source, args.dest, start, end, reprocess=args.reprocess, chunk_size=args.chunk_size, **options
    )
    if args.json:
        print(json.dumps(totals))
    else:
        if totals["inputs"] == 0:
            print(f"nothing to backfill between {start} and {end}")
        print_totals(totals)
    return report_unread(totals)


def replay(
    dest: str,
    *,
    reason: str | None = None,
    since: date | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    settings: IngestSettings | None = None,
    wait_lock: float = 0.0,
    max_quarantine_share: float | None = None,
) -> dict[str, Any]:
    """Re-ingest the quarantined inputs of ``dest`` (after a parser fix); return totals."""
    from flows.environment import prepare_prefect_environment

    prepare_prefect_environment()
    from flows.replay import replay as run_replay

    return run_replay(
        dest,
        reason=reason,
        since=since,
        batch_size=batch_size,
        settings=settings,
        wait_lock=wait_lock,
        max_quarantine_share=max_quarantine_share,
    )


def _cmd_replay(args: argparse.Namespace) -> int:
    from storage import check_reachable, check_root

    since = _parse_day(args.since, "--since") if args.since else None
    check_root(args.root, "ROOT", must_exist=True)
    check_reachable(args.root, "ROOT")
    options = run_options(args)
    start_lifeline()
    totals = replay(args.root, reason=args.reason, since=since, **options)
    if args.json:
        print(json.dumps(totals))
    else:
        if totals["inputs"] == 0:
            print("nothing in quarantine to replay" + (f" with reason {args.reason!r}" if args.reason else ""))
        print_totals(totals)
    return report_unread(totals)


def serve(
    source: str,
    dest: str,
    cron: str,
    *,
    name: str = "scheduled",
    batch_size: int = DEFAULT_BATCH_SIZE,
    settings: IngestSettings | None = None,
    wait_lock: float = 0.0,
    max_quarantine_share: float | None = None,
    run_inputs: int | None = DEFAULT_RUN_INPUTS,
) -> None:
    """Serve the scheduled ingest deployment from this process (blocks until interrupted)."""
    from flows.environment import prepare_prefect_environment

    prepare_prefect_environment()
    from flows.schedule import serve as serve_deployment

    serve_deployment(
        source,
        dest,
        cron,
        name=name,
        batch_size=batch_size,
        settings=settings,
        wait_lock=wait_lock,
        max_quarantine_share=max_quarantine_share,
        max_inputs=run_inputs,
    )


def _cmd_serve(args: argparse.Namespace) -> int:
    from flows.environment import prepare_prefect_environment

    check_roots(args.source, args.dest)
    prepare_prefect_environment()
    from prefect.client.schemas.schedules import CronSchedule

    try:
        CronSchedule(cron=args.cron)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise ConfigError(f"--cron {args.cron!r} is not a valid cron expression (e.g. '*/15 * * * *')") from exc
    options = run_options(args)
    run_inputs = run_inputs_option(args)
    start_lifeline()
    serve(args.source, args.dest, args.cron, name=args.name, run_inputs=run_inputs, **options)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from flows.demo import demo

    demo(Path(args.output))
    return 0


#: ``serve``'s default --settle: a scheduled run polls a landing zone while files arrive.
SERVE_SETTLE_SECONDS = 60.0


def add_run_options(p: argparse.ArgumentParser, settle: float = 0.0) -> None:
    """Options shared by every command that runs the ingest flow (ingest, backfill, serve)."""
    p.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        help="most inputs in one batch (a run starts with batches of 200, doubling up to this)",
    )
    p.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES, help="inputs larger than this are quarantined")
    p.add_argument("--agency", default=None, help="agency for stories that name none (default: unknown)")
    p.add_argument("--pattern", default="*", help="only file names matching this glob (default: all)")
    p.add_argument("--workers", type=int, default=0, help="parse processes per batch (default 0: one per core)")
    add_timeout_option(p)
    p.add_argument(
        "--wait-lock",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="if another run is writing to --dest, wait up to this long for it (default 0: exit at once, code 75)",
    )
    p.add_argument(
        "--max-quarantine-share",
        type=float,
        default=None,
        metavar="SHARE",
        help="fail the run (after committing what is good) if more than this share of its inputs was quarantined",
    )
    add_bundle_options(p)
    p.add_argument(
        "--dask-address",
        default=None,
        metavar="tcp://HOST:8786",
        help="parse on this existing Dask cluster instead of local worker processes (needs the dask extra)",
    )
    p.add_argument(
        "--settle",
        type=float,
        default=settle,
        metavar="SECONDS",
        help="leave local files changed within this many seconds for the next run: they may still be being "
        f"written (default {settle:g}; S3 objects appear whole and are never held)",
    )
    p.add_argument(
        "--ignore-rewrites",
        action="store_true",
        help="do not ingest again an input rewritten since it was ingested (by default one whose size and "
        "modification time, or ETag, changed is ingested again and its rows replaced; this skips a stat per file)",
    )


def add_run_inputs_option(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--run-inputs",
        type=int,
        default=DEFAULT_RUN_INPUTS,
        metavar="N",
        help=f"at most N new inputs a flow run (its memory grows with the stories it ingests); {what} "
        f"(default {DEFAULT_RUN_INPUTS}; 0 = no limit)",
    )


def add_bundle_options(p: argparse.ArgumentParser) -> None:
    limits = BundleLimits()
    p.add_argument(
        "--bundle-max-members", type=int, default=limits.max_members, help="a bundle with more members is quarantined"
    )
    p.add_argument(
        "--bundle-max-mb",
        type=int,
        default=limits.max_bytes // 1024**2,
        help="a bundle unpacking to more megabytes is quarantined",
    )
    p.add_argument(
        "--bundle-max-ratio",
        type=float,
        default=limits.max_ratio,
        help="a bundle unpacking to more than this many times its size is quarantined (a zip bomb)",
    )


def add_timeout_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--parse-timeout",
        type=float,
        default=DEFAULT_PARSE_TIMEOUT,
        metavar="SECONDS",
        help=f"an input still parsing after this long is quarantined 'timeout' (default {DEFAULT_PARSE_TIMEOUT:g}; "
        "0: no deadline)",
    )
    p.add_argument(
        "--parse-memory-mb",
        type=int,
        default=DEFAULT_PARSE_MEMORY_MB,
        metavar="MB",
        help=f"memory one input may add to its warm parse worker; past it the input is quarantined 'out_of_memory' "
        f"(default {DEFAULT_PARSE_MEMORY_MB}; 0: no limit)",
    )


def _cmd_compact(args: argparse.Namespace) -> int:
    from storage import check_reachable, check_root
    from table.compaction import parse_size, run_compaction

    check_root(args.root, "ROOT", must_exist=True)
    check_reachable(args.root, "ROOT")

    try:
        target = parse_size(args.target_size)
    except ValueError as exc:
        raise ConfigError(f"--target-size: {exc}") from exc
    if args.partition and not re.fullmatch(r"agency=[^/]+/date=\d{4}-\d{2}-\d{2}/?", args.partition):
        raise ConfigError(f"--partition {args.partition!r}: write it as agency=NAME/date=YYYY-MM-DD")
    summary = run_compaction(
        args.root,
        target_bytes=target,
        partition=args.partition,
        wait_lock=args.wait_lock,
        progress=None if args.json else (lambda line: print(line, file=sys.stderr)),
    )
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
    else:
        before = f"{summary.files_before} files ({summary.bytes_before / 1e6:.1f} MB)"
        after = f"{summary.files_after} files ({summary.bytes_after / 1e6:.1f} MB)"
        recovered = f"; rolled {summary.recovered} interrupted merges forward or back" if summary.recovered else ""
        print(f"compacted {summary.partitions} partitions: {before} -> {after}{recovered}")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from storage import check_reachable, check_root
    from table.check import run_check

    check_root(args.root, "ROOT", must_exist=True)
    check_reachable(args.root, "ROOT")
    report = run_check(
        args.root, wait_lock=args.wait_lock, progress=None if args.json else (lambda line: print(line, file=sys.stderr))
    )
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print("\n".join(report.lines()))
    return 0 if report.ok else EXIT_INCONSISTENT


def version_line() -> str:
    """``wire-ingest X (stories schema N; Python, prefect, pyarrow, boto3 versions)``, for a bug
    report or a run's log; read from the installed packages' metadata, nothing imported."""
    from importlib.metadata import PackageNotFoundError, version

    from schemas.story import SCHEMA_VERSION

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    deps = ", ".join(f"{name} {installed(name)}" for name in ("prefect", "pyarrow", "boto3", "beautifulsoup4"))
    python = ".".join(map(str, sys.version_info[:3]))
    return f"wire-ingest {installed('wire-ingest')} (stories schema {SCHEMA_VERSION}; Python {python}, {deps})"


class VersionAction(argparse.Action):
    """``--version``: the line is built only when asked for (metadata reads cost each start ~20 ms)."""

    def __init__(self, option_strings: list[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        print(version_line())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wire-ingest", description="News-wire stories to exactly-once Parquet.")
    parser.add_argument("--version", action=VersionAction, help="print the versions of wire-ingest and its stack")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("parse", help="parse files or folders and print one JSON object per input")
    p.add_argument("paths", nargs="+", help="files or folders of raw stories (text or HTML)")
    p.add_argument("--jsonl", action="store_true", help="one compact JSON object per line")
    p.add_argument(
        "--max-bytes",
        type=int,
        default=DEFAULT_MAX_BYTES,
        help="inputs larger than this are quarantined (default 20 MB)",
    )
    p.add_argument("--agency", default=None, help="agency for stories that name none (default: unknown)")
    p.add_argument(
        "--workers",
        type=int,
        default=0,
        help="parse processes (default 0: one per core)",
    )
    add_timeout_option(p)
    p.set_defaults(func=_cmd_parse)

    p = sub.add_parser("ingest", help="run the Prefect ingest flow: SOURCE -> Parquet under --dest")
    p.add_argument("source", help="local folder or s3://bucket/prefix holding raw stories")
    p.add_argument("--dest", required=True, help="local folder or s3://bucket/prefix for the dataset")
    add_run_options(p)
    add_run_inputs_option(p, "a larger backlog is taken by several runs, one after another")
    p.add_argument("--json", action="store_true", help="print the run totals as JSON")
    p.set_defaults(func=_cmd_ingest)

    p = sub.add_parser("backfill", help="ingest the inputs dated inside a range, one flow run per day")
    p.add_argument("source", help="local folder or s3://bucket/prefix holding raw stories")
    p.add_argument("--dest", required=True, help="local folder or s3://bucket/prefix for the dataset")
    p.add_argument("--start", required=True, help="first day, YYYY-MM-DD (inclusive)")
    p.add_argument("--end", required=True, help="last day, YYYY-MM-DD (inclusive)")
    add_run_options(p)
    p.add_argument(
        "--reprocess", action="store_true", help="ingest inputs already done again, replacing their earlier rows"
    )
    p.add_argument("--chunk-size", type=int, default=2000, help="at most this many inputs per flow run")
    p.add_argument("--json", action="store_true", help="print the totals as JSON")
    p.set_defaults(func=_cmd_backfill)

    p = sub.add_parser("replay", help="ingest quarantined inputs again (after a parser fix)")
    p.add_argument("root", help="the dataset root (local folder or s3://bucket/prefix) whose quarantine to replay")
    p.add_argument("--reason", default=None, help="only entries quarantined for this reason (e.g. timeout)")
    p.add_argument("--since", default=None, help="only entries quarantined on or after this day, YYYY-MM-DD")
    add_run_options(p)
    p.add_argument("--json", action="store_true", help="print the totals as JSON")
    p.set_defaults(func=_cmd_replay)

    p = sub.add_parser("compact", help="merge each partition's small Parquet files into files near a target size")
    p.add_argument("root", help="the dataset root (local folder or s3://bucket/prefix)")
    p.add_argument("--partition", default=None, metavar="agency=X/date=Y", help="only this partition")
    p.add_argument("--target-size", default="128MB", help="merged file size to aim for (default 128MB)")
    p.add_argument(
        "--wait-lock", type=float, default=0.0, metavar="SECONDS", help="wait this long for a run writing to ROOT"
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=_cmd_compact)

    p = sub.add_parser("check", help="read a dataset root back and check its guarantees (exit 65 if broken)")
    p.add_argument("root", help="the dataset root (local folder or s3://bucket/prefix)")
    p.add_argument(
        "--wait-lock", type=float, default=0.0, metavar="SECONDS", help="wait this long for a run writing to ROOT"
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("serve", help="serve the scheduled ingest deployment from this process")
    p.add_argument("--source", required=True, help="landing zone: local folder or s3://bucket/prefix")
    p.add_argument("--dest", required=True, help="dataset root: local folder or s3://bucket/prefix")
    p.add_argument("--cron", default="*/15 * * * *", help="cron schedule (default: every 15 minutes)")
    p.add_argument("--name", default="scheduled", help="deployment name (default: scheduled)")
    add_run_options(p, settle=SERVE_SETTLE_SECONDS)
    add_run_inputs_option(p, "the next scheduled run takes the rest")
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("demo", help="ingest the bundled samples into a local store and query it")
    p.add_argument("--output", default="demo-output", help="folder for the landing zone and the store")
    p.set_defaults(func=_cmd_demo)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM (a service manager stopping the command), raised in the main thread so that
    the run unwinds as it does for Ctrl-C: the store's lease is released, Prefect marks the
    flow run, the parse workers are stopped."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated()


def _interrupt_in(exc: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C or SIGTERM behind ``exc``, if one is: it may surface as another exception
    raised while handling it (Prefect's task engine raises "Task run is not set" when the
    interrupt lands while a task run is being created)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return seen
        seen = seen.__context__
    return None


#: Exit codes of a command stopped by Ctrl-C (SIGINT) or SIGTERM: 128 + the signal, as shells report.
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # SIGTERM unwinds like Ctrl-C (serve's runner stops its own runs; a caller's handler is
    # put back at the end, for main called in a process that goes on).
    own_handler = args.func is not _cmd_serve and threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if own_handler else None
    try:
        return _dispatch(args)
    finally:
        if own_handler:
            signal.signal(signal.SIGTERM, previous)


def _dispatch(args: argparse.Namespace) -> int:
    """Run the chosen command; each error wire-ingest raises on purpose becomes its message and exit code."""
    try:
        code: int = args.func(args)
        return code
    except LeaseHeldError as exc:
        print(f"wire-ingest: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    except QuarantineShareError as exc:
        print(f"wire-ingest: error: {exc}", file=sys.stderr)
        return EXIT_TOO_MUCH_QUARANTINED
    except UnreadInputsError as exc:
        print(f"wire-ingest: error: {exc}", file=sys.stderr)
        return EXIT_UNREAD
    except WireIngestError as exc:
        print(f"wire-ingest: error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        if "ephemeral Prefect API server" not in str(exc):
            raise
        waited = os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "?")
        print(
            f"wire-ingest: error: Prefect's temporary server did not answer within {waited} s. Point "
            "PREFECT_API_URL at a running `prefect server start` (how a deployment runs), or give it more "
            "time with PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.",
            file=sys.stderr,
        )
        return 2
    except BrokenPipeError:
        # The reader went away (`wire-ingest parse --jsonl | head`): stop quietly, as Unix
        # tools do, with nothing left to flush into the closed pipe at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except BaseException as exc:
        interrupt = _interrupt_in(exc)
        if interrupt is None:
            raise
        terminated = isinstance(interrupt, Terminated)
        line = f"wire-ingest: stopped by {'SIGTERM' if terminated else 'Ctrl-C'}."
        if args.func is not _cmd_parse:  # the commands that write to a store
            line += (
                " Every committed batch stays; run the same command again to go on (it finishes or undoes"
                " a batch left half-committed, and takes what is left)."
            )
        print(line, file=sys.stderr)
        return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED


#: A closed standard output (the shell's code for SIGPIPE, 128 + 13).
EXIT_BROKEN_PIPE = 141


def run() -> None:
    """The ``wire-ingest`` command: ``main``, then an exit without the interpreter's last
    garbage collections. At exit Python collects several times over everything the run
    imported and built (Prefect, pyarrow, the duplicate index: ~150,000 objects after an
    ingest), ~0.3-0.5 s of an ingest's wall time here. Frozen, those objects are still
    freed by reference counting as the modules are torn down; only reference cycles left
    at exit go uncollected, and the OS takes their memory back. Everything that must reach
    disk or the store is written, flushed and closed before ``main`` returns, and atexit
    handlers (Prefect's log and event workers) still run."""
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    run()
