"""The item every wire format ends in (a Draft for the wire rules plus the wire columns),
and the small readers the feed formats share: JSON with a depth limit, by-lines, datelines.
No lxml here (``parsers.xmltree`` has the XML side), so plain text never loads it. Pure."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from parsers import rules
from parsers.decode import wide_codec
from parsers.wire import Draft
from schemas.errors import ParseError
from schemas.story import Subject

#: JSON deeper than this is refused before it is parsed (a nesting bomb).
MAX_JSON_DEPTH = 200


@dataclass
class FeedItem:
    """One item of a feed, ready for the wire rules and the Story."""

    draft: Draft
    wire_id: str | None = None
    version: int | None = None
    slugline: str | None = None
    urgency: int | None = None
    category: str | None = None
    subjects: list[Subject] = field(default_factory=list)
    ednote: str | None = None
    pubstatus: str | None = None
    embargoed_until: datetime | None = None


def _json_text(data: bytes) -> str:
    """JSON bytes as text: UTF-8 (a mark dropped), or UTF-16 / UTF-32 as a Windows tool
    writes it (RFC 8259 asks for UTF-8), told as sniffing tells it (`decode.wide_codec`)."""
    return data.decode(wide_codec(data) or "utf-8-sig", errors="replace")


def load_json(data: bytes | str) -> Any:
    """JSON, refusing nesting deeper than MAX_JSON_DEPTH before parsing (ParseError "bad_json")."""
    text = _json_text(data) if isinstance(data, bytes) else data
    depth = deepest = 0
    in_string = escaped = False
    for ch in text[:5_000_000]:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_JSON_DEPTH:
                raise ParseError("bad_json", f"JSON nested deeper than {MAX_JSON_DEPTH} levels: refused")
        elif ch in "]}":
            depth -= 1
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ParseError("bad_json", f"malformed JSON: {exc}") from exc


#: "By" always; another language's by-word when two words follow ("Von Anna Schmidt"; not
#: "Di Stefano", a name).
_BY = re.compile(
    r"^\s*(?:by\s+|(?:" + "|".join(word for word, _ in rules.BYLINE_WORDS if word != "by") + r")\s+(?=\S+\s+\S))",
    re.IGNORECASE,
)


def bylines(values: list[str]) -> list[str]:
    """By-line strings as reporter names ("By Jane Doe and John Roe" -> two names)."""
    names: list[str] = []
    for value in values:
        value = _BY.sub("", value).strip().rstrip(",")
        for part in re.split(r"\s*(?:,| and | & )\s*", value):
            part = part.strip()
            if part and part.lower() not in rules.BYLINE_AGENCY_NAMES:
                names.append(part)
    return names


def dateline_city(value: str | None) -> str | None:
    """The city of a printed dateline ("LONDON, May 21 (Reuters) -" -> "LONDON")."""
    if not value:
        return None
    city = re.split(r"[,(]|\s[-–—]\s", value, maxsplit=1)[0].strip(" -–—")
    return city or None
