"""ninjs 1.x and 2.x JSON: one news item.

Field mapping (1.x name / 2.x name):
| column | from |
|---|---|
| wire_id | uri |
| version | version |
| headline | headline / headlines[0].value |
| byline | byline / by |
| dateline | located |
| published_at | firstcreated, else versioncreated |
| language | language |
| urgency | urgency |
| pubstatus | pubstatus |
| embargoed_until | embargoed |
| ednote | ednote |
| slugline | slugline |
| subjects | subject[] / subjects[] (scheme, code, name) |
| copyright | copyrightnotice |
| agency | copyrightholder, infosources[].name, uri (rules.FEED_AGENCIES) |
| body | body_html, else body_text / bodies[] (role main, HTML or text) |
"""

from __future__ import annotations

from typing import Any

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
        and any(key in value for key in ("headline", "headlines", "body_html", "body_text", "bodies"))
    )


def _text(value: Any) -> str | None:
    return " ".join(value.split()) or None if isinstance(value, str) else None


def _body(item: dict[str, Any]) -> list[str]:
    if isinstance(item.get("body_html"), str):
        return paragraphs_of_html(item["body_html"])
    if isinstance(item.get("body_text"), str):
        return [" ".join(p.split()) for p in item["body_text"].split("\n\n") if p.strip()]
    for body in item.get("bodies") or []:
        if isinstance(body, dict) and body.get("role", "main") == "main" and isinstance(body.get("value"), str):
            if "html" in str(body.get("contenttype", "text/html")):
                return paragraphs_of_html(body["value"])
            return [" ".join(p.split()) for p in body["value"].split("\n\n") if p.strip()]
    return []


def parse_ninjs(data: bytes) -> FeedItem:
    item = load_json(data)
    if not looks_like_ninjs(item):
        raise ParseError("bad_json", "a JSON object without ninjs's uri and headline or body")
    headline = _text(item.get("headline"))
    if headline is None and isinstance(item.get("headlines"), list) and item["headlines"]:
        first = item["headlines"][0]
        headline = _text(first.get("value")) if isinstance(first, dict) else None
    draft = Draft(paragraphs=_body(item), input_format="ninjs", headline=headline)
    byline = item.get("byline") or item.get("by")
    draft.byline = bylines([byline]) if isinstance(byline, str) else []
    located = item.get("located")
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
    feed_item = FeedItem(
        draft,
        wire_id=str(item["uri"]),
        version=version_of(item.get("version")),
        slugline=_text(item.get("slugline")),
        urgency=urgency_of(item.get("urgency")),
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
