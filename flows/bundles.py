"""Bundles: one file that holds many inputs (zip, tar, tar.gz / tar.bz2 / tar.xz, a single-file
.gz / .bz2 / .xz, JSON lines, an mbox file of e-mails,
a NewsML-G2 ``newsMessage`` or package holding several ``newsItem`` elements, an RSS or Atom
feed, RSS 1.0 included); inside a zip, tar or compressed file, a message, feed or JSON-lines
member is listed as its items (``day.zip#a/msg.xml#newsItem[<id>]``), and an archive as its
members (``day.tar#09.zip#a.txt``: one level down; an archive inside that one is not
opened).

Each member is an input of its own, keyed ``<bundle key>#<member>`` (a JSON-lines file's
lines are ``line[<hash of its bytes>]``, an mbox file's messages ``message[<hash of its
Message-ID>]``, a NewsML-G2 or NewsML 1 message's items ``newsItem[<id>]`` or
``NewsItem[<id>]``, a feed's ``item[<id>]`` or ``entry[<id>]``), so each goes
through the ledger exactly once and a corrupt
member costs only itself. The bomb limits (members, total uncompressed bytes, compression
ratio) are checked from the archive's own directory before anything is extracted, and again
while a member is read; a bundle past one is quarantined whole with the limit it hit.
Pure: bytes in, names and bytes out.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import json
import lzma
import re
import tarfile
import zipfile
from collections.abc import Callable, Container
from dataclasses import dataclass
from typing import Any, Literal

from schemas.errors import InputError, ParseError

#: File name endings that make a key a bundle (checked against its bytes when read);
#: .anpa, .iptc and .cap name a feed's capture (wire transmissions back to back).
BUNDLE_SUFFIXES: tuple[str, ...] = (
    *(".zip", ".tar", ".tgz", ".gz", ".tbz2", ".tbz", ".bz2", ".txz", ".xz", ".jsonl", ".ndjson", ".mbox"),
    *(".anpa", ".iptc", ".cap"),
)
#: Compressed streams: (magic number, single-file kind, name endings of a compressed tar).
_COMPRESSED = (
    (b"\x1f\x8b", "gz", (".tgz", ".tar.gz")),
    (b"BZh", "bz2", (".tbz2", ".tbz", ".tar.bz2")),
    (b"\xfd7zXZ\x00", "xz", (".txz", ".tar.xz")),
)
_DECOMPRESSORS: dict[str, Callable[[io.BytesIO], Any]] = {
    "gz": lambda raw: gzip.GzipFile(fileobj=raw),
    "bz2": bz2.BZ2File,
    "xz": lzma.LZMAFile,
}
MEMBER_SEPARATOR = "#"


@dataclass(frozen=True)
class BundleLimits:
    """Bomb limits of one bundle (``--bundle-max-members``, ``--bundle-max-mb``, ``--bundle-max-ratio``)."""

    max_members: int = 100_000
    max_bytes: int = 2 * 1024**3  # total uncompressed
    max_ratio: float = 200.0  # uncompressed / compressed, for the bundle as a whole

    def check(self, members: int, total: int, compressed: int, what: str) -> None:
        if members > self.max_members:
            raise InputError(
                "bundle_too_large", f"{what} has {members} members, over --bundle-max-members {self.max_members}"
            )
        if total > self.max_bytes:
            raise InputError(
                "bundle_too_large",
                f"{what} unpacks to {total:,} bytes, over --bundle-max-mb {self.max_bytes // 1024**2}",
            )
        if compressed and total / compressed > self.max_ratio and total > 1024**2:
            raise InputError(
                "bundle_bomb",
                f"{what} unpacks {total / compressed:.0f}x its size, over --bundle-max-ratio {self.max_ratio:g}",
            )


#: A message member: a NewsML-G2 or NewsML 1 message's item by its id (`_news_item_id`), or
#: by its place (``newsItem[2]``, 1-based: the names before the thirty-first session); a
#: feed's ``item`` (RSS) or ``entry`` (Atom) by its id (`_item_id`); an e-mail's parts.
MESSAGE_MEMBER = re.compile(
    r"(?:newsItem|NewsItem)\[(?:\d+|[0-9a-f]{16}(?:-\d+)?)\]|(?:item|entry)\[[0-9a-f]{16}(?:-\d+)?\]"
    r"|body|attachment\[\d+\]|archive\[\d+\](?:#.+)?"
)
#: Root elements of documents that may hold several items: NewsML-G2 messages and packages,
#: RSS and Atom feeds.
_MESSAGE_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:newsMessage|packageItem|NewsML|rss|feed|RDF)[\s>/]")
#: File name endings of files that may hold several items (their head decides): XML
#: messages and feeds, e-mails with attachments, JSON documents that list items.
MESSAGE_SUFFIXES = (".xml", ".rss", ".atom", ".eml", ".json")
#: Bytes of an XML file looked at to tell a message from a single item.
MESSAGE_PEEK_BYTES = 4096


#: Items of a news message (NewsML-G2's, NewsML 1's), named by their ids (`_news_item_id`).
_MESSAGE_ITEMS = frozenset({"newsItem", "NewsItem"})
#: A news message's item named by its place, as before the thirty-first session.
_PLACED_ITEM = re.compile(r"(?:newsItem|NewsItem)\[(\d+)\]")


#: Name endings of files that tools write while a transfer is in progress and rename when it
#: is complete (curl, wget and browsers' ``.part``, WinSCP's ``.filepart``, Chrome's
#: ``.crdownload``, ``.partial``, ``.tmp``/``.temp``, ``.download``), as the tools write
#: them (lower case: a case-blind test cost twice as much over a million keys).
IN_PROGRESS_SUFFIXES = (".part", ".filepart", ".crdownload", ".partial", ".tmp", ".temp", ".download")
#: Files an operating system leaves beside the ones a delivery holds (Windows' thumbnail
#: caches and folder settings; macOS's ``.DS_Store`` and ``__MACOSX/`` are hidden names).
OS_FILES = frozenset({"Thumbs.db", "ehthumbs.db", "desktop.ini", "Desktop.ini"})


def junk_name(key: str) -> bool:
    """Whether ``key`` names a transfer in progress or an operating system's file: never an
    input. Read, a half-sent ``story.txt.part`` became a truncated row (and the renamed
    ``story.txt`` a second one), and a ``Thumbs.db`` a quarantine entry."""
    return key.endswith(IN_PROGRESS_SUFFIXES) or key.rsplit("/", 1)[-1] in OS_FILES


def _not_a_member(name: str) -> bool:
    """An archive member that is no input, by the landing zone's rules for names: under a
    hidden name (``.DS_Store``, a macOS zip's ``__MACOSX/._story.txt`` resource forks), or a
    `junk_name`. Each was a quarantine entry (``binary``) per member of every such delivery."""
    return any(part[:1] in "._" for part in name.split("/")) or junk_name(name)


def is_bundle(key: str) -> bool:
    """Whether ``key`` names a bundle (by its ending; its bytes confirm it when read), not
    a member of one. A "#" in a file's own name (``desk#1.zip``) does not make it a member:
    such a zip was quarantined ``binary`` whole."""
    return key.lower().endswith(BUNDLE_SUFFIXES) and (MEMBER_SEPARATOR not in key or split_member(key) is None)


def may_be_message(key: str) -> bool:
    """Whether ``key`` may be a NewsML-G2 message or a web feed (an XML file; its head
    decides), not a member of a bundle (``desk#2.xml`` may be one; ``day.zip#a.xml`` is not)."""
    return key.lower().endswith(MESSAGE_SUFFIXES) and (MEMBER_SEPARATOR not in key or split_member(key) is None)


def is_message_head(head: bytes) -> bool:
    """Whether the first bytes of an XML file open a ``newsMessage``, ``packageItem``, or an
    RSS or Atom feed (in UTF-16 or UTF-32 too: ``parsers.decode.narrow``); of an e-mail say
    it has parts (``multipart``: it may carry attachments); or of a JSON document open a list
    of objects or may hold an ``items`` list."""
    from parsers.decode import narrow

    if _MULTIPART.search(head[:MESSAGE_PEEK_BYTES]):
        return True
    narrowed = narrow(head, MESSAGE_PEEK_BYTES)[:MESSAGE_PEEK_BYTES]
    return _MESSAGE_ROOT.search(narrowed) is not None or _JSON_LIST_HEAD.match(narrowed) is not None


#: The head of a JSON document that may list items: a list of objects, or an object with an
#: ``items`` list (AP's media API feed: ``{"api_version": ..., "data": {"items": [...``).
_JSON_LIST_HEAD = re.compile(rb'(?:\xef\xbb\xbf)?\s*(?:\[\s*[{\]]|\{.*"items"\s*:\s*\[)', re.DOTALL)


#: An e-mail's header naming a message of several parts.
_MULTIPART = re.compile(rb"^content-type:\s*multipart/", re.IGNORECASE | re.MULTILINE)


def split_member(key: str) -> tuple[str, str] | None:
    """``(bundle key, member)`` for a member key, else None. The bundle is the shortest
    prefix ending before a "#" that names a bundle (or a message, followed by an item's
    name): a "#" in a folder's or a file's own name (``2024#47/desk#1.zip``) is not a
    member separator; one inside a member's name stays in the member."""
    at = key.find(MEMBER_SEPARATOR)
    while at != -1:
        base, member = key[:at], key[at + 1 :]
        if member and (is_bundle(base) or (may_be_message(base) and MESSAGE_MEMBER.fullmatch(member))):
            return base, member
        at = key.find(MEMBER_SEPARATOR, at + 1)
    return None


def containers_of(key: str) -> list[str]:
    """The bundles a member key is inside, outermost first (``desk.eml#archive[1]#a.txt``:
    ``desk.eml``, ``desk.eml#archive[1]``); none for a key that is no member."""
    member = split_member(key)
    if member is None:
        return []
    found = [member[0]]
    at = key.find(MEMBER_SEPARATOR, len(member[0]) + 1)
    while at != -1:
        found.append(key[:at])
        at = key.find(MEMBER_SEPARATOR, at + 1)
    return found


def _item_name(root: Any) -> str:
    """What a document's items are called: ``item`` in an RSS feed, ``entry`` in an Atom
    feed, ``newsItem`` in a NewsML-G2 message or package."""
    from parsers.xmltree import local

    return {"rss": "item", "RDF": "item", "feed": "entry", "NewsML": "NewsItem"}.get(local(root.tag), "newsItem")


def _item_id(item: Any) -> str:
    """A feed item's id as 16 hex digits, from its RSS ``guid`` or Atom ``id``, else its link,
    else its bytes. A feed's members are named by it (``item[3f2a...]``), not by position: a
    feed rewritten in place puts new items first and drops the oldest, and a member keyed by
    position would then name another story, whose row would replace the first's."""
    from lxml import etree

    from parsers.xmltree import local

    ident = None
    for child in item:
        name = local(child.tag)
        if name in ("guid", "id") and (child.text or "").strip():
            ident = str(child.text).strip()
            break
        if name == "link" and ident is None:
            ident = str(child.get("href") or child.text or "").strip() or None
    if ident is None:
        ident = etree.tostring(item, encoding="unicode")
    return hashlib.sha256(ident.encode("utf-8", "replace")).hexdigest()[:16]


def _news_item_id(item: Any) -> str:
    """A news message's item's id as 16 hex digits: a NewsML-G2 ``newsItem``'s ``guid`` and
    ``version``, a NewsML 1 ``NewsItem``'s ``PublicIdentifier`` (its provider, date, item and
    revision ids without one; its ``Duid`` without those), else its bytes. A message's
    items were named by their place until the thirty-first session (``newsItem[2]``, at the
    message's revision): a message file rewritten in place without its first item shifted
    every name, each next item was taken for a rewrite of the one before it, and the first
    item's story was removed from the dataset. The version is part of the id: an item sent
    again at its next version is a new story (a row beside the first, linked by thread_id,
    as when each version comes in a file of its own), not a rewrite of the first."""
    from lxml import etree

    from parsers.xmltree import local

    ident = None
    guid = (item.get("guid") or "").strip()
    if guid:
        version = (item.get("version") or "").strip()
        ident = f"{guid} {version}" if version else guid
    else:
        named: dict[str, str] = {}
        for element in item.iter():  # the first of each name (an item's own Identification)
            if isinstance(element.tag, str):
                named.setdefault(local(element.tag), (element.text or "").strip())
        if named.get("PublicIdentifier"):
            ident = named["PublicIdentifier"]
        elif named.get("NewsItemId"):
            parts = ("ProviderId", "DateId", "NewsItemId", "RevisionId")
            ident = ":".join(named.get(part, "") for part in parts)
        elif (item.get("Duid") or "").strip():
            ident = item.get("Duid").strip()
    if ident is None:
        ident = etree.tostring(item, encoding="unicode")
    return hashlib.sha256(ident.encode("utf-8", "replace")).hexdigest()[:16]


def _members_of(root: Any) -> dict[str, Any]:
    """A message's or feed's items by member name, in document order."""
    from parsers.xmltree import find_all

    kind = _item_name(root)
    name_of = _news_item_id if kind in _MESSAGE_ITEMS else _item_id
    members: dict[str, Any] = {}
    for item in find_all(root, kind):
        members[_unique(f"{kind}[{name_of(item)}]", members, bracketed=True)] = item
    return members


def _unique(name: str, taken: Container[str], *, bracketed: bool) -> str:
    """``name``, or, when ``taken`` holds it, its first free numbering from 2 on: inside the
    brackets of an item's name (``item[3f2a...-2]``: two items with one id, told apart by
    their order), after an archive entry's (``a.txt (2)``: a name a zip holds twice)."""
    copy, unique = 1, name
    while unique in taken:
        copy += 1
        unique = f"{name[:-1]}-{copy}]" if bracketed else f"{name} ({copy})"
    return unique


def message_items(name: str, data: bytes, limits: BundleLimits) -> tuple[list[str], dict[str, str]]:
    """The members of a NewsML-G2 or NewsML 1 message (``newsItem[<id>]``, `_news_item_id`;
    empty for one item or none: such a file is one input, parsed as itself) or of a web feed
    (``item[<id>]`` for RSS, ``entry[<id>]`` for Atom, even for one item: a feed is never a
    story itself), and, from the same parse, the items' own revisions (``item:`` and 16 hex
    digits of the item's bytes). A feed or a message rewritten in place keeps most of its
    items as they were: with these, planning takes again only the items that changed, where
    the whole file's new revision made every item a rewritten input (a ledger entry each,
    every run)."""
    from lxml import etree

    from parsers.xmltree import parse_xml

    try:
        root = parse_xml(data)
    except ParseError:
        return [], {}  # parsed as itself, it is quarantined bad_xml with the parser's words
    members = _members_of(root)
    feed = _item_name(root) not in _MESSAGE_ITEMS
    if len(members) < (1 if feed else 2):
        return [], {}
    limits.check(len(members), len(data), 0, name)
    # An item is revised without the whitespace after it (its tail), which depends on where
    # it stands: a message's item that moved up when the first went, or a feed's that became
    # the last when the oldest dropped out, is the item it was. With it (until the
    # thirty-first session), a feed's item was read again and its row rewritten each time
    # it became the last.
    revisions = {
        member: "item:" + hashlib.sha256(etree.tostring(item, with_tail=False)).hexdigest()[:16]
        for member, item in members.items()
    }
    return list(members), revisions


def member_revisions(name: str, data: bytes, limits: BundleLimits | None = None) -> dict[str, str]:
    """The own revisions of a feed's items (`message_items`) or of a JSON-lines or mbox
    file's lines or messages (`_keyed_parts`) by member name; empty for anything else (a
    member of an archive or message is at its bundle's revision), and for a file that
    cannot be listed."""
    if not has_own_revisions(name):
        return {}
    try:
        return list_members_and_revisions(name, data, limits or BundleLimits())[1]
    except InputError:  # past a bomb limit: its members are not inputs
        return {}


def has_own_revisions(name: str) -> bool:
    """Whether the members of ``name`` may have revisions of their own (`member_revisions`)."""
    lowered = name.lower()
    if may_be_message(name):
        return not lowered.endswith(".eml")
    return lowered.endswith((".jsonl", ".ndjson", ".mbox")) and is_bundle(name)


def _message_items(name: str, data: bytes) -> dict[str, Any]:
    """A message's items (or a feed's) by member name, parsed once for all of its members."""
    from parsers.xmltree import parse_xml

    try:
        root = parse_xml(data)
    except ParseError as exc:
        raise InputError("bad_bundle", f"{name} is no longer well-formed XML: {exc.detail}") from exc
    return _members_of(root)


def _message_item(name: str, items: dict[str, Any], member: str) -> bytes:
    from lxml import etree

    from parsers.xmltree import local

    item = items.get(member)
    placed = _PLACED_ITEM.fullmatch(member) if item is None else None
    if placed and 1 <= int(placed.group(1)) <= len(items):
        # A name from before the thirty-first session (an item by its place: a quarantine
        # entry replayed): read as it was then.
        item = list(items.values())[int(placed.group(1)) - 1]
    if item is None:
        raise InputError("bad_bundle_member", f"{name} has no {member} (it holds {len(items)} items)")
    lang = "{http://www.w3.org/XML/1998/namespace}lang"
    if item.get(lang) is None:
        inherited = next((e.get(lang) for e in item.iterancestors() if e.get(lang)), None)
        # An RSS channel names its language in an element, not an attribute (RSS 2.0: the
        # item's parent; RSS 1.0: `dc:language` of the channel beside the items).
        parent = item.getparent()
        if inherited is None and parent is not None:
            holders = [parent, *(c for c in parent if local(c.tag) == "channel")]
            inherited = next(
                (str(c.text).strip() for h in holders for c in h if local(c.tag) == "language" and c.text), None
            )
        if inherited:
            item.set(lang, inherited)
    # A message's item without its tail (see `message_items`); a feed's item with it, as its
    # bytes were before (its source_sha256: an item unchanged is then kept as it was).
    with_tail = local(item.tag) not in _MESSAGE_ITEMS
    document: bytes = etree.tostring(item, encoding="UTF-8", xml_declaration=True, with_tail=with_tail)
    return document


def _kind(name: str, data: bytes) -> str:
    lowered = name.lower()
    if lowered.endswith(".json"):
        return "json"
    if may_be_message(name):
        return "eml" if lowered.endswith(".eml") else "newsml"
    if lowered.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if lowered.endswith(".mbox"):
        return "mbox"
    if lowered.endswith(_CAPTURE_SUFFIXES):
        return "capture"
    if data[:4] == b"PK\x03\x04" or data[:4] == b"PK\x05\x06":
        return "zip"
    for magic, single, tars in _COMPRESSED:
        if data.startswith(magic):
            return f"tar.{single}" if lowered.endswith(tars) else single
    if len(data) > 262 and data[257:262] == b"ustar":
        return "tar"
    raise InputError(
        "bad_bundle", f"{name} is named like a bundle but is no zip, tar, gzip, bzip2, xz or JSON-lines file"
    )


_TAR_MODES: dict[str, Literal["r:", "r:gz", "r:bz2", "r:xz"]] = {
    "tar": "r:",
    "tar.gz": "r:gz",
    "tar.bz2": "r:bz2",
    "tar.xz": "r:xz",
}


def _open_tar(data: bytes, kind: str) -> tarfile.TarFile:
    return tarfile.open(fileobj=io.BytesIO(data), mode=_TAR_MODES[kind])


def _single_name(name: str) -> str:
    """A single compressed file's one member: its name less the compression's ending."""
    base = name.rsplit("/", 1)[-1]
    for _magic, single, _tars in _COMPRESSED:
        if base.lower().endswith("." + single):
            return base[: -len(single) - 1] or "member"
    return "member"


def list_members(name: str, data: bytes, limits: BundleLimits) -> list[str]:
    """The members of the bundle ``name`` (its bytes ``data``), after the bomb checks."""
    return list_members_and_revisions(name, data, limits)[0]


def list_members_and_revisions(
    name: str, data: bytes, limits: BundleLimits, *, inside: bool = False
) -> tuple[list[str], dict[str, str]]:
    """`list_members`, with the members that have revisions of their own (a feed's items:
    `message_items`) read from the same parse. ``inside``: the bundle is inside an archive
    that is itself inside one (the archives attached to its e-mails are not opened)."""
    kind = _kind(name, data)
    if kind == "newsml":
        return message_items(name, data, limits)
    if kind == "eml":
        return _mail_members(name, data, limits, open_archives=not inside), {}
    if kind in ("jsonl", "mbox", "json", "capture"):
        try:
            parts = _keyed_parts(kind, data)
        except Exception as exc:  # in memory: the file's own fault
            raise InputError("bad_bundle", f"{name} cannot be read as a {kind} bundle: {exc}") from exc
        limits.check(len(parts), len(data), 0, name)
        revisions = {member: revision for member, (_, revision) in parts.items()}
        if kind == "mbox":
            revisions = _mailbox_members(name, parts, revisions, limits, open_archives=not inside)
            limits.check(len(revisions), len(data), 0, name)
        return list(revisions), revisions
    return _archive_members(name, data, limits, kind), {}


#: What a message that may carry attachments holds somewhere in its bytes: a multipart
#: other than alternatives, a forwarded message, or a part said to be an attachment.
_MAY_ATTACH = re.compile(rb"multipart/(?!alternative)|message/rfc822|attachment", re.IGNORECASE)


def _mailbox_members(
    name: str,
    parts: dict[str, tuple[bytes, str]],
    revisions: dict[str, str],
    limits: BundleLimits,
    *,
    open_archives: bool = True,
) -> dict[str, str]:
    """An mbox file's members with its messages that carry stories as attachments listed as
    those (``message[<16 hex>]#attachment[2]``, and ``#body`` for a story's worth of the
    mail's own text), as a ``*.eml`` file's are, each at its message's revision. Until the
    thirty-first session such a message was one input whose text was its covering note:
    ``no_body``, its attached stories not read."""
    members: dict[str, str] = {}
    for member, revision in revisions.items():
        piece = parts[member][0]
        # Parsing a message costs ~0.6 ms; one with no part but text (or text and HTML
        # alternatives) cannot carry an attachment, and is told so by a scan of its bytes.
        may_attach = _MAY_ATTACH.search(piece) is not None
        inner = (
            _mail_members(f"{name}{MEMBER_SEPARATOR}{member}", piece, limits, open_archives=open_archives)
            if may_attach
            else []
        )
        for sub in inner:
            members[f"{member}{MEMBER_SEPARATOR}{sub}"] = revision
        if not inner:  # no story attached: the message is one input, itself
            members[member] = revision
    return members


def _keyed_parts(kind: str, data: bytes) -> dict[str, tuple[bytes, str]]:
    """A JSON-lines file's lines or an mbox file's messages by member name, in file order,
    each with its own revision. A line is named by its bytes (``line[<16 hex>]``), a
    message by its Message-ID (``message[<16 hex>]``; by its bytes without one), a name
    met twice numbered from its second on (``line[<16 hex>-2]``), and each is at the
    revision of its bytes (a JSON document's items: `_json_items`). Numbered by position
    (``items.jsonl#3``) until the thirtieth session, a file that lost its first lines or
    messages (a spool expunged, a log trimmed) shifted every name: each next line was taken
    for a rewrite of the one before it, and the story of the first was removed from the
    dataset with nothing to replace it."""
    if kind == "json":
        return _json_items(data)
    parts: dict[str, tuple[bytes, str]] = {}
    if kind == "capture":
        # A transmission is named and revised by its bytes up to its ETX: what follows (a
        # time signature, the next one's preamble) may change as the capture grows.
        for piece in _transmissions(data):
            end = piece.find(b"\x03")
            identity = piece[: end + 1] if end >= 0 else piece
            name = _unique(f"transmission[{hashlib.sha256(identity).hexdigest()[:16]}]", parts, bracketed=True)
            parts[name] = (piece, f"transmission:{hashlib.sha256(identity).hexdigest()[:16]}")
        return parts
    if kind == "jsonl":
        pieces = [("line", line, line.strip()) for line in _lines(data) if line.strip()]
    else:
        pieces = []
        for message in _mbox_messages(data):
            text = message.split(b"\n", 1)[1] if message.startswith(b"From ") and b"\n" in message else message
            found = _MESSAGE_ID.search(text.split(b"\n\n", 1)[0].split(b"\n\r\n", 1)[0])
            pieces.append(("message", message, found.group(1) if found else text))
    for prefix, piece, identity in pieces:
        name = _unique(f"{prefix}[{hashlib.sha256(identity).hexdigest()[:16]}]", parts, bracketed=True)
        parts[name] = (piece, f"{prefix}:{hashlib.sha256(piece).hexdigest()[:16]}")
    return parts


#: A feed's capture file: wire transmissions (ANPA-1312, IPTC 7901) back to back, as a
#: receiver or a serial line logs them. Named so, it is split into them; any other text
#: file holding several is quarantined ``multi_item`` saying so (read as one story, every
#: transmission after the first was its envelope trailer until the thirty-second session).
_CAPTURE_SUFFIXES = (".anpa", ".iptc", ".cap")


def _transmissions(data: bytes) -> list[bytes]:
    """A capture's transmissions, each from its header (SYN SYN SOH ..., or a ZCZC line) to the next one's;
    what comes before the first header (a receiver's preamble) goes with the first. A
    capture with no transmission header is one piece, itself (read, it says what it is)."""
    from parsers.envelope import transmission_starts

    starts = transmission_starts(data)
    if not starts:
        return [data] if data.strip() else []
    starts[0] = 0
    return [data[a:b] for a, b in zip(starts, [*starts[1:], len(data)], strict=True)]


def _json_items(data: bytes) -> dict[str, tuple[bytes, str]]:
    """The items a JSON document lists (`parsers.ninjs.listed_items`: a top-level list, or
    ``items`` / ``data.items``) by member name, each as its own JSON document with its own
    revision; empty for a document that lists none (it is one input, itself). Named as a
    feed's items are, by id (``item[<16 hex>]`` of the item's ``uri``, ``guid`` or ``id``,
    else of its JSON), so an API page saved over the last one names its items as before.
    Before the thirtieth session such a list was read as wire text: one story whose
    headline and body were the JSON."""
    from parsers.feeditem import load_json
    from parsers.ninjs import listed_items

    document = load_json(data)  # as the parser reads it: UTF-16/32 decoded, deep nesting refused
    items = listed_items(document)
    # A feed's language (a JSON Feed's top-level `language`) is its items', unless they name
    # their own, as an RSS channel's is.
    language = document.get("language") if isinstance(document, dict) else None
    parts: dict[str, tuple[bytes, str]] = {}
    for item in items or ():
        if isinstance(language, str) and language and isinstance(item, dict) and "language" not in item:
            item = {**item, "language": language}
        piece = json.dumps(item, ensure_ascii=False).encode("utf-8")
        ident = next((str(item[k]) for k in ("uri", "guid", "id") if isinstance(item, dict) and item.get(k)), None)
        name = _unique(
            f"item[{hashlib.sha256(ident.encode() if ident else piece).hexdigest()[:16]}]", parts, bracketed=True
        )
        parts[name] = (piece, "item:" + hashlib.sha256(piece).hexdigest()[:16])
    return parts


#: A message's Message-ID header (its value, folded onto the next line or not).
_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(?:\r?\n[ \t]+)?(\S+)", re.IGNORECASE | re.MULTILINE)


#: Attachments that may be stories: text, XML (NITF, NewsML), JSON (ninjs), HTML, a
#: forwarded message, and a word processor's document (Word, OpenDocument text, RTF: read
#: since the thirty-first session); an image, a PDF, a spreadsheet or a slide deck is none.
#: (Whole types: as a prefix, ``[\w.+-]*xml`` took a spreadsheet's
#: ``application/vnd.openxmlformats-...`` for XML.)
_STORY_ATTACHMENT = re.compile(
    r"text/[\w.+-]+|message/rfc822|application/(?:[\w.+-]*xml|[\w.+-]*json|rtf"
    r"|vnd\.openxmlformats-officedocument\.wordprocessingml\.document|vnd\.oasis\.opendocument\.text)"
)
#: A document attached under a generic type (``application/octet-stream``, as many mailers
#: send what they do not know), told by its file name.
_STORY_DOCUMENT_NAME = (".docx", ".odt", ".rtf")


def _may_be_story(part: Any) -> bool:
    if _STORY_ATTACHMENT.fullmatch(part.get_content_type()):
        return True
    name = (part.get_filename() or "").lower()
    return part.get_content_type() == "application/octet-stream" and name.endswith(_STORY_DOCUMENT_NAME)


#: Attachments that are archives (a desk mails a day's stories zipped) by their type; by
#: their name's ending, under any type, an archive, a feed's capture or a JSON-lines file
#: (`_BUNDLE_ATTACHMENT_SUFFIXES`): each is listed as its members, not read as one story.
_ARCHIVE_ATTACHMENT = re.compile(
    r"application/(?:x-)?(?:zip|zip-compressed|gzip|gtar|tar|compressed-tar|bzip2|xz|compressed)"
)


def _bundle_attachment(part: Any) -> bool:
    if (part.get_filename() or "").lower().endswith(_BUNDLE_ATTACHMENT_SUFFIXES):
        return True
    return _ARCHIVE_ATTACHMENT.fullmatch(part.get_content_type()) is not None


def _attached_archive_name(label: str, part: Any) -> str:
    """What an archive attached to an e-mail is opened as: ``archive[1]/stories.tar.gz``
    (the file name tells a gzipped tar from a gzipped file, and names a gzipped file's one
    member), unique in its message."""
    base = (part.get_filename() or "").replace("\\", "/").rsplit("/", 1)[-1].replace(MEMBER_SEPARATOR, "_")
    return f"{label}/{base or 'attachment'}"


def _attachments(data: bytes) -> tuple[Any, list[Any]]:
    """An e-mail and its attachments that may be stories, in message order."""
    from email import message_from_bytes, policy

    message = message_from_bytes(data, policy=policy.default)
    parts = [p for p in message.iter_attachments() if _may_be_story(p) and not _bundle_attachment(p)]
    return message, parts


def _archive_attachments(message: Any) -> list[Any]:
    """An e-mail's attachments that are archives, captures or JSON-lines files
    (`_bundle_attachment`), in message order."""
    return [p for p in message.iter_attachments() if _bundle_attachment(p)]


def _mail_members(name: str, data: bytes, limits: BundleLimits, *, open_archives: bool = True) -> list[str]:
    """An e-mail's inputs when it carries stories as attachments (an agency's NITF file, a
    release as text): each such attachment (``attachment[n]``), and the mail's own text
    (``body``) when it is a story, not a covering note (`parsers.mail.is_covering_note`:
    short and not opening with an agency tag or a dateline; imported here, not at module
    level, as planning imports no parser). None attached: [] (the message is one input, itself). Before, text only in
    attachments was ``no_body``, and the attached stories were not read.

    An archive attached (``archive[n]``, numbered among the archives) is listed as its
    members (``archive[1]#a.txt``), its messages and feeds split, as one in the landing
    zone is, one level down (an archive inside it is not opened); one that cannot be listed
    or is past a limit, or any when ``open_archives`` is false (the mail is itself inside an
    archive), is one input that says why when read. Until the thirty-second session such a
    mail was one input, its covering note ("See attached.") a story row, and the stories in
    the archive were not read."""
    from parsers.mail import is_covering_note, part_text

    try:
        message, parts = _attachments(data)
        archives = _archive_attachments(message)
        body = message.get_body(preferencelist=("plain", "html")) if parts or archives else None
        text = part_text(body) if body is not None else ""
    except Exception:  # in memory: a malformed message is one input, and says why when parsed
        return []
    if not parts and not archives:
        return []
    limits.check(len(parts) + len(archives) + 1, len(data), 0, name)
    own = [] if is_covering_note(text) else ["body"]
    members = own + [f"attachment[{n}]" for n in range(1, len(parts) + 1)]
    for number, part in enumerate(archives, start=1):
        label = f"archive[{number}]"
        members += _attached_archive_members(label, part, limits) if open_archives else [label]
    limits.check(len(members), 0, 0, name)
    return members


def _attached_archive_members(label: str, part: Any, limits: BundleLimits) -> list[str]:
    """An archive attached to an e-mail as its members (``archive[1]#a.txt``), or as itself
    when it is no archive, cannot be listed or is past a limit (it says why when read)."""
    try:
        return _listed_inside(label, _attached_archive_name(label, part), part.get_payload(decode=True), limits)
    except Exception:  # in memory: the attachment's own fault
        return [label]


def _archive_members(name: str, data: bytes, limits: BundleLimits, kind: str, *, inside: bool = False) -> list[str]:
    """The members of a zip, tar, compressed file or JSON-lines bundle, after the bomb
    checks; an archive's documents that hold several inputs themselves are listed as their
    items, and the archives it holds as their members (`_nested_items`; ``inside``: this
    archive is itself inside one, and the archives it holds are not opened)."""
    try:
        opened = OpenBundle(name, data)
        if kind in _DECOMPRESSORS:
            entries: list[str] = [_single_name(name)]
        else:
            with zipfile.ZipFile(io.BytesIO(data)) if kind == "zip" else _open_tar(data, kind) as archive:
                found = {k: e for k, e in _entries(archive).items() if not _not_a_member(_entry_name(e))}
                sizes = sum(e.file_size if isinstance(e, zipfile.ZipInfo) else e.size for e in found.values())
                limits.check(len(found), sizes, len(data), name)
                entries = list(found)
        members = [member for entry in entries for member in _nested_items(opened, entry, limits, inside=inside)]
        limits.check(len(members), 0, 0, name)
        return members
    except InputError:
        raise
    except Exception as exc:  # in memory: no storage error can be here, only the archive's own
        raise InputError("bad_bundle", f"{name} cannot be read as a {kind} bundle: {exc}") from exc


#: Name endings of an archive's members that may hold several inputs themselves: XML files
#: (a NewsML message or a feed, told by their head as in the landing zone), JSON lines,
#: e-mails (MESSAGE_SUFFIXES holds .eml), mailboxes and feed captures.
_SPLITTABLE_SUFFIXES = (*MESSAGE_SUFFIXES, ".jsonl", ".ndjson", ".mbox", *_CAPTURE_SUFFIXES)


def _nested_items(archive: OpenBundle, entry: str, limits: BundleLimits, *, inside: bool = False) -> list[str]:
    """An archive member as the inputs it holds: a NewsML message of several items, an RSS
    or Atom feed, or a JSON-lines file inside a zip, tar or compressed file is listed as its
    items (``day.zip#a/msg.xml#newsItem[<id>]``, ``items.jsonl.gz#items.jsonl#line[<16 hex>]``), as it would
    be in the landing zone; anything else, or one that cannot be listed, is itself. Before,
    such a member was one input, quarantined whole (``multi_item``, ``unsupported_xml``,
    ``bad_json``): a vendor's daily zip of messages, a gzipped feed, ``items.jsonl.gz``
    became no stories at all.

    An archive inside the archive (a day's tar of hourly zips) is listed as its members in
    turn (``day.tar#09.zip#a.txt``), its own documents split as above; it was one ``binary``
    input until the thirty-first session, and none of its stories was read. One level of
    that: an archive inside an archive inside an archive (``inside``) stays one input."""
    lowered = entry.lower()
    if lowered.endswith(_NESTED_ARCHIVE_SUFFIXES):
        return [entry] if inside else _inner_archive_members(archive, entry, limits)
    if not lowered.endswith(_SPLITTABLE_SUFFIXES):
        return [entry]
    try:
        if may_be_message(entry) and not is_message_head(archive.entry(entry, MESSAGE_PEEK_BYTES)):
            return [entry]
        data = _read_whole(archive, entry, limits)
        if data is None:
            return [entry]
        items = list_members_and_revisions(entry, data, limits, inside=inside)[0]
    except Exception:  # in memory: the member's own fault (a bad CRC, a limit)
        # The member is itself, and says why when it is read (bad_bundle_member). Raised,
        # it made the whole archive bad_bundle: its good members were not read.
        return [entry]
    return [f"{entry}{MEMBER_SEPARATOR}{item}" for item in items] or [entry]


#: Name endings of an archive's members that are archives themselves (opened one level down).
_NESTED_ARCHIVE_SUFFIXES = tuple(s for s in BUNDLE_SUFFIXES if s not in _SPLITTABLE_SUFFIXES)
#: Name endings of an e-mail's attachments listed as their members (`_bundle_attachment`).
_BUNDLE_ATTACHMENT_SUFFIXES = (*_NESTED_ARCHIVE_SUFFIXES, *_CAPTURE_SUFFIXES, ".jsonl", ".ndjson")


def _read_whole(archive: OpenBundle, entry: str, limits: BundleLimits) -> bytes | None:
    """An archive member read whole to be listed, or None past the bundle's ratio times the
    archive's size (at least 1 MB): a small .gz of a feed, or a small zip inside a zip,
    unpacking to gigabytes (a bomb) is not read past it, and stays one input."""
    cap = min(limits.max_bytes, max(1024**2, int(limits.max_ratio * len(archive.data))))
    data = archive.entry(entry, cap + 1)
    return None if len(data) > cap else data


def _inner_archive_members(archive: OpenBundle, entry: str, limits: BundleLimits) -> list[str]:
    """The members of an archive inside ``archive`` (``inner.zip#a.txt``), after the bomb
    checks, read whole only up to the outer archive's ratio as a compressed document is; the
    entry as itself when it is no archive, cannot be listed or is past a limit (it says why
    when it is read)."""
    try:
        data = _read_whole(archive, entry, limits)
    except Exception:  # in memory: the entry's own fault (a bad CRC)
        return [entry]
    return [entry] if data is None else _listed_inside(entry, entry, data, limits)


def _listed_inside(label: str, name: str, data: bytes, limits: BundleLimits) -> list[str]:
    """An archive (or a capture, a JSON-lines file) held by another bundle as its members,
    each ``<label>#<member>``, one level down (archives inside it are not opened); ``[label]``
    when it is no bundle, cannot be listed or is past a limit (it says why when read). An
    empty one holds no input, as one in the landing zone does not."""
    try:
        kind = _kind(name, data)
        if kind in ("capture", "jsonl"):  # its transmissions or lines
            members = list_members_and_revisions(name, data, limits, inside=True)[0]
        else:
            members = _archive_members(name, data, limits, kind, inside=True)
    except Exception:  # in memory: its own fault (not an archive, a bad CRC, a limit)
        return [label]
    return [f"{label}{MEMBER_SEPARATOR}{member}" for member in members]


#: Where an mbox file's next message begins: a "From " line at the file's start or after a
#: blank line (the separator every mbox variant writes; a "From " inside a body is written
#: ">From " by mboxrd and mboxo).
_MBOX_SEPARATOR = re.compile(rb"(?:\A|(?<=\n\n)|(?<=\n\r\n))From [^\n]*\n")


def _mbox_messages(data: bytes) -> list[bytes]:
    """An mbox file's messages, each with its "From " line (a mail client's export, Google
    Takeout's ``.mbox``), in file order. Read as one message, the first's body ran on
    through every other message's headers and text."""
    starts = [match.start() for match in _MBOX_SEPARATOR.finditer(data)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    return [data[a:b] for a, b in zip(starts, [*starts[1:], len(data)], strict=True) if data[a:b].strip()]


def _lines(data: bytes) -> list[bytes]:
    """A JSON-lines file's lines, as UTF-8: one in UTF-16 or UTF-32 (a Windows tool's export)
    is decoded first. Split by its bytes, its lines were cut between a newline's two bytes,
    and every one was quarantined ``bad_json``."""
    from parsers.decode import wide_codec

    codec = wide_codec(data)
    if codec is None:
        return data.split(b"\n")
    text = data.decode(codec, errors="replace").removeprefix("\ufeff")
    return [line.encode("utf-8") for line in text.split("\n")]


def _entry_name(entry: zipfile.ZipInfo | tarfile.TarInfo) -> str:
    return entry.filename if isinstance(entry, zipfile.ZipInfo) else entry.name


def _entries(archive: zipfile.ZipFile | tarfile.TarFile) -> dict[str, Any]:
    """A zip's or tar's files by member name, in archive order. A name the archive holds
    twice (a zip appended to, a tar added to with ``tar -r``) is numbered from its second
    entry on ("a.txt (2)"): zipfile and tarfile open the last entry of a name, so the first
    was never read, and the ledger held two entries for one name."""
    if isinstance(archive, zipfile.ZipFile):
        files: list[Any] = [i for i in archive.infolist() if not i.is_dir()]
    else:
        files = [m for m in archive.getmembers() if m.isfile()]
    entries: dict[str, Any] = {}
    for entry in files:
        entries[_unique(_entry_name(entry), entries, bracketed=False)] = entry
    return entries


class OpenBundle:
    """A bundle's bytes and what reading its members needs, worked out once for all of
    them: a zip's directory, a tar's member index (a compressed tar is then read forward,
    member after member, in the order a batch asks for them), a JSON-lines file's lines, a
    message's parsed items. Reading each member from the bytes alone opened the bundle
    again every time: 5,000 members of a 100 MB zip took 110-123 s to parse, quadratic in
    the members."""

    def __init__(self, name: str, data: bytes) -> None:
        self.name = name
        self.data = data
        # ZipFile, TarFile, lines, or message items, made on first use (over the bytes in
        # memory: nothing to close, freed with the bundle).
        self._opened: Any = None
        # The message, feed or JSON-lines member whose items are being read, opened.
        self._inner: OpenBundle | None = None
        # An e-mail's archive attachments (`_archive_attachments`), made on first use.
        self._archives: list[Any] | None = None

    def read(self, member: str, limits: BundleLimits, max_bytes: int | None) -> bytes:
        """One member's bytes (at most ``max_bytes`` + 1 of them, like any input)."""
        name, data = self.name, self.data
        kind = _kind(name, data)
        cap = (max_bytes + 1) if max_bytes is not None else limits.max_bytes + 1
        try:
            if kind == "newsml":
                if self._opened is None:
                    self._opened = _message_items(name, data)
                return _message_item(name, self._opened, member)[:cap]
            if kind == "eml":
                return self._mail_member(member, limits, max_bytes, cap)
            if kind in ("jsonl", "mbox", "json", "capture"):  # lines, messages, items, transmissions (`_keyed_parts`)
                if self._opened is None:
                    self._opened = _keyed_parts(kind, data)
                part = self._opened.get(member)
                message, sep, sub = member.partition(MEMBER_SEPARATOR)
                if part is None and sep and kind == "mbox" and message in self._opened:
                    # An attachment (or the text) of one of its messages (`_mailbox_members`).
                    piece = self._opened[message][0]
                    mail = self._opened_inner(f"{name}{MEMBER_SEPARATOR}{message}", lambda: piece)
                    return mail._mail_member(sub, limits, max_bytes, cap)
                if part is None and member.isdigit() and kind in ("jsonl", "mbox"):
                    # A name from before the thirtieth session (a line or message by its
                    # place: a quarantine entry replayed): read as it was then.
                    pieces = _lines(data) if kind == "jsonl" else _mbox_messages(data)
                    if 1 <= int(member) <= len(pieces):
                        return pieces[int(member) - 1][:cap]
                if part is None:
                    what = {"jsonl": "line", "mbox": "message", "json": "item", "capture": "transmission"}[kind]
                    raise InputError("bad_bundle", f"{name} no longer holds the {what} {member}")
                return bytes(part[0][:cap])
            inner = self._holder_of(member)
            if inner is not None:
                # An item of a message, feed or JSON-lines file inside this archive, or a
                # member of an archive inside it (`_nested_items`): that document or archive
                # is opened once for all of its items.
                holder = self._opened_inner(inner, lambda: self.entry(inner, limits.max_bytes + 1))
                return holder.read(member[len(inner) + 1 :], limits, max_bytes)
            if kind in _DECOMPRESSORS and max_bytes is None:  # read whole: not past the bundle limit
                out = self.entry(member, cap + 1)
                if len(out) > cap:
                    raise InputError("bundle_too_large", f"{name} unpacks past --bundle-max-mb")
                return out
            return self.entry(member, cap)
        except InputError:
            raise
        except Exception as exc:
            # Any error: the bundle's bytes are in memory, so this is the archive's own (a
            # corrupt member, an unknown compression method's NotImplementedError, an
            # encrypted member's RuntimeError, which killed the run's batch at every retry),
            # never a storage error a retry could mend.
            self._opened = self._inner = None  # a broken archive's state is not reused for the next member
            raise InputError(
                "bad_bundle_member", f"{name}{MEMBER_SEPARATOR}{member} cannot be extracted: {exc}"
            ) from exc

    def _mail_member(self, member: str, limits: BundleLimits, max_bytes: int | None, cap: int) -> bytes:
        """An e-mail's member: its text or a story attachment (`_mail_part`), an archive
        attached (``archive[1]``: its bytes), or a member of one (``archive[1]#a.txt``)."""
        label, separator, inside = member.partition(MEMBER_SEPARATOR)
        if not label.startswith("archive["):
            return self._mail_part(member)[:cap]
        if self._archives is None:
            from email import message_from_bytes, policy

            self._archives = _archive_attachments(message_from_bytes(self.data, policy=policy.default))
        number = int(label.removeprefix("archive[").removesuffix("]"))
        if not 1 <= number <= len(self._archives):
            raise InputError("bad_bundle", f"{self.name} has no {label} (it has {len(self._archives)} archives)")
        part = self._archives[number - 1]
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if not separator:
            return data[:cap]
        return self._opened_inner(_attached_archive_name(label, part), lambda: data).read(inside, limits, max_bytes)

    def _mail_part(self, member: str) -> bytes:
        """An e-mail's member: the whole message for ``body`` (its text part is read as the
        story), else the n-th story attachment's bytes, decoded."""
        if member == "body":
            return self.data
        if self._opened is None:
            self._opened = _attachments(self.data)[1]
        parts: list[Any] = self._opened
        number = int(member.removeprefix("attachment[").removesuffix("]"))
        if not 1 <= number <= len(parts):
            raise InputError("bad_bundle", f"{self.name} has no {member} (it has {len(parts)} story attachments)")
        part = parts[number - 1]
        if part.get_content_type() == "message/rfc822":
            return bytes(part.get_content())
        payload = part.get_payload(decode=True)
        return payload if isinstance(payload, bytes) else b""

    def _opened_inner(self, name: str, read: Callable[[], bytes]) -> OpenBundle:
        """The bundle ``name`` inside this one (a member document or archive, an mbox
        message, a mail's archive), opened once for the members asked of it in a row."""
        if self._inner is None or self._inner.name != name:
            self._inner = OpenBundle(name, read())
        return self._inner

    def _holder_of(self, member: str) -> str | None:
        """The entry of this archive that holds ``member`` (``a/msg.xml`` of
        ``a/msg.xml#newsItem[...]``, ``09.zip`` of ``09.zip#a.txt``): the first prefix before
        a "#" that this archive has; None for an entry of its own (its name may hold "#")."""
        if MEMBER_SEPARATOR not in member or self._holds(member):
            return None
        at = member.find(MEMBER_SEPARATOR)
        while at != -1:
            if self._holds(member[:at]):
                return member[:at]
            at = member.find(MEMBER_SEPARATOR, at + 1)
        return None

    def _holds(self, entry: str) -> bool:
        """Whether this zip, tar or compressed file has a member named ``entry``."""
        kind = _kind(self.name, self.data)
        if kind in _DECOMPRESSORS:
            return entry == _single_name(self.name)
        return entry in self._archive()[1]

    def _archive(self) -> tuple[Any, dict[str, Any]]:
        """This zip's or tar's open archive and its entries by member name."""
        if self._opened is None:
            kind = _kind(self.name, self.data)
            archive: Any = zipfile.ZipFile(io.BytesIO(self.data)) if kind == "zip" else _open_tar(self.data, kind)
            self._opened = (archive, _entries(archive))
        opened: tuple[Any, dict[str, Any]] = self._opened
        return opened

    def entry(self, member: str, cap: int) -> bytes:
        """The bytes of a zip's, tar's or compressed file's member (at most ``cap``)."""
        name, data = self.name, self.data
        kind = _kind(name, data)
        if kind in _DECOMPRESSORS:
            with _DECOMPRESSORS[kind](io.BytesIO(data)) as handle:
                out: bytes = handle.read(cap)
                return out
        archive, entries = self._archive()
        if member not in entries:
            raise InputError("bad_bundle_member", f"{name} has no member {member}")
        if kind == "zip":
            with archive.open(entries[member]) as handle:
                content: bytes = handle.read(cap)
                return content
        extracted = archive.extractfile(entries[member])
        if extracted is None:
            raise InputError("not_a_file", f"{name}{MEMBER_SEPARATOR}{member} is not a regular file")
        content = extracted.read(cap)
        return content
