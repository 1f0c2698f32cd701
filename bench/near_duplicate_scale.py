"""The near-duplicate lookup's cost per story as the index grows (10,000 to 1,000,000 stories).

    .venv/bin/python bench/near_duplicate_scale.py [--sizes 10000,100000,1000000]

Builds a ``table.ledger.LedgerIndex`` of N synthetic fingerprints shaped like the wire's:
random simhashes (so every 16-bit band value recurs once N passes 65,536: the simhash
posting lists fill up), MinHash signatures, and paragraph keys of which a third are
recurring boilerplate shared by many stories (the lists MAX_POSTINGS bounds). Then times
``near_duplicate_of`` for 2,000 new stories (half of them near copies of indexed ones, half
new), best of 3, dated and then the same stories undated (an undated story is looked for on
every day: the index spans 336 days), and prints microseconds per lookup, the copies found,
and the index's memory per story (tracemalloc; the undated lookups' day bitmap, 13.6 MB,
is made after it is measured). Flat per-lookup cost is the goal (issue 11).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from parsers.fingerprint import Fingerprint
from table.ledger import MAX_POSTINGS, LedgerIndex

BOILERPLATE = [f"{n:016x}" for n in range(40)]  # paragraph keys many stories share


def fingerprint(rng: random.Random) -> Fingerprint:
    keys = [f"{rng.getrandbits(64):016x}" for _ in range(5)]
    if rng.random() < 0.33:
        keys.append(rng.choice(BOILERPLATE))
    day = f"{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return Fingerprint(rng.getrandbits(64), tuple(keys), os.urandom(128), day)


def near_copy(print_: Fingerprint, rng: random.Random) -> Fingerprint:
    """The same story re-sent: two simhash bits flipped, one paragraph changed, most minima kept."""
    simhash = print_.simhash ^ (1 << rng.randrange(64)) ^ (1 << rng.randrange(64))
    keys = (*print_.keys[:-1], f"{rng.getrandbits(64):016x}")
    signature = bytearray(print_.signature)
    for position in rng.sample(range(0, 128, 2), 8):
        signature[position : position + 2] = os.urandom(2)
    return Fingerprint(simhash, keys, bytes(signature), print_.day)


def measure(size: int, rng: random.Random) -> tuple[float, int, float, int, float, float]:
    tracemalloc.start()
    index = LedgerIndex()
    index._ensure()
    started = time.perf_counter()
    prints = []
    for number in range(size):
        print_ = fingerprint(rng)
        index.add_story(f"{number:064x}", f"{number:063x}c", print_)
        if number % max(1, size // 1000) == 0:
            prints.append(print_)
    build = time.perf_counter() - started
    memory = tracemalloc.get_traced_memory()[0] / size
    tracemalloc.stop()
    queries = [near_copy(rng.choice(prints), rng) for _ in range(1000)] + [fingerprint(rng) for _ in range(1000)]
    timed = []
    for batch in (queries, [dataclasses.replace(q, day=None) for q in queries]):  # dated, then undated
        best = float("inf")
        found = 0
        for _ in range(3):
            started = time.perf_counter()
            found = sum(index.near_duplicate_of(q, set()) is not None for q in batch)
            best = min(best, time.perf_counter() - started)
        timed.append((best / len(batch) * 1e6, found))
    return timed[0][0], timed[0][1], timed[1][0], timed[1][1], memory, build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    args = parser.parse_args()
    rng = random.Random(20261126)
    print(f"posting lists capped at {MAX_POSTINGS} stories\n")
    print(
        "| stories indexed | µs per lookup | copies found (of 1,000) | undated: µs per lookup | copies found "
        "| index bytes a story | build s |"
    )
    print("|---|---|---|---|---|---|---|")
    for size in (int(s) for s in args.sizes.split(",")):
        micros, found, undated, undated_found, memory, build = measure(size, rng)
        print(
            f"| {size:,} | {micros:.1f} | {found:,} | {undated:.1f} | {undated_found:,} | {memory:,.0f} | {build:.1f} |"
        )


if __name__ == "__main__":
    main()
