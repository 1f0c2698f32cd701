"""Compaction: a partition's small Parquet files merged into files near a target size.

Each ingest batch writes one file per partition it touches, so a store fed every few
minutes gathers thousands of small files a day, and every engine (DuckDB, Athena, Spark)
pays per file. ``compact`` merges them, rows sorted by ``published_at`` (then story_id) in
row groups of ``ROW_GROUP_ROWS``, so a time filter skips row groups.

Protocol, per group of files merged into one (under the store's lease):

1. intent ``_manifests/_pending_compact/<id>.json``: the input keys and the output key;
2. the merged file is written to ``_compact/<id>.parquet``, outside ``stories/``;
3. ``_manifests/compact/<partition>/<id>.json``, the commit point: inputs, output, rows,
   sha256;
4. the input files are deleted, then the merged file is put at its key under ``stories/``;
5. the staged file and the intent are deleted.

A reader listing ``stories/`` may briefly miss the group's rows (between 4's delete and
put) but never sees a row twice. A run that dies before 3 is rolled back by the next run
(the staged file goes, the inputs were never touched); one that dies after 3 is rolled
forward (inputs deleted, output put from the staged file). A rerun finds nothing to merge.
The ledger keeps the key each story was first written to; ``key_map`` follows the commit
records from an old key to the file that now holds its rows (a reprocess needs it). Records
are kept by partition (a merge's inputs and output share one), so a reprocess reads only
the records of the partitions its rows are in: a compaction every hour writes ~80,000 a
year, and reading them all was every reprocessing run's cost (minutes on S3). Records of
versions before that (``_manifests/compact-<id>.json``) are moved by the next compaction.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from storage import Storage
from storage.base import at_once, read_each
from table.dataset import STORIES_PREFIX, write_parquet

PENDING_PREFIX = "_manifests/_pending_compact/"
RECORD_PREFIX = "_manifests/compact/"
#: Where merge records were kept before they were kept by partition (moved by ``compact``).
LEGACY_RECORD_PREFIX = "_manifests/compact-"
STAGING_PREFIX = "_compact/"
DEFAULT_TARGET_BYTES = 128 * 1024**2
#: Rows per row group of a merged file (about 30-60 MB of typical stories).
ROW_GROUP_ROWS = 65_536
_PARTITION = re.compile(r"^stories/(agency=[^/]+/date=[^/]+)/[^/]+\.parquet$")


@dataclass
class CompactionSummary:
    partitions: int = 0
    files_before: int = 0
    files_after: int = 0
    bytes_before: int = 0
    bytes_after: int = 0
    rows: int = 0
    merged: list[dict[str, Any]] = field(default_factory=list)
    recovered: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "partitions": self.partitions,
            "files_before": self.files_before,
            "files_after": self.files_after,
            "bytes_before": self.bytes_before,
            "bytes_after": self.bytes_after,
            "rows": self.rows,
            "recovered": self.recovered,
            "merged": self.merged,
        }


def parse_size(text: str) -> int:
    """``128MB``, ``1GB``, ``500k``, ``1048576`` -> bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmg]?)i?b?\s*", text.lower())
    if not match:
        raise ValueError(f"{text!r} is not a size: write it like 128MB, 1GB or 500000")
    scale = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[match.group(2)]
    size = int(float(match.group(1)) * scale)
    if size < 1:
        raise ValueError(f"{text!r} is no size to aim for: give one above 0, e.g. 128MB")
    return size


def plan_groups(sizes: dict[str, int], target: int) -> list[list[str]]:
    """Files of one partition packed, in key order, into groups of at most ``target`` bytes;
    files already at 80% of the target stay as they are, and so does a group of one."""
    groups: list[list[str]] = []
    current: list[str] = []
    total = 0
    for key in sorted(sizes):
        size = sizes[key]
        if size >= target * 0.8:
            continue
        if current and total + size > target:
            groups.append(current)
            current, total = [], 0
        current.append(key)
        total += size
    if current:
        groups.append(current)
    return [g for g in groups if len(g) >= 2]


