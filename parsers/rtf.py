"""Rich Text Format (RTF) to plain text: a desk's or a press office's story saved from a word
processor (``{\\rtf1\\ansi ...}``), read as the wire text it holds.

Only what carries the text is read: ``\\par`` ends a paragraph (a blank line in the text),
``\\line`` a line; ``\\'hh`` is a byte in the document's code page (``\\ansicpg``, else
cp1252); ``\\uN`` a Unicode character (its ``\\ucN`` fallback characters skipped); the
typographic symbols (``\\emdash``, ``\\rquote``, ...) are their characters. Destinations that
hold no story text (the font, colour and style tables, document info, pictures, objects,
headers and footers, fields' instructions, and any ``{\\*\\...}`` group) are skipped. Before
the thirtieth session such a file was sniffed as JSON (it opens with ``{``) and quarantined
``bad_json``.
"""

from __future__ import annotations

import codecs
import re

_TOKEN = re.compile(
    rb"\\([a-zA-Z]{1,32})(-?\d{1,10})? ?|\\'([0-9a-fA-F]{2})|\\([^a-zA-Z])|([{}])|[\r\n]+|([^\\{}\r\n]+)"
)
#: Groups whose text is not the document's.
_SKIPPED = frozenset(
    {
        b"fonttbl", b"colortbl", b"stylesheet", b"info", b"pict", b"object", b"header", b"footer",
        b"headerl", b"headerr", b"headerf", b"footerl", b"footerr", b"footerf", b"fldinst",
        b"listtable", b"listoverridetable", b"revtbl", b"rsidtbl", b"generator", b"xmlnstbl",
        b"themedata", b"colorschememapping", b"latentstyles", b"datastore", b"filetbl",
    }
)  # fmt: skip
_SYMBOLS = {
    b"par": "\n\n",
    b"sect": "\n\n",
    b"page": "\n\n",
    b"line": "\n",
    b"tab": "\t",
    b"cell": "\t",
    b"row": "\n",
    b"emdash": "\u2014",
    b"endash": "\u2013",
    b"lquote": "\u2018",
    b"rquote": "\u2019",
    b"ldblquote": "\u201c",
    b"rdblquote": "\u201d",
    b"bullet": "\u2022",
    b"emspace": " ",
    b"enspace": " ",
    b"qmspace": " ",
}
_ESCAPED = {b"~": "\u00a0", b"-": "\u00ad", b"_": "\u2011", b"\\": "\\", b"{": "{", b"}": "}"}


def looks_like_rtf(head: bytes) -> bool:
    """Whether a document's first bytes (whitespace and a BOM stripped) open an RTF file."""
    return head.startswith(b"{\\rtf")


def rtf_text(data: bytes) -> str:
    """The text of an RTF document, paragraphs parted by blank lines."""
    codepage = re.search(rb"\\ansicpg(\d{3,5})", data[:4096])
    encoding = f"cp{int(codepage.group(1))}" if codepage else "cp1252"
    try:
        codecs.lookup(encoding)
    except LookupError:
        encoding = "cp1252"
    out: list[str] = []
    pending = bytearray()  # \'hh bytes, decoded together (a code page may use two per character)
    skip_depth = 0  # > 0 inside a skipped group: the depth it began at
    depth = 0
    uc = [1]  # \ucN per group: fallback characters after each \uN
    to_skip = 0
    star = False

    def flush() -> None:
        if pending:
            out.append(pending.decode(encoding, errors="replace"))
            pending.clear()

    for match in _TOKEN.finditer(data):
        word, arg, hexbyte, symbol, brace, text = match.groups()
        if brace is not None:
            flush()
            if brace == b"{":
                depth += 1
                uc.append(uc[-1])
                star = False
            else:
                if skip_depth and depth == skip_depth:
                    skip_depth = 0
                depth -= 1
                if len(uc) > 1:
                    uc.pop()
            to_skip = 0
            continue
        if skip_depth:
            continue
        if to_skip and (hexbyte is not None or text is not None):
            if hexbyte is not None:
                to_skip -= 1
                continue
            assert text is not None
            dropped = min(to_skip, len(text))
            to_skip -= dropped
            text = text[dropped:]
            if not text:
                continue
        if word is not None:
            if word in _SKIPPED or star:
                flush()
                skip_depth = depth
                star = False
                continue
            if word == b"uc" and arg is not None:
                uc[-1] = max(0, int(arg))
            elif word == b"u" and arg is not None:
                flush()
                out.append(chr(int(arg) % 65536))
                to_skip = uc[-1]
            elif word in _SYMBOLS:
                flush()
                out.append(_SYMBOLS[word])
        elif hexbyte is not None:
            pending.append(int(hexbyte, 16))
        elif symbol is not None:
            if symbol == b"*":
                star = True  # an optional destination: skipped as a group
            elif symbol in _ESCAPED:
                flush()
                out.append(_ESCAPED[symbol])
            elif symbol in (b"\n", b"\r"):
                flush()
                out.append("\n\n")  # "\<newline>" is \par
        elif text is not None:
            flush()
            out.append(text.decode(encoding, errors="replace"))
    flush()
    return "".join(out)
