"""Process settings applied before Prefect is imported."""

from __future__ import annotations

import os


def prepare_prefect_environment() -> None:
    """Keep Prefect local and quiet unless the operator configured otherwise.

    Analytics stay off (no traffic beyond the configured API), and without a
    ``PREFECT_API_URL`` Prefect runs its own temporary server on 127.0.0.1.
    """
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
