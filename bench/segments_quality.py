"""HTML extraction on trafilatura-dev (tests/data/trafilatura-dev, Apache-2.0): must-have and
must-not-have segments, on two fixed halves (A: tune on it; B: held out), ours next to
trafilatura on the same pages in the same run.

    .venv/bin/python bench/segments_quality.py [--no-trafilatura] [--misses N] [--half A]

Ours is scored on the text a reader sees: the ``standfirst`` column (the summary under the
headline), when the page has one, above the ``body`` column; the corpus counts a standfirst
as must-have text. The body column alone is reported too ("body only").
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.extraction_quality import extract_ours, extract_story_text

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "trafilatura-dev"


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def half_of(page_id: str) -> str:
    """The fixed split: A if sha256(page id) starts with an even hex digit, else B."""
    return "A" if int(hashlib.sha256(page_id.encode()).hexdigest()[0], 16) % 2 == 0 else "B"


def load_pages() -> list[tuple[str, bytes, list[str], list[str]]]:
    segments = json.loads((DATA / "segments.json").read_text(encoding="utf-8"))
    pages = []
    for page_id, item in sorted(segments.items()):
        path = DATA / "html" / f"{page_id}.html.gz"
        if path.exists():
            pages.append((page_id, gzip.decompress(path.read_bytes()), item.get("with", []), item.get("without", [])))
    return pages


def collapse(text: str) -> str:
    return " ".join(text.split())


def score_page(body: str, with_: list[str], without: list[str], score: Score) -> tuple[list[str], list[str]]:
    """Add one page to ``score``; return its missed must-haves and its leaked must-nots."""
    text = collapse(body)
    missed = [s for s in with_ if collapse(s) not in text]
    leaked = [s for s in without if collapse(s) in text]
    score.tp += len(with_) - len(missed)
    score.fn += len(missed)
    score.fp += len(leaked)
    score.tn += len(without) - len(leaked)
    return missed, leaked


def extract_trafilatura(data: bytes) -> str:
    import trafilatura

    return trafilatura.extract(data, include_comments=False, include_tables=True) or ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-trafilatura", action="store_true")
    parser.add_argument("--misses", type=int, default=0, help="print the N pages of --half that miss most")
    parser.add_argument("--half", default="A")
    args = parser.parse_args()
    pages = load_pages()
    # Ours is scored on the standfirst column above the body (the corpus counts a standfirst
    # as story text; the body column leaves it out); "body only" is the body column alone.
    extractors = {"wire-ingest": extract_story_text, "wire-ingest, body only": extract_ours}
    if not args.no_trafilatura:
        try:
            import trafilatura  # noqa: F401

            extractors["trafilatura"] = extract_trafilatura
        except ImportError:
            print("trafilatura is not installed (./dev bench installs it): ours only\n")
    print(f"{len(pages)} pages: half A {sum(half_of(p) == 'A' for p, *_ in pages)}, half B "
          f"{sum(half_of(p) == 'B' for p, *_ in pages)}\n")  # fmt: skip
    print("| extractor | half | P | R | F | pages/s |\n|---|---|---|---|---|---|")
    worst: list[tuple[int, str, list[str], list[str]]] = []
    for name, extract in extractors.items():
        scores = {"A": Score(), "B": Score(), "all": Score()}
        started = time.perf_counter()
        for page_id, data, with_, without in pages:
            body = extract(data)
            for half in (half_of(page_id), "all"):
                missed, leaked = score_page(body, with_, without, scores[half])
            if name == "wire-ingest" and half_of(page_id) == args.half and (missed or leaked):
                worst.append((len(missed) + len(leaked), page_id, missed, leaked))
        rate = len(pages) / (time.perf_counter() - started)
        for half, score in scores.items():
            print(f"| {name} | {half} | {score.precision:.3f} | {score.recall:.3f} | {score.f:.3f} | {rate:.1f} |")
    for _, page_id, missed, leaked in sorted(worst, reverse=True)[: args.misses]:
        print(f"\n{page_id}: missed {[m[:70] for m in missed[:3]]} leaked {[x[:70] for x in leaked[:3]]}")


if __name__ == "__main__":
    main()
