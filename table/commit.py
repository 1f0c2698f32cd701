"""A batch's commit protocol: the steps that make its inputs done exactly once.

1. ``_manifests/_pending/<id>.json``, the *intent* (inputs and planned time), before any
   data (``open_intent``); rewritten with the keys it is about to write (``commit``);
2. a reprocess's earlier rows taken out of their files (``remove_superseded``);
3. the Parquet files and quarantine entries (deterministic keys, with checksums);
4. ``_manifests/<id>.json``, listing every file with its sha256;
5. ``_ledger/<id>.json``: the commit point; its inputs are now done;
6. keys an earlier attempt wrote that this one did not are deleted, then the intent.

A batch whose intent is still there after a crash is rolled forward by running it again
with the same plan (``flows.batch.recover_pending``): same inputs, same keys, so it
overwrites rather than adds. No Prefect and no parsing here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from storage import Storage
from storage.base import at_once
from table.compaction import key_map
from table.dataset import read_table, rewrite_parquet
from table.ledger import LedgerEntry, encode_ledger, ledger_key

MANIFEST_PREFIX = "_manifests/"
PENDING_PREFIX = "_manifests/_pending/"


@dataclass
class BatchPlan:
    """The inputs of one batch. Its id is derived from them, so a replan gives the same id."""

    batch_id: str
    source: str
    inputs: list[str]
    planned_at: str
    reprocess: bool = False
    #: Each input's revision when it was listed (``ObjectInfo.revision``), recorded in its
    #: ledger entry so a later rewrite of the input is noticed; absent for unlisted keys.
    revisions: dict[str, str] = field(default_factory=dict)
    #: A reprocess of inputs rewritten since they were ingested (not ``--reprocess``): an
    #: input whose bytes turn out unchanged keeps what it produced.
    rewrite: bool = False

    def to_json(self, keys: list[str] | None = None) -> bytes:
        # The fields as they are: ``asdict`` deep-copied a batch's ~2,000 keys and revisions
        # to serialise them (twice a batch, ~0.5 s of a 10,000-story run under a profiler).
        fields_ = {name: getattr(self, name) for name in _PLAN_FIELDS}
        return json.dumps({**fields_, "keys": keys or []}).encode("utf-8")


_PLAN_FIELDS = tuple(f.name for f in fields(BatchPlan))


def open_intent(dest: Storage, plan: BatchPlan) -> set[str]:
    """Write the batch's intent (step 1); the keys an earlier attempt recorded, if any."""
    intent_key = f"{PENDING_PREFIX}{plan.batch_id}.json"
    previous_keys: set[str] = set()
    if dest.exists(intent_key):
        previous_keys = set(json.loads(dest.get(intent_key)).get("keys", []))
    dest.put(intent_key, plan.to_json(sorted(previous_keys)), "application/json")
    return previous_keys


def abandon(dest: Storage, plan: BatchPlan, previous_keys: set[str]) -> None:
    """Take back a batch that has nothing to commit (each of its inputs left unread or gone
    since it was listed): the keys an earlier attempt wrote, then the intent. Such a batch
    is planned again with the same inputs, so the same id: committed empty, its id would be
    in the ledger (and, once folded, in the snapshot pointer's list of folded batches, whose
    objects readers skip) when the batch that reads them commits."""
    for stale in sorted(previous_keys):
        dest.delete(stale)
    dest.delete(f"{PENDING_PREFIX}{plan.batch_id}.json")


