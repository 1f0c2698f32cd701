"""Replay: ingest quarantined inputs again after a parser fix.

Each quarantine entry names its input (``source_uri``) and its batch, whose manifest
names the source root, so the input's key is known. Replaying is a reprocess of exactly
those keys: an input that now parses becomes a row and its quarantine entry is deleted
in the same batch (the commit protocol's superseded-entry step); one that still fails gets
a fresh entry with its current reason. Exactly once either way, and safe to re-run.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flows.batch import IngestSettings
from flows.bundles import MEMBER_SEPARATOR, has_own_revisions, member_revisions, split_member
from flows.ingest import check_quarantine_share, ingest_flow, key_parameters
from flows.inputs import BUNDLE_READ_LIMIT, DEFAULT_BATCH_SIZE, QUARANTINE_PREFIX
from flows.report import RunTotals
from schemas.errors import ConfigError, StorageError
from storage import Storage, key_under, open_storage
from storage.base import read_each
from table.commit import MANIFEST_PREFIX


@dataclass
class ReplayPlan:
    """Quarantined inputs to replay, by source root; and entries that cannot be replayed."""

    by_source: dict[str, list[str]] = field(default_factory=dict)
    orphans: list[str] = field(default_factory=list)  # entries whose source is unknown or gone

    @property
    def total(self) -> int:
        return sum(len(keys) for keys in self.by_source.values())


def plan_replay(dest: Storage, *, reason: str | None = None, since: date | None = None) -> ReplayPlan:
    """The quarantined inputs of ``dest`` (with ``reason``, quarantined on or after ``since``)."""
    sources: dict[str, str | None] = {}
    by_source: dict[str, list[str]] = defaultdict(list)
    plan = ReplayPlan()
    for entry_key, entry in _entries(dest, since):
        if reason is not None and entry.get("reason") != reason:
            continue
        batch_id = str(entry.get("batch_id", ""))
        if batch_id not in sources:
            manifest_key = f"{MANIFEST_PREFIX}{batch_id}.json"
            sources[batch_id] = json.loads(dest.get(manifest_key))["source"] if dest.exists(manifest_key) else None
        source = sources[batch_id]
        key = key_under(source, str(entry["source_uri"])) if source is not None else None
        if source is None or key is None:
            plan.orphans.append(entry_key)
            continue
        by_source[source].append(key)
    plan.by_source = {source: sorted(set(keys)) for source, keys in sorted(by_source.items())}
    return plan


def _entries(dest: Storage, since: date | None) -> Iterator[tuple[str, dict[str, Any]]]:
    """The quarantine entries (quarantined on or after ``since``), in key order, read 1,000
    at a time, several at once where the store takes that (S3: one GET after another was
    ~20-50 ms an entry, minutes for a feed that went bad for a day)."""
    keys = (
        info.key
        for info in dest.list(QUARANTINE_PREFIX)
        if since is None
        or info.key.removeprefix(QUARANTINE_PREFIX).split("/", 1)[0].removeprefix("date=") >= since.isoformat()
    )
    for key, data in read_each(dest, keys, "wire-ingest-replay"):
        yield key, json.loads(data)


def listed_revisions(source: Storage, keys: list[str]) -> dict[str, str]:
    """Each key's revision as a listing of its folder gives it (a bundle member's: its
    bundle's; a feed item's: its own), so replayed inputs record one and a later rewrite of them is noticed. One
    listing per folder the keys sit in, not a listing of the whole source."""
    bases = {key: (member[0] if (member := split_member(key)) else key) for key in keys}
    folders = sorted({base.rsplit("/", 1)[0] + "/" if "/" in base else "" for base in bases.values()})
    wanted = set(bases.values())
    found: dict[str, str] = {}
    for folder in folders:
        for info in source.list(folder):
            if info.key in wanted and info.revision:
                found[info.key] = info.revision
    # A feed's items, a JSON-lines file's lines and an mbox file's messages are at revisions
    # of their own (`flows.bundles.member_revisions`).
    own: dict[str, str] = {}
    for base in {base for key, base in bases.items() if key != base and base in found and has_own_revisions(base)}:
        try:
            data = source.get(base, limit=BUNDLE_READ_LIMIT)
        except StorageError:
            continue
        own.update((f"{base}{MEMBER_SEPARATOR}{m}", r) for m, r in member_revisions(base, data).items())
    return {key: own.get(key, found[base]) for key, base in bases.items() if base in found}


def replay(
    dest: str,
    *,
    reason: str | None = None,
    since: date | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    chunk_size: int = 2000,
    settings: IngestSettings | None = None,
    wait_lock: float = 0.0,
    max_quarantine_share: float | None = None,
) -> dict[str, Any]:
    """Re-ingest the quarantined inputs of ``dest`` (one flow run per ``chunk_size``); totals."""
    settings = settings or IngestSettings()
    plan = plan_replay(open_storage(dest), reason=reason, since=since)
    if plan.orphans and not plan.by_source:
        raise ConfigError(
            f"{len(plan.orphans)} quarantine entries name inputs whose source root is unknown "
            "(their batch manifest is missing): nothing can be replayed"
        )
    totals = RunTotals()
    for source, keys in plan.by_source.items():
        revisions = listed_revisions(open_storage(source), keys) if settings.detect_rewrites else {}
        for offset in range(0, len(keys), chunk_size):
            run = ingest_flow.with_options(flow_run_name=f"replay-{offset // chunk_size}")
            chunk = keys[offset : offset + chunk_size]
            totals.merge(
                run(
                    source=source,
                    dest=dest,
                    batch_size=batch_size,
                    **key_parameters(chunk, revisions),
                    reprocess=True,
                    wait_lock=wait_lock,
                    fail_on_unread=False,  # in the totals: the command reports it
                    **settings.flow_parameters(),
                )
            )
    check_quarantine_share(totals, max_quarantine_share)
    result = totals.to_dict()
    result["not_replayable"] = len(plan.orphans)
    return result
