"""Ledger folds, and a run's duplicate index, over N done inputs: seconds and peak RSS.

    .venv/bin/python bench/fold_scale.py [--done 1000000] [--folds 20] [--repo PATH] [--keep DIR]

Builds a local store whose ledger snapshot holds N done inputs (entries shaped like a
run's: ids, body hashes, paragraph keys, MinHash, revisions; a tenth of them exact
duplicates or quarantined), committed in batches of 10,000 and folded every 20 of them,
the way runs fold. Then times fresh processes, best of ``--repeats``, each on its own copy
of the store, with the peak RSS of the process:

- ``fold``: 50 committed batch objects of 200 entries (10 of each batch an input done
  before, reprocessed) folded into the snapshot, as every 50th run does;
- ``folds``: ``--folds`` such folds one after another (50 new batches before each), as the
  next ``--folds`` x 50 runs would: their total, the slowest and the peak RSS. Since the
  snapshot is layered (twenty-first session) most folds merge little and some merge much,
  so one fold is no measure of what folding costs;
- ``index``: ``load_ledger`` and the duplicate index a run with new stories builds first
  (the latest ``WIRE_INGEST_DUPLICATE_WINDOW`` stories in full, the older ones' ids and
  body hashes).

``--repo`` runs everything, the build included, on another checkout's code (a ``git
worktree`` of an earlier commit), for a before/after in one sitting (a store a later
version folded may not be readable by an earlier one, so each checkout builds its own).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.throughput import run_measured  # noqa: E402

# Shared by the scripts below, which run on the checkout named by argv[2] (first on the path).
ENTRIES = """
import hashlib, json, sys, time
sys.path.insert(0, sys.argv[2])
from storage.local import LocalStorage
from table.snapshot import fold

PER_BATCH, FOLD_EVERY = 10_000, 20
FRESH_BATCHES, FRESH_ENTRIES, REPROCESSED = 50, 200, 10


def entry(n, batch, revision):
    digest = hashlib.sha256(str(n).encode()).hexdigest()
    outcome = "quarantined" if n % 20 == 7 else "duplicate" if n % 20 == 13 else "story"
    story = outcome != "quarantined"
    return {
        "source_uri": f"/landing/{n // 1000:05d}/s{n:07d}.txt",
        "source_sha256": digest,
        "outcome": outcome,
        "batch_id": batch,
        "story_id": digest if story else None,
        "content_sha256": hashlib.sha256(digest.encode()).hexdigest() if story else None,
        "simhash": int(digest[:15], 16),
        "duplicate_of": digest if outcome == "duplicate" else None,
        "reason": "empty" if outcome == "quarantined" else None,
        "key": f"stories/agency=reuters/date=2024-10-21/part-{batch}.parquet" if story else None,
        "paragraph_keys": [digest[i : i + 16] for i in range(0, 48, 16)] if outcome == "story" else None,
        "minhash": (digest * 4)[:256] if outcome == "story" else None,
        "day": "10-21",
        "revision": revision,
    }


def put_batch(store, batch, entries, at):
    record = {"batch_id": batch, "committed_at": at, "entries": entries}
    store.put(f"_ledger/{batch}.json", json.dumps(record).encode())


def fresh_batches(store, done, round_):
    # What a fold of 50 runs folds: 190 new inputs and 10 reprocessed ones a batch.
    for b in range(FRESH_BATCHES):
        batch = f"n{round_:03d}-{b:03d}"
        first = done + (round_ * FRESH_BATCHES + b) * FRESH_ENTRIES
        fresh = [entry(first + n, batch, "2:1") for n in range(FRESH_ENTRIES - REPROCESSED)]
        fresh += [entry((b * 7919 + n * 104729 + round_) % done, batch, "2:2") for n in range(REPROCESSED)]
        put_batch(store, batch, fresh, f"2024-10-22T{round_:03d}:{b:06d}")
"""

BUILD = (
    ENTRIES
    + """