def commit(
    dest: Storage,
    plan: BatchPlan,
    objects: dict[str, bytes],
    entries: list[LedgerEntry],
    counts: dict[str, Any],
    *,
    previous_keys: set[str],
    superseded: dict[str, LedgerEntry],
    pipeline_version: str,
    check: Callable[[], None] | None = None,
) -> dict[str, str]:
    """Steps 1 (the keys) to 6 for a batch whose files are ``objects`` and whose ledger
    entries are ``entries``; ``counts`` go into the manifest. ``check`` (the lease's) runs
    before the commit point. Returns each written key's sha256."""
    intent_key = f"{PENDING_PREFIX}{plan.batch_id}.json"
    # From here on, every key this attempt may write is recorded first.
    dest.put(intent_key, plan.to_json(sorted(previous_keys | set(objects))), "application/json")
    rewritten = remove_superseded(dest, superseded, keep=set(objects))
    checksums = put_objects(dest, objects)
    files = sorted(objects)
    manifest = {
        "batch_id": plan.batch_id,
        "source": plan.source,
        "planned_at": plan.planned_at,
        "committed_at": datetime.now(UTC).isoformat(),
        "pipeline_version": pipeline_version,
        **counts,
        "files": [{"key": k, "sha256": checksums[k], "bytes": len(objects[k])} for k in files],
        "reprocess": plan.reprocess,
        "rewrote": rewritten,
    }
    dest.put(
        f"{MANIFEST_PREFIX}{plan.batch_id}.json", json.dumps(manifest, indent=2).encode("utf-8"), "application/json"
    )
    committed_at = datetime.now(UTC).isoformat()
    if check is not None:
        check()
    dest.put(ledger_key(plan.batch_id), encode_ledger(plan.batch_id, entries, committed_at), "application/json")
    for stale in sorted(previous_keys - set(objects)):
        dest.delete(stale)
    dest.delete(intent_key)
    return checksums


def put_objects(dest: Storage, objects: dict[str, bytes]) -> dict[str, str]:
    """Upload a batch's files (step 2), several at a time where the store says it takes
    that (``put_concurrency``: S3); each key's sha256. Any order is as good as another: the
    intent lists every key, and nothing reads them before the manifest. A failed upload
    fails the batch after the others have finished."""

    def put(item: tuple[str, bytes]) -> str:
        key, data = item
        return dest.put(key, data, "application/json" if key.endswith(".json") else "application/vnd.apache.parquet")

    return dict(zip(objects, at_once(dest, put, list(objects.items()), "wire-ingest-put"), strict=True))


def remove_superseded(dest: Storage, superseded: dict[str, LedgerEntry], keep: set[str]) -> list[dict[str, object]]:
    """Take the reprocessed inputs' earlier rows out of their old files (idempotent).

    Runs before the new files are written, so a reader listing ``stories/`` may briefly
    miss a story being reprocessed but never sees it twice. A file left with no rows is
    deleted; a superseded quarantine entry is deleted unless the new attempt rewrites it.
    """
    by_key: dict[str, set[str]] = {}
    # A compacted row lives in the merged file: resolved through the merge records of the
    # superseded rows' partitions.
    resolve = key_map(dest, (e.key for e in superseded.values() if e.key)) if superseded else (lambda key: key)
    for uri, entry in superseded.items():
        key = resolve(entry.key) if entry.key else None
        if key and key not in keep:
            by_key.setdefault(key, set()).add(uri)
    rewritten: list[dict[str, object]] = []
    for key, uris in sorted(by_key.items()):
        if not dest.exists(key):
            continue
        if not key.endswith(".parquet"):
            dest.delete(key)
            rewritten.append({"key": key, "deleted": True})
            continue
        data = dest.get(key)
        table = read_table(data)
        remaining = table.filter(pc.invert(pc.is_in(table["source_uri"], value_set=pa.array(sorted(uris)))))
        if remaining.num_rows == table.num_rows:
            continue
        if remaining.num_rows == 0:
            dest.delete(key)
            rewritten.append({"key": key, "deleted": True})
        else:
            digest = dest.put(key, rewrite_parquet(remaining, data), "application/vnd.apache.parquet")
            rewritten.append({"key": key, "sha256": digest, "rows": remaining.num_rows})
    return rewritten


def pending_plans(dest: Storage) -> list[BatchPlan]:
    """Batches that started writing but never committed (a crash or a kill)."""
    plans = []
    for info in dest.list(PENDING_PREFIX):
        raw = json.loads(dest.get(info.key))
        raw.pop("keys", None)
        plans.append(BatchPlan(**raw))
    return plans
