"""Planning at scale: a no-op rerun over N done inputs against one over an empty source.

    .venv/bin/python bench/scale.py [--done 1000000] [--keep DIR]

Builds a landing zone of N small files (1,000 per folder) and a store whose ledger already
holds all N as done (batch objects of 1,000 realistic entries, with paragraph keys and a
MinHash signature, folded into a snapshot the way runs fold them), then times whole
processes, best of 3, with the peak RSS of the process and its children:

- ``python -m flows.batch`` (the run without Prefect: lease, staging sweep, ledger load,
  recovery, planning, fold check);
- ``wire-ingest ingest`` (the same inside the Prefect flow, with its temporary server);
- ``wire-ingest ingest`` with ``PREFECT_API_URL`` set to a ``prefect server`` this script
  starts on 127.0.0.1 (how a scheduled deployment runs);

each as by default (every file listed with a stat, to notice inputs rewritten since they
were ingested; past 20,000 files the stat calls go to helper processes) and with
``--ignore-rewrites`` (the listing alone); and ``python -m flows.batch`` with the helpers
off (``WIRE_INGEST_STAT_HELPERS=0``: every stat in the planning process).

With ``--new-inputs N``, then one run each with N new stories over the done history:
with the default duplicate window and with the whole history's fingerprints loaded
(``WIRE_INGEST_DUPLICATE_WINDOW=0``, how every run worked before the window). Build with
``WIRE_INGEST_DUPLICATE_WINDOW=0`` set to keep every fingerprint in the snapshot.

Each against an empty landing zone and empty store, and against the N done. The goal
(issue 11): at 1,000,000 done, at most 15 s and at most 50 MB more peak RSS than empty.

With ``--check``, instead: the store is given the N story rows its ledger says it holds
(one Parquet file of ``story_id``, ``duplicate_of`` and ``source_uri`` per batch of 1,000,
every tenth row a near copy of the row before it), and ``wire-ingest check`` is timed over
it and over an empty store (whole process, peak RSS).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.prefect_cost import start_prefect_server  # noqa: E402
from bench.throughput import run_measured  # noqa: E402
from storage.local import LocalStorage  # noqa: E402
from table.snapshot import fold  # noqa: E402

PER_FOLDER = 1000
NO_HELPERS = {"WIRE_INGEST_STAT_HELPERS": "0"}
PER_BATCH = 1000


def build(root: Path, done: int) -> tuple[Path, Path]:
    landing, store = root / "landing", root / "store"
    landing.mkdir(parents=True)
    dest = LocalStorage(str(store))
    source = LocalStorage(str(landing))
    started = time.perf_counter()
    entries: list[dict[str, object]] = []
    batch = 0
    for n in range(done):
        folder = landing / f"d{n // PER_FOLDER:05d}"
        if n % PER_FOLDER == 0:
            folder.mkdir()
        key = f"{folder.name}/s{n:07d}.txt"
        (landing / key).write_bytes(b"x")
        info = (landing / key).stat()
        digest = hashlib.sha256(key.encode()).hexdigest()
        entries.append(
            {
                "source_uri": source.full_uri(key),
                "source_sha256": digest,
                "outcome": "story",
                "batch_id": f"b{batch:06d}",
                "story_id": digest,
                "content_sha256": hashlib.sha256(digest.encode()).hexdigest(),
                "simhash": int(digest[:16], 16),
                "duplicate_of": None,
                "reason": None,
                "key": f"stories/agency=reuters/date=2024-10-21/part-b{batch:06d}.parquet",
                "paragraph_keys": [digest[i : i + 16] for i in range(0, 48, 16)],
                "minhash": (digest * 4)[:256],
                "day": "10-21",
                "revision": f"{info.st_size}:{info.st_mtime_ns}",  # as a run listing it records
            }
        )
        if len(entries) == PER_BATCH or n == done - 1:
            record = {"batch_id": f"b{batch:06d}", "committed_at": f"2024-10-21T00:{batch:06d}", "entries": entries}
            dest.put(f"_ledger/b{batch:06d}.json", json.dumps(record).encode())
            entries, batch = [], batch + 1
            if batch % 100 == 0:
                fold(dest, min_batches=1)
    fold(dest, min_batches=1)
    print(f"built {done:,} done inputs in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return landing, store


def write_rows(landing: Path, store: Path, done: int) -> None:
    """The story rows the built ledger holds (``build``'s story ids, source URIs and file
    keys), three columns each, every tenth a near copy of the row before it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = LocalStorage(str(landing))
    for batch in range(0, done, PER_BATCH):
        keys = [f"d{n // PER_FOLDER:05d}/s{n:07d}.txt" for n in range(batch, min(done, batch + PER_BATCH))]
        ids = [hashlib.sha256(key.encode()).hexdigest() for key in keys]
        copies = [ids[i - 1] if i % 10 == 9 else None for i in range(len(ids))]
        path = store / "stories" / "agency=reuters" / "date=2024-10-21" / f"part-b{batch // PER_BATCH:06d}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        table = pa.table(
            {
                "story_id": pa.array(ids, pa.string()),
                "duplicate_of": pa.array(copies, pa.string()),
                "source_uri": pa.array([source.full_uri(key) for key in keys], pa.string()),
            }
        )
        pq.write_table(table, path)


