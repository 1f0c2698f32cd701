"""Parquet files of the stories dataset: one file per partition per batch."""

from __future__ import annotations

import io
from collections import defaultdict
from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq

from schemas.arrow import FILE_SCHEMA, stories_to_table
from schemas.story import SCHEMA_VERSION, Story

STORIES_PREFIX = "stories/"
#: Low-cardinality columns kept dictionary-encoded in Parquet.
DICTIONARY_COLUMNS = ["language", "input_format", "pipeline_version", "dateline", "copyright", "category", "pubstatus"]
ROW_GROUP_ROWS = 50_000


def partition_of(story: Story, ingest_day: datetime) -> tuple[str, str]:
    """``(agency, YYYY-MM-DD)``: published_at's UTC date, else the batch's ingest date."""
    when = story.published_at or ingest_day
    return story.agency, when.strftime("%Y-%m-%d")


def partition_key(agency: str, day: str, batch_id: str) -> str:
    """Deterministic object key: a retry of the same batch rewrites the same object."""
    return f"{STORIES_PREFIX}agency={agency}/date={day}/part-{batch_id}.parquet"


def encode_parquet(stories: list[Story], batch_id: str, pipeline_version: str) -> bytes:
    """One zstd Parquet file of ``stories`` (without the partition columns)."""
    table = stories_to_table(stories, FILE_SCHEMA)
    metadata = dict(table.schema.metadata or {})
    metadata.update(
        {
            b"wire_ingest.schema_version": str(SCHEMA_VERSION).encode(),
            b"wire_ingest.pipeline_version": pipeline_version.encode(),
            b"wire_ingest.batch_id": batch_id.encode(),
        }
    )
    return write_parquet(table.replace_schema_metadata(metadata))


def write_parquet(table: pa.Table) -> bytes:
    """The Parquet bytes of ``table`` with the dataset's settings (zstd, dictionaries, row groups)."""
    buffer = io.BytesIO()
    pq.write_table(
        table,
        buffer,
        compression="zstd",
        use_dictionary=DICTIONARY_COLUMNS,
        row_group_size=ROW_GROUP_ROWS,
        write_statistics=True,
    )
    return buffer.getvalue()


def group_by_partition(stories: list[Story], ingest_day: datetime) -> dict[tuple[str, str], list[Story]]:
    """Stories grouped by partition, each group in story_id order (stable output bytes)."""
    groups: dict[tuple[str, str], list[Story]] = defaultdict(list)
    for story in stories:
        groups[partition_of(story, ingest_day)].append(story)
    return {key: sorted(group, key=lambda s: s.story_id) for key, group in sorted(groups.items())}


def rewrite_parquet(table: pa.Table, original: bytes) -> bytes:
    """Write ``table`` (rows kept from one of our files) with that file's metadata and settings."""
    return write_parquet(table.replace_schema_metadata(pq.read_schema(io.BytesIO(original)).metadata))


def read_table(data: bytes) -> pa.Table:
    """Read one of our Parquet files back (used by tests and tools)."""
    return pq.read_table(io.BytesIO(data))
