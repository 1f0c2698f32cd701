"""Transmission envelopes: the ANPA-1312 or IPTC 7901 header and trailer around a wire story.

ANPA-1312 (the US wires, Reuters' 1980s feed):

    SYN SYN SOH <sequence> US <source>                 ^V^V^Af0001^_reute
    <priority> <category> <slug> [take key] <MM-DD> <words>   u f BC-IF-DOLLAR-FOLLOWS-WAL   10-19 0105
    STX <the story> ETX [signature / time]            ^B ... ^C

IPTC 7901 (the European agencies):

    SOH <source><number> <priority digit> <category> <words> [optional]   ^AAFP0457 4 POL 0395 /AFP-DZ45
    <keyword line>                                                         FRANCE-PENSIONS-VOTE
    STX <the story> ETX [post-text]                                        ^B ... ^C

On a teleprinter line (and in copy kept as text from one) the message is framed by a
``ZCZC`` line and an ``NNNN`` line instead of control characters:

    ZCZC [channel]                                                         ZCZC
    <SOURCEnnnn p CAT wwww ...> <keyword line> <the story> [post-text]    AFP0457 4 POL 0395 ...
    NNNN                                                                   NNNN

read as IPTC 7901 when its header is one, else as text without the framing.

Fields go to the wire columns (wire_id, slugline, urgency, category, version) and every
envelope line to ``removed`` (kind ``envelope``): nothing of it reaches headline or body.
Tables (priorities, sources, slug routing) are data in ``parsers.rules``. Pure; no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from parsers import rules
from schemas.errors import ParseError
from schemas.story import Removed

_SOH = "\x01"
_CONTROLS = re.compile("[\x00-\x1f\x7f]")
_STX, _ETX = "\x02", "\x03"
_HEADER = re.compile(r"\x16*\x01(?P<sequence>[A-Za-z]?\d{3,5})\x1f(?P<source>[A-Za-z0-9-]{1,12})")
_ROUTING = re.compile(
    r"^\s*(?P<priority>[a-z])\s+(?P<category>[a-z])[\x11-\x14]*\s+(?P<slug>[^\s\x11-\x14]+)(?P<rest>.*?)"
    r"\s+(?P<date>\d{1,2}-\d{1,2})\s+(?P<words>\d{2,5})\s*[<=]?\s*$",
    re.IGNORECASE,
)
_IPTC_HEADER = re.compile(
    r"\x01[ \t]*(?P<source>[A-Za-z]{2,6})(?P<number>\d{3,6})[ \t]+(?P<priority>[1-9])[ \t]+"
    r"(?P<category>[A-Za-z]{1,3})[ \t]+(?P<words>\d{2,5})(?P<rest>[^\n\x02]*)"
)
#: Where a transmission begins (SYN SYN SOH and an ANPA header, or SOH and an IPTC 7901
#: one), in bytes: how a feed's capture file (transmissions back to back) is split.
_CONTROL_START = re.compile(
    rb"\x16*\x01(?:[A-Za-z]?\d{3,5}\x1f[A-Za-z0-9-]{1,12}"
    rb"|[ \t]*[A-Za-z]{2,6}\d{3,6}[ \t]+[1-9][ \t]+[A-Za-z]{1,3}[ \t]+\d{2,5})"
)
#: Where a teleprinter message begins: its ZCZC line.
_TELEX_LINE = re.compile(rb"(?m:^)ZCZC(?=[ \t\r\n])")


def transmission_starts(data: bytes) -> list[int]:
    """Where each transmission of ``data`` begins: at its ZCZC lines when it has any (a
    teleprinter line's messages, which may hold control characters too), else at its
    transmission headers."""
    telex = [match.start() for match in _TELEX_LINE.finditer(data)]
    return telex or [match.start() for match in _CONTROL_START.finditer(data)]


#: A teleprinter message's framing: its ZCZC line (a channel or number may follow) and its
#: NNNN line (end of message).
_TELEX_START = re.compile(r"\A[\s\x00-\x1f]*ZCZC(?:[ \t][^\n]*)?\n")
_TELEX_END = re.compile(r"^[ \t]*NNNN[ \t\r]*$", re.MULTILINE)
#: An IPTC 7901 post-text (the agency and the time sent: "AFP 211432 GMT OCT 24"), which a
#: teleprinter line sends as the message's last line, where ETX would have ended the story.
_TELEX_POST_TEXT = re.compile(r"[ \t]*[A-Z]{2,6}(?:-[A-Z]{2,6})? [0-3]\d[0-2]\d[0-5]\d (?:GMT|UTC) [A-Z]{3} \d{2}\s*")
#: The IPTC 7901 header line without its SOH (what a teleprinter line sends after ZCZC).
_TELEX_7901_HEADER = re.compile(
    r"[ \t]*[A-Za-z]{2,6}\d{3,6}[ \t]+[1-9][ \t]+[A-Za-z]{1,3}[ \t]+\d{2,5}(?:[ \t][^\n]*)?"
)
_PRIORITY = {code: urgency for code, urgency, _ in rules.ANPA_PRIORITIES}
_SOURCES = {code: agency for code, agency, _ in rules.ENVELOPE_SOURCES}


@dataclass
class Envelope:
    """What a transmission envelope says, and the story text it carried."""

    text: str
    kind: str = "anpa"
    wire_id: str | None = None
    agency: str | None = None
    slugline: str | None = None
    urgency: int | None = None
    category: str | None = None
    take_key: str | None = None
    version: int | None = None
    ednote: str | None = None
    removed: list[Removed] = field(default_factory=list)


def envelope_kind(text: str) -> str | None:
    """``anpa`` or ``iptc7901`` when a transmission header opens ``text``, ``telex`` when a
    ZCZC line does, else None."""
    head = text[:400]
    if _SOH not in head:
        return "telex" if "ZCZC" in head and _TELEX_START.match(head) else None
    if _HEADER.search(head) is not None:
        return "anpa"
    if _IPTC_HEADER.search(head) is not None:
        return "iptc7901"
    return None


def looks_enveloped(text: str) -> bool:
    """SOH (after optional SYNs) and a header of either kind in the first lines."""
    return envelope_kind(text) is not None


def read_envelope(text: str) -> Envelope:
    """Split ``text`` into its envelope's fields and the story; raise ParseError
    ("bad_envelope") when the story's STX has no ETX (a cut transmission), and
    ("multi_item") when transmissions follow it (a feed's capture file not split)."""
    _one_transmission(text)
    kind = envelope_kind(text)
    if kind == "telex":
        return _read_telex(text)
    if kind == "iptc7901":
        return _read_iptc7901(text)
    header = _HEADER.search(text[:400])
    envelope, start = _story_between(text, "anpa")
    if header is not None:
        envelope.wire_id = header.group("sequence")
        source = header.group("source").lower()
        envelope.agency = _SOURCES.get(source)
        routing_text = text[header.end() : start]
        for line in routing_text.split("\n"):
            match = _ROUTING.match(line.replace("\x1f", " "))
            if match:
                _read_routing(envelope, match)
                break
    envelope.text = _strip_line_marks(envelope.text)
    _lift_head_lines(envelope)
    return envelope


def _one_transmission(text: str) -> None:
    """Raise ``multi_item`` when ``text`` holds several transmissions: read as one, every
    story after the first went into its envelope trailer (``removed``), none a row."""
    if text.count(_SOH) < 2 and text.count("ZCZC") < 2:
        return
    starts = len(transmission_starts(text.encode("latin-1", "replace")))
    if starts > 1:
        raise ParseError(
            "multi_item",
            f"a feed capture of {starts} wire transmissions (ANPA-1312 or IPTC 7901 envelopes) that was not split "
            "into them: name it *.anpa, *.iptc or *.cap, in the landing zone or in a zip or tar, to read each "
            "transmission as an input",
        )


def _story_between(text: str, kind: str) -> tuple[Envelope, int]:
    """The story between STX and ETX, and the envelope lines around it to ``removed``."""
    name = "an ANPA" if kind == "anpa" else "an IPTC 7901"
    start = text.find(_STX)
    if start < 0:
        raise ParseError("bad_envelope", f"{name} envelope without STX: no story text was transmitted")
    end = text.find(_ETX, start)
    if end < 0:
        raise ParseError("bad_envelope", "STX without ETX: the transmission was cut before the story ended")
    envelope = Envelope(text=text[start + 1 : end], kind=kind)
    before = [" ".join(_CONTROLS.sub(" ", line).split()) for line in text[:start].split("\n")]
    envelope.removed += [Removed("envelope", line) for line in before if line]
    after = " ".join(_CONTROLS.sub(" ", text[end + 1 :]).split())
    if after:
        envelope.removed.append(Removed("envelope", after))
    return envelope, start


def _read_telex(text: str) -> Envelope:
    """A teleprinter message (ZCZC ... NNNN): read as the IPTC 7901 transmission it frames
    when its first line is a 7901 header (the keyword line after it, the story after that),
    else as the text between the framing lines; the ZCZC and NNNN lines (and what follows
    NNNN) go to ``removed``. Without an NNNN line the message runs to the text's end."""
    start = _TELEX_START.match(text)
    assert start is not None  # envelope_kind said so
    framing = [" ".join(_CONTROLS.sub(" ", start.group(0)).split())]
    rest = text[start.end() :]
    end = _TELEX_END.search(rest)
    if end is not None:
        framing.append(" ".join(_CONTROLS.sub(" ", rest[end.start() :]).split()))
        rest = rest[: end.start()]
    lines = rest.split("\n")
    first = next((n for n, line in enumerate(lines) if line.strip()), None)
    if first is not None and _TELEX_7901_HEADER.fullmatch(lines[first].rstrip("\r")):
        keyword = next((n for n in range(first + 1, len(lines)) if lines[n].strip()), None)
        if keyword is not None and not _keyword_line(lines[keyword]):
            keyword = None
        head_end = (keyword if keyword is not None else first) + 1
        story, post = lines[head_end:], []
        last = next((n for n in range(len(story) - 1, -1, -1) if story[n].strip()), None)
        if last is not None and _TELEX_POST_TEXT.fullmatch(story[last]):
            story, post = story[:last], story[last:]
        # As sent with control characters: SOH, header, keyword line, STX, story, ETX, post-text.
        framed = "\x01" + "\n".join(lines[first:head_end]) + "\n\x02" + "\n".join(story) + "\x03"
        framed += "\n".join(post)
        envelope = _read_iptc7901(framed)
    else:
        envelope = Envelope(text=rest, kind="text")
    envelope.removed[:0] = [Removed("envelope", line) for line in framing if line]
    return envelope


def _keyword_line(line: str) -> bool:
    """Whether a line after a 7901 header is its keyword line (a slug, a take key after it:
    ``FRANCE-PENSIONS-VOTE 2ndLd``), not the story's headline."""
    stripped = line.strip()
    return 0 < len(stripped) <= 64 and len(stripped.split()) <= 3 and not stripped.endswith((".", "!", "?", ":"))


def _read_iptc7901(text: str) -> Envelope:
    """IPTC 7901: the header line after SOH, then keyword line(s), then STX story ETX.
    The priority digit is the urgency (both count 1 as most urgent); the first keyword
    line is the slug, and a take key on it (``2ndLd``) numbers the version."""
    header = _IPTC_HEADER.search(text[:400])
    envelope, start = _story_between(text, "iptc7901")
    if header is not None:
        source = header.group("source")
        envelope.wire_id = source + header.group("number")
        envelope.agency = _SOURCES.get(source.lower())
        envelope.urgency = int(header.group("priority"))
        envelope.category = header.group("category").lower()
        keywords = [" ".join(_CONTROLS.sub(" ", line).split()) for line in text[header.end() : start].split("\n")]
        keyword = next((line for line in keywords if line), None)
        if keyword:
            slug, _, take = keyword.partition(" ")
            envelope.slugline = slug
            if take.strip():
                envelope.take_key = take.strip()
                lead = rules.TAKE_KEY_VERSION.search(take)
                if lead:
                    envelope.version = int(lead.group(1)) + 1
    envelope.text = _strip_line_marks(envelope.text)
    _lift_head_lines(envelope)
    return envelope


def _lift_head_lines(envelope: Envelope) -> None:
    """AP puts the slug again (``^BC-Britain-Strike, 2nd Ld-Writethru,0412``) and the
    editor's note (``^Eds: ...``) above the headline: to ``removed`` and ``ednote``."""
    lines = envelope.text.split("\n")
    kept: list[str] = []
    slug = (envelope.slugline or "").lower()
    for number, line in enumerate(lines):
        stripped = line.strip()
        head = number < 8 and not line.startswith(("\t", "  "))
        if (
            head
            and slug
            and rules.SLUG_ROUTING.match(stripped)
            and rules.SLUG_ROUTING.sub("", stripped).lower().startswith(slug)
        ):
            envelope.removed.append(Removed("envelope", stripped))
            continue
        note = rules.EDNOTE_LINE.match(stripped) if head else None
        if note:
            envelope.ednote = note.group("note").strip()
            envelope.removed.append(Removed("envelope", stripped))
            continue
        kept.append(line)
    envelope.text = "\n".join(kept)


def _read_routing(envelope: Envelope, match: re.Match[str]) -> None:
    envelope.urgency = _PRIORITY.get(match.group("priority").lower())
    envelope.category = match.group("category").lower()
    envelope.slugline = rules.SLUG_ROUTING.sub("", match.group("slug")) or None
    take = match.group("rest").strip(" \x11\x12\x13\x14")
    if take:
        envelope.take_key = take
        lead = rules.TAKE_KEY_VERSION.search(take)
        if lead:
            envelope.version = int(lead.group(1)) + 1


def _strip_line_marks(text: str) -> str:
    """AP's line-end marks (``<`` and ``=``) and headline carets (``^``), and tabs that
    open paragraphs, in the shapes the text parser reads (an indented line)."""
    lines = []
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if line.endswith(("<", "=")) and not line.endswith(("<=", "==")):
            line = line[:-1]
        if line.startswith("^"):
            line = line[1:]
        lines.append(line)
    return "\n".join(lines)
