"""The Prefect 3 ingest flow: thin wiring over ``flows.batch``.

A task handles a batch (never a single story: a task costs ~25-30 ms of orchestration),
and returns counts and keys, never records, since a flow keeps every task's result in
memory until it exits.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar, cast

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

try:  # Prefect 3.9 has opaque: resolved, not walked into
    from prefect.utilities.annotations import opaque as _not_walked
except ImportError:  # an older Prefect 3: quote skips the walk, and these hold no future to resolve
    from prefect.utilities.annotations import quote as _not_walked  # type: ignore[assignment]

from flows.batch import (
    BatchSummary,
    IngestSettings,
    PlanNotes,
    drop_started_ahead,
    plan_batches,
    recover_pending,
    remember_unread,
    run_plans,
)
from flows.bundles import BundleLimits
from flows.inputs import DEFAULT_BATCH_SIZE, BundleIndex, UnreadLog
from flows.report import RunTotals, render_markdown
from flows.workers import DEFAULT_PARSE_MEMORY_MB, DEFAULT_PARSE_TIMEOUT
from parsers import DEFAULT_MAX_BYTES
from schemas.errors import InconsistentDatasetError, QuarantineShareError, UnreadInputsError
from storage import Storage, check_source_and_dest, open_storage
from storage.lease import Lease
from storage.local import escape_path, unescape_path
from table.commit import BatchPlan
from table.ledger import LedgerIndex, load_ledger
from table.snapshot import fold

T = TypeVar("T")

# Task-level retries on top of botocore's own; an operator can tune both (README: Configuration).
STORAGE_RETRY_DELAYS = [float(x) for x in os.environ.get("WIRE_INGEST_TASK_RETRY_DELAYS", "2,10,30").split(",")]
STORAGE_RETRIES = len(STORAGE_RETRY_DELAYS)


@task(name="load-ledger", cache_policy=NO_CACHE, retries=STORAGE_RETRIES, retry_delay_seconds=STORAGE_RETRY_DELAYS)
def load_ledger_task(dest: Storage) -> LedgerIndex:
    return load_ledger(dest)


@task(name="recover-pending", cache_policy=NO_CACHE, retries=STORAGE_RETRIES, retry_delay_seconds=STORAGE_RETRY_DELAYS)
def recover_task(
    source: Storage, dest: Storage, index: LedgerIndex, settings: IngestSettings, lease: Lease
) -> list[BatchSummary]:
    return recover_pending(source, dest, index, settings, lease)


@task(name="plan-batches", cache_policy=NO_CACHE, retries=STORAGE_RETRIES, retry_delay_seconds=STORAGE_RETRY_DELAYS)
def plan_task(
    source: Storage,
    index: LedgerIndex,
    batch_size: int,
    settings: IngestSettings,
    keys: list[str] | None,
    reprocess: bool,
    limit: int | None,
    revisions: dict[str, str] | None = None,
    dest: Storage | None = None,
    retry_last: set[str] | None = None,
    retry: bool = True,
) -> tuple[list[BatchPlan], int, int, int, PlanNotes]:
    """The run's batches, how many inputs were left for a later run (still changing,
    ``--settle``; over the run's limit, ``max_inputs``), how many are ingested again
    because they were rewritten since they were ingested, and the notes on the inputs of
    ``retry_last`` (those the store failed to read before: planned last; only those)."""
    notes = PlanNotes()
    plans = plan_batches(
        source,
        index,
        batch_size,
        settings,
        keys=keys,
        reprocess=reprocess,
        notes=notes,
        limit=limit,
        revisions=revisions,
        bundles=BundleIndex(dest, settings.bundle_limits) if dest is not None else None,
        retry_last=retry_last or frozenset(),
        retry=retry,
    )
    logger = get_run_logger()
    if notes.settling:
        logger.info(
            "%d input(s) changed within the last %gs (--settle) and are left for the next run, e.g. %s",
            len(notes.settling),
            settings.settle_seconds,
            notes.settling[0],
        )
    if notes.left:
        logger.info(
            "%d more new input(s) wait beyond this run's limit of %d; the next run takes them", notes.left, limit
        )
    if notes.rewritten:
        logger.info(
            "%d input(s) were rewritten since they were ingested and are read again (changed bytes replace "
            "their rows), e.g. %s",
            len(notes.rewritten),
            notes.rewritten[0],
        )
    if notes.retry_listed:
        logger.info(
            "%d input(s) the store failed to read in earlier runs wait; they are planned after the others "
            "(%d of them this run), e.g. %s",
            len(notes.retry_listed),
            notes.retried,
            notes.retry_listed[0],
        )
    # Of the notes, only what the run needs later: Prefect keeps a task's result until the
    # flow ends, and the rewritten and settling keys may be a run's worth.
    retries = PlanNotes(retry_listed=notes.retry_listed, retried=notes.retried, left_unread=notes.left_unread)
    return plans, len(notes.settling), notes.left, len(notes.rewritten), retries


#: Inputs a task handles (in batches of --batch-size, each committed on its own): a task run
#: costs ~50 ms against a Prefect server on this machine, so a task per 200-input batch
#: spent a third of a 10,000-story run on orchestration.
TASK_INPUTS = int(os.environ.get("WIRE_INGEST_TASK_INPUTS", "2000"))


def task_groups(plans: list[BatchPlan], task_inputs: int = TASK_INPUTS) -> list[list[BatchPlan]]:
    """Consecutive batches grouped into tasks of about ``task_inputs`` inputs (at least one batch each)."""
    groups: list[list[BatchPlan]] = []
    size = task_inputs  # start a new group at the first plan
    for plan in plans:
        if size >= task_inputs:
            groups.append([])
            size = 0
        groups[-1].append(plan)
        size += len(plan.inputs)
    return groups


class RunWatcher(Protocol):
    """Told what a run in this process planned and each batch it commits (the CLI's progress)."""

    def planned(self, inputs: int, batches: int) -> None: ...

    def committed(self, inputs: int, stories: int) -> None: ...


#: The watchers of runs in this process (``watching``); a deployment's run has none.
_WATCHERS: list[RunWatcher] = []


@contextmanager
def watching(watcher: RunWatcher | None) -> Iterator[None]:
    """Tell ``watcher`` (if any) of every ingest run this process starts meanwhile."""
    if watcher is None:
        yield
        return
    _WATCHERS.append(watcher)
    try:
        yield
    finally:
        _WATCHERS.remove(watcher)


def _tell_watchers(event: str, *values: int) -> None:
    """Call ``event`` on each watcher; a watcher that fails (a closed stderr) never fails the run."""
    for watcher in _WATCHERS:
        try:
            getattr(watcher, event)(*values)
        except Exception:  # progress is a courtesy: the batch is committed either way
            get_run_logger().debug("run watcher %r failed on %s", watcher, event, exc_info=True)


@task(
    name="ingest-batches",
    cache_policy=NO_CACHE,
    retries=STORAGE_RETRIES,
    retry_delay_seconds=STORAGE_RETRY_DELAYS,
    task_run_name="batches-{plans[0].batch_id}+{extra}",
)
def batch_task(
    plans: list[BatchPlan],
    source: Storage,
    dest: Storage,
    index: LedgerIndex,
    settings: IngestSettings,
    lease: Lease,
    committed: dict[str, BatchSummary],
    then: BatchPlan | None = None,
    extra: int = 0,
) -> int:
    """Run ``plans`` in order, each batch committed on its own, its summary put in
    ``committed`` as it commits. A retry of the task skips the batches committed before
    the failure (so none is done twice, and none is counted twice). ``then``, the next
    task's first batch, starts parsing when this task's last batch has. Returns the
    batches run."""
    todo = [plan for plan in plans if plan.batch_id not in committed]

    def done(plan: BatchPlan, summary: BatchSummary) -> None:
        committed[plan.batch_id] = summary
        log_batch(plan, summary)
        _tell_watchers("committed", summary.inputs, summary.stories)

    # Each batch's parse starts while the batch before it is deduplicated and committed.
    run_plans(todo, source, dest, index, settings, lease=lease, on_commit=done, then=then)
    return len(todo)


def log_batch(plan: BatchPlan, summary: BatchSummary) -> None:
    logger = get_run_logger()
    logger.info(
        "batch %s: %d inputs, %d stories, %d duplicates, %d quarantined",
        plan.batch_id,
        summary.inputs,
        summary.stories,
        summary.duplicates,
        summary.quarantined_total,
    )
    if summary.unread:
        logger.warning("batch %s: %s", plan.batch_id, unread_message(summary.unread, summary.unread_first))
    if summary.vanished:
        logger.info("batch %s: %d input(s) gone since listed (deleted or moved)", plan.batch_id, summary.vanished)


@task(name="fold-ledger", cache_policy=NO_CACHE, retries=STORAGE_RETRIES, retry_delay_seconds=STORAGE_RETRY_DELAYS)
def fold_ledger_task(dest: Storage, lease: Lease) -> dict[str, Any] | None:
    """Fold the committed batch objects into the ledger snapshot once enough have gathered."""
    return fold(dest, check=lease.check)


@flow(name="wire-ingest", log_prints=False)
def ingest_flow(
    source: str,
    dest: str,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_bytes: int = DEFAULT_MAX_BYTES,
    default_agency: str | None = None,
    pattern: str = "*",
    workers: int = 0,
    keys: list[str] | None = None,
    revisions: dict[str, str] | None = None,
    reprocess: bool = False,
    parse_timeout: float = DEFAULT_PARSE_TIMEOUT,
    wait_lock: float = 0.0,
    max_quarantine_share: float | None = None,
    parse_memory_mb: int = DEFAULT_PARSE_MEMORY_MB,
    bundle_max_members: int = BundleLimits.max_members,
    bundle_max_mb: int = BundleLimits.max_bytes // 1024**2,
    bundle_max_ratio: float = BundleLimits.max_ratio,
    dask_address: str | None = None,
    settle_seconds: float = 0.0,
    max_inputs: int | None = None,
    detect_rewrites: bool = True,
    keys_escaped: bool = False,
    fail_on_unread: bool = True,
    retry_unread: bool = True,
) -> dict[str, Any]:
    """Ingest what is new under ``source`` into ``dest``; return the run totals.

    ``keys`` restricts the run to those source keys (backfills pass one day's inputs, with
    the ``revisions`` they were listed at, so rewrites of them are noticed later);
    ``reprocess`` ingests them again even if done, replacing the rows they produced before.
    The run holds the store's lease throughout (waiting up to ``wait_lock`` seconds for
    another run to finish). With ``max_quarantine_share``, a run that quarantined more than
    that share of its inputs fails after committing what was good (a feed turned bad).
    With ``settle_seconds``, local inputs changed within that time are left for a later run;
    with ``max_inputs``, the run takes at most that many new inputs and counts the rest
    (``left`` in the totals) for the next run, so a backlog never makes one run's memory grow
    past what that many stories need. With ``detect_rewrites`` (the default), an input
    rewritten since it was ingested (another size and modification time, or ETag) is
    ingested again and its earlier rows replaced; off, listing skips a stat per file.
    With ``keys_escaped``, ``keys`` and the keys of ``revisions`` are written as
    `storage.escape_path` writes them (`key_parameters`). Inputs the store failed to read
    are left for the next run (``unread`` in the totals); with ``fail_on_unread`` (the
    default: a deployment's runs) the run then fails after committing what it read, so that
    an input that stays unreadable raises the alarm (the commands report it themselves).
    Inputs that earlier runs failed to read are planned after every other input
    (`flows.inputs.UnreadLog`), or, without ``retry_unread``, left for a later run.
    """
    if keys_escaped:
        keys = None if keys is None else [unescape_path(key) for key in keys]
        revisions = None if revisions is None else {unescape_path(k): v for k, v in revisions.items()}
    if max_inputs is not None and max_inputs < 1:
        raise ValueError(f"max_inputs must be at least 1 (or None for no limit), not {max_inputs}")
    logger = get_run_logger()
    settings = IngestSettings(
        max_bytes=max_bytes,
        default_agency=default_agency,
        pattern=pattern,
        workers=workers,
        parse_timeout=parse_timeout,
        parse_memory_mb=parse_memory_mb,
        bundle_limits=BundleLimits(bundle_max_members, bundle_max_mb * 1024**2, bundle_max_ratio),
        dask_address=dask_address,
        settle_seconds=settle_seconds,
        detect_rewrites=detect_rewrites,
    )
    if dask_address:  # fail fast, before the lease and any batch, when the cluster is not there
        from flows.dask_parse import client_for

        client_for(dask_address)
    check_source_and_dest(source, dest)
    source_store, dest_store = open_storage(source), open_storage(dest)
    lease = Lease(dest_store, command="backfill" if keys is not None else "ingest")
    lease.acquire(wait=wait_lock)
    try:
        swept = dest_store.clean_staging()
        if swept:
            logger.info("removed %d staged file(s) an interrupted run left behind", swept)
        totals = run_batches(
            source_store,
            dest_store,
            settings,
            lease,
            batch_size,
            keys,
            reprocess,
            max_inputs,
            revisions,
            retry_unread,
        )
    finally:
        lease.release()
    if totals.batches:
        create_markdown_artifact(
            key="wire-ingest-run",
            markdown=render_markdown(totals, source, dest),
            description="inputs, stories, quarantined by reason, duplicates, bytes written",
        )
    check_quarantine_share(totals, max_quarantine_share)
    if fail_on_unread and totals.unread:
        raise UnreadInputsError(unread_message(totals.unread, totals.unread_first))
    return totals.to_dict()


def unread_message(count: int, first: str | None) -> str:
    """What to tell the operator about inputs the store failed to read."""
    return (
        f"{count} input{'s' if count != 1 else ''} could not be read ({first or 'no detail'}"
        f"{' and more' if count > 1 else ''}); left for the next run, which reads "
        f"{'them' if count != 1 else 'it'} again after the other inputs. What was read is committed. If this "
        "persists, check the source: the file's permissions, the disk, or the S3 endpoint and the object's "
        "access policy or storage class; or move the file out of the landing zone."
    )


def key_parameters(keys: list[str], revisions: dict[str, str]) -> dict[str, Any]:
    """``keys`` (and the ``revisions`` of those listed) as `ingest_flow` parameters. Escaped
    (`storage.escape_path`, undone in the flow): a Prefect parameter is JSON, which cannot
    hold a local file name that is not UTF-8 (lone surrogates as Python reads it), and a
    backfill or replay of a day holding one failed creating its flow run."""
    return {
        "keys": [escape_path(key) for key in keys],
        "revisions": {escape_path(key): revisions[key] for key in keys if key in revisions} or None,
        "keys_escaped": True,
    }


def whole(value: T) -> T:
    """``value`` as a task argument Prefect hands over without walking into it.

    Before a task runs, Prefect visits every object inside its arguments, looking for
    futures and states to wait on (``visit_collection``), and does it twice. The batch
    task's ``committed`` grows by a summary a batch, so a run paid for that walk once
    per batch it had committed so far, at every task (0.11 ms a summary here: ~27 ms a
    task by the end of a 50,000-input run), quadratic in the run's size; a task's plans
    (~2,000 input keys) cost ~12 ms more. ``opaque`` resolves the value itself and
    stops there; these arguments never hold a future."""
    return cast(T, _not_walked(value))


def run_batches(
    source: Storage,
    dest: Storage,
    settings: IngestSettings,
    lease: Lease,
    batch_size: int,
    keys: list[str] | None,
    reprocess: bool,
    max_inputs: int | None = None,
    revisions: dict[str, str] | None = None,
    retry_unread: bool = True,
) -> RunTotals:
    """Recover what a dead run left pending, plan the new work, run it batch by batch."""
    logger = get_run_logger()
    index = load_ledger_task(dest)
    totals = RunTotals()
    for summary in recover_task(source, dest, index, settings, lease):
        logger.info("recovered batch %s: %d stories", summary.batch_id, summary.stories)
        totals.add(summary)
    unread_log = UnreadLog(dest, source.uri)
    failed_before = unread_log.load()
    plans, totals.settling, totals.left, totals.rewritten, notes = plan_task(
        source,
        index,
        batch_size,
        settings,
        whole(keys),
        reprocess,
        max_inputs,
        whole(revisions),
        dest,
        whole(set(failed_before)),
        retry_unread,
    )
    totals.retried, totals.left_unread = notes.retried, notes.left_unread
    logger.info("%d inputs to ingest in %d batches", sum(len(p.inputs) for p in plans), len(plans))
    _tell_watchers("planned", sum(len(p.inputs) for p in plans), len(plans))
    committed: dict[str, BatchSummary] = {}
    groups = task_groups(plans, TASK_INPUTS)
    try:
        for number, group in enumerate(groups):
            then = groups[number + 1][0] if number + 1 < len(groups) else None
            batch_task(
                whole(group), source, dest, index, settings, lease, whole(committed), whole(then), extra=len(group) - 1
            )
            for plan in group:
                totals.add(committed[plan.batch_id])
            logger.info("%d/%d batches committed", len(committed), len(plans))
    finally:
        drop_started_ahead()  # a next task's parse, when this one failed for good
        # What the committed batches could not read, even when a later batch failed for good.
        remember_unread(unread_log, failed_before, plans, committed, notes, whole_listing=keys is None)
    folded = fold_ledger_task(dest, lease)
    if folded is not None:
        logger.info("ledger: folded into a snapshot of %d inputs (%d layers)", folded["rows"], len(folded["layers"]))
    return totals


def check_quarantine_share(totals: RunTotals, limit: float | None) -> None:
    """Fail the run (its good batches are committed already) when too much was quarantined."""
    if limit is None or totals.inputs == 0:
        return
    share = totals.quarantined_total / totals.inputs
    if share > limit:
        reasons = ", ".join(f"{reason} {count}" for reason, count in totals.quarantined.most_common())
        raise QuarantineShareError(
            f"{totals.quarantined_total} of {totals.inputs} inputs ({share:.0%}) were quarantined, over the "
            f"--max-quarantine-share {limit:g} ({reasons}). What parsed is committed; look at the quarantine "
            "entries, fix the feed or the parser, then `wire-ingest replay`."
        )


@flow(name="wire-ingest-check", log_prints=False)
def check_flow(dest: str, wait_lock: float = 600.0) -> dict[str, Any]:
    """``wire-ingest check`` for a scheduled deployment: the report as the run's artifact,
    and the run failed (so Prefect's notifications tell someone) when a guarantee is
    broken."""
    from table.check import run_check

    logger = get_run_logger()
    report = run_check(dest, wait_lock=wait_lock, progress=logger.info)
    lines = report.lines()
    for line in lines:
        logger.info("%s", line)
    create_markdown_artifact(
        key="wire-ingest-check",
        markdown="\n".join(f"- {line}" if not line.startswith("  ") else f"  - `{line.strip()}`" for line in lines),
        description="wire-ingest check: the dataset's guarantees read back",
    )
    if not report.ok:
        kinds = ", ".join(f"{kind} {count}" for kind, count in report.problems.items())
        raise InconsistentDatasetError(f"{dest}: {kinds}; the run's artifact names the inputs and what to do")
    return report.to_dict()


@flow(name="wire-ingest-compact", log_prints=False)
def compact_flow(
    dest: str, target_size: str = "128MB", partition: str | None = None, wait_lock: float = 600.0
) -> dict[str, Any]:
    """Merge each partition's small files (``wire-ingest compact``), for a scheduled deployment."""
    from table.compaction import parse_size, run_compaction

    logger = get_run_logger()
    summary = run_compaction(
        dest, target_bytes=parse_size(target_size), partition=partition, wait_lock=wait_lock, progress=logger.info
    )
    logger.info(
        "compacted %d partitions: %d files -> %d", summary.partitions, summary.files_before, summary.files_after
    )
    return {k: v for k, v in summary.to_dict().items() if k != "merged"}
