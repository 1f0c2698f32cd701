"""Files sized for analytics: the dataset before and after ``wire-ingest compact``.

    .venv/bin/python bench/compaction.py [--stories 100000] [--batch-size 2000]

Ingests N synthetic wire stories (built from the golden text inputs, 28 publication days)
with the default batch size, copies the store, compacts the copy, and prints files, bytes
and the time of two DuckDB queries (best of 5) on both layouts: a full count by agency,
and a one-day time filter that row-group statistics can skip on the sorted layout.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from flows.batch import IngestSettings, run_without_prefect  # noqa: E402
from flows.inputs import DEFAULT_BATCH_SIZE  # noqa: E402
from table.compaction import run_compaction  # noqa: E402
from tests.corpus import write_corpus  # noqa: E402

QUERIES = {
    "count by agency": "SELECT agency, count(*) FROM read_parquet('{root}/stories/**/*.parquet', "
    "hive_partitioning = true) GROUP BY ALL ORDER BY ALL",
    "one day, by time": "SELECT count(*), sum(word_count) FROM read_parquet('{root}/stories/**/*.parquet', "
    "hive_partitioning = true) WHERE published_at >= TIMESTAMP '2024-01-05 00:00:00' "
    "AND published_at < TIMESTAMP '2024-01-06 00:00:00'",
}


def layout(root: Path) -> tuple[int, int]:
    found = list((root / "stories").rglob("*.parquet"))
    return len(found), sum(p.stat().st_size for p in found)


def best_query(root: Path, sql: str, repeats: int = 5) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        connection = duckdb.connect()
        started = time.perf_counter()
        result = connection.sql(sql.format(root=root)).fetchall()
        times.append(time.perf_counter() - started)
        connection.close()
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="wire-compact-"))
    try:
        landing, small, merged = work / "landing", work / "small", work / "merged"
        write_corpus(landing, args.stories, dated=True, text_only=True)
        started = time.perf_counter()
        run_without_prefect(str(landing), str(small), IngestSettings(), args.batch_size)
        print(f"ingested {args.stories:,} inputs in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        shutil.copytree(small, merged)
        started = time.perf_counter()
        summary = run_compaction(str(merged))
        took = time.perf_counter() - started
        print(f"| layout | files | MB | {' | '.join(QUERIES)} |\n|---|---|---|" + "---|" * len(QUERIES))
        results = []
        for name, root in (("one file per partition per batch", small), ("after compact", merged)):
            count, size = layout(root)
            timings = [best_query(root, sql) for sql in QUERIES.values()]
            results.append([r for _, r in timings])
            cells = " | ".join(f"{t * 1000:.0f} ms" for t, _ in timings)
            print(f"| {name} | {count:,} | {size / 1e6:.1f} | {cells} |")
        assert results[0] == results[1], f"the two layouts must answer the same: {results}"
        print(f"\ncompact: {summary.partitions} partitions, {summary.rows:,} rows merged in {took:.1f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
