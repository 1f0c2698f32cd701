"""A long local listing is statted by helper processes (``storage.stathelpers``) and checked
against the ledger a chunk at a time; it must answer exactly as the listing done in one
process: same keys in the same order, same sizes, times and revisions, the same revision
codes the ledger snapshot keeps, files removed while listing left out, and a helper killed
mid-listing costing nothing but time. Real files, real helper processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import storage.local as local
import table.snapshot as snapshot_module
from flows.batch import IngestSettings, plan_batches, run_without_prefect
from schemas.errors import ConfigError
from storage import open_storage
from storage.base import revision_code
from storage.local import LocalStorage
from storage.s3 import S3Storage
from storage.stathelpers import StatHelpers, helper_count, stat_here
from table.ledger import load_ledger
from table.snapshot import Snapshot, revision_hash
from tests.conftest import REPO

GOLDEN = REPO / "tests" / "golden"


def tree(root: Path) -> Path:
    """Nested folders, files between folders in key order, a name that is not UTF-8, links
    (to a file, to a folder, dangling), a staging folder and a legacy temporary file."""
    for at, name in enumerate(
        ["a.txt", "a/b.txt", "a/c/d.txt", "a-b.txt", "b/x.txt", "é.txt", "z/y/w.txt", "Z.txt", "a0.txt"]
    ):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * (at * 37 + 1))
    for n in range(40):  # enough for several chunks
        (root / "many").mkdir(exist_ok=True)
        (root / "many" / f"s{n:03d}.txt").write_bytes(b"y" * n)
    with open(os.fsencode(root / "a") + b"/\xff\xfe.txt", "wb") as raw:
        raw.write(b"latin")
    (root / "link.txt").symlink_to(root / "a.txt")
    (root / "linked-folder").symlink_to(root / "a")
    (root / "dangling.txt").symlink_to(root / "nowhere.txt")
    (root / "_staging").mkdir()
    (root / "_staging" / "tmp").write_bytes(b"staged")
    (root / "a" / ".tmp-legacy").write_bytes(b"legacy")
    return root


def by_helpers(monkeypatch: pytest.MonkeyPatch, chunk: int = 3) -> None:
    """Every file statted by helpers, a few to a request."""
    monkeypatch.setattr(local, "PARALLEL_STAT_FROM", 0)
    monkeypatch.setattr(local, "STAT_CHUNK", chunk)
    monkeypatch.setattr(local, "STAT_WINDOW", 4)
    monkeypatch.setenv("WIRE_INGEST_STAT_HELPERS", "2")


@pytest.mark.parametrize("prefix", ["", "a", "a/", "many/s01", "z/y/", "nothing/"])
def test_helpers_list_what_one_process_lists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefix: str) -> None:
    store = LocalStorage(tree(tmp_path))
    alone = list(store.list(prefix))
    assert [i.key for i in alone] == sorted((i.key for i in alone), key=lambda k: k.encode("utf-8", "surrogateescape"))
    by_helpers(monkeypatch)
    helped = list(store.list(prefix))
    assert helped == alone
    assert [i.key for i in helped] == list(store.keys(prefix))
    if prefix == "":
        keys = {i.key for i in helped}
        assert {"a/\udcff\udcfe.txt", "link.txt", "linked-folder", "dangling.txt", "many/s039.txt"} <= keys
        assert not {k for k in keys if k.startswith("_staging") or ".tmp-" in k or k.startswith("linked-folder/")}
        sizes = {i.key: i.size for i in helped}
        assert sizes["a/b.txt"] == 38 and sizes["many/s039.txt"] == 39
        assert sizes["link.txt"] == os.lstat(tmp_path / "link.txt").st_size  # the link itself
        stat = os.lstat(tmp_path / "a" / "c" / "d.txt")
        (info,) = [i for i in helped if i.key == "a/c/d.txt"]
        assert (info.modified, info.revision) == (stat.st_mtime, f"{stat.st_size}:{stat.st_mtime_ns}")


def test_listed_revisions_carry_the_codes_the_ledger_snapshot_keeps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalStorage(tree(tmp_path))
    expected = [(i.key, i.revision) for i in store.list()]
    for helped in (False, True):
        if helped:
            by_helpers(monkeypatch)
        runs = list(store.list_revisions())
        assert [(k, r) for run in runs for k, r in zip(run.keys, run.revisions, strict=True)] == expected
        codes = b"".join(run.codes for run in runs)
        assert codes == b"".join(revision_hash(r) for _, r in expected)
    assert revision_code("123:456") == revision_hash("123:456") != revision_code("123:457")


def test_a_file_removed_while_listing_is_left_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "landing"
    folder.mkdir()
    for n in range(6):
        (folder / f"{n}.txt").write_bytes(b"x")
    monkeypatch.setattr(local, "STAT_CHUNK", 2)
    store = LocalStorage(folder)
    # In this process, a chunk at a time: the third file goes after the first chunk is listed.
    listing = store.list()
    first = next(listing)
    (folder / "3.txt").unlink()
    assert [first.key, *(i.key for i in listing)] == ["0.txt", "1.txt", "2.txt", "4.txt", "5.txt"]
    runs = store.list_revisions()
    first_run = next(runs)
    (folder / "4.txt").unlink()
    rest = list(runs)
    assert first_run.keys + [k for run in rest for k in run.keys] == ["0.txt", "1.txt", "2.txt", "5.txt"]
    assert [len(run.codes) for run in rest] == [8, 8]
    # A helper answers a name that is gone with size -1, as this process does.
    helpers = StatHelpers(1)
    try:
        answer = helpers.submit(str(folder), ["0.txt", "3.txt", "5.txt"]).result(timeout=30)
    finally:
        helpers.close()
    assert answer == stat_here(str(folder), ["0.txt", "3.txt", "5.txt"])
    assert list(answer.sizes) == [1, -1, 1] and answer.revisions[1] == "" and answer.codes[8:16] == bytes(8)


def helper_pids(parent: int | None = None) -> list[int]:
    """The children of ``parent`` (this process) running the stat helper."""
    parent = os.getpid() if parent is None else parent
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and b"lstat" in command:
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the helpers through /proc")
def test_a_helper_killed_mid_listing_costs_nothing_but_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalStorage(tree(tmp_path))
    expected = list(store.list())
    by_helpers(monkeypatch, chunk=2)
    listing = store.list()
    head = [next(listing) for _ in range(3)]
    pids = helper_pids()
    assert len(pids) == 2
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    assert head + list(listing) == expected
    deadline = time.monotonic() + 10
    while helper_pids() and time.monotonic() < deadline:  # reaped when the listing closed
        time.sleep(0.05)
    assert helper_pids() == []


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the helpers through /proc")
def test_helpers_end_with_a_listing_process_that_is_killed(tmp_path: Path) -> None:
    """Killed mid-listing (SIGKILL: no ``finally`` runs), the planner's end of each
    helper's stdin closes with it, and the helpers exit: nothing is left running."""
    tree(tmp_path / "landing")
    script = (
        "import os, sys, time\n"
        "import storage.local as local\n"
        "local.PARALLEL_STAT_FROM, local.STAT_CHUNK, local.STAT_WINDOW = 0, 1, 2\n"
        f"listing = local.LocalStorage({str(tmp_path / 'landing')!r}).list()\n"
        "next(listing)\n"
        "print('listing', flush=True)\n"
        "time.sleep(60)\n"
    )
    env = {**os.environ, "WIRE_INGEST_STAT_HELPERS": "2", "PYTHONPATH": str(REPO)}
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env, cwd=REPO)
    try:
        assert process.stdout is not None and process.stdout.readline() == b"listing\n"
        helpers = helper_pids(process.pid)
        assert len(helpers) == 2
    finally:
        process.kill()
        process.wait()
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in helpers) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = [pid for pid in helpers if Path(f"/proc/{pid}").exists() and "Z" not in state_of(pid)]
    assert alive == []


