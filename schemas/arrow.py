"""The stories dataset's Arrow schema, built from the record in schemas.story.

Kept apart so that parsing (``wire-ingest parse``, the parse workers) never imports
pyarrow: ~0.1 s of every process start that writes no Parquet.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from schemas.story import NESTED_ROWS, PARTITION_COLUMNS, SCHEMA_VERSION, Story

_DICT = pa.dictionary(pa.int32(), pa.string())

CONTACT_TYPE = pa.struct(
    [
        pa.field("role", pa.string()),
        pa.field("name", pa.string()),
        pa.field("email", pa.string()),
        pa.field("location", pa.string()),
    ]
)
SUBJECT_TYPE = pa.struct(
    [pa.field("scheme", pa.string()), pa.field("code", pa.string()), pa.field("name", pa.string())]
)
REMOVED_TYPE = pa.struct([pa.field("kind", pa.string()), pa.field("text", pa.string())])

ARROW_SCHEMA = pa.schema(
    [
        pa.field("story_id", pa.string(), nullable=False),
        pa.field("agency", _DICT, nullable=False),
        pa.field("headline", pa.string(), nullable=False),
        pa.field("dateline", pa.string()),
        pa.field("byline", pa.list_(pa.string()), nullable=False),
        pa.field("editors", pa.list_(pa.string()), nullable=False),
        pa.field("contacts", pa.list_(CONTACT_TYPE), nullable=False),
        pa.field("published_at", pa.timestamp("us", tz="UTC")),
        pa.field("copyright", pa.string()),
        pa.field("copyright_year", pa.int16()),
        pa.field("language", _DICT, nullable=False),
        pa.field("body", pa.string(), nullable=False),
        pa.field("paragraphs", pa.list_(pa.string()), nullable=False),
        pa.field("word_count", pa.int32(), nullable=False),
        pa.field("removed", pa.list_(REMOVED_TYPE), nullable=False),
        pa.field("content_sha256", pa.string(), nullable=False),
        pa.field("simhash", pa.uint64(), nullable=False),
        pa.field("duplicate_of", pa.string()),
        pa.field("input_format", _DICT, nullable=False),
        pa.field("source_uri", pa.string(), nullable=False),
        pa.field("source_sha256", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("ingested_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("pipeline_version", pa.string(), nullable=False),
        # Wire-feed columns (added with the feed formats; null where the input does not say).
        pa.field("wire_id", pa.string()),
        pa.field("version", pa.int32()),
        pa.field("thread_id", pa.string()),
        pa.field("slugline", pa.string()),
        pa.field("urgency", pa.int8()),
        pa.field("category", _DICT),
        pa.field("subjects", pa.list_(SUBJECT_TYPE), nullable=False),
        pa.field("ednote", pa.string()),
        pa.field("pubstatus", _DICT),
        pa.field("embargoed_until", pa.timestamp("us", tz="UTC")),
        # Added later; files written before it lack the column (read as null).
        pa.field("standfirst", pa.string()),
    ],
    metadata={
        "wire_ingest.schema": "stories",
        "wire_ingest.schema_version": str(SCHEMA_VERSION),
    },
)

#: The schema of one Parquet file: the dataset schema less the partition columns.
FILE_SCHEMA = pa.schema([f for f in ARROW_SCHEMA if f.name not in PARTITION_COLUMNS], metadata=ARROW_SCHEMA.metadata)


def stories_to_table(stories: list[Story], schema: pa.Schema = ARROW_SCHEMA) -> pa.Table:
    """Build an Arrow table of ``stories`` with ``schema`` (columns missing from it are dropped).

    Column by column from the stories' attributes: the values ``Story.to_row`` gives,
    without a dict and copied lists per story (22-33 -> 11-12 us a story of 2.5 KB)."""
    columns: dict[str, list[Any]] = {}
    for name in schema.names:
        as_dict = NESTED_ROWS.get(name)
        if as_dict is None:
            columns[name] = [getattr(s, name) for s in stories]
        else:
            columns[name] = [[as_dict(item) for item in getattr(s, name)] for s in stories]
    return pa.Table.from_pydict(columns, schema=schema)
