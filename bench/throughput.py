"""Parse speed and ingest memory, printed as tables.

    python bench/throughput.py [--quick]

1. `parse` speed (stories/s, MB/s, best of 3 runs; 5 for text): raw wire text as filed and
   grown to ~2.5, ~4 and ~20 KB, and real 1987 Reuters copy when ../shared holds
   reuters-dev (research-only, never copied here); the 92 aeb-dev HTML pages and the 253
   trafilatura-dev pages, in-process and as whole processes (start-up included), ours (one
   worker, and the default pool) next to trafilatura on the same pages in the same run,
   with the ratio and peak RSS; and the worker pool's scaling from 1 to 2 workers.
2. Peak RSS of `wire-ingest ingest` over 1,000 and 10,000 inputs (it must stay flat:
   batches stream, tasks return counts and keys, never records).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.extraction_quality import load_pages  # noqa: E402
from bench.segments_quality import load_pages as load_segment_pages  # noqa: E402
from flows.workers import tune_gc_for_parsing  # noqa: E402
from parsers import native, parse_story  # noqa: E402
from schemas.errors import ParseError  # noqa: E402
from tests.corpus import write_corpus  # noqa: E402

CLI = [sys.executable, "-m", "flows.cli"]


def best_of(repeats: int, run: Callable[[], None]) -> float:
    """Shortest wall time of ``repeats`` runs (shared machines are noisy; the minimum is
    the least disturbed measurement)."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def time_in_process(items: list[bytes], parse: Callable[[bytes], object], repeats: int) -> tuple[float, float]:
    for data in items[:3]:
        parse(data)  # warm-up: lazy imports, model load

    def run() -> None:
        for data in items:
            parse(data)

    elapsed = best_of(repeats, run)
    return len(items) / elapsed, sum(map(len, items)) / elapsed / 1e6


