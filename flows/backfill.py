"""Backfills: re-ingest the inputs dated inside a range, one Prefect flow run per day
(split further into chunks of ``chunk_size`` inputs), with progress.

An input's date comes from, in order: a ``YYYY/MM/DD`` or ``YYYY-MM-DD`` segment in its
key, its publication time (the input is parsed), its modification time (UTC).
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from flows.batch import IngestSettings
from flows.bundles import OpenBundle
from flows.ingest import check_quarantine_share, ingest_flow, key_parameters
from flows.inputs import DEFAULT_BATCH_SIZE, expand_bundles, is_candidate, read_input
from flows.report import Progress, RunTotals
from parsers import parse_story
from schemas.errors import ConfigError, InputError, ParseError, StorageError
from storage import ObjectInfo, Storage, check_source_and_dest, open_storage
from table.ledger import DoneEntries, load_ledger

logger = logging.getLogger(__name__)

_PATH_DATE = re.compile(r"(?:^|/)(\d{4})[/-](\d{2})[/-](\d{2})(?=/|$|[^0-9])")


def input_date(
    source: Storage,
    info: ObjectInfo,
    settings: IngestSettings,
    key: str | None = None,
    cache: dict[str, OpenBundle] | None = None,
) -> date:
    """The date an input belongs to (see the module docstring for the order of sources).
    ``key`` is the input when it is a member of the bundle ``info`` lists."""
    key = key or info.key
    match = _PATH_DATE.search(key)
    if match:
        try:
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            pass
    try:
        data = read_input(source, key, settings.max_bytes, settings.bundle_limits, {} if cache is None else cache)
        story = parse_story(data, source.full_uri(key), max_bytes=settings.max_bytes)
        if story.published_at is not None:
            return story.published_at.date()
    except (ParseError, InputError, StorageError):
        pass  # unreadable or unparsable: its file's time dates it; the ingest quarantines it
    except Exception:  # a parser bug (of any type) costs this input its date, not the backfill
        # The ingest parses it again in a worker, where an error of any type is the input's
        # quarantine entry (`parser_error`); here it stopped the whole backfill's planning.
        logger.warning("backfill: %s could not be parsed to date it; dated by its file's time", key, exc_info=True)
    return datetime.fromtimestamp(info.modified, UTC).date()


@dataclass
class BackfillPlan:
    """The inputs of a backfill, by day."""

    by_day: dict[date, list[str]]
    #: Each listed file's revision (``ObjectInfo.revision``), passed on to the flow runs.
    revisions: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(len(keys) for keys in self.by_day.values())


def plan_backfill(
    source: Storage, dest: Storage, start: date, end: date, settings: IngestSettings, *, reprocess: bool = False
) -> BackfillPlan:
    """Inputs dated inside ``[start, end]``: those not in the ledger yet or rewritten since
    they were ingested (``settings.detect_rewrites``), or all with ``reprocess``."""
    if end < start:
        raise ConfigError(f"--end {end} is before --start {start}")
    done = None if reprocess else load_ledger(dest).done
    by_day: dict[date, list[str]] = defaultdict(list)
    revisions: dict[str, str] = {}
    cache: dict[str, OpenBundle] = {}
    for info in source.list():
        if not is_candidate(info.key, settings.pattern):
            continue
        # Done and unchanged: skipped. Rewritten since: planned again (the flow replaces its
        # rows). A bundle's members are listed at the bundle's revision.
        revision = info.revision if settings.detect_rewrites else ""
        if done is not None and is_unchanged(done, source.full_uri(info.key), revision):
            continue
        own: dict[str, str] = {}
        for key in expand_bundles(source, [info.key], settings.bundle_limits, member_revisions=own):
            # A feed's item is at its own revision (`flows.bundles.member_revisions`).
            at = own.get(key, revision) if revision else revision
            if done is not None and key != info.key and is_unchanged(done, source.full_uri(key), at):
                continue
            day = input_date(source, info, settings, key, cache)
            if start <= day <= end:
                by_day[day].append(key)
                if at:
                    revisions[key] = at
    return BackfillPlan(dict(sorted(by_day.items())), revisions)


def is_unchanged(done: DoneEntries, uri: str, revision: str) -> bool:
    """Whether the ledger holds ``uri`` as done and not rewritten since (at ``revision``)."""
    held, rewritten = done.check_many([uri], [revision or None])
    return held[0] and not rewritten[0]


def backfill(
    source: str,
    dest: str,
    start: date,
    end: date,
    *,
    reprocess: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    chunk_size: int = 2000,
    settings: IngestSettings | None = None,
    progress: Callable[[int], Progress] | None = None,
    wait_lock: float = 0.0,
    max_quarantine_share: float | None = None,
) -> dict[str, Any]:
    """Ingest the range as one flow run per day (and per ``chunk_size`` inputs); return totals."""
    settings = settings or IngestSettings()
    check_source_and_dest(source, dest)
    source_store, dest_store = open_storage(source), open_storage(dest)
    plan = plan_backfill(source_store, dest_store, start, end, settings, reprocess=reprocess)
    bar = (progress or Progress)(plan.total)
    totals = RunTotals()
    for day, keys in plan.by_day.items():
        for offset in range(0, len(keys), chunk_size):
            chunk = keys[offset : offset + chunk_size]
            run = ingest_flow.with_options(flow_run_name=f"backfill-{day.isoformat()}-{offset // chunk_size}")
            result = run(
                source=source,
                dest=dest,
                batch_size=batch_size,
                **key_parameters(chunk, plan.revisions),
                reprocess=reprocess,
                wait_lock=wait_lock,
                fail_on_unread=False,  # in the totals: the command reports it
                **settings.flow_parameters(),
            )
            totals.merge(result)
            bar.update(len(chunk), int(result["stories"]), day.isoformat())
    check_quarantine_share(totals, max_quarantine_share)
    return totals.to_dict()
