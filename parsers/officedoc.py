"""Word processor documents to plain text: a desk's or a press office's story saved as a Word
document (Office Open XML, ``.docx``) or an OpenDocument text (``.odt``), read as the wire
text it holds (input_format ``docx`` / ``odt``).

Both are zip files of XML parts; only the main part is read (``word/document.xml``,
``content.xml``), so headers, footers, footnotes, comments and document properties stay out.
A paragraph (``w:p``, ``text:p``, ``text:h``) ends with a blank line; a line break is a new
line; a tab a tab; a table row is its cells' text parted by tabs, one line each. Text that
is not the document's current text is skipped: Word's tracked deletions (``w:del``,
``w:delText``) and field instructions (``w:instrText``), the copy of a drawing's text kept for
old readers (``mc:Fallback``), OpenDocument's tracked changes, notes and annotations. Before
the thirty-first session such a file was ``binary`` (a zip archive that is no bundle).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

from schemas.errors import ParseError

#: The zip entry holding each kind's text, and the first bytes of an OpenDocument text file
#: (its uncompressed ``mimetype`` entry comes first, by the standard).
WORD_PART = "word/document.xml"
ODF_PART = "content.xml"
_ODF_TEXT_MIMETYPE = b"mimetypeapplication/vnd.oasis.opendocument.text"
#: How much larger than the file its text part may unpack to (a zip bomb named .docx), and
#: the floor of that: a Word part's XML is 5-10 times its deflated size.
MAX_PART_RATIO = 20
MIN_PART_CAP = 20 * 1024**2

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"


def office_kind(data: bytes) -> str | None:
    """``docx`` or ``odt`` for a Word or OpenDocument text file (a zip holding its main
    part), else None."""
    if not data.startswith(b"PK\x03\x04"):
        return None
    if data.startswith(_ODF_TEXT_MIMETYPE, 30):  # the local header is 30 bytes, then the name
        return "odt"
    if WORD_PART.encode() in data:  # the part's name, in its local header and the directory
        return "docx"
    return None


def office_text(data: bytes, kind: str) -> str:
    """The text of a ``docx`` or ``odt`` document, paragraphs parted by blank lines."""
    from parsers.xmltree import parse_xml

    part = WORD_PART if kind == "docx" else ODF_PART
    cap = max(len(data) * MAX_PART_RATIO, MIN_PART_CAP)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open(part) as handle:
            xml = handle.read(cap + 1)
    except Exception as exc:  # in memory: the document's own fault (corrupt, encrypted, no such part)
        raise ParseError("bad_document", f"a {kind} document whose {part} cannot be read: {exc}") from exc
    if len(xml) > cap:
        raise ParseError("too_large", f"the {kind} document's {part} unpacks to over {cap:,} bytes")
    root = parse_xml(xml)
    if kind == "docx":
        start, container = root.find(f"{_W}body"), _word_container
    else:
        start, container = root.find(f"{_OFFICE}body/{_OFFICE}text"), _odf_container
    blocks = container(start) if start is not None else iter(())
    return "\n\n".join(block for block in (b.strip() for b in blocks) if block)


def _rows(table: Any, row_tag: str, cell_tag: str, container: Callable[[Any], Iterator[str]]) -> Iterator[str]:
    """A table's rows, each its cells' text parted by tabs (a cell's paragraphs by spaces; a
    table inside a cell is read with the cell, not again as rows of this one)."""
    for row in _own_rows(table, row_tag, table.tag):
        cells = (" ".join(p.strip() for p in container(cell)) for cell in row if cell.tag == cell_tag)
        yield "\t".join(cell for cell in cells if cell)


def _own_rows(element: Any, row_tag: str, table_tag: str) -> Iterator[Any]:
    """The rows of a table, in groups (OpenDocument's header rows) or not, not its cells' tables'."""
    for child in element:
        if child.tag == row_tag:
            yield child
        elif isinstance(child.tag, str) and child.tag != table_tag:
            yield from _own_rows(child, row_tag, table_tag)


# --- Office Open XML (Word) -------------------------------------------------------------
_W_SKIPPED = frozenset({f"{_W}del", f"{_W}delText", f"{_W}instrText", f"{_MC}Fallback", f"{_W}rPr", f"{_W}pPr"})


def _word_container(element: Any) -> Iterator[str]:
    """The paragraphs and table rows of a body, a table cell or a content control."""
    for child in element:
        if child.tag == f"{_W}p":
            yield _word_paragraph(child)
        elif child.tag == f"{_W}tbl":
            yield from _rows(child, f"{_W}tr", f"{_W}tc", _word_container)
        elif child.tag in (f"{_W}sdt", f"{_W}sdtContent", f"{_W}customXml", f"{_W}ins"):
            yield from _word_container(child)


def _word_paragraph(paragraph: Any) -> str:
    parts: list[str] = []
    nested: list[str] = []  # text boxes inside the paragraph's runs: paragraphs after it

    def walk(element: Any) -> None:
        for child in element:
            tag = child.tag
            if not isinstance(tag, str) or tag in _W_SKIPPED:
                continue
            if tag == f"{_W}t":
                parts.append(child.text or "")
            elif tag == f"{_W}tab":
                parts.append("\t")
            elif tag in (f"{_W}br", f"{_W}cr"):
                parts.append("\n\n" if child.get(f"{_W}type") == "page" else "\n")
            elif tag == f"{_W}noBreakHyphen":
                parts.append("-")
            elif tag == f"{_W}sym":
                code = child.get(f"{_W}char") or ""
                try:
                    parts.append(chr(int(code, 16)))
                except ValueError:
                    pass
            elif tag == f"{_W}txbxContent":
                nested.extend(_word_container(child))
            else:
                walk(child)

    walk(paragraph)
    return "".join(parts) + "".join(f"\n\n{text}" for text in nested if text.strip())


# --- OpenDocument text ------------------------------------------------------------------
_ODF_SKIPPED = frozenset(
    {f"{_TEXT}note", f"{_OFFICE}annotation", f"{_TEXT}tracked-changes", f"{_TEXT}soft-page-break", f"{_TEXT}bookmark"}
)


def _odf_container(element: Any) -> Iterator[str]:
    for child in element:
        tag = child.tag
        if tag in (f"{_TEXT}p", f"{_TEXT}h"):
            yield _odf_inline(child)
        elif tag == f"{_TABLE}table":
            yield from _rows(child, f"{_TABLE}table-row", f"{_TABLE}table-cell", _odf_container)
        elif isinstance(tag, str) and tag not in _ODF_SKIPPED:
            yield from _odf_container(child)  # lists, sections, frames


def _odf_inline(element: Any) -> str:
    parts: list[str] = [element.text or ""]
    for child in element:
        tag = child.tag
        if isinstance(tag, str) and tag not in _ODF_SKIPPED:
            if tag == f"{_TEXT}s":
                parts.append(" " * int(child.get(f"{_TEXT}c") or 1))
            elif tag == f"{_TEXT}tab":
                parts.append("\t")
            elif tag == f"{_TEXT}line-break":
                parts.append("\n")
            else:
                parts.append(_odf_inline(child))
        parts.append(child.tail or "")
    return "".join(parts)
