"""Near-duplicate detection on the labelled set in tests/dupes/: precision and recall.

    python bench/near_duplicates.py

Each story is parsed by the real parser; a pair counts as detected when the pipeline's
rule calls it a copy: same body (content hash), or parsers.fingerprint.near_duplicates
(same day, and simhash within NEAR_DUPLICATE_BITS, enough shared paragraphs, or MinHash
resemblance of 5-word shingles at least MIN_RESEMBLANCE). Printed per kind of
edit, for the simhash rule alone and for the rule the pipeline uses.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from parsers import parse_story
from parsers.fingerprint import NEAR_DUPLICATE_BITS, fingerprint_of, hamming_distance, near_duplicates

DUPES = Path(__file__).resolve().parents[1] / "tests" / "dupes"


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, truth: bool, said: bool) -> None:
        if truth and said:
            self.tp += 1
        elif truth:
            self.fn += 1
        elif said:
            self.fp += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def evaluate() -> tuple[dict[str, Counts], dict[str, Counts]]:
    """(simhash-only counts, pipeline-rule counts), keyed by edit kind and "all"."""
    parsed = {}
    for path in sorted((DUPES / "stories").glob("*.txt")):
        story = parse_story(path.read_bytes(), str(path))
        parsed[path.name] = (story.content_sha256, fingerprint_of(story))
    simhash_only: dict[str, Counts] = defaultdict(Counts)
    pipeline: dict[str, Counts] = defaultdict(Counts)
    for line in (DUPES / "pairs.jsonl").read_text(encoding="utf-8").splitlines():
        pair = json.loads(line)
        (sha_a, print_a), (sha_b, print_b) = parsed[pair["a"]], parsed[pair["b"]]
        truth = bool(pair["duplicate"])
        by_simhash = sha_a == sha_b or hamming_distance(print_a.simhash, print_b.simhash) <= NEAR_DUPLICATE_BITS
        by_rule = sha_a == sha_b or near_duplicates(print_a, print_b)
        for kind in (pair["kind"], "all"):
            simhash_only[kind].add(truth, by_simhash)
            pipeline[kind].add(truth, by_rule)
    return simhash_only, pipeline


def main() -> None:
    simhash_only, pipeline = evaluate()
    print(f"{'kind':<28} {'pairs':>6} {'simhash P':>10} {'simhash R':>10} {'pipeline P':>11} {'pipeline R':>11}")
    for kind in sorted(pipeline, key=lambda k: (k == "all", k)):
        a, b = simhash_only[kind], pipeline[kind]
        total = b.tp + b.fp + b.fn + b.tn
        print(f"{kind:<28} {total:6d} {a.precision:10.3f} {a.recall:10.3f} {b.precision:11.3f} {b.recall:11.3f}")


if __name__ == "__main__":
    main()
