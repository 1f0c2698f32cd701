"""A ledger fold, and a run's duplicate index, over N done inputs: seconds and peak RSS.

    .venv/bin/python bench/fold_scale.py [--done 1000000] [--repo PATH] [--keep DIR]

Builds a local store whose ledger snapshot holds N done inputs (entries shaped like a
run's: ids, body hashes, paragraph keys, MinHash, revisions; a tenth of them exact
duplicates or quarantined), folded the way runs fold them. Then times fresh processes,
best of 3, each on its own copy of the store, with the peak RSS of the process:

- ``fold``: 50 committed batch objects of 200 entries (10 of each batch an input done
  before, reprocessed) folded into the snapshot, as every 50th run does;
- ``index``: ``load_ledger`` and the duplicate index a run with new stories builds first
  (the latest ``WIRE_INGEST_DUPLICATE_WINDOW`` stories in full, the older ones' ids and
  body hashes).

``--repo`` runs the timed processes on another checkout's code (a ``git worktree`` of an
earlier commit), for a before/after in one sitting; the store is built by this one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.throughput import run_measured  # noqa: E402

PER_BATCH = 10_000
FRESH_BATCHES = 50
FRESH_ENTRIES = 200
REPROCESSED = 10

FOLD = """
import sys
sys.path.insert(0, sys.argv[2])
from storage.local import LocalStorage
from table.snapshot import fold
pointer = fold(LocalStorage(sys.argv[1]), min_batches=1)
print(pointer["rows"])
"""

INDEX = """
import sys
sys.path.insert(0, sys.argv[2])
from storage.local import LocalStorage
from table.ledger import load_ledger
index = load_ledger(LocalStorage(sys.argv[1]))
index.history_matches(["0" * 64], ["0" * 64])
print(len(index.story_ids))
"""


def entry(n: int, batch: str, revision: str) -> dict[str, object]:
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


def put_batch(store: object, batch: str, entries: list[dict[str, object]], at: str) -> None:
    record = {"batch_id": batch, "committed_at": at, "entries": entries}
    store.put(f"_ledger/{batch}.json", json.dumps(record).encode())  # type: ignore[attr-defined]


def build(root: Path, done: int) -> None:
    from storage.local import LocalStorage
    from table.snapshot import fold

    store = LocalStorage(str(root))
    started = time.perf_counter()
    for first in range(0, done, PER_BATCH):
        batch = f"h{first // PER_BATCH:05d}"
        entries = [entry(n, batch, f"1:{n}") for n in range(first, min(done, first + PER_BATCH))]
        put_batch(store, batch, entries, f"2024-10-21T00:{first // PER_BATCH:06d}")
        if (first // PER_BATCH) % 20 == 19:
            fold(store, min_batches=1)
    fold(store, min_batches=1)
    for b in range(FRESH_BATCHES):  # what the timed fold folds
        batch = f"n{b:03d}"
        fresh = [entry(done + b * FRESH_ENTRIES + n, batch, "2:1") for n in range(FRESH_ENTRIES - REPROCESSED)]
        fresh += [entry((b * 7919 + n * 104729) % done, batch, "2:2") for n in range(REPROCESSED)]
        put_batch(store, batch, fresh, f"2024-10-22T00:{b:06d}")
    print(f"built {done:,} done inputs in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--done", type=int, default=1_000_000)
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout whose code is timed")
    parser.add_argument("--keep", type=Path, help="build the store here once and reuse it")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="wire-fold-scale-"))
    try:
        built = args.keep or work / "built"
        if not (built / "_ledger").is_dir():
            build(built, args.done)
        commit = subprocess.run(
            ["git", "-C", str(args.repo), "log", "-1", "--format=%h %s"], capture_output=True, text=True, check=False
        ).stdout.strip()
        print(f"{args.done:,} done inputs; code of {args.repo} ({commit})\n")
        print("| step | s | peak MB |")
        print("|---|---|---|")
        for name, script in (
            ("fold: 50 batches of 200 into the snapshot", FOLD),
            ("index: a run's duplicate index", INDEX),
        ):
            best: tuple[float, float] | None = None
            for round_ in range(args.repeats):
                copy = work / f"copy-{round_}"
                shutil.rmtree(copy, ignore_errors=True)
                shutil.copytree(built, copy)
                # The code timed is the checkout's: first on the path (run_measured runs
                # in this repository's folder, which ``-c`` would put first).
                cmd = [sys.executable, "-c", script, str(copy), str(args.repo.resolve())]
                seconds, peak, _ = run_measured(cmd)
                best = (seconds, peak) if best is None or seconds < best[0] else best
                shutil.rmtree(copy)
            assert best is not None
            print(f"| {name} | {best[0]:.1f} | {best[1]:,.0f} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
