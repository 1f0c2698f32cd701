"""One item of a web feed: an RSS ``<item>`` (2.0, or 1.0's RDF) or an Atom ``<entry>``, as the bundle reader
splits it out of its feed (``feed.xml#item[3]``, flows/bundles.py), the feed's language
copied onto it as ``xml:lang``.

Field mapping:
| column | RSS ``item`` | Atom ``entry`` |
|---|---|---|
| headline | title | title |
| body | content:encoded, else description (HTML or text) | content, else summary (html, xhtml or text) |
| standfirst | description, when content:encoded is the body | summary, when content is the body |
| byline | author, dc:creator | author/name |
| published_at | pubDate, else dc:date | published, else updated |
| url | link | the link whose rel is alternate (or none) |
| wire_id | guid (RSS 1.0: rdf:about) | id |
| language | xml:lang (the channel's ``language``) | xml:lang |

A JSON Feed's item (jsonfeed.org) is JSON: `parsers.ninjs.parse_json_feed_item`.
"""

from __future__ import annotations

from lxml import etree

from parsers.dates import parse_datetime
from parsers.feeditem import FeedItem, bylines
from parsers.wire import Draft
from parsers.xmltree import find, find_all, local, paragraphs_of, paragraphs_of_html, parse_xml, text_of
from schemas.errors import ParseError
from schemas.story import Removed

_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_RDF_ABOUT = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about"


def _child(element: etree._Element, *names: str) -> etree._Element | None:
    """The first child whose local name is one of ``names`` (in the order asked)."""
    for name in names:
        found = next((child for child in element if local(child.tag) == name), None)
        if found is not None:
            return found
    return None


def _raw_text(element: etree._Element | None) -> str:
    return "".join(str(t) for t in element.itertext()) if element is not None else ""


def _paragraphs(element: etree._Element | None, kind: str | None = None) -> list[str]:
    """An item's text as paragraphs: XHTML children read as blocks, HTML (escaped or in a
    CDATA section) parsed as a fragment, plain text one paragraph per line."""
    if element is None:
        return []
    if kind == "xhtml" or (len(element) and kind != "text"):
        return paragraphs_of(element)
    raw = _raw_text(element).strip()
    if not raw:
        return []
    if kind == "html" or (kind is None and "<" in raw and ">" in raw):
        return paragraphs_of_html(raw)
    return paragraphs_of(element)


def _shared_trailer(body: list[str], summary: list[str]) -> str | None:
    """The last paragraph the item's full text and its summary both end on, when each has
    text before it: a line the feed appends to every field of every item (WordPress's "The
    post ... appeared first on ..."), read by that repetition, not by its words."""
    if len(body) >= 2 and len(summary) >= 2 and body[-1] == summary[-1]:
        return body[-1]
    return None


def _language(root: etree._Element) -> str | None:
    lang = root.get(_XML_LANG) or text_of(_child(root, "language"))
    return lang.split("-")[0].lower() if lang else None


def parse_rss_item(data: bytes) -> FeedItem:
    root = parse_xml(data)
    content = _child(root, "encoded")  # content:encoded
    description = _child(root, "description")
    body = _paragraphs(content) if content is not None else []
    summary = _paragraphs(description)
    trailer = _shared_trailer(body, summary)
    if trailer is not None:  # "The post ... appeared first on ...": the feed's, not the story's
        body, summary = body[:-1], summary[:-1]
    draft = Draft(paragraphs=body or summary, input_format="rss")
    if trailer is not None:
        draft.removed.append(Removed("trailer", trailer))
    if body and summary and " ".join(summary) not in " ".join(body):
        draft.standfirst = " ".join(summary)
    draft.headline = text_of(_child(root, "title"))
    authors = [text_of(el) for el in root if local(el.tag) in ("author", "creator")]
    draft.byline = bylines([a for a in authors if a])
    when = text_of(_child(root, "pubDate", "date"))
    draft.published_at = parse_datetime(when) if when else None
    draft.url = text_of(_child(root, "link"))
    draft.language = _language(root)
    # RSS 1.0 (RDF) names an item by its rdf:about, where RSS 2.0 has a guid.
    return _item(draft, text_of(_child(root, "guid")) or root.get(_RDF_ABOUT))


def parse_atom_entry(data: bytes) -> FeedItem:
    root = parse_xml(data)
    content = _child(root, "content")
    summary_el = _child(root, "summary")
    body = _paragraphs(content, content.get("type") if content is not None else None)
    summary = _paragraphs(summary_el, summary_el.get("type") if summary_el is not None else None)
    draft = Draft(paragraphs=body or summary, input_format="atom")
    if body and summary and " ".join(summary) not in " ".join(body):
        draft.standfirst = " ".join(summary)
    draft.headline = text_of(_child(root, "title"))
    draft.byline = bylines([name for author in find_all(root, "author") if (name := text_of(find(author, "name")))])
    when = text_of(_child(root, "published", "updated"))
    draft.published_at = parse_datetime(when) if when else None
    links = [link for link in root if local(link.tag) == "link" and link.get("href")]
    page = next((link for link in links if link.get("rel") in (None, "alternate")), None)
    draft.url = page.get("href") if page is not None else None
    draft.language = _language(root)
    return _item(draft, text_of(_child(root, "id")))


def _item(draft: Draft, wire_id: str | None) -> FeedItem:
    if not draft.paragraphs and not draft.headline:
        raise ParseError("no_body", "a feed item with neither a title nor any text")
    return FeedItem(draft, wire_id=wire_id)
