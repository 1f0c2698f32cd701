"""NewsML-G2: a ``newsItem`` (or a ``newsMessage`` / package holding one; see below) with its
body in ``contentSet/inlineXML`` (XHTML or NITF).

Field mapping:
| column | from |
|---|---|
| wire_id | newsItem@guid |
| version | newsItem@version |
| language | newsItem@xml:lang, else contentMeta/language@tag |
| pubstatus | itemMeta/pubStatus@qcode (stat:usable / stat:withheld / stat:canceled) |
| embargoed_until | itemMeta/embargoed |
| ednote | itemMeta/edNote |
| published_at | itemMeta/firstCreated, else itemMeta/versionCreated |
| agency | itemMeta/provider@literal or @qcode, rightsInfo/copyrightHolder, the guid (rules.FEED_AGENCIES) |
| urgency | contentMeta/urgency |
| headline | contentMeta/headline |
| slugline | contentMeta/slugline |
| byline | contentMeta/by |
| dateline | contentMeta/located/name, else contentMeta/dateline up to its comma |
| subjects | contentMeta/subject@qcode (scheme: the qcode's prefix) with its name |
| copyright | rightsInfo/copyrightNotice |
| body | contentSet/inlineXML block elements |
| standfirst | contentMeta/description with a summary role (drol:summary), else the first description |

A ``newsMessage`` or package holding several items is many inputs: planning splits it into
``file.xml#newsItem[<id>]`` members (``flows.bundles``), each parsed here as a lone item. One
that reaches this parser whole (not named *.xml, in an archive three levels deep, or given
as bytes) is refused (``multi_item``):
taking one item would silently lose the others.
"""

from __future__ import annotations

from parsers.dates import parse_datetime
from parsers.feeditem import FeedItem, bylines, dateline_city
from parsers.mapping import agency_named, pubstatus_of, urgency_of, version_of
from parsers.wire import Draft
from parsers.xmltree import attr, find, find_all, paragraphs_of, parse_xml, text_of, the_one_item
from schemas.story import Subject

_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def parse_newsml(data: bytes) -> FeedItem:
    root = parse_xml(data)
    item_el = the_one_item(root, "newsItem", "NewsML-G2")
    item_meta, content_meta = find(item_el, "itemMeta"), find(item_el, "contentMeta")
    inline = next(iter(find_all(find(item_el, "contentSet"), "inlineXML")), None)
    draft = Draft(paragraphs=paragraphs_of(inline), input_format="newsml-g2")
    draft.headline = text_of(find(content_meta, "headline"))
    descriptions = find_all(content_meta, "description")  # a summary's role says so; else the first
    summary = next((d for d in descriptions if "summary" in (d.get("role") or "")), None)
    draft.standfirst = text_of(summary if summary is not None else next(iter(descriptions), None))
    draft.byline = bylines([t for t in (text_of(b) for b in find_all(content_meta, "by")) if t])
    draft.dateline = text_of(find(content_meta, "located", "name")) or dateline_city(
        text_of(find(content_meta, "dateline"))
    )
    lang = item_el.get(_XML_LANG) or attr(find(content_meta, "language"), "tag")
    draft.language = lang.split("-")[0].lower() if lang else None
    created = text_of(find(item_meta, "firstCreated")) or text_of(find(item_meta, "versionCreated"))
    draft.published_at = parse_datetime(created) if created else None
    provider = find(item_meta, "provider")
    rights = find(item_el, "rightsInfo")
    holder = find(rights, "copyrightHolder")
    draft.agency = agency_named(
        provider.get("literal") if provider is not None else None,
        provider.get("qcode") if provider is not None else None,
        (holder.get("literal") or text_of(find(holder, "name"))) if holder is not None else None,
        item_el.get("guid"),
    )
    notice = text_of(find(rights, "copyrightNotice"))
    if notice:
        draft.copyright = notice
    status = find(item_meta, "pubStatus")
    embargo = text_of(find(item_meta, "embargoed"))
    feed_item = FeedItem(
        draft,
        wire_id=item_el.get("guid"),
        version=version_of(item_el.get("version")),
        slugline=text_of(find(content_meta, "slugline")),
        urgency=urgency_of(text_of(find(content_meta, "urgency"))),
        ednote=text_of(find(item_meta, "edNote")),
        pubstatus=pubstatus_of(status.get("qcode") if status is not None else None),
        embargoed_until=parse_datetime(embargo) if embargo else None,
    )
    for subject in find_all(content_meta, "subject"):
        qcode = subject.get("qcode") or ""
        scheme, _, code = qcode.partition(":")
        if code:
            feed_item.subjects.append(Subject(scheme, code, text_of(find(subject, "name"))))
    return feed_item
