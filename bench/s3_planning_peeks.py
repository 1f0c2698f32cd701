"""Planning over new files whose first bytes decide what they are (``.json`` pages of items,
``.xml`` messages and feeds), on an S3 store with a round trip, one peek after another
against several at once.

    .venv/bin/python bench/s3_planning_peeks.py [--files 1000] [--latency-ms 20]

moto's S3 server on 127.0.0.1 behind ``tests/faultproxy.py``, which holds every answer back
``--latency-ms`` (a remote store's round trip). Writes N single ninjs items as ``.json``
files, then times ``flows.batch.plan_batches`` (an empty ledger: every file new) with the
store's concurrency 1 (each file's first 4 KB read one after another) and its default (8
at once), and once with ``.json`` not peeked at (how planning ran before ``.json`` pages of
items were split, thirtieth session), interleaved, best of 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.moto_s3 import moto_bucket  # noqa: E402
from tests.faultproxy import FaultProxy  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args()

    import os

    import flows.bundles as bundles
    from flows.batch import IngestSettings, plan_batches
    from storage import open_storage
    from table.ledger import LedgerIndex

    item = json.loads((REPO / "tests" / "golden" / "ninjs1-text-body.json").read_bytes())
    with moto_bucket() as (endpoint, client):
        with ThreadPoolExecutor(16) as pool:
            list(
                pool.map(
                    lambda n: client.put_object(
                        Bucket="bench", Key=f"in/{n:06d}.json", Body=json.dumps({**item, "uri": f"{item['uri']}-{n}"})
                    ),
                    range(args.files),
                )
            )
        with FaultProxy(endpoint, latency=args.latency_ms / 1000) as proxy:
            os.environ.update(
                AWS_ENDPOINT_URL=proxy.endpoint,
                AWS_ACCESS_KEY_ID="bench",
                AWS_SECRET_ACCESS_KEY="bench",
                AWS_DEFAULT_REGION="us-east-1",
            )
            suffixes: tuple[str, ...] = bundles.MESSAGE_SUFFIXES
            runs: dict[str, list[float]] = {}
            for _round in range(2):
                for label, concurrency, peeked in (
                    ("peeks one after another", 1, suffixes),
                    ("peeks 8 at once (the default)", 0, suffixes),
                    ("no peek at .json (before)", 0, tuple(s for s in suffixes if s != ".json")),
                ):
                    bundles.MESSAGE_SUFFIXES = peeked  # type: ignore[assignment]
                    store = open_storage("s3://bench/in")
                    if concurrency:
                        store.put_concurrency = concurrency  # type: ignore[attr-defined]
                    started = time.perf_counter()
                    plans = plan_batches(store, LedgerIndex(), 2000, IngestSettings())
                    runs.setdefault(label, []).append(time.perf_counter() - started)
                    assert sum(len(p.inputs) for p in plans) == args.files
            bundles.MESSAGE_SUFFIXES = suffixes  # type: ignore[assignment]
    print(f"{args.files} new .json files, S3 (moto) with a {args.latency_ms:g} ms round trip; best of 2 [both]\n")
    print("| planning | seconds |")
    print("|---|---|")
    for label, times in runs.items():
        print(f"| {label} | {min(times):.2f} [{', '.join(f'{t:.2f}' for t in times)}] |")


if __name__ == "__main__":
    main()