def merge_tables(datas: list[bytes]) -> bytes:
    """The rows of ``datas`` in one file: sorted by published_at (nulls last), then story_id;
    the first file's metadata, with the merged files' batch ids."""
    tables = [pq.read_table(io.BytesIO(d)) for d in datas]
    metadata = dict(tables[0].schema.metadata or {})
    batch_ids = sorted({(t.schema.metadata or {}).get(b"wire_ingest.batch_id", b"").decode() for t in tables} - {""})
    metadata[b"wire_ingest.batch_id"] = b"compacted"
    metadata[b"wire_ingest.compacted_batches"] = json.dumps(batch_ids).encode()
    table = pa.concat_tables([t.replace_schema_metadata(None) for t in tables], promote_options="default")
    order = pc.sort_indices(
        table, sort_keys=[("published_at", "ascending", "at_end"), ("story_id", "ascending", "at_end")]
    )
    return write_parquet(table.take(order).replace_schema_metadata(metadata), ROW_GROUP_ROWS)


def group_id(inputs: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(inputs)).encode()).hexdigest()[:20]


def _finish(dest: Storage, record: dict[str, Any]) -> None:
    """Steps 4-5 of a committed merge (idempotent: also the roll-forward of a dead run)."""
    staged = f"{STAGING_PREFIX}{record['id']}.parquet"
    if dest.exists(staged):
        for key in record["inputs"]:
            if key != record["output"]:
                dest.delete(key)
        dest.put(record["output"], dest.get(staged), "application/vnd.apache.parquet")
        dest.delete(staged)
    dest.delete(f"{PENDING_PREFIX}{record['id']}.json")


def partition_of(key: str) -> str | None:
    """``agency=X/date=Y`` of a data file's key (None: not a data file)."""
    match = _PARTITION.match(key)
    return match.group(1) if match else None


def record_key(record: dict[str, Any]) -> str:
    """Where a merge's commit record is kept: by the partition of its output."""
    return f"{RECORD_PREFIX}{partition_of(record['output'])}/{record['id']}.json"


def recover_compactions(dest: Storage) -> int:
    """Roll every interrupted merge forward (committed) or back (not committed)."""
    count = 0
    for info in list(dest.list(PENDING_PREFIX)):
        intent = json.loads(dest.get(info.key))
        committed = [k for k in (record_key(intent), f"{LEGACY_RECORD_PREFIX}{intent['id']}.json") if dest.exists(k)]
        if committed:
            _finish(dest, json.loads(dest.get(committed[0])))
        else:
            dest.delete(f"{STAGING_PREFIX}{intent['id']}.parquet")
            dest.delete(info.key)
        count += 1
    return count


