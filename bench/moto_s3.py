"""moto's S3 server on 127.0.0.1 for the S3 benchmarks, and clients of it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bench.prefect_cost import free_port
from tests.faultproxy import FaultProxy


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's S3 server on a free loopback port; yields its endpoint URL, stops it on exit."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        moto.stop()


def s3_client(endpoint: str) -> Any:
    """A boto3 S3 client of ``endpoint`` with the benchmarks' throwaway credentials."""
    import boto3

    return boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1"
    )


@contextmanager
def moto_bucket(bucket: str = "bench") -> Iterator[tuple[str, Any]]:
    """``moto_server`` with ``bucket`` made: yields its endpoint and a client of it."""
    with moto_server() as endpoint:
        client = s3_client(endpoint)
        client.create_bucket(Bucket=bucket)
        yield endpoint, client


def behind_proxies(endpoint: str, latencies_ms: str) -> Iterator[tuple[float, Any, FaultProxy]]:
    """For each of the comma-separated round trips (ms): the round trip, a client of
    ``endpoint`` through ``tests/faultproxy.py`` holding every answer back that long, and
    the proxy (its request count). Each proxy stops before the next starts."""
    for latency in (float(x) for x in latencies_ms.split(",")):
        with FaultProxy(endpoint, latency=latency / 1000) as proxy:
            yield latency, s3_client(proxy.endpoint), proxy
