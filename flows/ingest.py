"""The Prefect 3 ingest flow: thin wiring over ``flows.batch``.

A task handles a batch (never a single story: a task costs ~25-30 ms of orchestration),
and returns counts and keys, never records, since a flow keeps every task's result in
memory until it exits.
"""

from __future__ import annotations

import os
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows.batch import BatchPlan, BatchSummary, IngestSettings, plan_batches, recover_pending, run_batch
from flows.ledger import LedgerIndex, load_ledger
from flows.report import RunTotals, render_markdown
from parsers import DEFAULT_MAX_BYTES
from storage import Storage, open_storage

# Task-level retries on top of botocore's own; an operator can tune both (README: Configuration).
STORAGE_RETRY_DELAYS = [float(x) for x in os.environ.get("WIRE_INGEST_TASK_RETRY_DELAYS", "2,10,30").split(",")]
STORAGE_RETRIES = len(STORAGE_RETRY_DELAYS)


@task(name="load-ledger", cache_policy=NO_CACHE, retries=STORAGE_RETRIES, retry_delay_seconds=STORAGE_RETRY_DELAYS)
def load_ledger_task(dest: Storage) -> LedgerIndex:
    return load_ledger(dest)


@task(name="recover-pending", cache_policy=NO_CACHE, retries=STORAGE_RETRIES, retry_delay_seconds=STORAGE_RETRY_DELAYS)
def recover_task(source: Storage, dest: Storage, index: LedgerIndex, settings: IngestSettings) -> list[BatchSummary]:
    return recover_pending(source, dest, index, settings)


@task(name="plan-batches", cache_policy=NO_CACHE, retries=STORAGE_RETRIES, retry_delay_seconds=STORAGE_RETRY_DELAYS)
def plan_task(
    source: Storage,
    index: LedgerIndex,
    batch_size: int,
    settings: IngestSettings,
    keys: list[str] | None,
    reprocess: bool,
) -> list[BatchPlan]:
    return plan_batches(source, index, batch_size, settings, keys=keys, reprocess=reprocess)


@task(
    name="ingest-batch",
    cache_policy=NO_CACHE,
    retries=STORAGE_RETRIES,
    retry_delay_seconds=STORAGE_RETRY_DELAYS,
    task_run_name="batch-{plan.batch_id}",
)
def batch_task(
    plan: BatchPlan, source: Storage, dest: Storage, index: LedgerIndex, settings: IngestSettings
) -> BatchSummary:
    return run_batch(plan, source, dest, index, settings)


@flow(name="wire-ingest", log_prints=False)
def ingest_flow(
    source: str,
    dest: str,
    batch_size: int = 200,
    max_bytes: int = DEFAULT_MAX_BYTES,
    default_agency: str | None = None,
    pattern: str = "*",
    workers: int = 0,
    keys: list[str] | None = None,
    reprocess: bool = False,
) -> dict[str, Any]:
    """Ingest what is new under ``source`` into ``dest``; return the run totals.

    ``keys`` restricts the run to those source keys (backfills pass one day's inputs);
    ``reprocess`` ingests them again even if done, replacing the rows they produced before.
    """
    logger = get_run_logger()
    settings = IngestSettings(max_bytes=max_bytes, default_agency=default_agency, pattern=pattern, workers=workers)
    source_store, dest_store = open_storage(source), open_storage(dest)
    index = load_ledger_task(dest_store)
    totals = RunTotals()
    for summary in recover_task(source_store, dest_store, index, settings):
        logger.info("recovered batch %s: %d stories", summary.batch_id, summary.stories)
        totals.add(summary)
    plans = plan_task(source_store, index, batch_size, settings, keys, reprocess)
    logger.info("%d new inputs in %d batches", sum(len(p.inputs) for p in plans), len(plans))
    for number, plan in enumerate(plans, start=1):
        summary = batch_task(plan, source_store, dest_store, index, settings)
        totals.add(summary)
        logger.info(
            "batch %d/%d %s: %d inputs, %d stories, %d duplicates, %d quarantined",
            number,
            len(plans),
            plan.batch_id,
            summary.inputs,
            summary.stories,
            summary.duplicates,
            summary.quarantined_total,
        )
    if totals.batches:
        create_markdown_artifact(
            key="wire-ingest-run",
            markdown=render_markdown(totals, source, dest),
            description="inputs, stories, quarantined by reason, duplicates, bytes written",
        )
    return totals.to_dict()
