"""Real 1987 Reuters wire copy, rendered as it was transmitted, through the parser; scored.

    .venv/bin/python bench/wire_text.py [--shared ../shared] [--show-misses N] [--field F]

Reads ``eval/reuters-dev`` from the shared folder (Reuters-21578 files 020 and 021,
research-only licence: read in place, never copied into the repository). Each story is
rendered from its SGML as its README describes: the ``<TEXT>`` with its tags taken out, so
a headline line, indented by-line and dateline, paragraphs hard-wrapped at ~65 columns
that start with an indented line, a `` REUTER`` sign-off. A third of the stories go inside
their ANPA-1312 transmission envelope (SYN SYN SOH sequence US source, the priority /
category / slug / date / word-count line, STX ... ETX); a third get an ``ADVERTISEMENT``
line between two paragraphs; a third have their headline repeated on the next line
(every other one in title case). Briefs (headline only) stay briefs.

Scores per field, for the two halves of the set (A: even NEWID, B: odd NEWID; tune on A,
report both): headline, dateline city, agency, by-line, body exactly right, language, and for the
enveloped stories slugline, wire id and urgency.
"""

from __future__ import annotations

import argparse
import gzip
import html
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from parsers import parse_story, rules  # noqa: E402
from schemas.errors import ParseError  # noqa: E402

_STORY = re.compile(r"<REUTERS[^>]*NEWID=\"(\d+)\"[^>]*>(.*?)</REUTERS>", re.S)
#: The documented ANPA priority -> IPTC urgency table (README, "Formats"); the letter is the truth.
_URGENCY = {code: urgency for code, urgency, _ in rules.ANPA_PRIORITIES}


def _tag(raw: str, name: str) -> str | None:
    match = re.search(rf"<{name}[^>]*>(.*?)</{name}>", raw, re.S)
    return match.group(1) if match else None


def _unescape(text: str) -> str:
    return html.unescape(re.sub(r"&#(\d+);", lambda m: chr(int(m.group(1))), text))


@dataclass
class Case:
    newid: int
    rendered: str
    mode: str
    headline: str
    dateline: str | None
    byline: list[str]
    paragraphs: list[str]
    slugline: str | None = None
    wire_id: str | None = None
    urgency: int | None = None


def expected_paragraphs(body: str) -> list[str]:
    """The body's paragraphs: an indented line starts one; hard-wrapped lines join."""
    lines = body.replace("\x02", "").replace("\x03", "").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    if lines and lines[-1].strip().lower() in ("reuter", "reuters"):
        lines.pop()
    paragraphs: list[list[str]] = []
    for line in lines:
        if not line.strip():
            continue
        if not paragraphs or line[:1] in (" ", "\t"):
            paragraphs.append([])
        paragraphs[-1].append(line.strip())
    return [" ".join(" ".join(p).split()) for p in paragraphs]


def require_reuters_dev(shared: Path) -> Path:
    """``shared`` if it holds eval/reuters-dev; else say where it was looked for, and exit 2."""
    if not (shared / "eval" / "reuters-dev").is_dir():
        print(f"reuters-dev is not at {shared}/eval/reuters-dev (it is research-only and not in this repository): "
              "pass --shared PATH to the folder that holds eval/reuters-dev", file=sys.stderr)  # fmt: skip
        sys.exit(2)
    return shared


