"""The parse stage: raw bytes in, a validated-shape Story out. Pure: no I/O."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

from parsers import rules
from parsers.decode import decode_bytes, looks_binary, repair_text, replace_unencodable, sniff_format, xml_root
from parsers.envelope import looks_enveloped, read_envelope
from parsers.feeditem import FeedItem
from parsers.fingerprint import compute_simhash, identity_keys
from parsers.language import detect_language
from parsers.text import parse_text_document
from parsers.wire import Draft, apply_wire_rules
from schemas.errors import ParseError
from schemas.story import Contact, Removed, Story

#: Feed format -> its module and function (imported on first use: plain text never loads lxml).
FEED_FORMATS = {
    "nitf": "parsers.nitf:parse_nitf",
    "newsml-g2": "parsers.newsml:parse_newsml",
    "newsml-1": "parsers.newsml1:parse_newsml1",
    "ninjs": "parsers.ninjs:parse_ninjs",
    "rss": "parsers.webfeed:parse_rss_item",
    "atom": "parsers.webfeed:parse_atom_entry",
}


def parse_feed(data: bytes, input_format: str) -> FeedItem:
    """The feed item of ``data`` in ``input_format`` (one of FEED_FORMATS)."""
    import importlib

    module, _, function = FEED_FORMATS[input_format].partition(":")
    parser: Callable[[bytes], FeedItem] = getattr(importlib.import_module(module), function)
    return parser(data)


DEFAULT_MAX_BYTES = 20 * 1024 * 1024
#: Name endings of tables, which no parser here reads (`unsupported_format`).
_TABLE_SUFFIXES = (".csv", ".tsv")
#: A whole input that is one JSON or JavaScript value and no text.
_BARE_VALUE = re.compile(r"\s*(?:null|undefined|None|true|false|NaN|-?\d+(?:\.\d+)?)\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“‘(])")


def _fallback_headline(paragraphs: list[str]) -> str:
    """First sentence of the body, for inputs that carry no headline of their own."""
    first = _SENTENCE_END.split(paragraphs[0], maxsplit=1)[0]
    return first if len(first) <= 200 else first[:200].rsplit(" ", 1)[0] + "…"


def parse_document(text: str, input_format: str) -> Draft:
    """Run the format parser and the wire rules over decoded, repaired text."""
    if input_format == "html":
        from parsers.html import parse_html_document  # lxml/bs4 only loaded for HTML

        draft = parse_html_document(text)
    else:
        draft = parse_text_document(text)
    return apply_wire_rules(draft)


def scrub_draft(draft: Draft) -> Draft:
    """Every string of ``draft`` made encodable (`replace_unencodable`): metadata such as
    JSON-LD may carry ``\\ud800`` escapes that the text cleaning never saw."""
    fix = replace_unencodable
    draft.headline = fix(draft.headline) if draft.headline else draft.headline
    draft.dateline = fix(draft.dateline) if draft.dateline else draft.dateline
    draft.copyright = fix(draft.copyright) if draft.copyright else draft.copyright
    draft.url = fix(draft.url) if draft.url else draft.url
    draft.standfirst = fix(draft.standfirst) if draft.standfirst else draft.standfirst
    draft.paragraphs = [fix(p) for p in draft.paragraphs]
    draft.byline = [fix(p) for p in draft.byline]
    draft.editors = [fix(p) for p in draft.editors]
    draft.removed = [item if item.text.isascii() else Removed(item.kind, fix(item.text)) for item in draft.removed]
    draft.contacts = [
        Contact(c.role, fix(c.name), fix(c.email) if c.email else None, fix(c.location) if c.location else None)
        for c in draft.contacts
    ]
    return draft


def parse_story(
    data: bytes,
    source_uri: str,
    *,
    default_agency: str | None = None,
    declared_charset: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Story:
    """Parse one raw input into a Story.

    Raises ParseError with a stable ``reason`` (``empty``, ``too_large``, ``binary``,
    ``undecodable``, ``no_body``, ``unsupported_xml``, ...) for inputs that belong in quarantine.

    An input compressed with gzip under a name that does not say so (a crawler's saved HTTP
    body, ``Content-Encoding: gzip``) is read as the document it holds, one level deep
    (`gunzip_document`); its ``source_sha256`` stays that of the bytes as stored.
    """
    if data[:2] == GZIP_MAGIC and len(data) <= max_bytes:  # larger: too_large as stored, not unpacked
        inner = gunzip_document(data, max_bytes)
        story = _parse_story(
            inner, source_uri, default_agency=default_agency, declared_charset=declared_charset, max_bytes=max_bytes
        )
        story.source_sha256 = hashlib.sha256(data).hexdigest()
        return story
    return _parse_story(
        data, source_uri, default_agency=default_agency, declared_charset=declared_charset, max_bytes=max_bytes
    )


GZIP_MAGIC = b"\x1f\x8b"


def gunzip_document(data: bytes, max_bytes: int) -> bytes:
    """The document a gzip stream holds (its members one after another), at most
    ``max_bytes`` of it: more is ``too_large`` (a bomb stops there), a stream cut short or
    corrupt is ``binary``, and so is one holding another compressed file or an archive
    (read one level deep only: name it ``*.gz`` to have its files read as a bundle)."""
    import zlib

    out = bytearray()
    rest = data
    while rest[:2] == GZIP_MAGIC:
        stream = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out += stream.decompress(rest, max_bytes + 1 - len(out))
        except zlib.error as exc:
            raise ParseError(
                "binary", f"a gzip file that cannot be decompressed ({exc}): not a text or HTML story"
            ) from None
        if len(out) > max_bytes:
            raise ParseError("too_large", f"a gzip file decompressing past the {max_bytes}-byte limit (--max-bytes)")
        if not stream.eof:
            raise ParseError("binary", "a gzip file cut short (its stream has no end): not a text or HTML story")
        rest = stream.unused_data
    if rest.strip(b"\x00"):
        raise ParseError("binary", "a gzip file followed by bytes that are no gzip stream: not a text or HTML story")
    if out[:2] == GZIP_MAGIC:
        raise ParseError("binary", "a gzip file inside a gzip file: read one level deep only (name it *.gz)")
    return bytes(out)


def _parse_story(
    data: bytes,
    source_uri: str,
    *,
    default_agency: str | None,
    declared_charset: str | None,
    max_bytes: int,
) -> Story:
    if len(data) > max_bytes:
        raise ParseError("too_large", f"{len(data)} bytes is over the {max_bytes}-byte limit (--max-bytes)")
    if not data.strip():
        raise ParseError("empty", "the input has no content")
    if source_uri.lower().endswith(_TABLE_SUFFIXES):
        # Read as text, a table's header and rows were one story: its headline the first rows.
        raise ParseError(
            "unsupported_format",
            "a CSV or TSV table: its rows are not read as stories; deliver one story a file, or JSON lines "
            "(`*.jsonl`, one ninjs item a line)",
        )
    input_format = sniff_format(data)
    if input_format == "xml":
        from parsers.xmltree import parse_xml

        root = parse_xml(data)  # malformed (a feed's undefined &nbsp;): bad_xml, with the parser's words
        if _is_feed_without_items(root):
            raise ParseError(
                "empty",
                f"an {'Atom' if root.tag.endswith('feed') else 'RSS'} feed with no items (saved while the feed "
                "had none): nothing to ingest; saved again with items, they are read (a rewritten file is read "
                "again)",
            )
        raise ParseError(
            "unsupported_xml",
            f"an XML document whose root element is <{xml_root(data)}>: not NITF, NewsML-G2, NewsML 1, an RSS "
            "item or an Atom entry (nor a page); an RSS or Atom feed is split into its items only as a file named "
            "*.xml, *.rss or *.atom, in the landing zone or in a zip, tar or compressed file (or one inside such "
            "an archive; not deeper)",
        )
    if input_format in FEED_FORMATS:
        item = parse_feed(data, input_format)  # from bytes: an XML declaration is honoured
        # The format the item's parser read (a JSON Feed's item is JSON, read as `jsonfeed`).
        return build_story(item.draft, item, data, source_uri, item.draft.input_format, default_agency)
    if input_format == "email":
        from parsers.mail import parse_mail

        item = parse_mail(data)  # its text part is read as text or as a page, wire rules and all
        return build_story(item.draft, item, data, source_uri, input_format, default_agency, wire_rules_done=True)
    if input_format == "rtf":
        from parsers.rtf import rtf_text

        text = rtf_text(data)  # then read as the wire text it holds
    elif input_format in ("docx", "odt"):
        from parsers.officedoc import office_text

        text = office_text(data, input_format)  # likewise
    else:
        text, _charset = decode_bytes(data, declared_charset)
    if looks_binary(text):
        raise ParseError("binary", "the bytes decode to mostly non-text characters")
    envelope = None
    if input_format == "text" and looks_enveloped(text):
        envelope = read_envelope(text)  # before cleaning: the envelope is made of control characters
        input_format, text = envelope.kind, envelope.text
    # HTML is repaired and cleaned per extracted string (parsers.html); text is cleaned whole.
    if input_format != "html":
        text = repair_text(text)
    if input_format == "text" and len(text) <= 200:
        if _BARE_VALUE.fullmatch(text):  # an API's empty answer saved as a file ("null"): was a brief's row
            raise ParseError("empty", f"the input is the bare value {text.strip()!r}, no story: an empty answer saved")
        answer = rules.error_response_body(text)
        if answer is not None:  # "404 page not found", "Service Unavailable": was a brief's row
            raise ParseError(
                "error_page",
                f"the input is a server's error response ({answer!r}), not a story: the source did not answer "
                "with the story when it was fetched; fetch it again (a rewritten file is read again)",
            )
    draft = parse_document(text, "html" if input_format == "html" else "text")
    feed = None
    if envelope is not None:
        draft.removed[:0] = envelope.removed
        draft.agency = envelope.agency or draft.agency
        feed = FeedItem(
            draft,
            wire_id=envelope.wire_id,
            version=envelope.version,
            slugline=envelope.slugline,
            urgency=envelope.urgency,
            category=envelope.category,
            ednote=envelope.ednote,
        )
    return build_story(draft, feed, data, source_uri, input_format, default_agency, wire_rules_done=True)


def _is_feed_without_items(root: Any) -> bool:
    """Whether the XML document ``root`` is an RSS or Atom feed holding no item: a feed read at
    a moment it had none (was `unsupported_xml`, whose advice, to name it ``*.xml``, it
    often followed already)."""
    name = str(root.tag).rsplit("}", 1)[-1]
    if name not in ("rss", "feed", "RDF"):
        return False
    return not any(str(e.tag).rsplit("}", 1)[-1] in ("item", "entry") for e in root.iter() if isinstance(e.tag, str))


def build_story(
    draft: Draft,
    feed: FeedItem | None,
    data: bytes,
    source_uri: str,
    input_format: str,
    default_agency: str | None,
    *,
    wire_rules_done: bool = False,
) -> Story:
    """The Story of a parsed draft (and the wire fields of its envelope or feed item)."""
    if not wire_rules_done:
        draft = apply_wire_rules(draft)
    draft = scrub_draft(draft)
    paragraphs = [p for p in draft.paragraphs if p.strip()]
    if not paragraphs and not (input_format != "html" and draft.headline):
        raise ParseError("no_body", "no article text was found after removing boilerplate")
    # A brief (a flash, a one-line item: headline and no body) is a row with an empty body.
    body = "\n\n".join(paragraphs)
    headline = draft.headline or _fallback_headline(paragraphs)
    agency = draft.agency or default_agency or "unknown"
    story_id, body_sha256, word_count = identity_keys(agency, headline, body)
    story = Story(
        story_id=story_id,
        agency=agency,
        headline=headline,
        body=body,
        paragraphs=paragraphs,
        word_count=word_count,
        language=detect_language(body, draft.language, headline),
        input_format=input_format,
        content_sha256=body_sha256,
        simhash=compute_simhash(body),
        source_uri=source_uri,
        source_sha256=hashlib.sha256(data).hexdigest(),
        dateline=draft.dateline,
        byline=draft.byline,
        editors=draft.editors,
        contacts=draft.contacts,
        published_at=draft.published_at,
        copyright=draft.copyright,
        copyright_year=draft.copyright_year,
        removed=draft.removed,
        url=draft.url,
        standfirst=draft.standfirst,
    )
    story.version, story.pubstatus = version_label(headline)  # a feed's own values win below
    story.version = draft.version or story.version
    story.embargoed_until = draft.embargoed_until
    story.slugline, story.ednote = draft.slugline, draft.ednote
    if feed is not None:
        label_version, label_status = story.version, story.pubstatus
        story.wire_id, story.version = feed.wire_id, feed.version or label_version
        story.slugline = feed.slugline or draft.slugline
        story.urgency, story.category, story.subjects = feed.urgency, feed.category, feed.subjects
        story.ednote, story.pubstatus, story.embargoed_until = (
            feed.ednote or draft.ednote,
            feed.pubstatus or label_status,
            feed.embargoed_until or draft.embargoed_until,
        )
        story.thread_id = thread_of(agency, feed, input_format)
    return story


def version_label(headline: str) -> tuple[int | None, str | None]:
    """(version, pubstatus) a headline's label says: "UPDATE 2-..." is version 3,
    "CORRECTED-..." version 2, "KILL: ..." canceled (rules.VERSION_LABELS)."""
    for pattern, add, status, _example in rules.VERSION_LABELS:
        match = pattern.match(headline)
        if match:
            version = int(match.group(1)) + add if match.groups() else add
            return version or None, status
    return None, None


def thread_of(agency: str, feed: FeedItem, input_format: str) -> str | None:
    """One id for every version of a story: the feed's item id, which its versions share
    (NewsML-G2 guid, ninjs uri, NITF doc-id); for ANPA, whose sequence number changes with
    every take, the slug (later versions keep it); the same for IPTC 7901's keyword line."""
    if input_format in ("anpa", "iptc7901"):
        return f"{agency}:{feed.slugline}" if feed.slugline else None
    return f"{agency}:{feed.wire_id}" if feed.wire_id else None
