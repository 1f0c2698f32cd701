"""Process settings applied before Prefect is imported."""

from __future__ import annotations

import os

#: Seconds Prefect's temporary server may take to start (Prefect's own default is 20).
TEMPORARY_SERVER_TIMEOUT = 120


def prepare_prefect_environment() -> None:
    """Keep Prefect local and quiet unless the operator configured otherwise.

    Analytics stay off (no traffic beyond the configured API), and without a
    ``PREFECT_API_URL`` Prefect runs its own temporary server on 127.0.0.1.
    """
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
