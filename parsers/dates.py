"""Publication-time parsing: ISO 8601, RFC 2822 and common written forms, to UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

_MONTHS = {
    m: i
    for i, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for m in names
}
_WRITTEN = re.compile(
    r"(?P<month>[A-Za-z]{3,9})\.?\s+(?P<day>\d{1,2}),?\s+(?P<year>\d{4})"
    r"(?:\D{1,6}(?P<hour>\d{1,2}):(?P<minute>\d{2})\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?"
)
_DAY_FIRST = re.compile(r"(?P<day>\d{1,2})\s+(?P<month>[A-Za-z]{3,9})\.?\s+(?P<year>\d{4})")
_DIGIT = re.compile(r"\d")
_UTC_WORDS = re.compile(r"\b(UTC|GMT|Z)\b")


def _utc(value: datetime) -> datetime:
    # A time without an offset is read as UTC (documented in the README): wire feeds and
    # CMS metadata that omit the offset overwhelmingly mean UTC, and a date stays a date.
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_datetime(value: str) -> datetime | None:
    """Parse a publication time to an aware UTC datetime, or None if it is not one."""
    text = value.strip()
    if not text or len(text) > 80 or not _DIGIT.search(text):
        return None  # every form below needs a digit (int() reads any \d); most text has none
    iso = text.replace("Z", "+00:00") if text.endswith("Z") else text
    try:
        return _plausible(_utc(datetime.fromisoformat(iso)))
    except (ValueError, OverflowError):  # OverflowError: 9999-12-31T23:59-12:00 leaves datetime's range
        pass
    try:
        parsed = parsedate_to_datetime(text)
        if parsed is not None:
            return _plausible(_utc(parsed))
    except (TypeError, ValueError, IndexError, OverflowError):
        pass
    match = _WRITTEN.search(text) or _DAY_FIRST.search(text)
    if not match:
        return None
    month = _MONTHS.get(match.group("month").lower())
    if month is None:
        return None
    groups = match.groupdict()
    hour = int(groups.get("hour") or 0)
    minute = int(groups.get("minute") or 0)
    ampm = (groups.get("ampm") or "").lower().replace(".", "")
    if ampm == "pm" and hour < 12:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    try:
        return _plausible(datetime(int(match.group("year")), month, int(match.group("day")), hour, minute, tzinfo=UTC))
    except (ValueError, OverflowError):
        return None


def _plausible(value: datetime) -> datetime | None:
    """Reject years no news story was published in (epoch zero, typos like 0219)."""
    return value if 1980 <= value.year <= 2100 else None
