"""Scheduled runs: the ingest flow as a Prefect deployment with a cron schedule.

``serve`` registers the deployment and runs its scheduled (and manually triggered) flow
runs from this process. Runs of the deployment never overlap: its concurrency limit is 1,
and a run due while another is still going is cancelled (the next scheduled run picks up
whatever is new, because the ledger, not the schedule, decides what is new).
"""

from __future__ import annotations

from typing import Any

from prefect import serve as prefect_serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import RunnerDeployment
from prefect.types.entrypoint import EntrypointType

from flows.bundles import BundleLimits
from flows.ingest import ingest_flow
from flows.workers import DEFAULT_PARSE_MEMORY_MB, DEFAULT_PARSE_TIMEOUT
from parsers import DEFAULT_MAX_BYTES

DEFAULT_DEPLOYMENT = "scheduled"


def build_deployment(
    source: str,
    dest: str,
    cron: str,
    *,
    name: str = DEFAULT_DEPLOYMENT,
    batch_size: int = 200,
    max_bytes: int = DEFAULT_MAX_BYTES,
    default_agency: str | None = None,
    pattern: str = "*",
    workers: int = 0,
    parse_timeout: float = DEFAULT_PARSE_TIMEOUT,
    wait_lock: float = 0.0,
    max_quarantine_share: float | None = None,
    parse_memory_mb: int = DEFAULT_PARSE_MEMORY_MB,
    bundle_max_members: int = BundleLimits.max_members,
    bundle_max_mb: int = BundleLimits.max_bytes // 1024**2,
    bundle_max_ratio: float = BundleLimits.max_ratio,
) -> RunnerDeployment:
    """The deployment object: cron schedule, parameters, concurrency limit 1."""
    parameters: dict[str, Any] = {
        "source": source,
        "dest": dest,
        "batch_size": batch_size,
        "max_bytes": max_bytes,
        "default_agency": default_agency,
        "pattern": pattern,
        "workers": workers,
        "parse_timeout": parse_timeout,
        "wait_lock": wait_lock,
        "max_quarantine_share": max_quarantine_share,
        "parse_memory_mb": parse_memory_mb,
        "bundle_max_members": bundle_max_members,
        "bundle_max_mb": bundle_max_mb,
        "bundle_max_ratio": bundle_max_ratio,
    }
    deployment = ingest_flow.to_deployment(
        name=name,
        cron=cron,
        parameters=parameters,
        concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW),
        description=f"Ingest what is new under {source} into {dest} on cron {cron!r}.",
        tags=["wire-ingest"],
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    # to_deployment dispatches sync or async by context; called from sync code it is sync.
    assert isinstance(deployment, RunnerDeployment)
    return deployment


def serve(source: str, dest: str, cron: str, **options: Any) -> None:
    """Register the deployment and serve it from this process until interrupted."""
    prefect_serve(build_deployment(source, dest, cron, **options))