store, done = LocalStorage(sys.argv[1]), int(sys.argv[3])
started = time.perf_counter()
for first in range(0, done, PER_BATCH):
    batch = f"h{first // PER_BATCH:05d}"
    entries = [entry(n, batch, f"1:{n}") for n in range(first, min(done, first + PER_BATCH))]
    put_batch(store, batch, entries, f"2024-10-21T00:{first // PER_BATCH:06d}")
    if (first // PER_BATCH) % FOLD_EVERY == FOLD_EVERY - 1:
        fold(store, min_batches=1)
fold(store, min_batches=1)
fresh_batches(store, done, 0)  # what the timed single fold folds
print(f"built {done:,} done inputs in {time.perf_counter() - started:.0f} s", file=sys.stderr)
"""
)

FOLD = (
    ENTRIES
    + """
pointer = fold(LocalStorage(sys.argv[1]), min_batches=1)
print(pointer["rows"])
"""
)

FOLDS = (
    ENTRIES
    + """
store, done, rounds = LocalStorage(sys.argv[1]), int(sys.argv[3]), int(sys.argv[4])
times = []
for round_ in range(rounds):
    if round_:
        fresh_batches(store, done, round_)
    started = time.perf_counter()
    pointer = fold(store, min_batches=1)
    times.append(time.perf_counter() - started)
print(f"{sum(times):.2f} {max(times):.2f} {len(pointer.get('layers', [pointer]))}")
"""
)

INDEX = """
import sys
sys.path.insert(0, sys.argv[2])
from storage.local import LocalStorage
from table.ledger import load_ledger
index = load_ledger(LocalStorage(sys.argv[1]))
index.history_matches(["0" * 64], ["0" * 64])
print(len(index.story_ids))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--done", type=int, default=1_000_000)
    parser.add_argument("--folds", type=int, default=20, help="folds one after another in the `folds` step")
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout whose code is timed")
    parser.add_argument("--keep", type=Path, help="build the store here once and reuse it")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    repo = str(args.repo.resolve())
    work = Path(tempfile.mkdtemp(prefix="wire-fold-scale-"))
    try:
        built = args.keep or work / "built"
        if not (built / "_ledger").is_dir():
            # The code built with is the checkout's: first on the path (run_measured runs
            # in this repository's folder, which ``-c`` would put first).
            seconds, peak, _ = run_measured([sys.executable, "-c", BUILD, str(built), repo, str(args.done)])
            print(f"built {args.done:,} done inputs in {seconds:.0f} s (peak {peak:,.0f} MB)", file=sys.stderr)
        commit = subprocess.run(
            ["git", "-C", repo, "log", "-1", "--format=%h %s"], capture_output=True, text=True, check=False
        ).stdout.strip()
        print(f"{args.done:,} done inputs; code of {repo} ({commit})\n")
        print("| step | s | peak MB | notes |")
        print("|---|---|---|---|")
        steps: tuple[tuple[str, str, list[str]], ...] = (
            ("fold: 50 batches of 200 into the snapshot", FOLD, []),
            (f"folds: {args.folds} such folds one after another", FOLDS, [str(args.done), str(args.folds)]),
            ("index: a run's duplicate index", INDEX, []),
        )
        for name, script, extra in steps:
            best: tuple[float, float, str] | None = None
            for round_ in range(args.repeats):
                copy = work / f"copy-{round_}"
                shutil.rmtree(copy, ignore_errors=True)
                shutil.copytree(built, copy)
                seconds, peak, out = run_measured([sys.executable, "-c", script, str(copy), repo, *extra])
                best = (seconds, peak, out) if best is None or seconds < best[0] else best
                shutil.rmtree(copy)
            assert best is not None
            notes = ""
            if script is FOLDS:
                total, slowest, layers = best[2].split()
                notes = f"folding {float(total):.1f} s in all, slowest fold {float(slowest):.1f} s"
                notes += f", {layers} layer(s) after"
            print(f"| {name} | {best[0]:.1f} | {best[1]:,.0f} | {notes} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
