"""A batch's uploads against a store with a round-trip time, one at a time and several at once.

    .venv/bin/python bench/s3_latency.py [--stories 2000] [--latency-ms 20]

moto's S3 server on 127.0.0.1 behind ``tests/faultproxy.py``, which holds every answer back
``--latency-ms`` (a remote store's round trip; moto on loopback answers in ~1-5 ms). Times
``python -m flows.batch`` (the batches without Prefect) over N synthetic text stories into a
fresh bucket each, with ``WIRE_INGEST_S3_PUT_CONCURRENCY`` 1 (one upload after another, as
before) and 8 (the default), interleaved, best of 2, and prints the requests each run made.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.moto_s3 import moto_server, s3_client  # noqa: E402
from tests.corpus import write_corpus  # noqa: E402
from tests.faultproxy import FaultProxy  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args()
    with moto_server() as endpoint, FaultProxy(endpoint, latency=args.latency_ms / 1000) as proxy:
        credentials = {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        client = s3_client(endpoint)
        with tempfile.TemporaryDirectory() as tmp:
            landing = Path(tmp) / "landing"
            write_corpus(landing, args.stories, text_only=True)
            env = dict(
                os.environ, **credentials, AWS_ENDPOINT_URL=proxy.endpoint, PREFECT_HOME=str(Path(tmp) / "prefect")
            )
            best: dict[int, tuple[float, int]] = {}
            for attempt in range(2):
                for concurrency in (1, 8):
                    bucket = f"bench-{concurrency}-{attempt}"
                    client.create_bucket(Bucket=bucket)
                    before = proxy.requests
                    started = time.perf_counter()
                    subprocess.run(
                        [sys.executable, "-m", "flows.batch", str(landing), f"s3://{bucket}/store", "200"],
                        env={**env, "WIRE_INGEST_S3_PUT_CONCURRENCY": str(concurrency)},
                        cwd=REPO,
                        check=True,
                        stdout=subprocess.DEVNULL,
                    )
                    elapsed = time.perf_counter() - started
                    if concurrency not in best or elapsed < best[concurrency][0]:
                        best[concurrency] = (elapsed, proxy.requests - before)
        print(f"{args.stories:,} text stories, batches of 200, {args.latency_ms:g} ms per S3 answer, 2-core machine\n")
        print("| uploads at once | seconds | stories/s | requests | x one at a time |")
        print("|---|---|---|---|---|")
        for concurrency, (elapsed, requests) in sorted(best.items()):
            ratio = best[1][0] / elapsed
            print(f"| {concurrency} | {elapsed:.1f} | {args.stories / elapsed:,.0f} | {requests:,} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
