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


#: Columns of text, where zstd earns its cost. The others (numbers, timestamps, codes kept as
#: dictionaries) are stored plain: they compressed by a few hundred bytes a file, and each
#: column's compressor cost ~35 us to start in every file (a batch writes one per partition:
#: 13 for 200 stories of the varied corpus; with ZSTD_MIN_BYTES, encoding them 42 -> 33 ms).
TEXT_COLUMNS = frozenset(
    {
        "story_id", "headline", "dateline", "byline", "editors", "contacts", "copyright", "body", "paragraphs",
        "removed", "content_sha256", "duplicate_of", "source_uri", "source_sha256", "url", "wire_id", "thread_id",
        "slugline", "subjects", "ednote", "standfirst",
    }
)  # fmt: skip
#: A text column is compressed where it holds this many bytes in the file (Arrow's count:
#: values, offsets and validity); a smaller one (a few rows' ids, headlines) saves a few
#: hundred bytes and costs its compressor's start (the varied corpus' files: 1 KB: 32.7 ms a
#: batch, 35.5 KB a file; 4 KB: 32.0 ms, 37.3 KB; 16 KB: 28.7 ms, 46.6 KB).
ZSTD_MIN_BYTES = 1024
#: Columns a reader filters or sorts on: min/max statistics are written for these only. A
#: story's text (its body, paragraphs, headline) as its own min and max made a small file
#: nearly twice its size (the varied corpus' files: 45.5 -> 34.9 KB on average) and helps no query.
STATISTICS_COLUMNS = (
    "story_id", "dateline", "published_at", "copyright_year", "language", "word_count", "content_sha256",
    "duplicate_of", "input_format", "source_sha256", "ingested_at", "pipeline_version", "wire_id", "version",
    "thread_id", "slugline", "urgency", "category", "pubstatus", "embargoed_until",
)  # fmt: skip


def write_parquet(table: pa.Table, row_group_rows: int = ROW_GROUP_ROWS) -> bytes:
    """The Parquet bytes of ``table`` with the dataset's settings: zstd on the text columns,
    dictionaries, row groups, statistics on the columns queries filter on. Also how
    compaction writes its merged files (a table of an older schema lacks some columns)."""
    names = set(table.column_names)
    zstd = {name for name in TEXT_COLUMNS & names if table.column(name).nbytes >= ZSTD_MIN_BYTES}
    buffer = io.BytesIO()
    pq.write_table(
        table,
        buffer,
        compression={path: "zstd" if path.split(".")[0] in zstd else "none" for path in _leaf_paths(table.schema)},
        use_dictionary=[name for name in DICTIONARY_COLUMNS if name in names],
        row_group_size=row_group_rows,
        write_statistics=[name for name in STATISTICS_COLUMNS if name in names],
    )
    return buffer.getvalue()


def _leaf_paths(schema: pa.Schema) -> list[str]:
    """Parquet's column paths of ``schema``'s leaves ("removed.list.element.text")."""

    def leaves(name: str, kind: pa.DataType) -> list[str]:
        if pa.types.is_list(kind):
            return leaves(f"{name}.list.element", kind.value_type)
        if pa.types.is_struct(kind):
            fields = [kind.field(index) for index in range(kind.num_fields)]
            return [path for field in fields for path in leaves(f"{name}.{field.name}", field.type)]
        return [name]

    return [path for field in schema for path in leaves(field.name, field.type)]


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
