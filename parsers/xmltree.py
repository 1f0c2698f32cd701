"""XML for the feed formats: a safe parser and namespace-blind lookups, and XHTML bodies
read as paragraphs. Pure; no I/O.

XML is parsed from bytes, so its encoding declaration is honoured, with entity
resolution, DTD loading and network access off and no huge-tree mode. A document that
declares entities of its own (the billion-laughs shape) is refused (``bad_xml``), never
expanded; a ``<!DOCTYPE nitf SYSTEM "../dtd/nitf-3-2.dtd">`` reference is normal and
ignored, never fetched.
"""

from __future__ import annotations

import re

from lxml import etree

from parsers.decode import clean_text
from schemas.errors import ParseError

_XML_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True, remove_pis=True
)
_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.IGNORECASE)
#: Block elements whose text is a paragraph of a body.
_BLOCKS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "hl2"})


def parse_xml(data: bytes) -> etree._Element:
    """The document's root element; ParseError("bad_xml") for malformed XML or entity bombs."""
    head = data[:65536]
    if b"<!DOCTYPE" in head.upper() and _ENTITY_DECLARATION.search(head):
        raise ParseError("bad_xml", "the document declares its own entities (an entity bomb?): refused, not expanded")
    try:
        root = etree.fromstring(data, parser=_XML_PARSER)
    except etree.XMLSyntaxError as exc:
        raise ParseError("bad_xml", f"malformed XML: {exc}") from exc
    if root is None:
        raise ParseError("bad_xml", "no root element")
    return root


def local(tag: object) -> str:
    """An element's name without its namespace ("{ns}newsItem" -> "newsItem")."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def the_one_item(root: etree._Element, name: str, standard: str) -> etree._Element:
    """The one item (``newsItem``, ``NewsItem``) of a news document: the root itself or its
    only descendant of that name. ParseError ``no_body`` for none; ``multi_item`` for
    several, which reach a parser whole only where flows.bundles could not split them (a
    file named *.xml is split, in the landing zone or in an archive): taking one would
    lose the others."""
    items = [root] if local(root.tag) == name else find_all(root, name)
    if not items:
        raise ParseError("no_body", f"a {standard} {local(root.tag)} without a {name}")
    if len(items) > 1:
        raise ParseError(
            "multi_item",
            f"a {standard} {local(root.tag)} with {len(items)} {name}s that was not split into them (named "
            "other than *.xml, in an archive three levels deep, or past the bundle limits): name it *.xml, in the "
            "landing zone or in a zip or tar, to read each item as an input",
        )
    return items[0]


def find(element: etree._Element | None, *path: str) -> etree._Element | None:
    """The first descendant path of local names (namespace-blind), or None."""
    node = element
    for name in path:
        if node is None:
            return None
        node = next((child for child in node if local(child.tag) == name), None)
    return node


def find_all(element: etree._Element | None, name: str) -> list[etree._Element]:
    """Every descendant with local name ``name``."""
    if element is None:
        return []
    return [node for node in element.iter() if local(node.tag) == name]


def attr(element: etree._Element | None, name: str) -> str | None:
    """An attribute of an element that may be missing."""
    return None if element is None else element.get(name)


def text_of(element: etree._Element | None) -> str | None:
    """The element's text, whitespace folded, cleaned; None when empty."""
    if element is None:
        return None
    value = " ".join("".join(str(t) for t in element.itertext()).split())
    return clean_text(value) or None


def paragraphs_of(body: etree._Element | None) -> list[str]:
    """The body's paragraphs: the text of each block element (p, h2, li, ...), innermost
    blocks only; loose text of a body without blocks is one paragraph per line."""
    if body is None:
        return []
    blocks = [el for el in body.iter() if local(el.tag) in _BLOCKS]
    blocks = [el for el in blocks if not any(local(c.tag) in _BLOCKS for c in el.iterdescendants())]
    if not blocks:
        raw = "".join(str(t) for t in body.itertext())
        return [clean_text(" ".join(line.split())) for line in raw.split("\n") if line.strip()]
    found = [text_of(el) for el in blocks]
    return [p for p in found if p]


def paragraphs_of_html(markup: str) -> list[str]:
    """Paragraphs of an HTML fragment (a ninjs ``body_html``), by the same rule."""
    from lxml import html as lxml_html

    try:
        fragment = lxml_html.fragment_fromstring(markup, create_parent="div")
    except (etree.ParserError, ValueError):
        return []
    return paragraphs_of(fragment)