def state_of(pid: int) -> str:
    try:
        return (Path(f"/proc/{pid}") / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "gone"


def test_the_helper_count_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WIRE_INGEST_STAT_HELPERS", "0")
    assert helper_count() == 0
    store = LocalStorage(tree(tmp_path))
    expected = list(store.list())
    monkeypatch.setattr(local, "PARALLEL_STAT_FROM", 0)
    assert list(store.list()) == expected and helper_pids() == []  # statted here
    monkeypatch.setenv("WIRE_INGEST_STAT_HELPERS", "three")
    with pytest.raises(ConfigError, match=r"WIRE_INGEST_STAT_HELPERS='three'.*unset it"):
        list(store.list())


def test_planning_with_helpers_finds_new_and_rewritten_inputs_as_without(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing, dest = tmp_path / "landing", tmp_path / "store"
    landing.mkdir()
    names = ["reuters87-basic.txt", "bloomberg-idlib.txt", "ap-by-line.txt"]
    for name in names:
        (landing / name).write_bytes((GOLDEN / name).read_bytes())
    (landing / ".hidden.txt").write_bytes(b"not an input")
    run_without_prefect(str(landing), str(dest), IngestSettings(settle_seconds=0), 10)
    (landing / "ap-by-line.txt").write_bytes((GOLDEN / "ap-by-line.txt").read_bytes() + b"\nMore.\n")
    (landing / "new.txt").write_bytes((GOLDEN / "reuters87-byline.txt").read_bytes())
    source, store = LocalStorage(landing), LocalStorage(dest)

    def plan() -> list[tuple[list[str], bool]]:
        plans = plan_batches(source, load_ledger(store), 10, IngestSettings(settle_seconds=0))
        return [(plan.inputs, plan.rewrite) for plan in plans]

    alone = plan()
    assert alone == [(["ap-by-line.txt"], True), (["new.txt"], False)]  # rewrites first
    by_helpers(monkeypatch, chunk=1)
    assert plan() == alone


@pytest.mark.parametrize("every", [1, 2, 64])
def test_a_snapshot_finds_keys_that_share_their_first_eight_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, every: int
) -> None:
    """``Snapshot`` bounds each search by sampled keys' first 8 bytes read as integers;
    keys alike there (no real pair of URI hashes is known: these are made) only widen the
    block searched, with samples among them at every key, every other and every 64th."""
    monkeypatch.setattr(snapshot_module, "SAMPLE_EVERY", every)
    rng = np.random.default_rng(7)
    heads = rng.integers(0, 2**63, size=50, dtype=np.uint64)
    keys = set()
    for head in heads:
        for _ in range(int(rng.integers(1, 4))):  # one to three keys share each head
            keys.add(int(head).to_bytes(8, "big") + rng.bytes(8))
    keys.add(bytes(16))
    keys.add(b"\xff" * 16)
    ordered = sorted(keys)
    store = LocalStorage(tmp_path)
    store.put("keys", b"".join(ordered))
    snapshot = Snapshot(store, {"keys": "keys", "rows": len(ordered), "folded": []})
    misses = [int(head).to_bytes(8, "big") + rng.bytes(8) for head in heads[:20]]  # a head shared, not the key
    misses += [rng.bytes(16) for _ in range(20)]
    queries = [*ordered, *misses]
    order = rng.permutation(len(queries))
    shuffled = [queries[i] for i in order]
    assert snapshot.contains(shuffled).tolist() == [q in keys for q in shuffled]
    assert sum(snapshot.contains(shuffled)) == len(ordered)
    where = np.searchsorted(np.array(ordered, dtype="S16"), np.array(shuffled, dtype="S16"))
    found, at = snapshot.layers[0].find(np.array(shuffled, dtype="S16"))
    assert at.tolist() == np.minimum(where, len(ordered) - 1).tolist()  # where each is
    assert found.tolist() == [q in keys for q in shuffled]


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_an_input_is_the_same_input_under_a_narrower_source(
    tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    """The ledger knows an input by its full URI, so a run given a narrower SOURCE (the
    README's way around listing a whole large S3 landing zone) finds the same inputs
    done, and a wider one after it too."""
    if kind == "s3":
        root = f"s3://{request.getfixturevalue('s3_bucket')}/landing"
    else:
        root = str(tmp_path / "landing")
    source = open_storage(root)
    for name in ("reuters87-basic.txt", "bloomberg-idlib.txt"):
        source.put(f"2026/11/27/{name}", (GOLDEN / name).read_bytes())
    source.put("2026/11/26/ap-by-line.txt", (GOLDEN / "ap-by-line.txt").read_bytes())
    dest = str(tmp_path / "store")
    narrow = run_without_prefect(f"{root}/2026/11/27", dest, IngestSettings(), 10)
    assert sum(s.inputs for s in narrow) == 2
    assert run_without_prefect(f"{root}/2026/11/27", dest, IngestSettings(), 10) == []
    wide = run_without_prefect(root, dest, IngestSettings(), 10)
    assert sum(s.inputs for s in wide) == 1  # only the other day's input is new
    assert run_without_prefect(root, dest, IngestSettings(), 10) == []


S3_KEYS = [
    # Objects between folders, names sorting either side of "/" ("-" before, "0" after),
    # a folder too full to open in one page (``LIST_PAGE`` 5 here), four levels of dates.
    "a.txt",
    "a-b.txt",
    "a/b-c.txt",
    "a/b/x.txt",
    "a/b/c/d.txt",
    "a/b0.txt",
    "a0.txt",
    *[f"full/{n:02d}.txt" for n in range(12)],
    "full/sub/z.txt",
    *[f"landing/2026/{m:02d}/{d:02d}/{n}.txt" for m in (10, 11, 12) for d in (1, 2, 30) for n in range(3)],
    "landing/2026/11/readme.txt",
    "é/1.txt",
    "z.txt",
]


def s3_tree(bucket: str, monkeypatch: pytest.MonkeyPatch) -> tuple[S3Storage, S3Storage]:
    """``S3_KEYS`` under ``s3://bucket/root``, listing pages of 5 keys: the store, and a
    second store on the same client that lists page after page (the reference)."""
    import storage.s3 as s3

    store = S3Storage(bucket, "root")
    for number, key in enumerate(S3_KEYS):
        store.put(key, f"{key} {number}".encode())
    monkeypatch.setattr(s3, "LIST_PAGE", 5)
    flat = S3Storage(bucket, "root", client=store._client)
    flat.list_concurrency = 1
    return store, flat


def test_an_s3_listing_read_a_folder_at_a_time_at_once_is_the_flat_listing(
    s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `S3Storage.list` opens a prefix's folders and lists them on threads; whatever the
    # concurrency, page size and prefix, it yields what one flat listing does, in order.
    import threading

    import storage.s3 as s3

    store, flat = s3_tree(s3_bucket, monkeypatch)
    everything = list(flat.list())
    assert [i.key for i in everything] == sorted(S3_KEYS, key=lambda k: k.encode())
    for concurrency in (2, 3, 8):
        store.list_concurrency = concurrency
        for prefix in ("", "a", "a/", "full/", "landing/2026/", "landing/2026/11/0", "nothing/"):
            assert list(store.list(prefix)) == list(flat.list(prefix)), (concurrency, prefix)
    monkeypatch.setattr(s3, "LIST_PAGE", 1000)
    assert list(store.list()) == everything  # every folder opened in one page

    # A reader that stops early leaves no listing thread behind.
    monkeypatch.setattr(s3, "LIST_PAGE", 2)
    store.list_concurrency = 8
    listing = store.list("landing/")
    assert next(listing).key == "landing/2026/10/01/0.txt"
    closer = threading.Thread(target=listing.close)
    closer.start()
    closer.join(timeout=30)
    assert not closer.is_alive(), "closing the listing waits on its threads for good"
    assert not [t for t in threading.enumerate() if t.name.startswith("wire-ingest-s3-list")]


def test_an_s3_listing_of_folders_at_once_survives_throttling_and_reports_a_store_gone(
    s3_bucket: str, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Through the fault proxy: throttled and dropped requests are retried on the listing's
    # threads (the same listing); a store that answers 500 from the middle of the listing on
    # fails it with a message naming what could not be listed, and no thread stays behind.
    import threading

    import boto3
    from botocore.config import Config

    import storage.s3 as s3
    from schemas.errors import StorageError
    from tests.faultproxy import FaultProxy

    _, flat = s3_tree(s3_bucket, monkeypatch)
    expected = list(flat.list())

    def through(proxy: FaultProxy, attempts: int) -> s3.S3Storage:
        retries = Config(retries={"max_attempts": attempts, "mode": "standard"}, connect_timeout=5, read_timeout=10)
        client = boto3.session.Session().client("s3", endpoint_url=proxy.endpoint, config=retries)
        proxied = s3.S3Storage(s3_bucket, "root", client=client)
        proxied.list_concurrency = 8
        return proxied

    with FaultProxy(s3_endpoint, throttle_every=3, drop_every=5) as proxy:
        assert list(through(proxy, 8).list()) == expected
        assert proxy.faults >= 5, "the proxy injected too few faults to test anything"
    with FaultProxy(s3_endpoint, fail_after=8) as proxy:
        with pytest.raises(StorageError, match=f"cannot list s3://{s3_bucket}/root/landing/"):
            list(through(proxy, 1).list("landing/"))
    assert not [t for t in threading.enumerate() if t.name.startswith("wire-ingest-s3-list")]


def test_s3_folder_markers_are_not_inputs(s3_bucket: str, tmp_path: Path) -> None:
    """The S3 console's "Create folder" writes a zero-byte key ending in "/": each was taken
    for an input and quarantined `unreadable`, one spurious entry per folder."""
    import boto3

    client = boto3.client("s3")
    for marker in ("landing/", "landing/2026/", "landing/2026/11/"):
        client.put_object(Bucket=s3_bucket, Key=marker, Body=b"")
    client.put_object(Bucket=s3_bucket, Key="landing/2026/11/story.txt", Body=(GOLDEN / "ap-by-line.txt").read_bytes())
    done = run_without_prefect(f"s3://{s3_bucket}/landing", str(tmp_path / "store"), IngestSettings(), 10)
    assert sum(s.inputs for s in done) == 1 and sum(s.stories for s in done) == 1
    assert not list(open_storage(str(tmp_path / "store")).list("quarantine/"))


def test_files_named_as_transfers_in_progress_are_not_inputs_until_renamed(tmp_path: Path) -> None:
    """curl, wget and browsers write ``name.part``, WinSCP ``name.filepart``, many tools
    ``.tmp``, and rename the file when the transfer completes. Read before, a half-sent story
    became a truncated row, and the renamed file a second row beside it; a Windows share's
    ``Thumbs.db`` a quarantine entry."""
    from flows.cli import parse
    from parsers import parse_story
    from tests.test_flow_ingest import read_stories

    landing, store = tmp_path / "landing", tmp_path / "store"
    landing.mkdir()
    whole = (GOLDEN / "ap-by-line.txt").read_bytes()
    (landing / "done.txt").write_bytes((GOLDEN / "afp-paris.txt").read_bytes())
    (landing / "story.txt.part").write_bytes(whole[: len(whole) // 2])
    (landing / "other.txt.filepart").write_bytes(whole[:100])
    (landing / "copy.tmp").write_bytes(whole)
    (landing / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64))  # Windows' thumbnails
    done = run_without_prefect(str(landing), str(store), IngestSettings(), 10)
    assert sum(s.inputs for s in done) == 1 and sum(s.stories for s in done) == 1
    assert [Path(str(r["source_uri"])).name for r in parse([str(landing)], workers=1)] == ["done.txt"]
    (landing / "story.txt.part").write_bytes(whole)  # the transfer completes, and is renamed
    (landing / "story.txt.part").rename(landing / "story.txt")
    done = run_without_prefect(str(landing), str(store), IngestSettings(), 10)
    assert sum(s.inputs for s in done) == 1 and sum(s.stories for s in done) == 1
    rows = {Path(str(r["source_uri"])).name: r for r in read_stories(str(store))}
    assert sorted(rows) == ["done.txt", "story.txt"]
    assert rows["story.txt"]["body"] == parse_story(whole, "x").body  # whole, once
