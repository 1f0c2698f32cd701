"""Near copies in real 1987 Reuters copy: recall and precision of the duplicate decision.

    .venv/bin/python bench/near_copies_reuters.py [--shared ../shared]

Reads ``eval/reuters-dev`` from the shared folder (research-only licence: read in place,
never copied into the repository), rendered as transmitted by ``bench/wire_text.py``.

Positives are the re-sends wires really make, applied to each real story in its wire
layout: the ticker dropped (``<NEM>``), a sentence reworded (two words changed), a line
added under the dateline (``Qtr ended Jan 31``), and the three together; plus the pairs of
distinct real stories whose bodies are near copies already. A pair counts as a near copy
when its bodies' 5-word-shingle Jaccard is at least 0.8 (computed exactly); edits that
fall below that are reported apart, not scored.

Negatives: every pair of distinct real stories with Jaccard below 0.5, and each story's
*next-day template report*: the dateline one day later and its first figure changed (the
``FED ADDS RESERVES VIA CUSTOMER REPURCHASES`` shape: one template, two stories).

Printed per half (A: even NEWID, B: odd; the rules were tuned on A) for the pipeline's
rule (parsers.fingerprint.near_duplicates) and for the rule before MinHash and day checks
(simhash within 3 bits or shared paragraphs).
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.wire_text import load_cases, require_reuters_dev  # noqa: E402
from parsers import parse_story  # noqa: E402
from parsers.fingerprint import (  # noqa: E402
    NEAR_DUPLICATE_BITS,
    Fingerprint,
    fingerprint_of,
    hamming_distance,
    near_duplicates,
    shares_paragraphs,
)
from schemas.errors import ParseError  # noqa: E402

_TICKER = re.compile(r" ?<[A-Z][A-Z0-9.]{0,9}>")
_DATELINE_DATE = re.compile(r"^(\s+[A-Z][^\n]{0,60}?, )(Oct|Sept?|Nov) (\d{1,2})( -)", re.M)
_FIGURE = re.compile(r"\d+(?:[.,]\d+)*")
_WORDS = re.compile(r"\w+")


def shingles(text: str) -> set[tuple[str, ...]]:
    words = _WORDS.findall(re.sub(r"(?<=\d)[.,](?=\d)", "", text.casefold()))
    return {tuple(words[i : i + 5]) for i in range(max(1, len(words) - 4))}


def jaccard(a: set[tuple[str, ...]], b: set[tuple[str, ...]]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def drop_ticker(text: str) -> str | None:
    out = _TICKER.sub("", text)
    return out if out != text else None


def reword(text: str) -> str | None:
    """Two words of the longest body line changed, as a re-send's light edit does."""
    lines = text.split("\n")
    candidates = [i for i, line in enumerate(lines) if i > 1 and len(line.split()) >= 8]  # a \r stays on its line
    if not candidates:
        return None
    at = max(candidates, key=lambda i: len(lines[i]))
    words = lines[at].split(" ")
    spots = [i for i, w in enumerate(words) if w.isalpha() and w.islower() and len(w) > 3]
    if len(spots) < 2:
        return None
    for spot in (spots[len(spots) // 3], spots[2 * len(spots) // 3]):
        words[spot] = {"said": "stated"}.get(words[spot], "also " + words[spot])
    lines[at] = " ".join(words)
    return "\n".join(lines)


def add_line(text: str) -> str | None:
    match = _DATELINE_DATE.search(text)
    if not match:
        return None
    eol = "\r\n" if "\r\n" in text else "\n"
    end = text.index(eol, match.end()) if eol in text[match.end() :] else len(text)
    return text[:end] + eol + "    Qtr ended Jan 31" + text[end:]


def next_day_template(text: str) -> str | None:
    """The same template one day later with its first figure changed: another story."""
    match = _DATELINE_DATE.search(text)
    if not match:
        return None
    moved = text[: match.start()] + f"{match.group(1)}{match.group(2)} {int(match.group(3)) + 1}{match.group(4)}"
    rest = text[match.end() :]
    figure = _FIGURE.search(rest)
    if not figure:
        return None
    changed = str(int(figure.group(0).replace(",", "").split(".")[0]) + 3)
    return moved + rest[: figure.start()] + changed + rest[figure.end() :]


def all_three(text: str) -> str | None:
    return add_line(reword(drop_ticker(text) or text) or text)


EDITS: dict[str, Callable[[str], str | None]] = {
    "ticker_dropped": drop_ticker,
    "reworded": reword,
    "line_added": add_line,
    "all_three": all_three,
}


@dataclass
class Parsed:
    sha: str
    print_: Fingerprint
    shingles: set[tuple[str, ...]]


def parse(text: str) -> Parsed | None:
    try:
        story = parse_story(text.encode("latin-1", "replace"), "reuters-dev://x")
    except ParseError:
        return None
    if not story.body:
        return None
    return Parsed(story.content_sha256, fingerprint_of(story), shingles(story.body))


def old_rule(a: Parsed, b: Parsed) -> bool:
    if a.sha == b.sha or hamming_distance(a.print_.simhash, b.print_.simhash) <= NEAR_DUPLICATE_BITS:
        return True
    return shares_paragraphs(len(set(a.print_.keys) & set(b.print_.keys)), len(a.print_.keys), len(b.print_.keys))


def new_rule(a: Parsed, b: Parsed) -> bool:
    return a.sha == b.sha or near_duplicates(a.print_, b.print_)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default=str(REPO.parent / "shared"))
    args = parser.parse_args()
    shared = require_reuters_dev(Path(args.shared))
    originals: dict[int, tuple[str, Parsed]] = {}
    for case in load_cases(shared):
        if case.paragraphs and case.mode != "envelope":  # edits apply to the story's own layout
            parsed = parse(case.rendered)
            if parsed is not None:
                originals[case.newid] = (case.rendered, parsed)
    # (half, kind) -> [tp, fn] for positives; (half, kind) -> [fp, tn] for negatives
    rules = {"pipeline": new_rule, "before": old_rule}
    pos: dict[str, dict[tuple[str, str], list[int]]] = {r: defaultdict(lambda: [0, 0]) for r in rules}
    neg: dict[str, dict[tuple[str, str], list[int]]] = {r: defaultdict(lambda: [0, 0]) for r in rules}
    below: dict[str, int] = defaultdict(int)
    between: dict[str, list[int]] = {name: [0, 0] for name in rules}  # distinct stories at Jaccard 0.5-0.8
    for newid, (text, original) in originals.items():
        half = "A" if newid % 2 == 0 else "B"
        for kind, edit in EDITS.items():
            edited_text = edit(text)
            edited = parse(edited_text) if edited_text else None
            if edited is None:
                continue
            if jaccard(original.shingles, edited.shingles) < 0.8:
                below[kind] += 1
                continue
            for name, rule in rules.items():
                pos[name][(half, kind)][0 if rule(original, edited) else 1] += 1
        template_text = next_day_template(text)
        template = parse(template_text) if template_text else None
        if template is not None:
            for name, rule in rules.items():
                neg[name][(half, "next_day_template")][0 if rule(original, template) else 1] += 1
    for (a_id, (_, a)), (b_id, (_, b)) in itertools.combinations(originals.items(), 2):
        half = "A" if a_id % 2 == 0 and b_id % 2 == 0 else "B" if a_id % 2 and b_id % 2 else "AB"
        similarity = jaccard(a.shingles, b.shingles) if (a.shingles & b.shingles) else 0.0
        for name, rule in rules.items():
            if similarity >= 0.8:
                pos[name][(half, "real_repeat")][0 if rule(a, b) else 1] += 1
            elif similarity >= 0.5:
                between[name][0 if rule(a, b) else 1] += 1
            else:
                if half != "AB" or rule(a, b):
                    neg[name][(half, "distinct_stories")][0 if rule(a, b) else 1] += 1
    print(f"{len(originals)} real stories with a body (not enveloped); edits below Jaccard 0.8 "
          f"(not scored): {dict(below)}\n")  # fmt: skip
    print("| rule | half | kind | pairs | recall / false-positive rate |\n|---|---|---|---|---|")
    for name in rules:
        for (half, kind), (tp, fn) in sorted(pos[name].items()):
            print(f"| {name} | {half} | {kind} (near copy) | {tp + fn} | recall {tp / max(1, tp + fn):.3f} |")
        for (half, kind), (fp, tn) in sorted(neg[name].items()):
            print(f"| {name} | {half} | {kind} (not a copy) | {fp + tn} | {fp} flagged |")
    for name, (flagged, not_flagged) in between.items():
        print(f"| {name} | all | distinct stories at Jaccard 0.5-0.8 (not scored) | {flagged + not_flagged} | "
              f"{flagged} flagged |")  # fmt: skip
    print("\n| rule | half | recall | precision |\n|---|---|---|---|")
    for name in rules:
        for half in ("A", "B"):
            tp = sum(v[0] for (h, _), v in pos[name].items() if h == half)
            fn = sum(v[1] for (h, _), v in pos[name].items() if h == half)
            fp = sum(v[0] for (h, _), v in neg[name].items() if h in (half, "AB"))
            recall, precision = tp / max(1, tp + fn), tp / max(1, tp + fp)
            print(f"| {name} | {half} | {recall:.3f} ({tp}/{tp + fn}) | {precision:.3f} ({fp} false) |")


if __name__ == "__main__":
    main()
