"""Parse speed and ingest memory, printed as tables.

    python bench/throughput.py [--quick]

1. `parse` speed on raw wire text and on HTML pages (stories/s, MB/s), in-process and
   as a whole `wire-ingest parse --jsonl` process (start-up included), with trafilatura
   on the same HTML pages in the same run as the reference.
2. Peak RSS of `wire-ingest ingest` over 1,000 and 10,000 inputs (it must stay flat:
   batches stream, tasks return counts and keys, never records).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.extraction_quality import load_pages  # noqa: E402
from parsers import parse_story  # noqa: E402
from tests.corpus import write_corpus  # noqa: E402

CLI = [sys.executable, "-m", "flows.cli"]


def time_in_process(items: list[bytes], parse: object) -> tuple[float, float]:
    started = time.perf_counter()
    for data in items:
        parse(data)  # type: ignore[operator]
    elapsed = time.perf_counter() - started
    return len(items) / elapsed, sum(map(len, items)) / elapsed / 1e6


def run_measured(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Wall time (s), peak RSS of the process itself (MB), stdout."""
    # Output goes to files: a pipe nobody reads while we poll would fill up and block the child.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = psutil.Popen(cmd, stdout=out, stderr=err, env=env, cwd=REPO)
        peak = 0
        while process.poll() is None:
            try:
                peak = max(peak, process.memory_info().rss)
            except psutil.Error:
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{err.read().decode()[-2000:]}")
        return elapsed, peak / 1e6, out.read().decode()


def parse_section(quick: bool) -> None:
    pages = [data for _, data, _ in load_pages()]
    with tempfile.TemporaryDirectory() as tmp:
        text_files = write_corpus(Path(tmp) / "text", 200 if quick else 1000, text_only=True)
        texts = [p.read_bytes() for p in text_files]
        html_dir = Path(tmp) / "html"
        html_dir.mkdir()
        for number, data in enumerate(pages):
            (html_dir / f"{number:03d}.html").write_bytes(data)

        def ours(data: bytes) -> object:
            return parse_story(data, "bench")

        import trafilatura

        rows = []
        rows.append(("wire-ingest, text, in-process", *time_in_process(texts, ours)))
        rows.append(("wire-ingest, HTML, in-process", *time_in_process(pages, ours)))
        rows.append(("trafilatura, HTML, in-process", *time_in_process(pages, trafilatura.extract)))
        for label, folder, items in (("text", Path(tmp) / "text", texts), ("HTML", html_dir, pages)):
            elapsed, _, out = run_measured([*CLI, "parse", "--jsonl", str(folder)])
            assert out.count("\n") == len(items)
            rows.append(
                (
                    f"wire-ingest parse --jsonl, {label}, whole process",
                    len(items) / elapsed,
                    sum(map(len, items)) / elapsed / 1e6,
                )
            )
        elapsed, _, _ = run_measured(
            [
                sys.executable,
                "-c",
                (
                    "import sys, pathlib, trafilatura\n"
                    "for p in sorted(pathlib.Path(sys.argv[1]).iterdir()): trafilatura.extract(p.read_bytes())\n"
                ),
                str(html_dir),
            ]
        )
        rows.append(("trafilatura, HTML, whole process", len(pages) / elapsed, sum(map(len, pages)) / elapsed / 1e6))
        from flows.workers import parse_payloads

        mixed = [(f"bench-{i}", data) for i, data in enumerate([*texts, *pages] * 2)]
        for workers in (1, 2):
            parse_payloads(mixed[:64], default_agency=None, max_bytes=1 << 30, workers=workers)  # start the pool
            started = time.perf_counter()
            parse_payloads(mixed, default_agency=None, max_bytes=1 << 30, workers=workers)
            elapsed = time.perf_counter() - started
            rows.append(
                (
                    f"parse_payloads, text+HTML, {workers} worker(s)",
                    len(mixed) / elapsed,
                    sum(len(d) for _, d in mixed) / elapsed / 1e6,
                )
            )
    print(f"\n{'parse speed':<52} {'stories/s':>10} {'MB/s':>8}")
    for label, rate, mbps in rows:
        print(f"{label:<52} {rate:10.1f} {mbps:8.2f}")
    ours_html = next(r for r in rows if r[0] == "wire-ingest parse --jsonl, HTML, whole process")
    theirs = next(r for r in rows if r[0] == "trafilatura, HTML, whole process")
    print(f"{'ratio wire-ingest / trafilatura (HTML, whole process)':<52} {ours_html[1] / theirs[1]:10.2f}x")


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
    args = parser.parse_args()
    parse_section(args.quick)
    ingest_section(args.quick)


if __name__ == "__main__":
    main()
