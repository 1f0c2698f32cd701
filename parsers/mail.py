"""E-mail (RFC 5322 / MIME): wire copy delivered by mail, one message a file (``.eml``).

Agencies and press-release wires deliver to newsrooms by e-mail, and desks keep such mail
as ``.eml`` files. Read as plain text, a message became a "story" headlined with its ``To:``
header, its body the MIME boundaries and quoted-printable soft breaks.

- headline: the body's own headline (its first block, as for text), else ``Subject`` less
  reply and forward prefixes (``Re:``, ``Fwd:``, ``AW:``, ``WG:``, ``TR:``, ``SV:``, ``VS:``);
- body: the ``text/plain`` part (decoded: quoted-printable, base64, its charset), less the
  header block a client puts above a forwarded message, read as wire text (tags, datelines,
  credits, trailers); else the ``text/html`` part, read as a page;
- published_at: ``Date``; wire_id: ``Message-ID`` without its angle brackets;
- agency: the body's tag, trailer or copyright line (the wire rules), else the ``From``
  address (rules.FEED_AGENCIES).

A message whose text is only in attachments is quarantined ``no_body`` when it reaches this
parser whole (a message named *.eml is split into its attachments by flows.bundles first),
and so is one whose text is a covering note (`is_covering_note`: short, and not opening
with an agency tag or a dateline) beside a file attached that is not read (a PDF, a
spreadsheet, a slide deck, an unknown type): its row was the note ("See attached."), the story being in the file.
Pure: bytes in, a FeedItem out.
"""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.message import EmailMessage, MIMEPart

from parsers.dates import parse_datetime
from parsers.decode import repair_text
from parsers.feeditem import FeedItem
from parsers.mapping import agency_named
from parsers.wire import Draft
from schemas.errors import ParseError
from schemas.story import Removed

