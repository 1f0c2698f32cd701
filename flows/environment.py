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