def compact(
    dest: Storage,
    *,
    target_bytes: int = DEFAULT_TARGET_BYTES,
    partition: str | None = None,
    check: Callable[[], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> CompactionSummary:
    """Merge the small files of every partition (or of ``partition``, ``agency=X/date=Y``).
    Call under the store's lease; ``check`` (the lease's) runs before each merge's writes."""
    summary = CompactionSummary(recovered=recover_compactions(dest))
    if moved := move_legacy_records(dest):
        if progress is not None:
            progress(f"{moved} merge records of an earlier version kept by partition now")
    prefix = f"{STORIES_PREFIX}{partition.strip('/')}/" if partition else STORIES_PREFIX
    by_partition: dict[str, dict[str, int]] = defaultdict(dict)
    for info in dest.list(prefix):
        match = _PARTITION.match(info.key)
        if match:
            by_partition[match.group(1)][info.key] = info.size
    for name, sizes in sorted(by_partition.items()):
        groups = plan_groups(sizes, target_bytes)
        summary.files_before += len(sizes)
        summary.bytes_before += sum(sizes.values())
        after = dict(sizes)
        if groups:
            summary.partitions += 1
        for group in groups:
            if check is not None:
                check()
            gid = group_id(group)
            output = f"{STORIES_PREFIX}{name}/compact-{gid}.parquet"
            intent = {"id": gid, "inputs": group, "output": output, "started_at": datetime.now(UTC).isoformat()}
            dest.put(f"{PENDING_PREFIX}{gid}.json", json.dumps(intent).encode(), "application/json")
            # Read several at once on S3 (a partition's small files: one GET after another
            # was ~20-50 ms each there, a minute for 3,000 files).
            data = merge_tables(at_once(dest, dest.get, group, "wire-ingest-compact"))
            digest = dest.put(f"{STAGING_PREFIX}{gid}.parquet", data, "application/vnd.apache.parquet")
            rows = pq.read_metadata(io.BytesIO(data)).num_rows
            record = {**intent, "rows": rows, "bytes": len(data), "sha256": digest}
            if check is not None:
                check()
            dest.put(record_key(record), json.dumps(record, indent=2).encode(), "application/json")
            _finish(dest, record)
            for key in group:
                after.pop(key, None)
            after[output] = len(data)
            summary.rows += rows
            summary.merged.append({"output": output, "inputs": len(group), "rows": rows, "bytes": len(data)})
            if progress is not None:
                progress(f"{name}: {len(group)} files -> 1 ({len(data) / 1e6:.1f} MB, {rows} rows)")
        summary.files_after += len(after)
        summary.bytes_after += sum(after.values())
    return summary


def move_legacy_records(dest: Storage) -> int:
    """Move merge records kept flat (``_manifests/compact-<id>.json``, before they were
    kept by partition) to their partition's folder: each is put at its new key before it
    is deleted from the old, and ``key_map`` reads both places, so a crash between the
    two leaves the record readable in one or both (the same record). Call under the lease."""
    legacy = [info.key for info in dest.list(LEGACY_RECORD_PREFIX)]
    for old, data in read_each(dest, legacy, "wire-ingest-compact"):
        dest.put(record_key(json.loads(data)), data, "application/json")
        dest.delete(old)
    return len(legacy)


def key_map(dest: Storage, keys: Iterable[str]) -> Callable[[str], str]:
    """A function from a key a story was written to (one of ``keys``), to the file that
    holds its row now (following merges of merged files). Reads the merge records of the
    partitions of ``keys`` only, and any left in the flat place of earlier versions."""
    partitions = sorted({p for p in map(partition_of, keys) if p is not None})
    listed = [info.key for info in dest.list(LEGACY_RECORD_PREFIX)]
    for partition in partitions:
        listed += [info.key for info in dest.list(f"{RECORD_PREFIX}{partition}/")]
    moved: dict[str, str] = {}
    for _, data in read_each(dest, listed, "wire-ingest-compact"):
        record = json.loads(data)
        for key in record["inputs"]:
            moved[key] = record["output"]

    def resolve(key: str) -> str:
        seen = set()
        while key in moved and key not in seen:
            seen.add(key)
            key = moved[key]
        return key

    return resolve


def run_compaction(
    root: str,
    *,
    target_bytes: int = DEFAULT_TARGET_BYTES,
    partition: str | None = None,
    wait_lock: float = 0.0,
    progress: Callable[[str], None] | None = None,
) -> CompactionSummary:
    """``compact`` under the store's lease (a run already writing to ``root``: wait up to
    ``wait_lock`` seconds for it, else LeaseHeldError)."""
    from storage import open_storage
    from storage.lease import Lease

    dest = open_storage(root)
    with Lease(dest, command="compact") as lease:
        lease.acquire(wait=wait_lock)
        dest.clean_staging()
        return compact(dest, target_bytes=target_bytes, partition=partition, check=lease.check, progress=progress)
