"""ninjs 1.x and 2.x JSON: one news item; and AP's media API item JSON, which is ninjs 1.x
with AP's own fields, inside ``{"api_version": ..., "data": {"item": {...}}}``.

Field mapping (1.x name / 2.x name / AP media API where it differs):
| column | from |
|---|---|
| wire_id | uri / altids.itemid (AP's uri changes with every version: it holds the etag) |
| version | version |
| headline | headline / headlines[0].value |
| byline | byline / by / bylines[].by |
| dateline | located / datelinelocation.city |
| published_at | firstcreated, else versioncreated |
| language | language |
| urgency | urgency / editorialpriority (an ANPA priority letter, rules.ANPA_PRIORITIES) |
| pubstatus | pubstatus |
| embargoed_until | embargoed |
| ednote | ednote |
| slugline | slugline |
| subjects | subject[] / subjects[] (scheme, code, name) |
| copyright | copyrightnotice |
| agency | copyrightholder, infosources[].name, uri (rules.FEED_AGENCIES) |
| body | body_html, else body_text / bodies[] (role main, HTML or text) / body_nitf |
| standfirst | description_text, else descriptions[] (role summary, else the first that is not HTML) |

An AP item that carries only metadata (its text is a NITF rendition to download,
``renditions.nitf.href``) is ``no_body`` with that advice: no row is invented from a headline.
"""

from __future__ import annotations

import re
from typing import Any

from parsers import rules
from parsers.dates import parse_datetime
from parsers.feeditem import FeedItem, bylines, dateline_city, load_json
from parsers.mapping import agency_named, pubstatus_of, urgency_of, version_of
from parsers.wire import Draft
from parsers.xmltree import paragraphs_of_html
from schemas.errors import ParseError
from schemas.story import Subject


def looks_like_ninjs(value: Any) -> bool:
    """A JSON object with ninjs's keys: ``uri`` and a headline or a body."""
    return (
        isinstance(value, dict)
        and "uri" in value
        and any(key in value for key in ("headline", "headlines", "body_html", "body_text", "bodies", "body_nitf"))
    )


_BLANK_LINE = re.compile(r"\n[ \t]*\n\s*")
_ANPA_PRIORITY = {code: urgency for code, urgency, _ in rules.ANPA_PRIORITIES}


def unwrap(value: Any) -> Any:
    """The item of an AP media API response (``data.item``), else ``value`` itself."""
    if isinstance(value, dict) and isinstance(value.get("data"), dict) and isinstance(value["data"].get("item"), dict):
        return value["data"]["item"]
    return value


def _text(value: Any) -> str | None:
    return " ".join(value.split()) or None if isinstance(value, str) else None