def load_cases(shared: Path) -> list[Case]:
    cases: list[Case] = []
    for name in ("reut2-020.sgm.gz", "reut2-021.sgm.gz"):
        raw_file = gzip.decompress((shared / "eval" / "reuters-dev" / name).read_bytes()).decode("latin-1")
        for match in _STORY.finditer(raw_file):
            newid, raw = int(match.group(1)), match.group(2)
            text = _tag(raw, "TEXT")
            title = _tag(raw, "TITLE")
            if text is None or title is None:
                continue
            wire_text = _unescape(re.sub(r"</?(?:TITLE|AUTHOR|DATELINE|BODY)>", "", text))
            author = _tag(raw, "AUTHOR")
            byline = []
            if author:
                name = re.sub(r"^\s*by\s+", "", _unescape(author).strip(), flags=re.I)
                byline = [re.sub(r",\s*reuters?$", "", name, flags=re.I).strip()]
            dateline_raw = _tag(raw, "DATELINE")
            dateline = _unescape(dateline_raw).strip().split(",")[0].strip() if dateline_raw else None
            body = _tag(raw, "BODY")
            unknown = _unescape(_tag(raw, "UNKNOWN") or "")
            header = re.search(r"\x16\x16\x01(\w+)\x1f(\w+)\n(\w) (\w) (\S+)\s+(\d\d-\d\d) (\d{4})", unknown)
            mode = ("envelope", "advert", "repeat")[newid % 3]
            if mode == "envelope" and header is None:
                mode = "advert"
            case = Case(
                newid,
                "",
                mode,
                " ".join(_unescape(title).split()),
                dateline,
                byline,
                expected_paragraphs(_unescape(body)) if body else [],
            )
            inner = wire_text.replace("\x02", "").replace("\x03", "").strip("\n")
            if mode == "envelope" and header is not None:
                envelope = unknown[unknown.index("\x16") :] if newid % 2 else unknown.lstrip(" \n")
                case.rendered = envelope + "\n" + wire_text.lstrip(" ")
                case.wire_id, case.urgency = header.group(1), _URGENCY.get(header.group(3))
                case.slugline = re.sub(r"^(?:BC|AM|PM|AP)-", "", header.group(5)) or None
            elif mode == "advert":
                lines = inner.split("\n")
                starts = [i for i, line in enumerate(lines) if i > 3 and line.startswith("    ")]
                if starts:
                    at = starts[len(starts) // 2]
                    lines.insert(at, "ADVERTISEMENT")
                case.rendered = "\n".join(lines) + "\n"
            else:
                first, _, rest = inner.partition("\n")
                repeat = first.title() if newid % 2 else first
                case.rendered = f"{first}\n{repeat}\n{rest}\n"
            cases.append(case)
    return cases


FIELDS = ("headline", "dateline", "agency", "byline", "body", "language", "slugline", "wire_id", "urgency")


def score(case: Case) -> dict[str, bool]:
    try:
        story = parse_story(case.rendered.encode("latin-1", "replace"), f"reuters-dev://{case.newid}")
    except ParseError:
        return dict.fromkeys(FIELDS, False)
    got = [" ".join(p.split()) for p in story.paragraphs]
    result = {
        "headline": " ".join(story.headline.split()) == case.headline,
        "dateline": story.dateline == case.dateline,
        "agency": story.agency == "reuters",
        "byline": story.byline == case.byline,
        "body": got == case.paragraphs,
        "language": story.language == "en",  # Reuters' English service
    }
    if case.mode == "envelope":
        result["slugline"] = getattr(story, "slugline", None) == case.slugline
        result["wire_id"] = getattr(story, "wire_id", None) == case.wire_id
        result["urgency"] = getattr(story, "urgency", None) == case.urgency
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default=str(REPO.parent / "shared"))
    parser.add_argument("--show-misses", type=int, default=0, help="print N misses of --field")
    parser.add_argument("--field", default="body")
    parser.add_argument("--half", default="A", help="half whose misses to show")
    args = parser.parse_args()
    shared = require_reuters_dev(Path(args.shared))
    cases = load_cases(shared)
    totals: dict[str, Counter[str]] = {"A": Counter(), "B": Counter()}
    counts: dict[str, Counter[str]] = {"A": Counter(), "B": Counter()}
    shown = 0
    for case in cases:
        half = "A" if case.newid % 2 == 0 else "B"
        for name, ok in score(case).items():
            counts[half][name] += 1
            totals[half][name] += ok
            if not ok and name == args.field and half == args.half and shown < args.show_misses:
                shown += 1
                story = None
                try:
                    story = parse_story(case.rendered.encode("latin-1", "replace"), "x")
                except ParseError as exc:
                    print(f"--- {case.newid} ({case.mode}): {exc}")
                if story is not None:
                    print(f"--- {case.newid} ({case.mode}) {name}")
                    print(repr(case.rendered[:600]))
                    wanted = {"body": case.paragraphs, "agency": "reuters", "language": "en"}
                    print("expected:", repr(wanted[name] if name in wanted else getattr(case, name))[:400])
                    print("got:     ", repr(getattr(story, name if name != "body" else "paragraphs"))[:400])
    briefs = sum(1 for c in cases if not c.paragraphs)
    print(f"{len(cases)} stories ({briefs} briefs); modes {Counter(c.mode for c in cases)}\n")
    print("| field | half A (tuned on) | half B (held out) |\n|---|---|---|")
    for name in FIELDS:
        cells = []
        for half in ("A", "B"):
            n = counts[half][name]
            cells.append(f"{totals[half][name] / n:.3f} ({totals[half][name]}/{n})" if n else "-")
        print(f"| {name} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
