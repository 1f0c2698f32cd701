"""What a run reads from an S3 dataset root, one request after another against several at
once: the unfolded ledger batch objects and the kept member lists of the bundles in the
landing zone (at its start), the merge records a reprocess resolves its rows through, and
the files of a layered ledger snapshot.

    .venv/bin/python bench/s3_reads.py [--bundles 300] [--batches 49] [--merges 2000]
        [--layers 6] [--story-files 200] [--latency-ms 0,20,50]

Puts N small zips (3 stories each) under ``landing/`` of a bucket on moto's S3 server on
127.0.0.1 and keeps each one's member list in a dataset root's ``_bundles/`` (as a run that
ingested them has), and ``--batches`` committed batch objects (20 entries each) in its
``_ledger/`` (a run folds them into the snapshot at 50). Then times what a run that finds
nothing new does with them: ``table.ledger.load_ledger``, and planning's
``flows.inputs.expand_bundles`` with the ``BundleIndex``, through ``tests/faultproxy.py``
holding every answer back by each ``--latency-ms`` (a remote store's round trip): one
request after another (``put_concurrency`` 1) and 8 at once (S3's default), interleaved,
best of 2, with every bundle read instead (no index) once. The proxy itself adds ~1 ms a
request (it cost ~45 ms before its sockets had TCP_NODELAY: each answer's body waited for a
delayed ACK); the bundles are small, so reading them costs what reading their entries does
(the index is for large bundles). ``--merges`` commit records of compactions (10 a
partition) are kept flat, as versions before the twentieth session kept them, under one
root and by partition under another; ``table.compaction.key_map`` for one reprocessed row
reads every flat one, or its partition's. ``--layers`` folds make a snapshot of that many
layers (small ones: the round trips are what is timed) under a third root; a run's planning
lookup reads each layer's ``.keys`` and ``.revs`` and its duplicate index copies each
layer's entries file. ``--story-files`` small story files (5 rows each) with their ledger
batch under a fourth root: what ``wire-ingest check`` reads.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.moto_s3 import behind_proxies, moto_bucket  # noqa: E402


def a_zip(number: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member in range(3):
            body = f"Story {number}-{member}\n\nMarkets moved on item {number}, member {member}, traders said.\n"
            archive.writestr(f"day/{member}.txt", body * 20)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundles", type=int, default=300)
    parser.add_argument("--batches", type=int, default=49)
    parser.add_argument("--merges", type=int, default=2000, help="merge records, 10 a partition")
    parser.add_argument("--layers", type=int, default=6, help="layers of the ledger snapshot timed")
    parser.add_argument("--story-files", type=int, default=200, help="story files `wire-ingest check` reads")
    parser.add_argument("--latency-ms", default="0,20,50", help="comma-separated round trips to time")
    args = parser.parse_args()
    from flows.bundles import BundleLimits
    from flows.inputs import BundleIndex, expand_bundles
    from storage.s3 import S3Storage
    from table.compaction import LEGACY_RECORD_PREFIX, key_map, record_key
    from table.ledger import LedgerEntry, encode_ledger, ledger_key, load_ledger
    from table.snapshot import fold

    with moto_bucket() as (endpoint, direct):
        with ThreadPoolExecutor(16) as pool:
            list(
                pool.map(
                    lambda n: direct.put_object(Bucket="bench", Key=f"landing/{n:05d}.zip", Body=a_zip(n)),
                    range(args.bundles),
                )
            )
        source, root = S3Storage("bench", "landing", client=direct), S3Storage("bench", "store", client=direct)
        revisions: dict[str, str | None] = {info.key: info.revision for info in source.list()}
        keys = sorted(revisions)
        limits = BundleLimits()
        kept = BundleIndex(root, limits)
        expected = expand_bundles(source, keys, limits, known=kept, revisions=revisions)  # keeps every list
        assert len(expected) == 3 * args.bundles, len(expected)
        for batch in range(args.batches):
            entries = [
                LedgerEntry(f"/in/{batch}/{n}", "s" * 64, "story", f"b{batch}", story_id=f"s{batch}-{n}")
                for n in range(20)
            ]
            root.put(
                ledger_key(f"b{batch:04d}"),
                encode_ledger(f"b{batch:04d}", entries, f"2026-11-27T10:{batch // 60:02d}:{batch % 60:02d}"),
            )
        layered = S3Storage("bench", "layered", client=direct)
        layered_uris: list[str] = []
        pointer: dict[str, Any] | None = None
        for layer in range(args.layers):  # shrinking folds: each one a layer of its own
            size = 10 * 2 ** (args.layers - layer)
            entries = [
                LedgerEntry(f"/l/{layer}/{n}", "s" * 64, "story", f"l{layer}", story_id=f"l{layer}-{n}", revision="1")
                for n in range(size)
            ]
            layered_uris += [e.source_uri for e in entries]
            layered.put(ledger_key(f"l{layer:04d}"), encode_ledger(f"l{layer:04d}", entries, f"2026-11-28T0{layer}"))
            pointer = fold(layered, min_batches=1)
            assert pointer is not None
        assert pointer is not None and len(pointer["layers"]) == args.layers, pointer
        checked = story_files(direct, args.story_files)
        records = [merge_record(n) for n in range(args.merges)]
        stored = [(f"flat/{LEGACY_RECORD_PREFIX}{r['id']}.json", r) for r in records]
        stored += [(f"parts/{record_key(r)}", r) for r in records]
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda item: direct.put_object(Bucket="bench", Key=item[0], Body=dumps(item[1])), stored))
        row = records[0]["inputs"][0]
        print(
            f"{args.bundles} bundles of 3 members with their member lists kept; {args.batches} batch objects;"
            f" {args.merges} merge records; a snapshot of {args.layers} layers\n"
        )
        print("| round trip | what | how | seconds | requests | x one after another |")
        print("|---|---|---|---|---|---|")
        for latency, client, proxy in behind_proxies(endpoint, args.latency_ms):

            def batch_objects(root: S3Storage) -> None:
                assert len(load_ledger(root).done) == 20 * args.batches

            def layered_snapshot(root: S3Storage) -> None:
                index = load_ledger(root)
                done, rewritten = index.done.check_many(layered_uris, ["2"] * len(layered_uris))
                index.history_matches([], [])  # builds the duplicate index: every layer's entries
                assert all(done) and all(rewritten) and len(index.story_ids) == len(layered_uris)

            one_by_one_or_at_once(client, proxy, latency, "store", "ledger batch objects", batch_objects)
            rows: dict[str, tuple[float, int]] = {}
            for round_ in range(2):
                for how, concurrency in (
                    ("one after another", 1),
                    ("8 at once", 8),
                    ("none: every bundle read", 8),
                ):
                    if how.startswith("none") and round_:
                        continue
                    source = S3Storage("bench", "landing", client=client)
                    root = S3Storage("bench", "store", client=client)
                    root.put_concurrency = concurrency
                    known = None if how.startswith("none") else BundleIndex(root, limits)
                    before = proxy.requests
                    started = time.perf_counter()
                    found = expand_bundles(source, keys, limits, known=known, revisions=revisions)
                    elapsed = time.perf_counter() - started
                    assert found == expected
                    if how not in rows or elapsed < rows[how][0]:
                        rows[how] = (elapsed, proxy.requests - before)
            for how, (elapsed, requests) in rows.items():
                ratio = rows["one after another"][0] / elapsed
                print(f"| {latency:g} ms | bundle member lists | {how} | {elapsed:.2f} | {requests:,} | {ratio:.2f} |")
            rows = {}
            for _ in range(2):
                for how, prefix in (("flat: every record read (before)", "flat"), ("by partition", "parts")):
                    root = S3Storage("bench", prefix, client=client)
                    before = proxy.requests
                    started = time.perf_counter()
                    assert key_map(root, [row])(row) == records[0]["output"]
                    elapsed = time.perf_counter() - started
                    if how not in rows or elapsed < rows[how][0]:
                        rows[how] = (elapsed, proxy.requests - before)
            first = next(iter(rows.values()))[0]
            for how, (elapsed, requests) in rows.items():
                print(
                    f"| {latency:g} ms | merge records, one row reprocessed | {how} | {elapsed:.2f} |"
                    f" {requests:,} | {first / elapsed:.2f} (x flat) |"
                )
            what = f"snapshot of {args.layers} layers: plan and index"
            one_by_one_or_at_once(client, proxy, latency, "layered", what, layered_snapshot)
            what = f"`wire-ingest check`: {args.story_files} story files"
            one_by_one_or_at_once(client, proxy, latency, "checked", what, checked)


def one_by_one_or_at_once(
    client: Any, proxy: Any, latency: float, prefix: str, what: str, work: Callable[[Any], None]
) -> None:
    """Print ``work`` on the root at ``prefix`` one request after another and 8 at once,
    best of 2 interleaved rounds, with the requests it made through ``proxy``."""
    from storage.s3 import S3Storage

    rows: dict[str, tuple[float, int]] = {}
    for _ in range(2):
        for how, concurrency in (("one after another", 1), ("8 at once", 8)):
            root = S3Storage("bench", prefix, client=client)
            root.put_concurrency = concurrency
            before = proxy.requests
            started = time.perf_counter()
            work(root)
            elapsed = time.perf_counter() - started
            if how not in rows or elapsed < rows[how][0]:
                rows[how] = (elapsed, proxy.requests - before)
    for how, (elapsed, requests) in rows.items():
        ratio = rows["one after another"][0] / elapsed
        print(f"| {latency:g} ms | {what} | {how} | {elapsed:.2f} | {requests:,} | {ratio:.2f} |")


def story_files(direct: Any, count: int) -> Callable[[Any], None]:
    """``count`` story files of 5 rows (three columns) under ``checked/`` with the ledger
    batch that holds them; returns the work that checks that root."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from storage.s3 import S3Storage
    from table.check import check_dataset
    from table.ledger import LedgerEntry, encode_ledger, ledger_key

    root = S3Storage("bench", "checked", client=direct)
    entries = []
    for number in range(count):
        ids = [f"{number:05d}-{row}" for row in range(5)]
        uris = [f"/in/{story_id}.txt" for story_id in ids]
        buffer = io.BytesIO()
        columns = {"story_id": ids, "duplicate_of": [None] * 5, "source_uri": uris}
        pq.write_table(pa.table(columns, schema=pa.schema([(k, pa.string()) for k in columns])), buffer)
        key = f"stories/agency=bench/date=2026-11-27/part-{number:05d}.parquet"
        direct.put_object(Bucket="bench", Key=f"checked/{key}", Body=buffer.getvalue())
        entries += [LedgerEntry(u, "s" * 64, "story", "c", story_id=i, key=key) for i, u in zip(ids, uris, strict=True)]
    root.put(ledger_key("c"), encode_ledger("c", entries, "2026-11-27T10:00:00"))

    def check(root: Any) -> None:
        report = check_dataset(root)
        assert report.ok and report.rows == 5 * count, report.lines()

    return check


def merge_record(number: int) -> dict[str, Any]:
    """The commit record of a compaction: partition ``number // 10``'s files merged."""
    day = number // 10
    partition = f"agency=a{day // 336}/date=2026-{1 + day // 28 % 12:02d}-{1 + day % 28:02d}"
    gid = f"{number:020d}"
    inputs = [f"stories/{partition}/part-{number:06d}-{n}.parquet" for n in range(12)]
    return {"id": gid, "inputs": inputs, "output": f"stories/{partition}/compact-{gid}.parquet", "rows": 500}


def dumps(record: dict[str, Any]) -> bytes:
    return json.dumps(record, indent=2).encode()


if __name__ == "__main__":
    main()