def _text_paragraphs(text: str) -> list[str]:
    """Paragraphs of a plain-text body: blank lines part them, whatever the line ends
    (CR LF, CR, LF; a blank line may hold spaces)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [" ".join(p.split()) for p in _BLANK_LINE.split(text) if p.strip()]


def _body(item: dict[str, Any]) -> list[str]:
    if isinstance(item.get("body_html"), str):
        return paragraphs_of_html(item["body_html"])
    if isinstance(item.get("body_nitf"), str):  # AP: a NITF body.content fragment
        return paragraphs_of_html(item["body_nitf"])
    if isinstance(item.get("body_text"), str):
        return _text_paragraphs(item["body_text"])
    for body in item.get("bodies") or []:
        if isinstance(body, dict) and body.get("role", "main") == "main" and isinstance(body.get("value"), str):
            if "html" in str(body.get("contenttype", "text/html")):
                return paragraphs_of_html(body["value"])
            return _text_paragraphs(body["value"])
    return []


def listed_items(value: Any) -> list[Any] | None:
    """The items of a JSON document that lists them: a top-level list, or a list under
    ``items`` or ``data.items`` (AP's media API feed, each element an item or ``{"item":
    ...}``); None for a document that lists none (one item, or something else)."""
    if isinstance(value, list):
        found: Any = value
    elif isinstance(value, dict) and "uri" not in value:
        data = value.get("data")
        found = value.get("items")
        if not isinstance(found, list) and isinstance(data, dict):
            found = data.get("items")
    else:
        return None
    if not isinstance(found, list):
        return None
    return [
        element["item"]
        if isinstance(element, dict) and "uri" not in element and isinstance(element.get("item"), dict)
        else element
        for element in found
    ]


def parse_ninjs(data: bytes) -> FeedItem:
    value = load_json(data)
    listed = listed_items(value)
    if listed is not None:
        if not listed:
            raise ParseError(
                "empty",
                "a JSON list (or a feed's or a page's items) holding no item: nothing to ingest; saved again with "
                "items, they are read (a rewritten file is read again)",
            )
        if len(listed) != 1:
            raise ParseError(
                "multi_item",
                f"a JSON list of {len(listed)} items: as a .json file in the landing zone each item is an input"
                " of its own (`file.json#item[...]`); one file, one story otherwise",
            )
        value = listed[0]
    item = unwrap(value)
    if not looks_like_ninjs(item):
        if looks_like_json_feed_item(item):  # a JSON Feed's item (its feed is split into them)
            return parse_json_feed_item(item)
        raise ParseError("bad_json", "a JSON object without ninjs's uri and headline or body")
    _refuse_metadata_only(item)
    headline = _text(item.get("headline"))
    if headline is None and isinstance(item.get("headlines"), list) and item["headlines"]:
        first = item["headlines"][0]
        headline = _text(first.get("value")) if isinstance(first, dict) else None
    draft = Draft(paragraphs=_body(item), input_format="ninjs", headline=headline)
    draft.standfirst = _text(item.get("description_text"))
    if draft.standfirst is None and isinstance(item.get("descriptions"), list):  # ninjs 2: [{role, value}]
        texts = [d for d in item["descriptions"] if isinstance(d, dict) and "html" not in str(d.get("contenttype"))]
        summary = next((d for d in texts if "summary" in str(d.get("role") or "")), texts[0] if texts else None)
        draft.standfirst = _text(summary.get("value")) if summary is not None else None
    byline = item.get("byline") or item.get("by")
    draft.byline = bylines([byline]) if isinstance(byline, str) else []
    if not draft.byline and isinstance(item.get("bylines"), list):  # AP: [{"by": "By NAME", "title": ...}]
        draft.byline = bylines(
            [b["by"] for b in item["bylines"] if isinstance(b, dict) and isinstance(b.get("by"), str)]
        )
    located = item.get("located")
    if not isinstance(located, str) and isinstance(item.get("datelinelocation"), dict):
        located = item["datelinelocation"].get("city")
    draft.dateline = dateline_city(located if isinstance(located, str) else None)
    created = item.get("firstcreated") or item.get("versioncreated")
    draft.published_at = parse_datetime(created) if isinstance(created, str) else None
    language = item.get("language")
    draft.language = language.split("-")[0].lower() if isinstance(language, str) and language else None
    notice = item.get("copyrightnotice")
    draft.copyright = notice if isinstance(notice, str) and notice.strip() else None
    sources = [s.get("name") for s in item.get("infosources") or [] if isinstance(s, dict)]
    holder = item.get("copyrightholder")
    draft.agency = agency_named(holder if isinstance(holder, str) else None, *[s for s in sources if s], item["uri"])
    embargo = item.get("embargoed")
    altids = item.get("altids") if isinstance(item.get("altids"), dict) else {}
    urgency = urgency_of(item.get("urgency"))
    priority = item.get("editorialpriority")
    if urgency is None and isinstance(priority, str):
        urgency = _ANPA_PRIORITY.get(priority.strip().lower())
    feed_item = FeedItem(
        draft,
        wire_id=str(altids.get("itemid") or item["uri"]),
        version=version_of(item.get("version")),
        slugline=_text(item.get("slugline")),
        urgency=urgency,
        ednote=_text(item.get("ednote")),
        pubstatus=pubstatus_of(item.get("pubstatus") if isinstance(item.get("pubstatus"), str) else None),
        embargoed_until=parse_datetime(embargo) if isinstance(embargo, str) else None,
    )
    for subject in item.get("subject") or item.get("subjects") or []:
        if isinstance(subject, dict) and subject.get("code"):
            feed_item.subjects.append(
                Subject(str(subject.get("scheme") or ""), str(subject["code"]), _text(subject.get("name")))
            )
    return feed_item


def _refuse_metadata_only(item: dict[str, Any]) -> None:
    """AP's search and feed responses list items by their metadata; the story text is a
    rendition of its own. Such an item is quarantined with the way to get the text (the
    href without its query string, which may hold a signed token)."""
    if any(isinstance(item.get(k), str | list) for k in ("body_html", "body_text", "bodies", "body_nitf")):
        return
    renditions = item.get("renditions")
    nitf = renditions.get("nitf") if isinstance(renditions, dict) else None
    if isinstance(nitf, dict) and nitf.get("href"):
        raise ParseError(
            "no_body",
            "an AP media API item with metadata only: its text is the NITF rendition "
            f"(renditions.nitf.href {str(nitf['href']).split('?')[0][:200]}); download that and ingest the NITF file",
        )


def looks_like_json_feed_item(value: object) -> bool:
    """An item of a JSON Feed (jsonfeed.org, 1.0 and 1.1): an ``id`` and its content as
    ``content_html`` or ``content_text`` (the spec asks for one of them)."""
    return isinstance(value, dict) and "id" in value and ("content_html" in value or "content_text" in value)


def parse_json_feed_item(item: dict[str, Any]) -> FeedItem:
    """A JSON Feed item, as `flows.bundles` splits it out of its feed (``feed.json#item[...]``),
    ``input_format`` ``jsonfeed``: the fields an RSS item has (`parsers.webfeed`), by JSON
    Feed's names: title, content_html / content_text (summary the standfirst), authors[].name
    (1.0: author.name), date_published / date_modified, url, id (wire id), language."""
    if isinstance(item.get("content_html"), str):
        body = paragraphs_of_html(item["content_html"])
    elif isinstance(item.get("content_text"), str):
        body = _text_paragraphs(item["content_text"])
    else:
        body = []
    summary = _text(item.get("summary"))
    draft = Draft(paragraphs=body or ([summary] if summary else []), input_format="jsonfeed")
    if body and summary and summary not in " ".join(body):
        draft.standfirst = summary
    draft.headline = _text(item.get("title"))
    if not draft.paragraphs and not draft.headline:
        raise ParseError("no_body", "a feed item with neither a title nor any text")
    authors: list[Any] = item["authors"] if isinstance(item.get("authors"), list) else [item.get("author")]
    draft.byline = bylines([a["name"] for a in authors if isinstance(a, dict) and isinstance(a.get("name"), str)])
    when = _text(item.get("date_published")) or _text(item.get("date_modified"))
    draft.published_at = parse_datetime(when) if when else None
    draft.url = _text(item.get("url"))
    language = item.get("language")
    draft.language = language.split("-")[0].lower() if isinstance(language, str) and language else None
    return FeedItem(draft, wire_id=str(item["id"]))
