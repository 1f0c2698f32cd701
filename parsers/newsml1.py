"""NewsML 1 (IPTC NewsML 1.0-1.2, as AFP, dpa, ANP and Reuters' older feeds send it): a
``NewsML`` document holding a ``NewsItem``, whose ``NewsComponent`` carries the news lines and
a ``ContentItem`` with the text in ``DataContent`` (NITF, XHTML or plain text). No namespace.

Field mapping:
| column | from |
|---|---|
| wire_id | ``urn:newsml:`` ProviderId ``:`` DateId ``:`` NewsItemId (every revision shares it) |
| version | Identification/NewsIdentifier/RevisionId |
| language | DescriptiveMetadata/Language@FormalName, else NewsItem@xml:lang |
| pubstatus | NewsManagement/Status@FormalName (Usable, Withheld, Canceled; Embargoed: usable) |
| embargoed_until | NewsManagement/StatusWillChange/DateAndTime, when it changes to Usable |
| published_at | NewsManagement/FirstCreated, else ThisRevisionCreated, else the envelope's |
| urgency | NewsManagement/Urgency@FormalName, else NewsEnvelope/Priority@FormalName |
| agency | Provider/Party@FormalName, Creator/Party, the ProviderId (rules.FEED_AGENCIES) |
| headline | NewsLines/HeadLine |
| standfirst | NewsLines/SubHeadLine |
| byline | NewsLines/ByLine (its by-word dropped) |
| dateline | NewsLines/DateLine up to its comma ("MADRID, 4 oct 2013 (AFP) -" -> MADRID) |
| copyright | NewsLines/CopyrightLine (copyright_year: the year in it) |
| slugline | NewsLines/SlugLine, else Identification/NameLabel |
| ednote | NewsItem/Comment |
| subjects | SubjectCode/Subject, SubjectMatter, SubjectDetail@FormalName (``iptc-subject``) |
| body | the text ContentItem (MediaType Text, or a NITF / XHTML / text format) holding the |
|      | most text in its DataContent: its block elements, else its lines |

The news lines and metadata are the item's first (its top NewsComponent's; a nested
component is a photo's or a sidebar's). A document holding several ``NewsItem`` elements is
many inputs: planning splits it into ``file.xml#NewsItem[n]`` members (``flows.bundles``),
each parsed here as a lone item; one that reaches this parser whole (not named *.xml) is
refused (``multi_item``), as a NewsML-G2 message is.
"""

from __future__ import annotations

from lxml import etree

from parsers import rules
from parsers.dates import parse_datetime
from parsers.feeditem import FeedItem, bylines, dateline_city
from parsers.mapping import agency_named, pubstatus_of, urgency_of, version_of
from parsers.wire import Draft
from parsers.xmltree import find, find_all, local, paragraphs_of, parse_xml, text_of, the_one_item
from schemas.story import Subject

_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
#: ContentItem formats whose DataContent is the story's text.
_TEXT_FORMATS = frozenset({"nitf", "xhtml", "html", "text", "plaintext", "iptc7901", "anpa1312"})


def _formal(element: etree._Element | None) -> str | None:
    value = None if element is None else element.get("FormalName")
    return value.strip() or None if value else None


def _child(element: etree._Element | None, name: str) -> etree._Element | None:
    """The first child (not descendant) of ``element`` named ``name``."""
    if element is None:
        return None
    return next((child for child in element if local(child.tag) == name), None)


def _first(element: etree._Element, name: str) -> etree._Element | None:
    """The first descendant of ``element`` named ``name``, in document order: the top
    NewsComponent's, before a nested (photo, sidebar) component's."""
    return next((node for node in element.iter() if local(node.tag) == name), None)


def _is_text(content_item: etree._Element) -> bool:
    media = (_formal(_child(content_item, "MediaType")) or "").lower()
    fmt = (_formal(_child(content_item, "Format")) or "").lower()
    if media:
        return media == "text"
    return fmt in _TEXT_FORMATS or not fmt


