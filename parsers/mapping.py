"""Lookups over the feed tables of ``parsers.rules`` shared by the feed formats."""

from __future__ import annotations

from parsers import rules

_PUBSTATUS = dict(rules.PUBSTATUS_CODES)
_CODES = dict(rules.FEED_AGENCY_CODES)


def agency_named(*values: str | None) -> str | None:
    """The agency a provider name, code or URI names (rules.FEED_AGENCIES), if any."""
    for value in values:
        if value:
            lowered = value.lower().strip()
            if lowered in _CODES:
                return _CODES[lowered]
            for fragment, agency, _example in rules.FEED_AGENCIES:
                if fragment in lowered:
                    return agency
    return None


def pubstatus_of(value: str | None) -> str | None:
    """``usable``, ``withheld`` or ``canceled`` for a feed's status code, else None."""
    return _PUBSTATUS.get(value.strip().lower()) if value else None


def urgency_of(value: object) -> int | None:
    """An IPTC urgency 1-9 from a feed value ("3", 3), else None."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 1 <= number <= 9 else None


def version_of(value: object) -> int | None:
    """A positive version number from a feed value, else None."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 1 <= number < 2**31 else None
