"""Plain wire text: lines to paragraphs (unwrapping hard wraps), head and headline."""

from __future__ import annotations

import re
from datetime import datetime

from parsers import rules
from parsers.dates import parse_datetime
from parsers.wire import (
    Draft,
    first_char_match,
    is_signoff,
    lift_agency_tag,
    looks_like_headline,
    match_line_rule,
    parse_credit_line,
    same_headline,
)
from schemas.story import Removed

_TERMINAL = (".", "!", "?", "…", '"', "”", "’", ":", ")")
_SENTENCE_END = (".", "!", "?", "…", '"', "”")
_HARD_WRAP_WIDTH = 100
#: How a line that carries on into the next ends.
_CONTINUES = (",", ";", "-", "–", "—", "(", "/", "&")


def unwrap_block(lines: list[str]) -> list[str]:
    """Join hard-wrapped lines into paragraphs; long lines are each a paragraph already.
    A line repeated on the next (a headline sent twice) is never a hard wrap."""
    if len(lines) == 1:
        return [lines[0].strip()]
    first, second = lines[0].strip(" *"), lines[1].strip(" *")
    if abs(len(first) - len(second)) <= 4 and same_headline(first, second):
        return [lines[0].strip(), *unwrap_block(lines[1:])]
    width = max(len(line.rstrip()) for line in lines)
    if width > _HARD_WRAP_WIDTH:
        return [line.strip() for line in lines if line.strip()]
    paragraphs: list[str] = []
    current: list[str] = []
    previous = ""
    for line in lines:
        indented = line[:1] in (" ", "\t") and len(line) - len(line.lstrip()) >= 2
        ends_sentence = previous.rstrip().endswith(_TERMINAL)
        short_previous = len(previous.rstrip()) < 0.7 * width
        # A short line that stops without a sentence's end, before a line that opens with a
        # capital, was ended on purpose: a header line (a slug, a headline, "By JILL
        # LAWLESS", "Associated Press") in copy that puts no blank line between them.
        # Hard-wrapped prose breaks short only at a paragraph's end, which is punctuated.
        header_line = (
            short_previous
            and len(previous.rstrip()) <= 0.5 * width
            and not previous.rstrip().endswith(_CONTINUES)
            and line.lstrip()[:1].isupper()
        )
        if current and ((indented and ends_sentence) or (short_previous and ends_sentence) or header_line):
            paragraphs.append(" ".join(current))
            current = []
        current.append(line.strip())
        previous = line
    if current:
        paragraphs.append(" ".join(current))
    return paragraphs


def _indented(line: str) -> bool:
    return line[:1] == "\t" or line[:2] == "  "


def _opens_paragraph(line: str, current: list[str]) -> bool:
    """Whether ``line`` starts a paragraph in the wire layout: indented, or indented by one
    space after a line that ends a sentence (1987 copy has one-space indents where the
    keyer slipped; one that carries on a sentence is a continuation)."""
    return _indented(line) or (line[:1] == " " and bool(current) and current[-1].endswith(_SENTENCE_END))


def split_by_indent(lines: list[str]) -> list[str]:
    """Paragraphs where each indented line opens one and margin lines continue it; margin
    lines before the first indented line are one paragraph each (header lines)."""
    first = next((i for i, line in enumerate(lines) if _indented(line)), len(lines))
    paragraphs = [line.strip() for line in lines[:first]]
    current: list[str] = []
    for line in lines[first:]:
        if current and _opens_paragraph(line, current):
            paragraphs.append(" ".join(current))
            current = []
        current.append(line.strip())
    if current:
        paragraphs.append(" ".join(current))
    return paragraphs


def split_indented_block(lines: list[str]) -> list[str] | None:
    """Paragraphs of a block in the wire's own layout, or None if it is not in it.

    Wire copy (Reuters, AP, ANPA feeds) marks a paragraph by indenting its first line and
    puts no blank line between paragraphs; hard-wrapped lines continue at the margin. Read
    by structure: at least two indented lines, and at least one line at the margin after
    the first indented one (a wrapped continuation). Lines at the margin before the first
    indented line are header lines (the headline, a repeated headline), one paragraph each.
    """
    indented = [i for i, line in enumerate(lines) if _indented(line)]
    if len(indented) < 2 and not (indented and indented[0] > 0 and len(lines) > indented[0] + 1):
        return None
    first = indented[0]
    if not any(not _indented(line) for line in lines[first + 1 :]) and len(indented) < 2:
        return None
    if not any(not _indented(line) for line in lines[first + 1 :]) and first == 0:
        return None  # every line indented: a quoted or centred block, not the wire layout
    return split_by_indent(lines)