def _body_of(item: etree._Element) -> list[str]:
    """The paragraphs of the item's text ContentItem holding the most text (a photo's
    component may carry its caption as a text item of its own, before the story's)."""
    best: list[str] = []
    for content_item in find_all(item, "ContentItem"):
        data = _child(content_item, "DataContent")
        if data is None or not _is_text(content_item):
            continue
        body = next((found for found in (find(data, "body.content"), find(data, "body")) if found is not None), data)
        paragraphs = paragraphs_of(body)
        if sum(map(len, paragraphs)) > sum(map(len, best)):
            best = paragraphs
    return best


def _wire_id(identifier: etree._Element | None) -> str | None:
    provider = text_of(_child(identifier, "ProviderId"))
    date_id = text_of(_child(identifier, "DateId"))
    item_id = text_of(_child(identifier, "NewsItemId"))
    if provider and date_id and item_id:
        return f"urn:newsml:{provider}:{date_id}:{item_id}"
    return text_of(_child(identifier, "PublicIdentifier"))


def parse_newsml1(data: bytes) -> FeedItem:
    root = parse_xml(data)
    item = the_one_item(root, "NewsItem", "NewsML 1")
    identifier = find(item, "Identification", "NewsIdentifier")
    management = _child(item, "NewsManagement")
    lines = _first(item, "NewsLines")
    descriptive = _first(item, "DescriptiveMetadata")
    administrative = _first(item, "AdministrativeMetadata")
    envelope = _child(root, "NewsEnvelope") if root is not item else None

    draft = Draft(paragraphs=_body_of(item), input_format="newsml-1")
    draft.headline = text_of(find(lines, "HeadLine"))
    draft.standfirst = text_of(find(lines, "SubHeadLine"))
    draft.byline = bylines([t for t in (text_of(b) for b in find_all(lines, "ByLine")) if t])
    draft.dateline = dateline_city(text_of(find(lines, "DateLine")))
    copyright_line = text_of(find(lines, "CopyrightLine"))
    if copyright_line:
        year = rules.COPYRIGHT_YEAR.search(copyright_line)
        draft.copyright, draft.copyright_year = copyright_line, int(year.group(1)) if year else None
    language = _formal(find(descriptive, "Language")) or item.get(_XML_LANG) or root.get(_XML_LANG)
    draft.language = language.split("-")[0].lower() if language else None
    created = (
        text_of(_child(management, "FirstCreated"))
        or text_of(_child(management, "ThisRevisionCreated"))
        or text_of(_child(envelope, "DateAndTime"))
    )
    draft.published_at = parse_datetime(created) if created else None
    draft.agency = agency_named(
        _formal(find(administrative, "Provider", "Party")),
        _formal(find(administrative, "Creator", "Party")),
        text_of(_child(identifier, "ProviderId")),
    )
    status = (_formal(_child(management, "Status")) or "").lower()
    embargo = None
    change = _child(management, "StatusWillChange")
    if change is not None and (_formal(_child(change, "FutureStatus")) or "").lower() == "usable":
        when = text_of(_child(change, "DateAndTime"))
        embargo = parse_datetime(when) if when else None
    feed_item = FeedItem(
        draft,
        wire_id=_wire_id(identifier),
        version=version_of(text_of(_child(identifier, "RevisionId"))),
        slugline=text_of(find(lines, "SlugLine")) or text_of(find(item, "Identification", "NameLabel")),
        urgency=urgency_of(_formal(_child(management, "Urgency")) or _formal(_child(envelope, "Priority"))),
        ednote=text_of(_child(item, "Comment")),
        pubstatus=pubstatus_of(status),
        embargoed_until=embargo,
    )
    seen: set[str] = set()
    for name in ("Subject", "SubjectMatter", "SubjectDetail"):
        for subject in find_all(descriptive, name):
            code = _formal(subject)
            if code and code not in seen:
                seen.add(code)
                feed_item.subjects.append(Subject("iptc-subject", code, None))
    return feed_item