#: A header line: a field name (printable ASCII but ":" and space) and a colon.
_HEADER = re.compile(rb"[!-9;-~]{1,76}:")
#: An mbox file's separator line, which a message saved from a mailbox may open with.
_MBOX_FROM = re.compile(rb"From \S+ ")
#: Fields that only e-mail headers hold: with From, a header block is a message's.
_MAIL_FIELDS = frozenset({b"date", b"message-id", b"mime-version", b"received", b"subject", b"return-path"})
#: Reply and forward prefixes of a subject, in the languages mail clients write them.
_SUBJECT_PREFIX = re.compile(r"^(?:\s*(?:re|fwd?|fw|aw|wg|tr|sv|vs|rif|r)\s*(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)
#: The block a mail client puts above a forwarded message: a rule of dashes with words in
#: it ("---------- Forwarded message ---------", "-----Original Message-----", in any
#: language), then the original's header fields, one a line, up to a blank line.
_FORWARDED = re.compile(r"\A\s*-{3,}[^\n]{1,60}?-{3,}[ \t]*\n(?:[^\n:]{1,30}:[^\n]*\n){2,12}\s*\n")
#: How far into an input its header block may run.
HEADER_PEEK_BYTES = 16384
#: A mail's own text shorter than this (characters, stripped) is a covering note, not a
#: story, when files are attached, unless it opens as wire copy does (`is_covering_note`):
#: flows.bundles lists a mail's text as an input of its own beside its story attachments
#: only when it is no covering note.
COVERING_NOTE_MAX = 280


def is_covering_note(text: str) -> bool:
    """Whether a mail's own ``text`` is a covering note ("See attached.") rather than a
    story: shorter than COVERING_NOTE_MAX and not opening as wire copy, with an agency tag
    or a dateline (``LONDON (Reuters) -``, ``BERLIN, Nov 12 -``) read by the wire rules. Until
    the thirty-third session length alone told them, and a flash mailed with a file
    attached was quarantined (a PDF) or not listed at all (a story file)."""
    stripped = text.strip()
    if len(stripped) >= COVERING_NOTE_MAX:
        return False
    from parsers.story import parse_document

    try:
        draft = parse_document(repair_text(stripped.replace("\r\n", "\n")), "text")
    except ParseError:
        return True
    return not any(entry.kind in ("agency_tag", "dateline") for entry in draft.removed)


def looks_like_mail(data: bytes) -> bool:
    """Whether ``data`` opens with an e-mail's header block: every line up to the first
    blank one a header field (or its folded continuation), at least three fields, among
    them ``From`` and one that only mail has (``Date``, ``Message-ID``, ``MIME-Version``,
    ``Received``, ``Subject``, ``Return-Path``). Wire text opens with a headline, whose
    first block is never all fields."""
    head = data[:HEADER_PEEK_BYTES].lstrip(b"\r\n")
    lines = head.split(b"\n")
    if lines and _MBOX_FROM.match(lines[0]):
        lines = lines[1:]
    names: set[bytes] = set()
    for line in lines:
        line = line.rstrip(b"\r")
        if not line:
            break
        if line[:1] in (b" ", b"\t") and names:
            continue  # a folded field's continuation
        field = _HEADER.match(line)
        if field is None:
            return False
        names.add(line[: field.end() - 1].lower())
    else:
        return False  # no blank line: no body, or not a header block at all
    return len(names) >= 3 and b"from" in names and bool(names & _MAIL_FIELDS)


def parse_mail(data: bytes) -> FeedItem:
    """The story an e-mail carries (see the module's table)."""
    from parsers.story import parse_document

    message = message_from_bytes(data, policy=policy.default)
    if not isinstance(message, EmailMessage):  # the default policy makes EmailMessage
        raise ParseError("no_body", "the message could not be read as MIME")
    part = message.get_body(preferencelist=("plain", "html"))
    text = part_text(part) if part is not None else ""
    if not text.strip():
        attached = [name for name in (p.get_filename() for p in message.iter_attachments()) if name]
        detail = "the message has no text part"
        if attached:
            detail += (
                f"; its attachments ({', '.join(attached[:5])}) are read as inputs of their own when the message is "
                "a file named *.eml or in an *.mbox file (text, XML, JSON, HTML, a forwarded message, or a Word, "
                "OpenDocument or RTF document)"
            )
        raise ParseError("no_body", detail)
    unread = _files_not_read(message)
    if unread and is_covering_note(text):
        raise ParseError(
            "no_body",
            f"the message's text is a covering note ({len(text.strip())} characters: {text.strip()[:60]!r}) beside "
            f"files attached ({', '.join(unread[:5])}): a text, XML, JSON, HTML, Word, OpenDocument or RTF file or an "
            "archive attached is read as inputs of its own when the message is a file named *.eml or in an *.mbox "
            "file; a PDF, a spreadsheet or a slide deck is not read (send the story as text)",
        )
    html = part is not None and part.get_content_subtype() == "html"
    if not html:
        text = text.replace("\r\n", "\n")  # an 8bit part keeps the message's CRLF
    forwarded = None if html else _FORWARDED.match(text)
    if forwarded:
        text = text[forwarded.end() :]
    draft: Draft = parse_document(text if html else repair_text(text), "html" if html else "text")
    if forwarded:
        draft.removed.insert(0, Removed("metadata", forwarded.group(0).strip()))
    subject = _SUBJECT_PREFIX.sub("", str(message.get("subject") or "")).strip()
    if not draft.headline and subject:
        draft.headline = subject
    if draft.published_at is None and message.get("date"):
        draft.published_at = parse_datetime(str(message["date"]))
    if draft.agency is None:
        draft.agency = agency_named(str(message.get("from") or ""))
    wire_id = str(message.get("message-id") or "").strip().strip("<>") or None
    return FeedItem(draft, wire_id=wire_id)


def _files_not_read(message: EmailMessage) -> list[str]:
    """The files attached to ``message`` (said to be attachments, by name or type) that are
    no image, sound or video (a photo with its caption, a logo in a signature is no story's
    carrier)."""
    files = []
    for part in message.iter_attachments():
        if part.get_content_disposition() != "attachment" or part.get_content_maintype() in ("image", "audio", "video"):
            continue
        files.append(f"{part.get_filename() or 'unnamed'}: {part.get_content_type()}")
    return files


def part_text(part: MIMEPart) -> str:
    """A text part's text, decoded by its transfer encoding and charset (an unknown or
    wrong charset: its bytes as UTF-8, undecodable ones replaced)."""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError):
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else ""
