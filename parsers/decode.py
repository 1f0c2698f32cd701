"""Bytes to clean text: sniff the format, decode with the declared or detected charset,
repair mojibake and NFC-normalize."""

from __future__ import annotations

import codecs
import re
import unicodedata

from schemas.errors import ParseError

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_\-.]+)""")
_HTML_SNIFF = re.compile(
    rb"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]|<article[\s>]|<p[\s>]|<div[\s>]|<meta\s",
    re.IGNORECASE,
)
# Common mojibake: UTF-8 read as cp1252/latin-1 ("â€™", "Ã©").
_MOJIBAKE = re.compile(
    "[ÂÃâ][\u0080-\u00bf\u2018-\u203a\u20ac\u2122\ufffd\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u02c6\u02dc]"
)


#: Root element (local name) -> feed format; the element decides, never the file name.
XML_ROOTS = {
    "nitf": "nitf",
    "newsItem": "newsml-g2",
    "newsMessage": "newsml-g2",
    "packageItem": "newsml-g2",
    "NewsML": "newsml-1",  # NewsML 1.x (no namespace; its names are capitalised)
    "NewsItem": "newsml-1",  # one item of a NewsML 1 document, as flows/bundles.py splits it out
    "item": "rss",  # one item of an RSS feed, as flows/bundles.py splits it out
    "entry": "atom",  # one entry of an Atom feed
}
#: Roots of XML documents that are not one story: feeds and site maps. Such a document, or
#: any that opens with an XML declaration and whose root is not a page's, is ``xml``, which
#: is quarantined ``unsupported_xml``: read as wire text, an RSS feed made one "story"
#: headlined with its XML declaration and its markup for a body.
OTHER_XML_ROOTS = frozenset({"rss", "feed", "RDF", "urlset", "sitemapindex", "opml", "channel"})
#: Roots that make a document a page (or a fragment of one) whatever its prolog says.
_PAGE_ROOTS = frozenset({"html", "head", "body", "div", "article", "section", "main", "p", "span", "table"})
_ROOT = re.compile(rb"\s*<([A-Za-z_][\w.:-]*)")
_PROLOG = re.compile(rb"\s*(?:<\?[^>]*\?>|<!--.*?-->|<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>)", re.S | re.I)


#: How an e-mail opens: a header field name and its colon, or an mbox "From " line.
_MAIL_START = re.compile(rb"[!-9;-~]{1,76}:|From ")

#: How far into a document that opens with markup to look for an HTML tag.
HTML_SNIFF_DEEP = 65536


def wide_codec(data: bytes) -> str | None:
    """The codec of ``data`` when it is UTF-16 or UTF-32: by its byte-order mark, or UTF-16
    without one (`_bomless_utf16`'s reading of its first 8 KB); else None."""
    for bom, name in _BOMS[1:]:  # UTF-32's marks first: UTF-32 LE's begins with UTF-16 LE's
        if data.startswith(bom):
            return name
    if b"\x00" in data[:64]:
        head = data[:8192]
        wide = _bomless_utf16(head[: len(head) - len(head) % 2])
        return wide[1] if wide is not None else None
    return None


def narrow(data: bytes, size: int) -> bytes:
    """About the first ``size`` bytes of ``data`` as UTF-8 when it is UTF-16 or UTF-32
    (`wide_codec`), else ``data`` itself: what sniffing reads. A Windows tool's UTF-16
    NewsML or page was sniffed byte by byte, found no "<", and became a wire "story"
    headlined with its XML declaration."""
    name = wide_codec(data)
    if name is None:
        return data
    return data[: size * 4].decode(name, errors="replace").encode("utf-8", "replace")[:size]


def _head(data: bytes) -> bytes:
    head = data[:4096].lstrip()
    if head.startswith(codecs.BOM_UTF8):
        head = head[3:].lstrip()
    return head


def xml_root(data: bytes) -> str | None:
    """The local name of the first element after the document's prolog (declaration,
    comments, doctype), if it opens with markup."""
    head = _head(narrow(data, 4096))
    position = 0
    while (prolog := _PROLOG.match(head, position)) and prolog.end() > position:
        position = prolog.end()
    root = _ROOT.match(head, position)
    return root.group(1).decode("ascii", "replace").rsplit(":", 1)[-1] if root else None


def sniff_format(data: bytes) -> str:
    """The input's format by its content: ``nitf`` / ``newsml-g2`` (the XML root element),
    ``ninjs`` (a JSON object or a list of them), ``rtf`` (an RTF document), ``docx`` / ``odt``
    (a Word or OpenDocument text file: `parsers.officedoc`), ``email`` (a
    header block: `parsers.mail.looks_like_mail`),
    ``html``, ``xml`` (an XML document of no format read here:
    `OTHER_XML_ROOTS`), else ``text`` (plain or enveloped wire text). UTF-16 and UTF-32
    inputs are read as the text they are (`narrow`)."""
    if data[:4] == b"PK\x03\x04":
        from parsers.officedoc import office_kind

        kind = office_kind(data)  # a Word or OpenDocument text file; any other zip is binary
        if kind is not None:
            return kind
    data = narrow(data, HTML_SNIFF_DEEP)
    head = _head(data)
    if head[:1] not in b"{<" and _MAIL_START.match(head):
        from parsers.mail import looks_like_mail

        if looks_like_mail(data):
            return "email"
    if head.startswith(b"{\\rtf"):
        return "rtf"  # a word processor's file: `parsers.rtf` (it was sniffed as JSON: bad_json)
    if head[:1] == b"{" or (head[:1] == b"[" and _JSON_LIST.match(head)):
        # A list of objects too (a JSON API's page of items): it was wire text, the whole
        # JSON its headline and body.
        return "ninjs"
    if head[:1] == b"<":
        name = xml_root(data)
        if name:
            if name in XML_ROOTS:
                return XML_ROOTS[name]
            if name.lower() not in _PAGE_ROOTS and (name in OTHER_XML_ROOTS or head.startswith(b"<?xml")):
                return "xml"
    if head[:1] == b"<" and (_HTML_SNIFF.search(head) or _HTML_SNIFF.search(data, 0, HTML_SNIFF_DEEP)):
        # Deeper for markup that opens with something else: a server's warnings printed as
        # "<br /><b>Deprecated</b>: ..." lines before the page's own <!DOCTYPE html>.
        return "html"
    return "html" if _HTML_SNIFF.search(head[:1024]) and head.count(b"<") > 5 else "text"


#: A JSON list of objects (or an empty one), by its first bytes.
_JSON_LIST = re.compile(rb"\[\s*[{\]]")


def declared_charset(data: bytes) -> str | None:
    """The charset an HTML/XML document declares in its first 4 KB, if Python knows it."""
    head = data[:4096]
    match = _XML_ENCODING.search(head) or _META_CHARSET.search(head)
    if not match:
        return None
    name = match.group(1).decode("ascii", "replace").lower()
    return text_charset(name)


#: Codecs Python knows that no document's charset can honestly name: they turn escapes
#: into code points (and so into lone surrogates), or are not text encodings at all.
NOT_A_CHARSET = frozenset(
    {"unicode-escape", "raw-unicode-escape", "punycode", "undefined", "idna", "utf-7", "palmos", "mbcs", "oem"}
)


def text_charset(name: str) -> str | None:
    """Python's name for a charset a document may declare, or None (unknown or not a charset)."""
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    if info.name in NOT_A_CHARSET or not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


def decode_bytes(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Decode ``data`` and return ``(text, charset used)``.

    Order: byte-order mark, the charset the caller or document declares, strict UTF-8,
    then detection (charset-normalizer). Raises ``ParseError("undecodable")`` when no
    charset yields text, and ``ParseError("binary")`` for data that is not text at all.
    """
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data.decode(name, errors="replace"), name
    kind = _FILE_KIND.match(data)
    if kind:
        raise ParseError("binary", _FILE_KINDS[kind.lastindex or 1])
    if b"\x00" in data[:8192]:
        utf16 = _bomless_utf16(data)
        if utf16 is not None:
            return utf16
        data = _without_fill_nuls(data)
    candidates = [c for c in (declared and text_charset(declared), declared_charset(data)) if c]
    if candidates and _declared_but_utf8(data, candidates[0]):
        return data.decode("utf-8"), "utf-8"
    for name in candidates:
        try:
            return data.decode(name), name
        except (UnicodeError, LookupError):  # UnicodeError: codecs such as punycode raise it bare
            continue
    shifted = _iso2022(data) if b"\x1b" in data else None
    if shifted is not None:
        return shifted
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    mixed = _utf8_with_stray_bytes(data)
    if mixed is not None:
        return mixed, "utf-8"
    latin = _plausible_latin(data)
    if latin is not None:
        return latin
    from charset_normalizer import from_bytes  # only paid for non-UTF-8, non-Western input

    best = from_bytes(data[:200_000]).best()
    if best is None or best.encoding is None:
        raise ParseError("undecodable", "no charset decodes these bytes; declare one in the source config")
    try:
        return data.decode(best.encoding), best.encoding
    except (UnicodeDecodeError, LookupError) as exc:
        raise ParseError("undecodable", f"detected {best.encoding} but decoding failed: {exc}") from exc


def _declared_but_utf8(data: bytes, declared: str) -> bool:
    """Whether a document declaring a legacy charset is UTF-8 all the same: it holds UTF-8
    characters of two bytes or more and no byte that UTF-8 cannot read (a CMS moved to UTF-8
    that kept its old ``<meta charset="koi8-r">``, a desk's template declaring ISO-8859-1).
    Text in a legacy charset is practically never valid UTF-8 past a few letters (its
    letters are lead bytes followed by letters, not by continuation bytes). Read as
    declared, every accented or non-Latin letter was two letters of mojibake, which the
    mojibake repair mends only for Western charsets."""
    try:
        if codecs.lookup(declared).name in ("utf-8", "ascii"):
            return False
    except LookupError:
        return False
    if _UTF8_MULTIBYTE.search(data) is None:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


#: A UTF-8 character of two bytes or more; any byte of 0x80 and up.
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")
#: At least this many UTF-8 characters, and this many of them for each stray byte.
UTF8_MIN_CHARACTERS, UTF8_PER_STRAY = 8, 10


def _stray_as_cp1252(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: the bytes UTF-8 could not read, as cp1252 (U+FFFD for the five
    bytes cp1252 leaves undefined)."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return "".join(_cp1252_or_nothing(b) or "\ufffd" for b in error.object[error.start : error.end]), error.end


codecs.register_error("wire_ingest_stray_cp1252", _stray_as_cp1252)


def _utf8_with_stray_bytes(data: bytes) -> str | None:
    """UTF-8 text with a few stray single-byte characters in it (a CMS that pasted Latin-1
    text into a UTF-8 page: "weiß" in UTF-8 everywhere but one "ä" as the byte E4): the
    strays read as cp1252, the rest as UTF-8. Decoding it all as one legacy charset instead
    turned every "ä" of the page into "Ă¤". None unless the UTF-8 characters outnumber the
    stray bytes ten to one."""
    characters = _UTF8_MULTIBYTE.findall(data)
    if len(characters) < UTF8_MIN_CHARACTERS:
        return None
    strays = len(_HIGH_BYTE.findall(data)) - sum(map(len, characters))  # every byte of one is high
    if strays * UTF8_PER_STRAY > len(characters):
        return None
    return data.decode("utf-8", errors="wire_ingest_stray_cp1252")


_ARCHIVE_HINT = (
    ": in the landing zone, named so (*.zip, *.tar, *.tar.gz, *.gz, *.bz2, *.xz), or attached to an e-mail, "
    "its files are read as inputs, and so are those of an archive inside it; an archive three levels deep, "
    "one attached to an e-mail inside an archive inside an archive, or one that cannot be listed or unpacks "
    "past the bundle limits, is not opened"
)
#: Files that are no story, told by their first bytes, with what the quarantine entry says.
_FILE_KINDS = {
    1: "a zip archive" + _ARCHIVE_HINT,
    2: "a gzip file" + _ARCHIVE_HINT,
    3: "a bzip2 file" + _ARCHIVE_HINT,
    4: "an xz file" + _ARCHIVE_HINT,
    5: "a PDF document, not a text or HTML story",
    6: "a PNG image, not a text or HTML story",
    7: "a JPEG image, not a text or HTML story",
    8: "a GIF image, not a text or HTML story",
    9: "an OLE2 Office file (a Word 97-2003 .doc, an Outlook .msg, an Excel .xls), which is not read: save a "
    "story as .docx, .odt or .rtf, or a mail as .eml, to have it read",
    10: "a 7-Zip or RAR archive, which is not read: repack it as zip or tar (gzip, bzip2 or xz)",
}
_FILE_KIND = re.compile(
    rb"(PK\x03\x04|PK\x05\x06)|(\x1f\x8b)|(BZh[1-9]1AY&SY)|(\xfd7zXZ\x00)|(%PDF-)|(\x89PNG\r\n)|(\xff\xd8\xff)|(GIF8[79]a)"
    rb"|(\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1)|(7z\xbc\xaf\x27\x1c|Rar!\x1a\x07)"
)

#: A run of NULs that is not fill: not at a line end (nor at the end, stripped first).
_NUL_RUN_INSIDE = re.compile(rb"(?<![\r\n\x00])\x00+")
#: Runs of NUL inside the text allowed as stray (a line's noise); a tar or cpio header of
#: ASCII fields padded with NULs has more in each member.
MAX_STRAY_NUL_RUNS = 4


def _without_fill_nuls(data: bytes) -> bytes:
    """``data`` without its NUL bytes when they are fill in UTF-8 (or ASCII) text: a capture
    padded with NULs to its block size, a file preallocated and written short, a teleprinter
    feed's time-fill after each line end, a stray one or two. Raises ``ParseError("binary")``
    otherwise: the other bytes of an archive, an image or a PDF are no UTF-8 (a random byte is
    NUL once in 256, so the NULs' number cannot tell), and a tar of text files is ASCII
    headers whose fields are NUL-padded. Text in a legacy charset with NULs stays binary."""
    body = data.rstrip(b"\x00")
    if len(body) > 262 and body[257:262] == b"ustar":
        raise ParseError("binary", "a tar archive" + _ARCHIVE_HINT)
    if len(_NUL_RUN_INSIDE.findall(body, 0, 1 << 20)) > MAX_STRAY_NUL_RUNS:
        raise ParseError("binary", "NUL bytes inside the text, not only at line ends: this is not a text or HTML story")
    kept = body.replace(b"\x00", b"")
    try:
        kept.decode("utf-8")
    except UnicodeDecodeError:
        raise ParseError(
            "binary", "NUL bytes, and the other bytes are not UTF-8 text: this is not a text or HTML story"
        ) from None
    return kept


def _bomless_utf16(data: bytes) -> tuple[str, str] | None:
    """UTF-16 without a byte-order mark (as Windows tools write it): mostly-Latin text has
    NUL on every other byte, on the odd positions for little-endian, the even for big."""
    head = data[:8192]
    if len(head) < 16 or len(head) % 2:
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    half = len(head) // 2
    for name, zeros, other in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if zeros > 0.3 * half and other < 0.02 * half:
            try:
                text = data.decode(name)
            except UnicodeDecodeError:
                return None
            return (text, name) if "\x00" not in text else None
    return None


def _cp1252_or_nothing(code: int) -> str:
    try:
        return bytes([code]).decode("cp1252")
    except UnicodeDecodeError:
        return ""


_C1 = re.compile("[\u0080-\u009f]")
_CONTROL_OR_C1 = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\u009f]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MOJIBAKE_LEADS = ("Ã", "â", "Â")


#: The characters Western text in cp1252 holds outside ASCII: letters, and the marks and
#: signs it is written with (a German obituary's †, a soft hyphen, × and ÷). Which of them
#: stand where a word cannot hold them is `_latin_misread`'s to say.
_WESTERN = re.compile(
    "[A-Za-zÀ-ÖØ-öø-ÿŒœŠšŸŽž‘’‚“”„–—…€•™°±²³µ·¹º¼½¾¿¡«»§©®¢£¥†‡‰‹›¨´¸\xad¬¦¤¯×÷\\s\\d.,;:!?'\"()\\-/%&]"
)


#: ISO-2022 escapes that switch to a double-byte set: JIS X 0208 (ESC $ B, ESC $ @), JIS X
#: 0212 (ESC $ ( D), GB 2312 (ESC $ A), KS X 1001 (ESC $ ) C, ISO-2022-KR's designator).
_ISO2022 = re.compile(rb"\x1b\$(?:[@AB]|\(D|\)C)")


def _iso2022(data: bytes) -> tuple[str, str] | None:
    """Japanese or Korean text in ISO-2022 (Kyodo's and mail's JIS, ISO-2022-KR): seven-bit,
    so it passed for ASCII and UTF-8, and its escapes were stripped as control characters,
    leaving "$BF|6d" where "日銀" was."""
    if not _ISO2022.search(data):
        return None
    for name in ("iso2022_kr", "iso2022_jp_2") if b"\x1b$)C" in data else ("iso2022_jp_2", "iso2022_jp_ext"):
        try:
            return data.decode(name), name
        except UnicodeDecodeError:
            continue
    return None


#: What cp1252 (or cp1250) gives for another charset's letters and never stands between two
#: letters in text written in it: Polish ł, ą, ż (Romanian ş) in cp1250 or ISO-8859-2 read as cp1252
#: ("utrzyma³ w Pieniê¿nej", "s± w³a¶nie").
_SYMBOL_IN_WORD = re.compile(r"(?<=[^\W\d_])[¹²³¼½¾¿¡±¶¤¥£§¦¯¬©®°ºª](?=[^\W\d_])")
#: A grave ì or ù inside a word, or an è before a vowel: Italian and French write ì and ù
#: at a word's end (così, più, où) and è before a consonant (très, problème); Czech ě and
#: ů, and Czech and Croatian č, in cp1250 read as cp1252 are not ("mìsto", "odluèila").
#: (Not ò: Catalan writes it inside, "història".) And an õ before anything but e or s:
#: Portuguese writes it in "-ões", "põe"; Hungarian ő in cp1250 read as cp1252 is
#: anywhere ("elõtt", "idõ").
_GRAVE_IN_WORD = re.compile(r"[ìù](?=[^\W\d_])|è(?=[aeiouyáéíóú])|õ(?![es])")
_LETTER = re.compile(r"[^\W\d_]")
#: The characters the two searches above start from: a text with none of them needs neither.
_SYMBOLS_IN_WORDS = frozenset("¹²³¼½¾¿¡±¶¤¥£§¦¯¬©®°ºª")
_GRAVES = frozenset("ìùèõ")
_ASCII_BYTES = bytes(range(128))
_ASCII_LETTER_BYTES = bytes(range(65, 91)) + bytes(range(97, 123))  # [^\W\d_] in ASCII
#: Letters a Western text shares with Turkish text read as cp1252 (ğ ı ş İ Ş Ğ become ð ý þ
#: Ý Þ Ð), and those of the one Western language that writes them (Icelandic's á é í ó ú æ).
_TURKISH_AS_CP1252 = re.compile("[ðýþÐÝÞ]")
_TURKISH_LETTERS_AS_CP1252 = frozenset("ðýþÐÝÞ")
_ICELANDIC = re.compile("[áéíóúæÁÉÍÓÚÆ]")
#: Above this share of a text's letters outside ASCII, no Western language: another
#: script's bytes (Arabic's cp1256 reads as cp1252 letters, "ÇáÈäß ÇáãÑßÒí").
MAX_EXTENDED_LETTER_SHARE = 0.3
#: The Latin charsets tried in turn, Western first; each must give letters and marks only.
#: Text with no byte from 0x80 to 0x9F is tried as ISO-8859-2 before cp1250: those are C1
#: controls in ISO-8859-2 and cp1250's Š š Ž ž Ś ś Ź ź Ť ť, which Czech, Slovak, Polish and
#: Croatian copy in cp1250 hardly goes a sentence without; the two read ž, ą, ś, ź
#: differently (Czech "sníľila" for "snížila").
_LATIN_CHARSETS = ("cp1252", "cp1250", "iso8859_2")
_ISO_LATIN_CHARSETS = ("cp1252", "iso8859_2", "cp1250")
_C1_BYTE = re.compile(rb"[\x80-\x9f]")


def _plausible_latin(data: bytes) -> tuple[str, str] | None:
    """``(text, charset)`` for text in a Latin single-byte charset: cp1252 when every non-ASCII
    character it yields is a Western letter or mark and nothing in it reads as another
    charset's letters (`_latin_misread`); else Central European cp1250 or ISO-8859-2 on
    the same terms; cp1254 for Turkish. None: leave it to detection.

    Short Western texts are where statistical detectors guess wrong most (cp1257, mac-roman,
    even Big5 for Danish), and cp1252 is what undeclared non-UTF-8 wire copy overwhelmingly
    is; but every byte from C0 up reads as a cp1252 letter, so Arabic (cp1256), Polish and
    Czech (cp1250, ISO-8859-2) and Turkish (cp1254) copy passed for Western and became
    mojibake in every field.

    The charsets are single-byte: the bytes from 0x80 decode to exactly the text's
    characters beyond ASCII, so those are read from them (a C-level translate), each kind
    once, and the ASCII letters counted in the bytes: a scan of every character in Python
    (and a list of every letter) cost ~4% of parsing a corpus with a sixth of its stories in
    Latin-1 or cp1252 (thirty-third session)."""
    high = data.translate(None, _ASCII_BYTES)
    ascii_letters = len(data) - len(data.translate(None, _ASCII_LETTER_BYTES))
    for name in _LATIN_CHARSETS if _C1_BYTE.search(data) else _ISO_LATIN_CHARSETS:
        try:
            text = data.decode(name)
        except UnicodeDecodeError:
            continue
        if not high:
            return text, name
        beyond = high.decode(name)  # the text's characters beyond ASCII, in order
        kinds = set(beyond)
        if name == "cp1252":
            if not all(_WESTERN.match(ch) for ch in kinds):
                continue
        elif not all(_WESTERN.match(ch) or unicodedata.name(ch, "").startswith("LATIN") for ch in kinds):
            continue
        if _latin_misread(text, beyond, kinds, ascii_letters):
            continue
        if name == "cp1252" and not kinds.isdisjoint(_TURKISH_LETTERS_AS_CP1252):
            turkish = len(_TURKISH_AS_CP1252.findall(beyond))
            if turkish >= 2 and len(_ICELANDIC.findall(beyond)) * 5 < turkish:
                try:
                    return data.decode("cp1254"), "cp1254"
                except UnicodeDecodeError:
                    pass
        return text, name
    return None


def _latin_misread(text: str, beyond: str, kinds: set[str], ascii_letters: int) -> bool:
    """Whether ``text``, read in a Latin charset, shows that it was written in another: a
    symbol between two letters, a grave vowel inside a word, or more letters outside ASCII
    than any Latin-script language has. ``beyond``: its characters beyond ASCII (``kinds``
    those once each); ``ascii_letters``: how many letters it has in ASCII. The two searches
    run only where a character they look for is in the text."""
    if not kinds.isdisjoint(_SYMBOLS_IN_WORDS) and _SYMBOL_IN_WORD.search(text):
        return True
    if not kinds.isdisjoint(_GRAVES) and _GRAVE_IN_WORD.search(text):
        return True
    extended = len(_LETTER.findall(beyond))
    return extended > MAX_EXTENDED_LETTER_SHARE * (ascii_letters + extended)


def repair_mojibake(text: str) -> str:
    """Repair UTF-8-as-cp1252 mojibake when the text shows it (a whole-input property)."""
    if any(lead in text for lead in _MOJIBAKE_LEADS) and _MOJIBAKE.search(text):
        import ftfy  # only paid when the text shows mojibake

        text = ftfy.fix_encoding(text)
    return text


def repair_text(text: str) -> str:
    """Repair mojibake when present, then `clean_text`."""
    return clean_text(repair_mojibake(text))


def strip_controls(text: str) -> str:
    """Control characters removed (lxml refuses them in the text it is given)."""
    return _CONTROL.sub("", text)


_SURROGATE = re.compile("[\ud800-\udfff]")


def replace_unencodable(text: str) -> str:
    """Lone surrogates (from a JSON ``\\ud800`` or an escape codec) as U+FFFD: UTF-8, Parquet
    and JSON output cannot hold them. ASCII text is returned as is, at no cost."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")  # fails exactly on surrogates, ~5x faster than a regex scan
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


#: Invisible characters that only tell a renderer where a line may break (soft hyphen, zero
#: width space, word joiner, a BOM inside the text): "Mag\u00adda\u00adle\u00adner" is
#: "Magdalener" to a reader, and to search, dedupe and the language detector. (Zero width
#: joiner and non-joiner stay: they change how scripts and emoji are drawn.)
_LINE_BREAK_HINTS = ("\u00ad", "\u200b", "\u2060", "\ufeff")


def _without_line_break_hints(text: str) -> str:
    # A scan per character kind (C speed) beats str.translate's per-character dict lookups.
    for hint in _LINE_BREAK_HINTS:
        if hint in text:
            text = text.replace(hint, "")
    return text


def clean_text(text: str) -> str:
    """Unix newlines, no control characters or line-break hints, C1 code points read as cp1252, NFC.

    HTML pages get this per extracted string rather than over the whole page: most of a
    page is markup and scripts, and lxml ignores control characters itself.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    odd = _CONTROL_OR_C1.search(text) is not None  # one scan; most texts have neither
    if text.isascii():
        return _CONTROL.sub("", text) if odd else text  # ASCII is NFC, has no C1 or no-break spaces
    text = replace_unencodable(_without_line_break_hints(text.replace("\u00a0", " ")))
    if odd and _C1.search(text):
        # HTML maps C1 code points (&#146;, or cp1252 bytes read as latin-1) to cp1252.
        text = _C1.sub(lambda m: _cp1252_or_nothing(ord(m.group(0))), text)
    return unicodedata.normalize("NFC", _CONTROL.sub("", text) if odd else text)


_NOT_PLAIN = re.compile(r"[^\w\s.,;:!?'\"()\[\]\-–—‘’“”«»/%&$€£@#*+=<>|]")
_HIGH = bytes(range(128, 256))
#: Every byte but the ASCII characters _NOT_PLAIN matches (deleted, what is left is those).
_PLAIN_OR_HIGH = bytes(c for c in range(256) if c >= 128 or not _NOT_PLAIN.match(chr(c)))


def looks_binary(text: str) -> bool:
    """True when the decoded text is mostly symbols or replacement characters (binary input)."""
    sample = text[:8_000]  # binary shows from the start (a PDF, an image, a zip)
    if not sample:
        return False
    if sample.isascii() and sample.replace("\n", "").replace("\r", "").replace("\t", "").isprintable():
        return False  # plain ASCII without control characters: text (a fast path for wire copy)
    if sample.count("\ufffd") / len(sample) > 0.01:
        return True
    # At most every non-ASCII character is odd (each is >= 2 bytes of UTF-8): when that
    # bound is low, the text is plain without the regex's character-by-character scan.
    data = sample.encode("utf-8", "surrogatepass")
    ascii_odd = len(data.translate(None, _PLAIN_OR_HIGH))
    if (ascii_odd + (len(data) - len(data.translate(None, _HIGH))) // 2) / len(sample) <= 0.15:
        return False
    odd = _NOT_PLAIN.findall(sample)
    if len(odd) / len(sample) <= 0.15:
        return False
    # `\w` leaves out combining marks (Devanagari vowel signs, Thai, Arabic harakat, a
    # decomposed accent): recount by category, only for the few texts that get this far.
    symbols = sum(1 for ch in odd if unicodedata.category(ch)[0] not in "LMN")
    return symbols / len(sample) > 0.15