def measure_check(empty: Path, full: Path, done: int) -> None:
    """``wire-ingest check`` over an empty store and over the N done with their rows."""
    if not (full / "store" / "stories").exists():
        started = time.perf_counter()
        write_rows(full / "landing", full / "store", done)
        print(f"wrote {done:,} rows in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    print("| wire-ingest check | s | peak MB | report |\n|---|---|---|---|")
    for name, store in (("empty store", empty), (f"{done:,} done, their rows", full / "store")):
        store.mkdir(parents=True, exist_ok=True)
        seconds, peak, out = run_measured([sys.executable, "-m", "flows.cli", "check", str(store), "--json"], env)
        report = json.loads(out) if out.strip().startswith("{") else {}
        summary = f"ok={report.get('ok')}, rows {report.get('rows', 0):,}, inputs {report.get('inputs', 0):,}"
        print(f"| {name} | {seconds:.1f} | {peak:.0f} | {summary} |")


def measure(landing: Path, store: Path, served: str, repeats: int = 3) -> list[tuple[str, float, float]]:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    served_env = {**env, "PREFECT_API_URL": served}
    rows = []
    plain = [sys.executable, "-m", "flows.batch", str(landing), str(store), "200"]
    flow = [sys.executable, "-m", "flows.cli", "ingest", str(landing), "--dest", str(store)]
    for name, cmd, run_env in (
        ("python -m flows.batch (no Prefect)", plain, env),
        ("python -m flows.batch, no stat helpers (WIRE_INGEST_STAT_HELPERS=0)", plain, {**env, **NO_HELPERS}),
        ("python -m flows.batch --ignore-rewrites", [*plain, "--ignore-rewrites"], env),
        ("wire-ingest ingest (Prefect flow, temporary server)", flow, env),
        ("wire-ingest ingest --ignore-rewrites (temporary server)", [*flow, "--ignore-rewrites"], env),
        ("wire-ingest ingest (running server)", flow, served_env),
        ("wire-ingest ingest --ignore-rewrites (running server)", [*flow, "--ignore-rewrites"], served_env),
    ):
        best = min((run_measured(cmd, run_env)[:2] for _ in range(repeats)), key=lambda r: r[0])
        rows.append((name, best[0], best[1]))
    return rows


def measure_new_inputs(landing: Path, store: Path, count: int = 100) -> list[tuple[str, float, float]]:
    """One run each (it commits) with ``count`` new text stories over the done history: with
    the default duplicate window and with the whole history indexed (window 0)."""
    from tests.corpus import write_corpus

    env = {k: v for k, v in os.environ.items() if k != "WIRE_INGEST_DUPLICATE_WINDOW"}
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    rows = []
    for name, window in (("default window (100,000 stories)", None), ("whole history indexed (window 0)", "0")):
        folder = landing / f"new-{window or 'default'}"
        shutil.rmtree(folder, ignore_errors=True)
        write_corpus(folder, count, text_only=True)
        run_env = {**env, "WIRE_INGEST_DUPLICATE_WINDOW": window} if window else env
        plain = [sys.executable, "-m", "flows.batch", str(landing), str(store), "200"]
        seconds, peak, _ = run_measured(plain, run_env)
        rows.append((f"python -m flows.batch, {count} new inputs, {name}", seconds, peak))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--done", type=int, default=200_000, help="done inputs (the issue's goal is at 1,000,000)")
    parser.add_argument("--keep", help="build (or reuse) the data in this folder instead of a temporary one")
    parser.add_argument(
        "--new-inputs", type=int, default=0, help="then time a run with this many new stories (commits: use --keep)"
    )
    parser.add_argument("--check", action="store_true", help="time `wire-ingest check` instead (adds the rows)")
    args = parser.parse_args()
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="wire-scale-"))
    try:
        empty_landing, empty_store = root / "empty" / "landing", root / "empty" / "store"
        empty_landing.mkdir(parents=True, exist_ok=True)
        full = root / f"done-{args.done}"
        if not (full / "store" / "_ledger" / "snapshot.json").exists():
            shutil.rmtree(full, ignore_errors=True)
            build(full, args.done)
        if args.check:
            measure_check(empty_store, full, args.done)
            return
        server_env = {
            **os.environ,
            "PREFECT_HOME": str(root / "prefect-server"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        }
        server, served = start_prefect_server(server_env)
        try:
            empty = measure(empty_landing, empty_store, served)
            done = measure(full / "landing", full / "store", served)
        finally:
            server.terminate()
            server.wait(timeout=60)
        print(
            f"| command | empty: s | empty: peak MB | {args.done:,} done: s | {args.done:,} done: peak MB | extra MB |"
        )
        print("|---|---|---|---|---|---|")
        for (name, t0, m0), (_, t1, m1) in zip(empty, done, strict=True):
            print(f"| {name} | {t0:.1f} | {m0:.0f} | {t1:.1f} | {m1:.0f} | {m1 - m0:+.0f} |")
        if args.new_inputs:
            print(f"\n| run with new inputs over {args.done:,} done | s | peak MB |")
            print("|---|---|---|")
            for name, seconds, peak in measure_new_inputs(full / "landing", full / "store", args.new_inputs):
                print(f"| {name} | {seconds:.1f} | {peak:.0f} |")
        snapshot = full / "store" / "_ledger" / "snapshots"
        sizes: dict[str, int] = {}  # summed over the snapshot's layers
        for path in snapshot.iterdir():
            sizes[path.suffix] = sizes.get(path.suffix, 0) + path.stat().st_size
        keys_mb, entries_mb = sizes.get(".keys", 0) / 1e6, sizes.get(".parquet", 0) / 1e6
        revs_mb = sizes.get(".revs", 0) / 1e6
        per_input = (keys_mb + revs_mb + entries_mb) * 1e6 / max(1, args.done)
        print(
            f"\nsnapshot: keys {keys_mb:.1f} MB, revisions {revs_mb:.1f} MB, entries {entries_mb:.1f} MB "
            f"({per_input:.0f} bytes per input)"
        )
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
