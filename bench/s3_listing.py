"""Listing an S3 landing zone folder by folder at once against page after page.

    .venv/bin/python bench/s3_listing.py [--objects 20000] [--folders 100] [--latency-ms 0,20,50]

Puts N small objects in ``--folders`` date folders (``landing/2026/MM/DD/``) of a bucket on
moto's S3 server on 127.0.0.1, then times ``S3Storage.list("landing/")`` through
``tests/faultproxy.py``, which holds every answer back by each ``--latency-ms`` (a remote
store's round trip), with ``WIRE_INGEST_S3_LIST_CONCURRENCY`` 1 (one page after another,
the default) and 8 (opt-in), interleaved, best of 2; prints the requests each made.
moto answers a 1,000-key page in ~0.3-0.5 s of its own CPU on this machine, so at 0 ms the
listing is bound by moto, not by round trips.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.moto_s3 import behind_proxies, moto_bucket  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=20_000)
    parser.add_argument("--folders", type=int, default=100)
    parser.add_argument("--latency-ms", default="0,20,50", help="comma-separated round trips to time")
    args = parser.parse_args()
    from storage.s3 import S3Storage

    with moto_bucket() as (endpoint, direct):
        folders = [f"landing/2026/{1 + n // 28:02d}/{1 + n % 28:02d}/" for n in range(args.folders)]

        def put(number: int) -> None:
            direct.put_object(Bucket="bench", Key=f"{folders[number % len(folders)]}{number:08d}.txt", Body=b"x")

        started = time.perf_counter()
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(put, range(args.objects)))
        print(f"{args.objects:,} objects in {len(folders)} folders put in {time.perf_counter() - started:.1f} s\n")
        print("| round trip | folders at once | seconds | objects/s | requests | x page after page |")
        print("|---|---|---|---|---|---|")
        for latency, client, proxy in behind_proxies(endpoint, args.latency_ms):
            best: dict[int, tuple[float, int]] = {}
            for _ in range(2):
                for concurrency in (1, 8):
                    store = S3Storage("bench", client=client)
                    store.list_concurrency = concurrency
                    before = proxy.requests
                    started = time.perf_counter()
                    count = sum(1 for _ in store.list("landing/"))
                    elapsed = time.perf_counter() - started
                    assert count == args.objects, count
                    if concurrency not in best or elapsed < best[concurrency][0]:
                        best[concurrency] = (elapsed, proxy.requests - before)
            for concurrency, (elapsed, requests) in sorted(best.items()):
                ratio = best[1][0] / elapsed
                print(
                    f"| {latency:g} ms | {concurrency} | {elapsed:.2f} | {args.objects / elapsed:,.0f} "
                    f"| {requests:,} | {ratio:.2f} |"
                )


if __name__ == "__main__":
    main()
