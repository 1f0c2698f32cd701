"""The Story record, version 1 of the stories schema (its Arrow form: schemas.arrow).

Everything else (Parquet files, JSON output of ``wire-ingest parse``, validation)
derives from the definitions here. Changing a column's name or type is a schema
version bump and a README note; adding a column is not.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SCHEMA_VERSION = 1

#: Columns that live in the object key (hive style), not inside the Parquet file.
PARTITION_COLUMNS = ("agency",)


REMOVED_KINDS = frozenset(
    {
        "advertisement",
        "duplicate_headline",
        "agency_tag",
        "dateline",
        "byline",
        "contact_line",
        "contributor_line",
        "editor_line",
        "copyright_line",
        "navigation",
        "share_widget",
        "newsletter",
        "related_links",
        "caption",
        "trailer",
        "script_style",
        "boilerplate",
        "empty",
        "metadata",
        "update_note",
        "envelope",
        "signoff",
    }
)
PUBSTATUSES = frozenset({"usable", "withheld", "canceled"})
CONTACT_ROLES = frozenset({"reporter", "editor", "contact"})
INPUT_FORMATS = frozenset(
    {
        "text",
        "html",
        "anpa",
        "iptc7901",
        "nitf",
        "newsml-g2",
        "newsml-1",
        "ninjs",
        "rss",
        "atom",
        "jsonfeed",
        "email",
        "rtf",
        "docx",
        "odt",
    }
)


@dataclass(frozen=True, slots=True)
class Contact:
    """A person a reader may contact about the story, from a "To contact ..." trailer."""

    role: str
    name: str
    email: str | None = None
    location: str | None = None

    def __reduce__(self) -> tuple[type[Contact], tuple[str, str, str | None, str | None]]:
        # Pickled by constructor: dataclasses' own state functions for frozen slotted
        # classes call fields() per object (a story's results cross a process boundary).
        return (Contact, (self.role, self.name, self.email, self.location))


@dataclass(frozen=True, slots=True)
class Subject:
    """A subject code of the feed (IPTC subject code or media topic, or the provider's own)."""

    scheme: str
    code: str
    name: str | None = None

    def __reduce__(self) -> tuple[type[Subject], tuple[str, str, str | None]]:
        return (Subject, (self.scheme, self.code, self.name))


@dataclass(frozen=True, slots=True)
class Removed:
    """A piece of input that did not reach the body or a field, and why (``kind``)."""

    kind: str
    text: str

    def __reduce__(self) -> tuple[type[Removed], tuple[str, str]]:
        return (Removed, (self.kind, self.text))


@dataclass(slots=True)
class Story:
    """One row of the stories dataset. Field names are the schema's column names."""

    story_id: str
    agency: str
    headline: str
    body: str
    paragraphs: list[str]
    word_count: int
    language: str
    input_format: str
    content_sha256: str
    simhash: int
    source_uri: str
    source_sha256: str
    dateline: str | None = None
    byline: list[str] = field(default_factory=list)
    editors: list[str] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    published_at: datetime | None = None
    copyright: str | None = None
    copyright_year: int | None = None
    removed: list[Removed] = field(default_factory=list)
    duplicate_of: str | None = None
    url: str | None = None
    ingested_at: datetime | None = None
    pipeline_version: str = ""
    # Wire-feed columns (design.md, "Wire-feed columns"): null where the input does not say.
    wire_id: str | None = None
    version: int | None = None
    thread_id: str | None = None
    slugline: str | None = None
    urgency: int | None = None
    category: str | None = None
    subjects: list[Subject] = field(default_factory=list)
    ednote: str | None = None
    pubstatus: str | None = None
    embargoed_until: datetime | None = None
    # Added after the wire-feed columns; null where the input has no summary (plain wire text).
    standfirst: str | None = None

    def __reduce__(self) -> tuple[Callable[..., Story], tuple[Any, ...]]:
        # Pickled as its values in field order, without their names, and without the
        # paragraphs when they are the body cut at its blank lines (as every valid story's
        # are): each story crosses from its parse worker to the coordinator, where slots'
        # default pickling sent the names and the text twice (6.3 KB for a 2.5 KB input).
        values = [getattr(self, name) for name in STORY_FIELDS]
        if self.paragraphs == (self.body.split("\n\n") if self.body else []):
            values[_PARAGRAPHS_AT] = None
        return (_unpickle_story, tuple(values))

    def to_row(self) -> dict[str, Any]:
        """The record as a plain dict keyed by column name (nested dataclasses as dicts, lists
        copied): what ``dataclasses.asdict`` gives, at a tenth of its cost (it deep-copies
        every value through a generic recursion; this runs per story in every batch)."""
        row = {name: getattr(self, name) for name in STORY_FIELDS}
        for name in _LIST_FIELDS:
            row[name] = list(row[name])
        for name, as_dict in NESTED_ROWS.items():
            row[name] = [as_dict(item) for item in row[name]]
        return row

    def to_json_dict(self) -> dict[str, Any]:
        """The record with JSON-friendly values (timestamps as ISO 8601 strings)."""
        row = self.to_row()
        for key in ("published_at", "ingested_at", "embargoed_until"):
            value = row[key]
            if isinstance(value, datetime):
                row[key] = value.isoformat().replace("+00:00", "Z")
        return row


#: The Story's field names in declaration order (the schema's column order).
STORY_FIELDS = tuple(f.name for f in dataclasses.fields(Story))
_LIST_FIELDS = ("paragraphs", "byline", "editors")
_PARAGRAPHS_AT = STORY_FIELDS.index("paragraphs")
#: The struct-list columns: each item of the Story's list as the row's dict (``to_row``,
#: ``schemas.arrow.stories_to_table``).
NESTED_ROWS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "contacts": lambda c: {"role": c.role, "name": c.name, "email": c.email, "location": c.location},
    "removed": lambda r: {"kind": r.kind, "text": r.text},
    "subjects": lambda x: {"scheme": x.scheme, "code": x.code, "name": x.name},
}


