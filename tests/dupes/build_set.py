"""Build the labelled near-duplicate set in tests/dupes/ from the golden wire stories.

    python tests/dupes/build_set.py

Positives are made by the edits copies really go through, so their label is known by
construction: an outlet republishing under its own boilerplate and headline style, an
UPDATE 1 with a paragraph added and an update note, a CORRECTED version with one figure
changed, a copy trimmed of its last paragraph, and the same copy re-wrapped at 68
columns. Negatives: every pair of different golden stories, plus hand-written pairs in
hand/ (the same event written up by two agencies; market reports built on one template).

Wire copy in the 1987 layout (the golden reuters87-*/ap87-* stories and the short stories,
results tables and template reports in hand87/, written here in that byte layout) goes
through the re-sends a wire really makes (bench/near_copies_reuters.py has the edits):
the ticker dropped, two words reworded, a line added under the dateline, all three; each
kept as a labelled copy when its body's 5-word-shingle Jaccard stays at least 0.8 (the
issue's definition of a near copy). Negatives: the next day's report of the same template
(dateline a day later, one figure changed), and every pair of different 1987 stories
(among them two results tables sharing a boilerplate NOTE line).
The output (stories/*.txt, pairs.jsonl) is committed; this script documents how.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOLDEN = HERE.parent / "golden"
ADDED = (
    "The announcement came after weeks of talks, and officials said further details would "
    "be published in the coming days, according to a statement released late on the day."
)


def blocks(text: str) -> list[str]:
    return [b.strip("\n") for b in re.split(r"\n\s*\n", text.replace("\r\n", "\n")) if b.strip()]


def variants(name: str, text: str) -> dict[str, str]:
    parts = blocks(text)
    headline, body = parts[0], parts[1:]
    out: dict[str, str] = {}
    outlet = [
        "Home | World | Business | Markets",
        headline.title() + " - The Example Times",
        body[0],
        "ADVERTISEMENT",
        *body[1:],
        "Read more: Stocks slip as investors weigh rate outlook",
        "Copyright 2024 The Example Times. All rights reserved.",
    ]
    out["republished"] = "\n\n".join(outlet)
    update_body = [body[0], ADDED, *body[1:]]
    out["update1"] = "\n\n".join(["UPDATE 1-" + headline, *update_body[:-1], update_body[-1] + " (Adds statement)"])
    corrected = list(body)
    for index, paragraph in enumerate(corrected):
        changed = re.sub(r"\d+", lambda m: str(int(m.group(0)) + 1), paragraph, count=1)
        if changed != paragraph:
            corrected[index] = changed
            break
    else:
        corrected[0] = corrected[0].replace(" said", " told reporters", 1)
    out["corrected"] = "\n\n".join(["CORRECTED-" + headline, *corrected])
    if len(body) >= 4:
        out["trimmed"] = "\n\n".join([headline, *body[:-2], body[-1]] if len(body) > 4 else [headline, *body[:-1]])
    out["rewrapped"] = "\n\n".join([headline, *(textwrap.fill(" ".join(p.split()), 68) for p in body)])
    return out


def wire87_pairs(stories: Path) -> list[dict[str, object]]:
    sys.path.insert(0, str(HERE.parents[1]))
    from bench.near_copies_reuters import EDITS, jaccard, next_day_template, parse

    bases = sorted(GOLDEN.glob("reuters87-*.txt")) + sorted(GOLDEN.glob("ap87-*.txt"))
    bases += sorted((HERE / "hand87").glob("*.txt"))
    pairs: list[dict[str, object]] = []
    names: list[str] = []
    for path in bases:
        text = path.read_bytes().decode("latin-1")
        original = parse(text)
        if original is None:
            continue  # a brief: no body to copy
        base = f"wire87-{path.stem}.txt"
        (stories / base).write_bytes(text.encode("latin-1"))
        names.append(base)
        for kind, edit in EDITS.items():
            edited_text = edit(text)
            edited = parse(edited_text) if edited_text else None
            if edited is None or jaccard(original.shingles, edited.shingles) < 0.8:
                continue
            name = f"wire87-{path.stem}--{kind}.txt"
            (stories / name).write_bytes(edited_text.encode("latin-1"))
            pairs.append({"a": base, "b": name, "duplicate": True, "kind": kind})
        template = next_day_template(text)
        if template is not None:
            name = f"wire87-{path.stem}--next-day.txt"
            (stories / name).write_bytes(template.encode("latin-1"))
            pairs.append({"a": base, "b": name, "duplicate": False, "kind": "template_next_day"})
    for a, b in itertools.combinations(names, 2):
        pairs.append({"a": a, "b": b, "duplicate": False, "kind": "different_story_1987"})
    return pairs


def main() -> None:
    stories = HERE / "stories"
    stories.mkdir(exist_ok=True)
    for old in stories.glob("*.txt"):
        old.unlink()
    pairs: list[dict[str, object]] = []
    bases: list[str] = []
    for path in sorted(GOLDEN.glob("*.txt")):
        text = path.read_bytes().decode("utf-8", errors="replace")
        if len(blocks(text)) < 4:
            continue  # too short to edit like a wire story
        base = f"{path.stem}.txt"
        (stories / base).write_text(text, encoding="utf-8")
        bases.append(base)
        for kind, variant in variants(path.stem, text).items():
            name = f"{path.stem}--{kind}.txt"
            (stories / name).write_text(variant, encoding="utf-8")
            pairs.append({"a": base, "b": name, "duplicate": True, "kind": kind})
    for a, b in itertools.combinations(bases, 2):
        pairs.append({"a": a, "b": b, "duplicate": False, "kind": "different_story"})
    for path in sorted((HERE / "hand").glob("*.json")):
        spec = json.loads(path.read_text(encoding="utf-8"))
        for side in ("a", "b"):
            (stories / f"{path.stem}--{side}.txt").write_text(spec[side], encoding="utf-8")
        pairs.append(
            {
                "a": f"{path.stem}--a.txt",
                "b": f"{path.stem}--b.txt",
                "duplicate": spec["duplicate"],
                "kind": spec["kind"],
            }
        )
    pairs += wire87_pairs(stories)
    with (HERE / "pairs.jsonl").open("w", encoding="utf-8") as out:
        for pair in pairs:
            out.write(json.dumps(pair) + "\n")
    print(f"{len(bases)} stories, {len(pairs)} labelled pairs")


if __name__ == "__main__":
    main()
