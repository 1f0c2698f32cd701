"""``wire-ingest``: a thin command line over library functions of the same names.

Prefect is imported only by the commands that run flows, so ``parse`` starts fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from parsers import DEFAULT_MAX_BYTES
from schemas.errors import ConfigError, WireIngestError


def iter_input_files(paths: Sequence[str]) -> Iterator[Path]:
    """Files named, and every visible file under folders named, in sorted order."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path)
                if child.is_file() and not any(part.startswith((".", "_")) for part in rel.parts):
                    yield child
        elif path.is_file():
            yield path
        else:
            raise ConfigError(f"{raw}: no such file or folder")


#: Inputs read and parsed together by ``parse`` (bounded memory, steady output).
PARSE_CHUNK = 256


def parse(
    paths: Sequence[str],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    default_agency: str | None = None,
    workers: int = 1,
) -> Iterator[dict[str, Any]]:
    """Parse files (or folders of them) without Prefect or storage: one dict per input, in order.

    A quarantined input yields ``{"source_uri": ..., "error": reason, "detail": ...}``.
    ``workers`` > 1 (or 0: one per core) parses chunks of inputs on worker processes.
    """
    chunk: list[Path] = []
    for path in iter_input_files(paths):
        chunk.append(path)
        if len(chunk) == PARSE_CHUNK:
            yield from _parse_chunk(chunk, max_bytes, default_agency, workers)
            chunk = []
    yield from _parse_chunk(chunk, max_bytes, default_agency, workers)


def _parse_chunk(
    chunk: list[Path], max_bytes: int, default_agency: str | None, workers: int
) -> Iterator[dict[str, Any]]:
    from flows.workers import Quarantined, parse_payloads

    readable: list[tuple[str, bytes]] = []
    unreadable: dict[str, str] = {}
    order: list[str] = []
    for path in chunk:
        uri = str(path.resolve())
        order.append(uri)
        try:
            readable.append((uri, path.read_bytes()))
        except OSError as exc:
            unreadable[uri] = str(exc)
    # This command runs no threads, so its workers may be plain forks of it.
    parsed = iter(
        parse_payloads(readable, default_agency=default_agency, max_bytes=max_bytes, workers=workers, fork=True)
    )
    for uri in order:
        if uri in unreadable:
            yield {"source_uri": uri, "error": "unreadable", "detail": unreadable[uri]}
            continue
        result = next(parsed)
        if isinstance(result, Quarantined):
            yield {"source_uri": uri, "error": result.reason, "detail": result.detail}
        else:
            yield result.to_json_dict()


def _cmd_parse(args: argparse.Namespace) -> int:
    from flows.workers import tune_gc_for_parsing

    tune_gc_for_parsing()  # this process only parses until it exits
    out = sys.stdout
    for record in parse(args.paths, max_bytes=args.max_bytes, default_agency=args.agency, workers=args.workers):
        if args.jsonl:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            out.write(json.dumps(record, ensure_ascii=False, indent=2) + "\n")
    return 0


def ingest(
    source: str,
    dest: str,
    *,
    batch_size: int = 200,
    max_bytes: int = DEFAULT_MAX_BYTES,
    default_agency: str | None = None,
    pattern: str = "*",
    workers: int = 0,
) -> dict[str, Any]:
    """Run the Prefect ingest flow once and return its totals."""
    from flows.environment import prepare_prefect_environment

    prepare_prefect_environment()
    from flows.ingest import ingest_flow

    return ingest_flow(
        source=source,
        dest=dest,
        batch_size=batch_size,
        max_bytes=max_bytes,
        default_agency=default_agency,
        pattern=pattern,
        workers=workers,
    )


def print_totals(totals: dict[str, Any]) -> None:
    from collections import Counter

    from flows.report import RunTotals, render_table

    run = RunTotals(
        batches=totals["batches"],
        inputs=totals["inputs"],
        stories=totals["stories"],
        duplicates=totals["duplicates"],
        near_duplicates=totals["near_duplicates"],
        quarantined=Counter(totals["quarantined"]),
        bytes_written=totals["bytes_written"],
        files=totals["files"],
        recovered_batches=totals["recovered_batches"],
    )
    print(render_table(run))