def _unpickle_story(*values: Any) -> Story:
    """A story from ``Story.__reduce__``'s values (paragraphs None: the body's, cut again)."""
    story = Story(*values)
    if story.paragraphs is None:
        story.paragraphs = story.body.split("\n\n") if story.body else []
    return story


_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_AGENCY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_LANG = re.compile(r"^[a-z]{2}$")
_INT16_MAX = 2**15 - 1


def validate_story(story: Story) -> list[str]:
    """Return every way ``story`` breaks the schema contract; an empty list means valid.

    Returning problems instead of raising lets the pipeline quarantine one record
    with its reasons and go on with the batch.
    """
    problems: list[str] = []
    if not _HEX64.match(story.story_id or ""):
        problems.append("story_id is not a 64-character lowercase hex digest")
    if not _AGENCY.match(story.agency or ""):
        problems.append(f"agency {story.agency!r} is not a lowercase identifier")
    if not story.headline or not story.headline.strip():
        problems.append("headline is empty")
    if not story.body.strip() and story.input_format == "html":
        problems.append("body is empty")  # text briefs (a headline alone) are rows; a page never is
    joined = "\n\n".join(story.paragraphs) == story.body
    if story.body and not story.paragraphs:
        problems.append("no paragraphs")
    elif not joined:
        problems.append("body is not the paragraphs joined by a blank line")
    if story.word_count != len(story.body.split()):
        problems.append("word_count does not match the body")
    if not _LANG.match(story.language or ""):
        problems.append(f"language {story.language!r} is not an ISO 639-1 code")
    if story.input_format not in INPUT_FORMATS:
        problems.append(f"input_format {story.input_format!r} is not one of {sorted(INPUT_FORMATS)}")
    if not _HEX64.match(story.content_sha256 or ""):
        problems.append("content_sha256 is not a sha256 hex digest")
    if not _HEX64.match(story.source_sha256 or ""):
        problems.append("source_sha256 is not a sha256 hex digest")
    if not 0 <= story.simhash < 2**64:
        problems.append("simhash is outside uint64")
    if story.urgency is not None and not 1 <= story.urgency <= 9:
        problems.append(f"urgency {story.urgency} is outside the IPTC scale 1-9")
    if story.version is not None and not 1 <= story.version < 2**31:
        problems.append(f"version {story.version} is not a positive int32")
    if story.pubstatus is not None and story.pubstatus not in PUBSTATUSES:
        problems.append(f"pubstatus {story.pubstatus!r} is not one of {sorted(PUBSTATUSES)}")
    if story.copyright_year is not None and not 0 < story.copyright_year <= _INT16_MAX:
        problems.append(f"copyright_year {story.copyright_year} does not fit int16")
    for name in ("published_at", "ingested_at", "embargoed_until"):
        value = getattr(story, name)
        if value is not None and (value.tzinfo is None or value.utcoffset() != UTC.utcoffset(None)):
            problems.append(f"{name} is not a UTC timestamp")
    for contact in story.contacts:
        if contact.role not in CONTACT_ROLES:
            problems.append(f"contact role {contact.role!r} is unknown")
        if not contact.name.strip():
            problems.append("contact without a name")
    for item in story.removed:
        if item.kind not in REMOVED_KINDS:
            problems.append(f"removed kind {item.kind!r} is unknown")
    if not story.source_uri:
        problems.append("source_uri is empty")
    for name, value in _text_fields(story, paragraphs_in_body=joined):
        if _has_surrogate(value):
            problems.append(f"{name} holds a lone surrogate (not encodable as UTF-8)")
            break
    return problems


def _has_surrogate(value: str) -> bool:
    """Whether ``value`` holds a lone surrogate, the one thing UTF-8 cannot encode: an
    ASCII string (a flag Python keeps) cannot; otherwise encoding it tells, ~10x faster
    than searching it for the surrogate range."""
    if value.isascii():
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


#: The record's plain string columns (lists and structs are walked in `_text_fields`).
_STRING_COLUMNS = (
    "headline", "body", "dateline", "copyright", "url", "source_uri", "agency", "language",
    "wire_id", "thread_id", "slugline", "category", "ednote", "standfirst",
)  # fmt: skip


def _text_fields(story: Story, *, paragraphs_in_body: bool) -> list[tuple[str, str]]:
    """Every string the record holds, with its column name (for the encodability check);
    not the paragraphs when they are the body joined (the body's check covers them)."""
    fields = [(name, value) for name in _STRING_COLUMNS if isinstance(value := getattr(story, name), str)]
    if not paragraphs_in_body:
        fields += [("paragraphs", p) for p in story.paragraphs]
    fields += [("byline", p) for p in story.byline] + [("editors", p) for p in story.editors]
    fields += [("removed", r.text) for r in story.removed]
    for contact in story.contacts:
        fields += [("contacts", v) for v in (contact.name, contact.email, contact.location) if v]
    return fields
