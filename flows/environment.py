"""Process settings applied before Prefect is imported."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

#: Seconds Prefect's temporary server may take to start (Prefect's own default is 20).
TEMPORARY_SERVER_TIMEOUT = 120


def prepare_prefect_environment() -> None:
    """Keep Prefect local and quiet unless the operator configured otherwise.

    Analytics stay off (no traffic beyond the configured API), and without a
    ``PREFECT_API_URL`` (unset or empty) Prefect runs its own temporary server on 127.0.0.1.
    """
    if "PREFECT_API_URL" in os.environ and not os.environ["PREFECT_API_URL"].strip():
        # Set but empty (``PREFECT_API_URL=`` in an env file or a unit's Environment=): no
        # API, as if unset. Prefect then started its temporary server yet sent events as if
        # to none, and every clean run ended with ~30 ERROR tracebacks from its events
        # worker ("Cannot put items in a stopped service instance").
        del os.environ["PREFECT_API_URL"]
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
    # Prefect gives its temporary server 20 s to answer; a fresh PREFECT_HOME creating its
    # database on a loaded machine took longer here (the run then died with a traceback).
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", str(TEMPORARY_SERVER_TIMEOUT))


def temporary_server_notice() -> str | None:
    """What to tell the operator when this process's flow runs will start Prefect's
    temporary server (no API configured in the environment or the Prefect profile): it is
    10-25 s of silence before the first batch here, and one setting avoids it. None when an
    API is configured. Imports Prefect's settings (call it where Prefect is loaded anyway)."""
    from prefect.settings import get_current_settings

    if get_current_settings().api.url:
        return None
    return (
        "Prefect starts a temporary server for this run (PREFECT_API_URL is not set): 10-25 s before the "
        "first batch, more on a first run. To skip it, run `prefect server start` once and export "
        "PREFECT_API_URL=http://127.0.0.1:4200/api."
    )


@contextmanager
def command_runs() -> Iterator[None]:
    """Settings for the flow runs ``wire-ingest ingest`` starts in its own process, never a
    deployment's: no flow-run heartbeat, unless one is configured
    (``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` in the environment or the profile).

    Prefect 3.9 starts a heartbeat thread for every flow run (every 180 s by default) and
    joins it at the run's end; the thread sleeps in whole seconds, so each run waited up to
    1 s for it (0.9 s of a no-op run here). Heartbeats drive an automation that marks a
    deployment's run Crashed when its infrastructure dies unseen (Prefect's "detect zombie
    flows"); a command's run ends with the command, in front of whoever started it.

    Not for commands that start many short runs one after another (``backfill``,
    ``replay``): against Prefect's default SQLite-backed server, a flow run created right
    after the last one ended often met the server still writing that run's events
    ("database is locked", answered 503, retried by Prefect's client after ~2 s), which
    cost more than the heartbeat's wait saved. ``wire-ingest serve`` and workers keep
    Prefect's default.

    Nor for runs on Prefect's temporary server (no ``PREFECT_API_URL``): Prefect stops that
    server as the process exits, and without the heartbeat's wait the stop often came while
    the server still wrote the last task's events, so a clean run ended with ERROR
    tracebacks from ``prefect.server.services.task_run_recorder`` (4 runs of 6 here; none of
    6 with the heartbeat). A run that starts a server for 10-25 s does not miss the second.
    Imports Prefect's settings (call it where Prefect is loaded anyway)."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, get_current_settings, temporary_settings

    settings = get_current_settings()
    if "heartbeat_frequency" in settings.flows.model_fields_set or not settings.api.url:
        yield
        return
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def settle_temporary_server(flow_runs: int, timeout: float = 5.0) -> None:
    """Before a command on Prefect's temporary server exits, wait (at most ``timeout`` s) until
    the server has recorded the task runs of its last ``flow_runs`` flow runs as finished.

    Prefect stops its temporary server as the process exits; a stop that met its task-run
    recorder still writing the last task's events printed ERROR tracebacks after a clean
    run (4 runs of 6 with nothing to space them; the flow-run heartbeat's ~1 s join at each
    run's end hid it on a quiet machine, not under load). The recorder writes events in
    order, so the wait ends when every task run it has recorded is final and their count
    held for one more look. Nothing here touches the dataset: on a timeout the command
    exits as before."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import FlowRunSort

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=max(1, flow_runs))
        only_these = FlowRunFilter(id=FlowRunFilterId(any_=[run.id for run in runs]))
        seen: tuple[int, bool] | None = None
        while time.monotonic() < deadline:
            tasks = client.read_task_runs(flow_run_filter=only_these)
            now = (len(tasks), all(t.state is not None and t.state.is_final() for t in tasks))
            if now[1] and now == seen:
                return
            seen = now
            time.sleep(0.1)