def split_blocks(text: str, removed: list[Removed], no_line_rule: set[str]) -> list[str]:
    """Paragraphs of ``text``: blank lines and boilerplate lines end a block; a sign-off
    line ("REUTER", " Reuter 2325") stands alone, so the wire rules can take it off.
    ``no_line_rule`` collects the stripped lines that match no line rule."""
    # Blocks first (a removed line or a sign-off stands for itself), then one decision for
    # the whole document: once one block shows the wire layout, every block is read by its
    # indentation (a table after an ADVERTISEMENT line is all indented rows).
    pieces: list[list[str] | str] = []
    block: list[str] = []
    any_line_rule = rules.ANY_LINE_RULE
    for line in text.split("\n"):
        stripped = line.strip()
        # A line that carries on the sentence of the line above it (hard-wrapped copy: the
        # line above ends mid-sentence, this one starts in lower case) is never a label
        # line on its own: "related to hydrogen and ..." is not a "Related ..." link line.
        if block and stripped[:1].islower() and not block[-1].endswith(_TERMINAL):
            block.append(line.rstrip())
            continue
        # match_line_rule's prefilter inline: most lines are ruled out by it.
        rule = None
        if stripped and len(stripped) <= 240 and first_char_match(any_line_rule, stripped):
            rule = match_line_rule(stripped)
        if stripped and rule is None:
            no_line_rule.add(stripped)
            if not (len(line) <= 24 and is_signoff(line)):
                block.append(line.rstrip())
                continue
        # A blank line, a removed line or a sign-off ends the block.
        if block:
            pieces.append(block)
            block = []
        if rule is not None:
            removed.append(Removed(rule.kind, stripped))
        elif stripped:
            pieces.append(stripped)  # the sign-off, standing alone
    if block:
        pieces.append(block)
    # Only a text with indented lines can be in the wire layout (one scan rules most out).
    indented_text = text[:1] in (" ", "\t") or "\n  " in text or "\n\t" in text
    blocks = [piece for piece in pieces if isinstance(piece, list)] if indented_text else []
    wire_layout = any(split_indented_block(b) is not None for b in blocks)
    paragraphs: list[str] = []
    in_header = wire_layout  # margin lines before the first indented one: header lines
    for piece in pieces:
        if isinstance(piece, str):
            paragraphs.append(piece)
        elif not wire_layout:
            if len(piece) == 1:  # a line standing alone (most paragraphs): unwrap_block's answer
                line = piece[0].strip()
                if line:
                    paragraphs.append(line)
            else:
                paragraphs.extend(p for p in unwrap_block(piece) if p)
        else:
            indented = any(_indented(line) for line in piece)
            if indented or in_header:
                paragraphs.extend(p for p in split_by_indent(piece) if p)
            else:
                paragraphs.extend(p for p in unwrap_block(piece) if p)
            in_header = in_header and not indented
    return paragraphs


_WEEKDAY = re.compile(r"\b(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?\b\.?,?|\bon\b", re.IGNORECASE)
#: Zone abbreviations the date reader does not know (it would take them for UTC; it reads
#: RFC 822's GMT, UT and the US zones EST/EDT/CST/CDT/MST/MDT/PST/PDT).
_LOCAL_ZONE = re.compile(r"\b(?:CET|CEST|EET|EEST|WET|WEST|BST|IST|MSK|JST|KST|HKT|SGT|AEST|AEDT)\b")
_LEADING_TIME = re.compile(r"^(\d{1,2}:\d{2}(?:\s*[A-Z]{2,4}\b)?)\W*(.+)$")


def _embargo_time(value: str) -> datetime | None:
    """The time an embargo line names, when it names a date and a time that read as one
    ("0001 GMT TUESDAY 12 NOVEMBER 2024": 2024-11-12T00:01Z); None for a weekday or a time
    alone ("4 p.m. EDT Thursday"), or a reading that lost the time of day."""
    text = rules.EMBARGO_HHMM.sub(r"\1:\2", value)
    text = " ".join(_WEEKDAY.sub(" ", text).split())
    leading = _LEADING_TIME.match(text)
    if leading:
        text = f"{leading.group(2)} {leading.group(1)}"  # a date first, then its time
    if _LOCAL_ZONE.search(text):
        return None  # "10:00 CET": read as UTC it would be an hour off
    when = parse_datetime(text)
    clock = re.search(r"\d{1,2}:(\d{2})", text)
    if when is None or clock is None or when.minute != int(clock.group(1)):
        return None
    return when


