"""Article-body quality on the aeb-dev pages: ours next to trafilatura, same pages, same metric.

python bench/extraction_quality.py [--no-trafilatura] [--worst 10]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.aeb_metric import page_scores, score_pages
from parsers import parse_story
from schemas.errors import ParseError

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "aeb-dev"


def load_pages() -> list[tuple[str, bytes, str]]:
    """(page id, raw HTML bytes, true article body) for every aeb-dev page."""
    truth = json.loads((DATA / "ground-truth.json").read_text(encoding="utf-8"))
    return [
        (page_id, gzip.decompress((DATA / "html" / f"{page_id}.html.gz").read_bytes()), item["articleBody"])
        for page_id, item in sorted(truth.items())
    ]


def extract_ours(data: bytes) -> str:
    """The story's body (aeb-dev's truth is the article body, without the standfirst)."""
    try:
        return parse_story(data, "bench").body
    except ParseError:
        return ""


def extract_story_text(data: bytes) -> str:
    """The story's standfirst, if it has one, above its body: the text a reader sees, as
    trafilatura-dev's segments count it (a standfirst is must-have text there)."""
    try:
        story = parse_story(data, "bench")
    except ParseError:
        return ""
    return f"{story.standfirst}\n\n{story.body}" if story.standfirst else story.body


def extract_trafilatura(data: bytes) -> str:
    import trafilatura

    return trafilatura.extract(data) or ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-trafilatura", action="store_true")
    parser.add_argument("--worst", type=int, default=0, help="list the N worst pages of ours")
    args = parser.parse_args()
    pages = load_pages()
    extractors = {"wire-ingest": extract_ours}
    if not args.no_trafilatura:
        extractors["trafilatura"] = extract_trafilatura
    print(f"{'extractor':<14} {'F1':>6} {'precision':>9} {'recall':>7} {'accuracy':>8} {'pages/s':>8}")
    for name, extract in extractors.items():
        started = time.perf_counter()
        outputs = [extract(data) for _, data, _ in pages]
        elapsed = time.perf_counter() - started
        score = score_pages([(out, truth) for out, (_, _, truth) in zip(outputs, pages, strict=True)])
        print(
            f"{name:<14} {score.f1:6.3f} {score.precision:9.3f} {score.recall:7.3f} "
            f"{score.accuracy:8.3f} {len(pages) / elapsed:8.1f}"
        )
        if name == "wire-ingest" and args.worst:
            ranked = []
            for out, (page_id, _, truth) in zip(outputs, pages, strict=True):
                tp, fp, fn = page_scores(out, truth)
                ranked.append((tp, fp, fn, page_id))
            for tp, fp, fn, page_id in sorted(ranked)[: args.worst]:
                print(f"   {page_id[:16]} tp={tp:.2f} fp={fp:.2f} fn={fn:.2f}")


if __name__ == "__main__":
    main()
