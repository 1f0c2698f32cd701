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


#: JSON's byte-order marks (RFC 8259 asks for UTF-8, but Windows tools write UTF-16 with
#: its mark): UTF-32's first, as UTF-32 LE's begins with UTF-16 LE's.
_JSON_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


#: Where NULs fall in the first four bytes of JSON without a mark -> its encoding.
_JSON_NULS = {"000x": "utf-32-be", "x000": "utf-32-le", "0x0x": "utf-16-be", "x0x0": "utf-16-le"}


def _json_text(data: bytes) -> str:
    """JSON bytes as text: UTF-16 or UTF-32 by their mark, or without one by where the NULs
    of its first (ASCII) characters fall (RFC 4627's rule), else UTF-8 (a mark dropped)."""
    for bom, name in _JSON_BOMS:
        if data.startswith(bom):
            return data.decode(name, errors="replace")
    head = data[:4]
    if len(head) == 4 and 0 in head:
        wide = _JSON_NULS.get("".join("0" if byte == 0 else "x" for byte in head))
        if wide:
            return data.decode(wide, errors="replace")
    return data.decode("utf-8-sig", errors="replace")


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