def parse_text_document(text: str) -> Draft:
    """Turn decoded wire text into a Draft: headline, metadata lines and body paragraphs."""
    removed: list[Removed] = []
    if "``" in text:  # old AP copy quotes ``like this'': plain quotes
        text = text.replace("``", '"').replace("''", '"')
    no_line_rule: set[str] = set()
    paragraphs = split_blocks(text, removed, no_line_rule)
    flash = False
    if paragraphs:
        marker = rules.FLASH_MARKER.match(paragraphs[0])
        if marker and len(paragraphs[0]) > marker.end():
            flash = True
            removed.append(Removed("envelope", marker.group(0).strip()))
            paragraphs[0] = paragraphs[0][marker.end() :]
            if len(paragraphs) > 1 and same_headline(paragraphs[1].lstrip(" *"), paragraphs[0]):
                removed.append(Removed("duplicate_headline", paragraphs.pop(1)))
    short = 0 < len(paragraphs) <= 3  # only a document this short can be a brief
    if short and not [p for p in paragraphs[1:] if not is_signoff(p)] and looks_like_headline(paragraphs[0]):
        if flash or not paragraphs[0].rstrip().endswith(_SENTENCE_END):
            # A flash or brief: a headline and no body (a row with an empty body).
            draft = Draft(paragraphs=[], input_format="text", removed=removed, headline=paragraphs[0].strip())
            removed.extend(Removed("trailer", p) for p in paragraphs[1:])
            return draft
    draft = Draft(paragraphs=[], input_format="text", removed=removed, no_line_rule=no_line_rule)
    consumed: set[int] = set()
    # A note to editors heads the copy: after a paragraph of the text (a sentence of six
    # words or more) an "Editor: Zhang Wei" line is the story's credit (Xinhua's English copy
    # closes so), not the note (until the thirty-third session, a short story's `ednote`).
    text_began = False
    for index, paragraph in enumerate(paragraphs[:8]):
        slug = rules.SLUG_LINE.match(paragraph) if index == 0 and len(paragraph) <= 100 else None
        eds = rules.EDS_LINE.match(paragraph) if slug is None and not text_began and len(paragraph) <= 310 else None
        text_began = text_began or (paragraph.rstrip().endswith(_SENTENCE_END) and len(paragraph.split()) >= 6)
        if slug or (eds and draft.ednote is None):
            if slug:
                draft.slugline = rules.SLUG_ROUTING.sub("", slug.group("slug"))
                lead = rules.TAKE_KEY_VERSION.search(paragraph, slug.end("slug"))
                draft.version = int(lead.group(1)) + 1 if lead else None
            else:
                draft.ednote = eds.group("note").strip() if eds else None
            draft.removed.append(Removed("envelope" if slug else "metadata", paragraph))
            consumed.add(index)
            continue
        embargo = rules.EMBARGO_LINE.match(paragraph) if len(paragraph) <= 120 else None
        if embargo and rules.EMBARGO_TIME.search(paragraph):
            draft.embargoed_until = draft.embargoed_until or _embargo_time(embargo.group("value"))
            draft.removed.append(Removed("metadata", paragraph))
            consumed.add(index)
            continue
        published = rules.PUBLISHED_LINE.match(paragraph)
        when = parse_datetime(published.group("value")) if published else None
        if when is not None and draft.published_at is None:
            draft.published_at = when
            draft.removed.append(Removed("metadata", paragraph))
            consumed.add(index)
    for index, paragraph in enumerate(paragraphs[:6]):
        if index in consumed:
            continue
        if (
            looks_like_headline(paragraph)
            and index < len(paragraphs) - 1
            and not lift_agency_tag(paragraph)
            and not parse_credit_line(paragraph)
        ):
            draft.headline = paragraph
            consumed.add(index)
        break
    draft.paragraphs = [p for i, p in enumerate(paragraphs) if i not in consumed]
    return draft
