"""NITF 3.x: one news item in XML (``<nitf><head/><body/></nitf>``).

Field mapping (head/docdata unless said):
| column | from |
|---|---|
| headline | body/body.head/hedline/hl1, else head/title |
| byline | body/body.head/byline (its text, "By" dropped; byline/person if present) |
| dateline | body/body.head/dateline/location/city, else the dateline's text up to its comma |
| published_at | date.issue@norm, else date.release@norm |
| wire_id | doc-id@id-string |
| version | du-key@version |
| slugline | du-key@key |
| urgency | urgency@ed-urg |
| ednote | ed-msg@info |
| pubstatus | @management-status |
| embargoed_until | date.release@norm when management-status is "embargoed" |
| copyright | doc.copyright@holder (and @year) |
| subjects | head/tobject/tobject.subject@tobject.subject.refnum (scheme iptc-subject) |
| agency | doc-id@regsrc, doc.copyright@holder, head/meta[@name="agency"] (rules.FEED_AGENCIES) |
| body | body/body.content block elements |
| standfirst | body/body.head/abstract, else body/body.head/hedline/hl2 (the deck under the headline) |
"""

from __future__ import annotations

from parsers.dates import parse_datetime
from parsers.feeditem import FeedItem, bylines, dateline_city
from parsers.mapping import agency_named, pubstatus_of, urgency_of, version_of
from parsers.wire import Draft
from parsers.xmltree import attr, find, find_all, paragraphs_of, parse_xml, text_of
from schemas.story import Subject


def parse_nitf(data: bytes) -> FeedItem:
    root = parse_xml(data)
    head, body = find(root, "head"), find(root, "body")
    docdata = find(head, "docdata")
    body_head = find(body, "body.head")
    draft = Draft(paragraphs=paragraphs_of(find(body, "body.content")), input_format="nitf")
    draft.headline = text_of(find(body_head, "hedline", "hl1")) or text_of(find(head, "title"))
    draft.standfirst = text_of(find(body_head, "abstract")) or text_of(find(body_head, "hedline", "hl2"))
    byline = find(body_head, "byline")
    persons = [text_of(p) for p in find_all(byline, "person")]
    draft.byline = [p for p in persons if p] or bylines([text_of(byline) or ""])
    dateline = find(body_head, "dateline")
    draft.dateline = text_of(find(dateline, "location", "city")) or dateline_city(text_of(dateline))
    lang = root.get("{http://www.w3.org/XML/1998/namespace}lang") or (head.get("lang") if head is not None else None)
    draft.language = lang.split("-")[0].lower() if lang else None
    copyright_el = find(docdata, "doc.copyright")
    holder = copyright_el.get("holder") if copyright_el is not None else None
    year = copyright_el.get("year") if copyright_el is not None else None
    if holder:
        draft.copyright = f"Copyright {year} {holder}" if year else f"Copyright {holder}"
        draft.copyright_year = int(year) if year and year.isdigit() else None
    doc_id = find(docdata, "doc-id")
    agency_meta = next((m.get("content") for m in find_all(head, "meta") if m.get("name") == "agency"), None)
    draft.agency = agency_named(doc_id.get("regsrc") if doc_id is not None else None, holder, agency_meta)
    release = attr(find(docdata, "date.release"), "norm")
    issued = attr(find(docdata, "date.issue"), "norm") or release
    draft.published_at = parse_datetime(issued) if issued else None
    du_key = find(docdata, "du-key")
    status = docdata.get("management-status") if docdata is not None else None
    item = FeedItem(
        draft,
        wire_id=doc_id.get("id-string") if doc_id is not None else None,
        version=version_of(du_key.get("version")) if du_key is not None else None,
        slugline=du_key.get("key") if du_key is not None else None,
        urgency=urgency_of(attr(find(docdata, "urgency"), "ed-urg")),
        ednote=attr(find(docdata, "ed-msg"), "info"),
        pubstatus=pubstatus_of(status),
    )
    if status and status.lower() == "embargoed" and release:
        item.embargoed_until = parse_datetime(release)
    for subject in find_all(head, "tobject.subject"):
        code = subject.get("tobject.subject.refnum")
        if code:
            item.subjects.append(Subject("iptc-subject", code, subject.get("tobject.subject.type")))
    return item