def _cmd_ingest(args: argparse.Namespace) -> int:
    if args.batch_size < 1:
        raise ConfigError("--batch-size must be at least 1")
    totals = ingest(
        args.source,
        args.dest,
        batch_size=args.batch_size,
        max_bytes=args.max_bytes,
        default_agency=args.agency,
        pattern=args.pattern,
        workers=args.workers,
    )
    if args.json:
        print(json.dumps(totals))
    else:
        if totals["inputs"] == 0:
            print("nothing new to ingest")
        print_totals(totals)
    return 0


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
    batch_size: int = 200,
    chunk_size: int = 2000,
    max_bytes: int = DEFAULT_MAX_BYTES,
    default_agency: str | None = None,
    pattern: str = "*",
    workers: int = 0,
) -> dict[str, Any]:
    """Ingest the inputs dated inside ``[start, end]``, one flow run per day; return totals."""
    from flows.environment import prepare_prefect_environment

    prepare_prefect_environment()
    from flows.backfill import backfill as run_backfill
    from flows.batch import IngestSettings

    settings = IngestSettings(max_bytes=max_bytes, default_agency=default_agency, pattern=pattern, workers=workers)
    return run_backfill(
        source, dest, start, end, reprocess=reprocess, batch_size=batch_size, chunk_size=chunk_size, settings=settings
    )


def _cmd_backfill(args: argparse.Namespace) -> int:
    start, end = _parse_day(args.start, "--start"), _parse_day(args.end, "--end")
    if args.batch_size < 1 or args.chunk_size < 1:
        raise ConfigError("--batch-size and --chunk-size must be at least 1")
    totals = backfill(
        args.source,
        args.dest,
        start,
        end,
        reprocess=args.reprocess,
        batch_size=args.batch_size,
        chunk_size=args.chunk_size,
        max_bytes=args.max_bytes,
        default_agency=args.agency,
        pattern=args.pattern,
        workers=args.workers,
    )
    if args.json:
        print(json.dumps(totals))
    else:
        if totals["inputs"] == 0:
            print(f"nothing to backfill between {start} and {end}")
        print_totals(totals)
    return 0


def serve(source: str, dest: str, cron: str, **options: Any) -> None:
    """Serve the scheduled ingest deployment from this process (blocks until interrupted)."""
    from flows.environment import prepare_prefect_environment

    prepare_prefect_environment()
    from flows.schedule import serve as serve_deployment

    serve_deployment(source, dest, cron, **options)


def _cmd_serve(args: argparse.Namespace) -> int:
    from flows.environment import prepare_prefect_environment

    prepare_prefect_environment()
    from prefect.client.schemas.schedules import CronSchedule

    try:
        CronSchedule(cron=args.cron)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise ConfigError(f"--cron {args.cron!r} is not a valid cron expression (e.g. '*/15 * * * *')") from exc
    serve(
        args.source,
        args.dest,
        args.cron,
        name=args.name,
        batch_size=args.batch_size,
        max_bytes=args.max_bytes,
        default_agency=args.agency,
        pattern=args.pattern,
        workers=args.workers,
    )
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from flows.demo import demo

    demo(Path(args.output))
    return 0


def add_run_options(p: argparse.ArgumentParser) -> None:
    """Options shared by every command that runs the ingest flow (ingest, backfill, serve)."""
    p.add_argument("--batch-size", type=int, default=200, help="inputs per batch (one Prefect task each)")
    p.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES, help="inputs larger than this are quarantined")
    p.add_argument("--agency", default=None, help="agency for stories that name none (default: unknown)")
    p.add_argument("--pattern", default="*", help="only file names matching this glob (default: all)")
    p.add_argument(
        "--workers", type=int, default=0, help="parse processes per batch (default 0: one per core; 1: in-process)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wire-ingest", description="News-wire stories to exactly-once Parquet.")
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
        help="parse processes (default 0: one per core, used from 32 inputs on; 1: in-process)",
    )
    p.set_defaults(func=_cmd_parse)

    p = sub.add_parser("ingest", help="run the Prefect ingest flow: SOURCE -> Parquet under --dest")
    p.add_argument("source", help="local folder or s3://bucket/prefix holding raw stories")
    p.add_argument("--dest", required=True, help="local folder or s3://bucket/prefix for the dataset")
    add_run_options(p)
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

    p = sub.add_parser("serve", help="serve the scheduled ingest deployment from this process")
    p.add_argument("--source", required=True, help="landing zone: local folder or s3://bucket/prefix")
    p.add_argument("--dest", required=True, help="dataset root: local folder or s3://bucket/prefix")
    p.add_argument("--cron", default="*/15 * * * *", help="cron schedule (default: every 15 minutes)")
    p.add_argument("--name", default="scheduled", help="deployment name (default: scheduled)")
    add_run_options(p)
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("demo", help="ingest the bundled samples into a local store and query it")
    p.add_argument("--output", default="demo-output", help="folder for the landing zone and the store")
    p.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except WireIngestError as exc:
        print(f"wire-ingest: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
