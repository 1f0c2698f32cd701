"""Build the labelled near-duplicate set in tests/dupes/ from the golden wire stories.

    python tests/dupes/build_set.py

Positives are made by the edits copies really go through, so their label is known by
construction: an outlet republishing under its own boilerplate and headline style, an
UPDATE 1 with a paragraph added and an update note, a CORRECTED version with one figure
changed, a copy trimmed of its last paragraph, and the same copy re-wrapped at 68
columns. Negatives: every pair of different golden stories, plus hand-written pairs in
hand/ (the same event written up by two agencies; market reports built on one template).
The output (stories/*.txt, pairs.jsonl) is committed; this script documents how.
"""

from __future__ import annotations

import itertools
import json
import re
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
    with (HERE / "pairs.jsonl").open("w", encoding="utf-8") as out:
        for pair in pairs:
            out.write(json.dumps(pair) + "\n")
    print(f"{len(bases)} stories, {len(pairs)} labelled pairs")


if __name__ == "__main__":
    main()
