"""Test setup: isolated Prefect (temporary home, analytics off, a local test server) and an
S3-compatible server (moto) over real HTTP on 127.0.0.1. Nothing leaves the machine."""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from unittest import mock

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# Prefect reads its settings at import: isolate it before anything imports it.
_PREFECT_HOME = tempfile.mkdtemp(prefix="wire-ingest-prefect-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
os.environ["PREFECT_SERVER_LOGGING_LEVEL"] = "WARNING"
os.environ.pop("PREFECT_API_URL", None)
os.environ.pop("PREFECT_API_KEY", None)
# Prefect's own default heartbeat, as on a machine that configured none (tests/test_run_inputs.py).
os.environ.pop("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", None)
os.environ.pop("PREFECT_RUNNER_HEARTBEAT_FREQUENCY", None)
# Prefect's event client keeps a websocket open to the session's test server, and the
# websockets library makes each keepalive ping's payload with the global `random` module,
# on Prefect's event-loop thread. Hypothesis checks that the global random state does not
# move while it draws an example: a ping landing inside a draw made it warn "do not use the
# `random` module inside strategies" on whichever property test was running (traced with a
# wrapper that logged the calling thread). The pings get a generator of their own.
try:
    import websockets.asyncio.connection as _websocket_connection

    _websocket_connection.random = random.Random()  # type: ignore[assignment]
except ImportError:  # a websockets without the asyncio implementation: nothing pings from it
    pass

# Fake credentials: moto accepts anything, and no real account can be reached by mistake.
os.environ["AWS_ACCESS_KEY_ID"] = "testing-access-key"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing-secret-key-do-not-log"
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
os.environ.pop("AWS_PROFILE", None)
os.environ["WIRE_INGEST_S3_MAX_ATTEMPTS"] = "3"
os.environ["WIRE_INGEST_LEASE_SECONDS"] = "10"  # a dead run on "another machine" lapses quickly
os.environ["WIRE_INGEST_TASK_RETRY_DELAYS"] = "0.2,0.5"
# The prepared language model goes to a per-session folder, not the user's ~/.cache.
os.environ["WIRE_INGEST_CACHE_DIR"] = tempfile.mkdtemp(prefix="wire-ingest-cache-")

GOLDEN = REPO / "tests" / "golden"

_template_builder: subprocess.Popen[bytes] | None = None


def pytest_configure(config: pytest.Config) -> None:
    """In the session's first process (before pytest-xdist starts its workers, which inherit
    the environment): build the session's migrated Prefect database in the background
    (tests/prefect_template.py), while tests are collected and the first ones run."""
    global _template_builder
    from tests.prefect_template import TEMPLATE_ENV

    if hasattr(config, "workerinput") or TEMPLATE_ENV in os.environ:
        return
    folder = tempfile.mkdtemp(prefix="wire-ingest-prefect-db-")
    os.environ[TEMPLATE_ENV] = folder
    _template_builder = subprocess.Popen(
        [sys.executable, "-m", "tests.prefect_template", folder],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    from tests.prefect_template import TEMPLATE_ENV

    if hasattr(config, "workerinput") or _template_builder is None:
        return
    if _template_builder.poll() is None:
        _template_builder.kill()
    _template_builder.wait()
    shutil.rmtree(os.environ.pop(TEMPLATE_ENV), ignore_errors=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[str]:
    """A temporary Prefect API (prefect_test_harness) for the session; yields its URL."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    from tests.prefect_template import seed_home

    # The harness puts its server's database in a folder from `mkdtemp`: hand it one that
    # holds a copy of the session's migrated database (should Prefect ever look elsewhere,
    # its server migrates a fresh one: slower, not wrong).
    folder = tempfile.mkdtemp(prefix="wire-ingest-prefect-test-db-")
    seeded = seed_home(Path(_PREFECT_HOME), Path(folder) / "prefect-test.db")
    seeding: AbstractContextManager[object] = (
        mock.patch("prefect.testing.utilities.mkdtemp", return_value=folder) if seeded else nullcontext()
    )
    with seeding, prefect_test_harness(server_startup_timeout=120):
        url = PREFECT_API_URL.value()
        yield str(url)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3-compatible server on 127.0.0.1 over real HTTP; sets AWS_ENDPOINT_URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    try:
        yield endpoint
    finally:
        server.stop()
        os.environ.pop("AWS_ENDPOINT_URL", None)


@pytest.fixture
def s3_bucket(s3_endpoint: str, request: pytest.FixtureRequest) -> str:
    """A fresh bucket per test; returns its name."""
    import boto3

    name = "test-" + "".join(c if c.isalnum() else "-" for c in request.node.name.lower())[:50].strip("-")
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def subprocess_env(prefect_server: str, tmp_path: Path) -> dict[str, str]:
    """Environment for running ``wire-ingest`` as a child process against the test server."""
    env = dict(os.environ)
    env["PREFECT_API_URL"] = prefect_server
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    return env
