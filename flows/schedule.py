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

from flows.batch import IngestSettings
from flows.ingest import ingest_flow
from flows.inputs import DEFAULT_BATCH_SIZE, DEFAULT_RUN_INPUTS

DEFAULT_DEPLOYMENT = "scheduled"


def build_deployment(
    source: str,
    dest: str,
    cron: str,
    *,
    name: str = DEFAULT_DEPLOYMENT,
    batch_size: int = DEFAULT_BATCH_SIZE,
    settings: IngestSettings | None = None,
    wait_lock: float = 0.0,
    max_quarantine_share: float | None = None,
    max_inputs: int | None = DEFAULT_RUN_INPUTS,
) -> RunnerDeployment:
    """The deployment object: cron schedule, parameters (``settings`` as the flow's
    parameters, `IngestSettings.flow_parameters`), concurrency limit 1."""
    parameters: dict[str, Any] = {
        "source": source,
        "dest": dest,
        "batch_size": batch_size,
        "wait_lock": wait_lock,
        "max_quarantine_share": max_quarantine_share,
        "max_inputs": max_inputs,
        **(settings or IngestSettings()).flow_parameters(),
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