def run_measured(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Wall time (s), peak RSS of the process and its children (MB), stdout."""
    # Output goes to files: a pipe nobody reads while we poll would fill up and block the child.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = psutil.Popen(cmd, stdout=out, stderr=err, env=env, cwd=REPO)
        peak = 0
        while process.poll() is None:
            try:
                # The process and its workers together (a pool's memory counts too).
                family = [process, *process.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in family))
            except psutil.Error:
                pass
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{err.read().decode()[-2000:]}")
        return elapsed, peak / 1e6, out.read().decode()


def grown(data: bytes, target: int) -> bytes:
    """A wire story lengthened to ~``target`` bytes with numbered copies of its body (real
    wire copy runs 2-8 KB; the golden stories are short)."""
    head, _, body = data.replace(b"\r\n", b"\n").partition(b"\n\n")
    parts: list[bytes] = []
    number = 0
    while body and sum(map(len, parts)) < target:
        parts.append(body.replace(b" said", b" said %d" % number, 1))
        number += 1
    return head + b"\n\n" + b"\n\n".join(parts)


def grown_body(data: bytes, target: int) -> bytes:
    """A wire story lengthened to ~``target`` bytes the way long copy is long: its body
    paragraphs after the first repeated (numbered), its dateline and its trailers (credits,
    contacts, copyright, sign-off: the blocks after the last one that reaches the body)
    kept once. ``grown`` repeats them with every copy of the body (~50 removed lines in a
    20 KB story)."""
    head, _, body = data.replace(b"\r\n", b"\n").partition(b"\n\n")
    blocks = body.split(b"\n\n")
    text = " ".join(parse_story(data, "bench").body.split())

    def reaches_body(block: bytes) -> bool:
        start = " ".join(block.decode("utf-8", "replace").split())[:60]
        return bool(start) and start in text

    last = max((i for i, block in enumerate(blocks) if reaches_body(block)), default=len(blocks) - 1)
    # The first block (its dateline) once, then the rest of the body again and again.
    parts, again, tail = blocks[: last + 1], b"\n\n".join(blocks[1 : last + 1]), blocks[last + 1 :]
    number = 0
    while again and sum(map(len, parts)) + sum(map(len, tail)) < target:
        parts.append(again.replace(b" said", b" said %d" % number, 1))
        number += 1
    return head + b"\n\n" + b"\n\n".join(parts + tail)


Row = tuple[str, float, float, str]


def print_rows(title: str, rows: list[Row]) -> None:
    print(f"\n{title:<64} {'stories/s':>10} {'MB/s':>8} {'note':>14}")
    for label, rate, mbps, note in rows:
        print(f"{label:<64} {rate:10.1f} {mbps:8.2f} {note:>14}")


def html_section(title: str, pages: list[bytes], repeats: int, ours: Callable[[bytes], object]) -> None:
    """Ours next to trafilatura on the same HTML pages: in-process, and as whole processes
    (start-up included) with one worker and with the default pool."""
    import trafilatura

    # Interleaved (ours, theirs, ours, theirs, ...) so that a noisy spell on the shared
    # machine hits both sides, and the best of each kept.
    ours_runs, theirs_runs = [], []
    for _ in range(repeats):
        ours_runs.append(time_in_process(pages, ours, 1))
        theirs_runs.append(time_in_process(pages, trafilatura.extract, 1))
    ours_rate, ours_mb = max(ours_runs)
    theirs_rate, theirs_mb = max(theirs_runs)
    html_rows: list[Row] = [
        ("wire-ingest, in-process", ours_rate, ours_mb, f"{ours_rate / theirs_rate:.2f}x"),
        ("trafilatura, in-process", theirs_rate, theirs_mb, "1.00x"),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        html_dir = Path(tmp) / "html"
        html_dir.mkdir()
        for number, data in enumerate(pages):
            (html_dir / f"{number:03d}.html").write_bytes(data)
        size = sum(map(len, pages)) / 1e6
        trafilatura_cmd = [
            sys.executable,
            "-c",
            (
                "import sys, pathlib, trafilatura\n"
                "for p in sorted(pathlib.Path(sys.argv[1]).iterdir()): trafilatura.extract(p.read_bytes())\n"
            ),
            str(html_dir),
        ]
        commands = {
            "trafilatura": trafilatura_cmd,
            "1": [*CLI, "parse", "--jsonl", "--workers", "1", str(html_dir)],
            "0": [*CLI, "parse", "--jsonl", "--workers", "0", str(html_dir)],
        }
        runs: dict[str, list[tuple[float, float, str]]] = {name: [] for name in commands}
        for _ in range(repeats):  # interleaved, as above
            for name, cmd in commands.items():
                runs[name].append(run_measured(cmd))
        best = {name: min(results, key=lambda r: r[0]) for name, results in runs.items()}
        reference, reference_rss, _ = best["trafilatura"]
        for workers, label in (("1", "one worker"), ("0", f"default: {os.cpu_count()} workers")):
            elapsed, rss, out = best[workers]
            assert out.count("\n") <= len(pages)  # a page with no story text is quarantined
            html_rows.append(
                (
                    f"wire-ingest parse --jsonl, whole process, {label}",
                    len(pages) / elapsed,
                    size / elapsed,
                    f"{reference / elapsed:.2f}x {rss:.0f}MB",
                )
            )
        html_rows.append(
            (
                "trafilatura, whole process (one core: it has no pool)",
                len(pages) / reference,
                size / reference,
                f"1.00x {reference_rss:.0f}MB",
            )
        )
    print_rows(f"HTML, {title} (goal: 2.0x trafilatura one worker, 2.5x the pool; whole process)", html_rows)


def reuters_copy() -> list[bytes]:
    """reuters-dev's stories as bench/wire_text.py renders them (research-only: read from
    ../shared, never copied here); empty, with a note, when it is absent."""
    from bench.wire_text import load_cases

    shared = REPO.parent / "shared"
    if not (shared / "eval" / "reuters-dev").is_dir():
        print(f"(reuters-dev is not at {shared}/eval/reuters-dev: the real-copy row is left out)")
        return []
    return [case.rendered.encode("latin-1", "replace") for case in load_cases(shared)]


def text_rows(quick: bool) -> list[Row]:
    """The raw wire text rows: golden stories as filed and grown, and real 1987 copy."""
    repeats = 1 if quick else 3
    golden_text = [p.read_bytes() for p in sorted((REPO / "tests" / "golden").glob("*.txt"))]

    def ours(data: bytes) -> object:
        return parse_story(data, "bench")

    # This process collects garbage as a parse worker does.
    tune_gc_for_parsing()
    rows: list[Row] = []
    sized = (
        ("as filed (golden)", 0, grown),
        ("grown to ~2.5 KB", 2100, grown),
        ("body grown to ~2.5 KB, trailers once", 2100, grown_body),
        ("grown to ~4 KB", 4000, grown),
        ("grown to ~20 KB", 20000, grown),
        ("body grown to ~20 KB, trailers once", 20000, grown_body),
    )
    for label, target, grow in sized:
        # Only the stories that grow (a body after a blank line) are grown: the envelope and
        # indented-layout ones would stay small and pull the average size down.
        items = [g for g in (grow(t, target) if target else t for t in golden_text) if len(g) >= 0.8 * target]
        average = sum(map(len, items)) / len(items) / 1000
        items = items * max(1, (100_000 if quick else 400_000) // sum(map(len, items)))
        rate, mbps = time_in_process(items, ours, max(repeats, 5))
        rows.append((f"text {label} ({average:.1f} KB), in-process", rate, mbps, ""))
    real = reuters_copy()
    if real:

        def ours_or_quarantined(data: bytes) -> object:
            try:
                return parse_story(data, "bench")
            except ParseError as exc:  # a story with no text (a few in 1987 copy): quarantined
                return exc

        average = sum(map(len, real)) / len(real) / 1000
        rate, mbps = time_in_process(real, ours_or_quarantined, max(repeats, 5))
        rows.append((f"real 1987 Reuters copy, {len(real)} stories ({average:.1f} KB)", rate, mbps, ""))
    return rows


def sources_text_rows(quick: bool) -> list[Row]:
    """The same rows with the parsers run from their sources (``WIRE_INGEST_NATIVE=0``), in a
    process of their own, when this one runs them compiled (parsers/native.py)."""
    if not native.STATUS.startswith("compiled"):
        return []
    command = [sys.executable, str(Path(__file__).resolve()), "--text-rows-json", *(["--quick"] if quick else [])]
    done = subprocess.run(
        command, env={**os.environ, native.ENV_SWITCH: "0"}, capture_output=True, text=True, check=True
    )
    rows = json.loads(done.stdout.strip().splitlines()[-1])
    return [(f"{label.replace(', in-process', '')}, from sources", rate, mbps, "") for label, rate, mbps, _ in rows]


def parse_section(quick: bool) -> None:
    repeats = 1 if quick else 3
    pages = [data for _, data, _ in load_pages()]
    dev_pages = [data for _, data, _, _ in load_segment_pages()]

    def ours(data: bytes) -> object:
        return parse_story(data, "bench")

    print(f"parsers: {native.STATUS}")
    text = text_rows(quick)
    compiled = native.STATUS.startswith("compiled")
    if compiled:
        text = [(f"{label}, compiled", rate, mbps, note) for label, rate, mbps, note in text]
    text += sources_text_rows(quick)
    print_rows("raw wire text, one core (goal: 5 MB/s at 2.5 KB, 10 MB/s at 20 KB)", text)

    for name, html_pages in (("92 aeb-dev pages", pages), (f"{len(dev_pages)} trafilatura-dev pages", dev_pages)):
        html_section(name, html_pages, repeats, ours)

    from flows.workers import parse_payloads

    with tempfile.TemporaryDirectory() as tmp:
        texts = [p.read_bytes() for p in write_corpus(Path(tmp) / "text", 200, text_only=True)]
    mixed = [(f"bench-{i}", data) for i, data in enumerate([*texts, *pages] * 2)]
    scaling: list[Row] = []
    for pool_size in (1, 2):
        parse_payloads(mixed[:64], default_agency=None, max_bytes=1 << 30, workers=pool_size)  # start the pool

        def run(count: int = pool_size) -> None:
            parse_payloads(mixed, default_agency=None, max_bytes=1 << 30, workers=count)

        elapsed = best_of(repeats, run)
        rate = len(mixed) / elapsed
        note = "" if pool_size == 1 else f"{rate / scaling[0][1]:.2f}x"
        scaling.append(
            (
                f"parse_payloads, text+HTML, {pool_size} worker(s)",
                rate,
                sum(len(d) for _, d in mixed) / elapsed / 1e6,
                note,
            )
        )
    print_rows("scaling inside a batch (the flow's worker pool)", scaling)


def ingest_section(quick: bool) -> None:
    counts = (200, 2000) if quick else (1000, 10000)
    print(
        f"\n{'ingest (local store, batch 200)':<34} {'inputs':>8} {'seconds':>8} {'stories/s':>10} {'peak RSS MB':>12}"
    )
    for count in counts:
        with tempfile.TemporaryDirectory() as tmp:
            write_corpus(Path(tmp) / "landing", count, bad_every=50)
            env = dict(os.environ, PREFECT_HOME=str(Path(tmp) / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
            elapsed, peak, _ = run_measured(
                [*CLI, "ingest", str(Path(tmp) / "landing"), "--dest", str(Path(tmp) / "store"), "--json"], env=env
            )
            print(f"{'wire-ingest ingest':<34} {count:8d} {elapsed:8.1f} {count / elapsed:10.1f} {peak:12.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller inputs, for a smoke run")
    parser.add_argument("--only", choices=("parse", "ingest"), help="run one section")
    parser.add_argument("--text-rows-json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.text_rows_json:  # sources_text_rows' child process
        print(json.dumps(text_rows(args.quick)))
        return
    if args.only != "ingest":
        parse_section(args.quick)
    if args.only != "parse":
        ingest_section(args.quick)


if __name__ == "__main__":
    main()
