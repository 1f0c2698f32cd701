"""Golden pairs: a real input beside its expected record, compared field by field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parsers import parse_story
from schemas import validate_story

GOLDEN = Path(__file__).resolve().parent / "golden"
PAIRS = sorted(p for p in GOLDEN.glob("*.expected.json"))
FIELDS = (
    "agency",
    "input_format",
    "headline",
    "dateline",
    "byline",
    "editors",
    "copyright",
    "copyright_year",
    "language",
    "url",
    "wire_id",
    "version",
    "slugline",
    "urgency",
    "category",
    "ednote",
    "pubstatus",
    "standfirst",
)


def _input_for(expected: Path) -> Path:
    stem = expected.name.removesuffix(".expected.json")
    matches = [p for p in GOLDEN.glob(stem + ".*") if p != expected and not p.name.endswith(".expected.json")]
    assert len(matches) == 1, f"one input expected beside {expected.name}, found {matches}"
    return matches[0]


def test_there_are_enough_golden_pairs() -> None:
    assert len(PAIRS) >= 40
    agencies = {json.loads(p.read_text(encoding="utf-8"))["agency"] for p in PAIRS}
    assert {"bloomberg", "reuters", "ap", "afp"} <= agencies
    formats = {json.loads(p.read_text(encoding="utf-8"))["input_format"] for p in PAIRS}
    assert {"text", "html", "anpa", "iptc7901", "nitf", "newsml-g2", "newsml-1", "ninjs"} <= formats
    # Real wire copy in the shapes it is sent: the 1987 layout (indented paragraphs, no blank
    # lines) and ANPA-1312 envelopes, ten or more each.
    names = [p.name for p in PAIRS]
    assert sum(n.startswith(("reuters87-", "ap87-")) for n in names) >= 10
    assert sum(n.startswith("anpa-") for n in names) >= 10
    for family in ("iptc-", "nitf-", "newsml-", "newsml1-", "ninjs"):
        assert sum(n.startswith(family) for n in names) >= 10, family


@pytest.mark.parametrize("expected_path", PAIRS, ids=[p.name.removesuffix(".expected.json") for p in PAIRS])
def test_golden_pair(expected_path: Path) -> None:
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    source = _input_for(expected_path)
    story = parse_story(source.read_bytes(), str(source))
    assert validate_story(story) == []
    for name in FIELDS:
        if name in expected:
            assert getattr(story, name) == expected[name], name
    if "contacts" in expected:
        got = [{"role": c.role, "name": c.name, "email": c.email, "location": c.location} for c in story.contacts]
        assert got == expected["contacts"]
    if "published_at" in expected:
        assert story.to_json_dict()["published_at"] == expected["published_at"]
    if "paragraph_count" in expected:
        assert len(story.paragraphs) == expected["paragraph_count"]
    if "word_count" in expected:
        assert story.word_count == expected["word_count"]
    assert story.body.startswith(expected["body_starts_with"])
    assert story.body.endswith(expected["body_ends_with"])
    for forbidden in expected.get("body_must_not_contain", []):
        assert forbidden not in story.body, forbidden
    kinds = {item.kind for item in story.removed}
    for kind in expected.get("removed_kinds_include", []):
        assert kind in kinds, kind


def test_seed_story_parses_exactly_as_its_expected_file_says() -> None:
    """The seed is named explicitly so that it can never silently drop out of the glob."""
    expected = json.loads((GOLDEN / "bloomberg-idlib.expected.json").read_text(encoding="utf-8"))
    story = parse_story((GOLDEN / "bloomberg-idlib.txt").read_bytes(), "seed")
    assert story.agency == expected["agency"] == "bloomberg"
    assert story.headline == expected["headline"]
    assert story.dateline is None
    assert story.byline == expected["byline"]
    assert story.editors == expected["editors"]
    assert len(story.contacts) == 6
    assert story.copyright == "©2019 Bloomberg L.P." and story.copyright_year == 2019
    assert len(story.paragraphs) == 8 and story.word_count == 303
    assert story.body.count("Turkey Presses Russia") == 0
    assert [r.kind for r in story.removed].count("duplicate_headline") == 1


def test_a_teleprinter_message_parses_as_its_control_character_form() -> None:
    """ZCZC ... NNNN framing is IPTC 7901 sent where control characters are not: the same
    message framed both ways is the same row but for its bytes (read as text, "ZCZC" was
    the headline, the header and keyword line were body text, and "NNNN" its last words)."""
    data = (GOLDEN / "telex-afp-zczc.txt").read_bytes()
    lines = data.split(b"\r\r\n")
    header = next(n for n, line in enumerate(lines) if line.startswith(b"AFP0512"))
    post = next(n for n, line in enumerate(lines) if line.startswith(b"AFP 22"))
    framed_lines = [
        b"\x01" + lines[header],
        lines[header + 1],
        b"\x02",
        *lines[header + 2 : post],
        b"\x03",
        lines[post],
    ]
    framed_bytes = b"\r\r\n".join(framed_lines) + b"\r\r\n"
    telex, framed = parse_story(data, "mem://telex"), parse_story(framed_bytes, "mem://framed")
    assert framed.input_format == "iptc7901"
    for name in ("headline", "body", "dateline", "agency", "wire_id", "slugline", "urgency", "category", "story_id"):
        assert getattr(telex, name) == getattr(framed, name), name
    # Framing around the control characters (a line that sends both) is one message, read alike.
    both = b"ZCZC 512\r\r\n" + framed_bytes + b"\r\r\nNNNN\r\r\n"
    assert parse_story(both, "mem://both").story_id == framed.story_id
    # Without an NNNN line (a log cut after the story) the message runs to the text's end.
    cut = (GOLDEN / "telex-dpa-plain.txt").read_bytes().replace(b"NNNN\n", b"")
    assert parse_story(cut, "mem://cut").body == parse_story((GOLDEN / "telex-dpa-plain.txt").read_bytes(), "m").body
