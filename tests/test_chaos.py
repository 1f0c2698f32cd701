"""Chaos, CI-sized (``bench/chaos.py`` runs the full size): real processes killed at every
write of the commit protocol, twice in a row, two runs at once on one root, a killed run's
helpers, and what a reader's glob sees after a kill. Afterwards the dataset must equal a
clean run's: same story ids, no story id in two rows, same quarantine, each input once in
the ledger, nothing pending, nothing half-written where a reader looks."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from flows.lifeline import descendants
from storage import open_storage
from table.check import check_dataset
from table.ledger import load_ledger
from table.snapshot import Snapshot, batch_id_of, read_pointer
from tests.corpus import write_corpus
from tests.prefect_template import seed_home
from tests.test_flow_ingest import read_stories

REPO = Path(__file__).resolve().parents[1]


def run_plain(
    env: dict[str, str],
    source: str,
    dest: str,
    batch: int,
    crash_at: int = 0,
    *,
    reprocess: bool = False,
    pool: bool = False,
) -> int:
    """One Prefect-free run (``python -m flows.batch``); its return code (-9: crashed). It
    parses in its own process (``--inline``) unless ``pool``: the write events killed here
    are the coordinator's, and a worker pool's start was a third of each few-input run."""
    run_env = dict(env)
    run_env.pop("WIRE_INGEST_CRASH_AT", None)
    if crash_at:
        run_env["WIRE_INGEST_CRASH_AT"] = str(crash_at)
    flags = [*(["--reprocess"] if reprocess else []), *([] if pool else ["--inline"])]
    done = subprocess.run(
        [sys.executable, "-m", "flows.batch", source, dest, str(batch), *flags],
        env=run_env,
        cwd=REPO,
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert done.returncode in (0, -signal.SIGKILL), done.stderr.decode()[-3000:]
    return done.returncode


def state(dest: str) -> dict[str, Any]:
    """What a reader and the next run see in ``dest``."""
    store = open_storage(dest)
    rows = read_stories(dest)
    ids = [str(r["story_id"]) for r in rows]
    outcomes: dict[str, str] = {}
    pointer = read_pointer(store)
    folded = set(pointer[0]["folded"]) if pointer else set()
    if pointer:  # the snapshot: one row per input
        for row in Snapshot(store, pointer[0]).iter_rows():
            assert row["source_uri"] not in outcomes, "an input is in the snapshot twice"
            outcomes[row["source_uri"]] = row["outcome"]
    for info in store.list("_ledger/"):
        batch_id = batch_id_of(info.key)
        if batch_id is None or batch_id in folded:
            continue  # the pointer and snapshot files; batch objects a fold swapped in but left
        for entry in json.loads(store.get(info.key))["entries"]:
            assert entry["source_uri"] not in outcomes, "an input is in the ledger twice"
            outcomes[entry["source_uri"]] = entry["outcome"]
    return {
        "story_ids": sorted(ids),
        "unique": len(set(ids)) == len(ids),
        "quarantine": sorted(i.key for i in store.list("quarantine/")),
        "outcomes": outcomes,
        "pending": [i.key for i in store.list("_manifests/_pending/")],
    }


def glob_rows(dest: str) -> list[str]:
    """Story ids as the README's DuckDB query reads them: every *.parquet under stories/."""
    if not list(Path(dest, "stories").rglob("*.parquet")):
        return []  # DuckDB refuses a glob that matches nothing
    query = f"SELECT story_id FROM read_parquet('{dest}/stories/**/*.parquet', hive_partitioning = true)"
    return sorted(str(row[0]) for row in duckdb.sql(query).fetchall())


def no_half_written_files(dest: Path) -> None:
    for path in (dest / "stories").rglob("*"):
        if path.is_file():
            assert not path.name.startswith("."), path
            pq.read_metadata(path)  # a complete Parquet file
    assert not list((dest / "_manifests").rglob(".tmp-*"))


def crash_then_recover(env: dict[str, str], landing: str, dest: str, k: int, twice: bool) -> bool:
    """Kill the run at write event ``k`` (and its recovery at event 3 when ``twice``), then
    rerun to the end. False when the run had fewer than ``k`` events (nothing to kill)."""
    if run_plain(env, landing, dest, 4, crash_at=k) == 0:
        return False
    if twice:
        run_plain(env, landing, dest, 4, crash_at=3)
    assert run_plain(env, landing, dest, 4) == 0
    return True


def write_events(env: dict[str, str], landing: str, tmp: Path) -> int:
    """How many write events a clean run of ``landing`` has (the largest k a kill lands at)."""
    low, high = 1, 256  # a kill at ``low`` lands; one at ``high`` does not
    while high - low > 1:
        middle = (low + high) // 2
        dest = tmp / f"count-{middle}"
        if run_plain(env, landing, str(dest), 4, crash_at=middle) == 0:
            high = middle
        else:
            low = middle
        shutil.rmtree(dest, ignore_errors=True)
    return low


@pytest.mark.parametrize("fold_after", ["50", "1"], ids=["no-fold", "fold-every-run"])
def test_a_kill_at_every_write_of_the_protocol_then_a_rerun_equals_a_clean_run(tmp_path: Path, fold_after: str) -> None:
    """With ``fold-every-run`` each run ends by folding its batch objects into the ledger
    snapshot: that variant kills at every write from the last batch's commit on (the fold's
    writes: snapshot files, pointer swap, deletes of the folded objects); the writes before
    are the ``no-fold`` variant's."""
    landing = tmp_path / "landing"
    write_corpus(landing, 6, bad_every=4)
    env = {**os.environ, "WIRE_INGEST_LEDGER_FOLD_AFTER": fold_after}
    clean = tmp_path / "clean"
    assert run_plain(env, str(landing), str(clean), 4) == 0
    reference = state(str(clean))
    assert len(reference["outcomes"]) == 6 and reference["quarantine"]
    assert (read_pointer(open_storage(str(clean))) is not None) == (fold_after == "1")
    first = 1
    if fold_after == "1":
        first = write_events({**env, "WIRE_INGEST_LEDGER_FOLD_AFTER": "50"}, str(landing), tmp_path) - 1

    def trial(k: int) -> bool:
        return crash_then_recover(env, str(landing), str(tmp_path / f"crashed-{k}"), k, twice=k % 3 == 0)

    killed: list[int] = []
    with ThreadPoolExecutor(2) as pool:  # two processes at a time: one per core
        k = first
        while True:  # every write event of the run, until a run has none left to kill
            pair = [k, k + 1]
            results = list(pool.map(trial, pair))
            killed += [n for n, crashed in zip(pair, results, strict=True) if crashed]
            if not all(results):
                break
            k += 2
    if fold_after == "1":
        assert len(killed) >= 5, f"only {len(killed)} crash points in the fold: it has more writes"
    else:
        assert len(killed) >= 15, f"only {len(killed)} crash points: the run has fewer writes than expected"
    assert killed == list(range(first, first + len(killed)))
    for k in killed:
        dest = tmp_path / f"crashed-{k}"
        after = state(str(dest))
        assert after["unique"], k
        assert after["story_ids"] == reference["story_ids"], k
        assert after["quarantine"] == reference["quarantine"], k
        assert after["outcomes"] == reference["outcomes"], k
        assert after["pending"] == [], k
        assert glob_rows(str(dest)) == reference["story_ids"], k
        no_half_written_files(dest)
        assert check_dataset(open_storage(str(dest))).ok, k  # `wire-ingest check` agrees


def test_a_killed_run_leaves_nothing_a_glob_reader_sees_twice_or_half(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    write_corpus(landing, 8, bad_every=5)
    dest = tmp_path / "store"
    env = dict(os.environ)
    # Event 5 is the first story file staged but not yet renamed into place (see the sweep).
    assert run_plain(env, str(landing), str(dest), 4, crash_at=5) == -signal.SIGKILL
    staged = list((dest / "_staging").glob("put-*"))
    assert staged, "the kill was meant to land between a staged write and its rename"
    no_half_written_files(dest)
    assert glob_rows(str(dest)) == sorted(set(glob_rows(str(dest))))
    assert run_plain(env, str(landing), str(dest), 4) == 0
    assert not list((dest / "_staging").glob("put-*")), "recovery removes what a killed write staged"
    assert len(glob_rows(str(dest))) == len(set(glob_rows(str(dest)))) > 0


def test_crash_points_on_s3(tmp_path: Path, s3_bucket: str) -> None:
    landing = tmp_path / "landing"
    write_corpus(landing, 8, bad_every=5)
    env = dict(os.environ)
    clean = f"s3://{s3_bucket}/clean"
    assert run_plain(env, str(landing), clean, 4) == 0
    reference = state(clean)
    for k in (1, 4, 7, 10, 13):
        dest = f"s3://{s3_bucket}/crashed-{k}"
        assert crash_then_recover(env, str(landing), dest, k, twice=k == 7)
        after = state(dest)
        assert after["unique"] and after["pending"] == []
        assert after["story_ids"] == reference["story_ids"]
        assert after["outcomes"] == reference["outcomes"]
        assert after["quarantine"] == reference["quarantine"]
        assert check_dataset(open_storage(dest)).ok, k


def test_a_reprocess_killed_at_write_events_then_run_again_leaves_each_input_once(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    write_corpus(landing, 6, bad_every=4)
    env = dict(os.environ)
    base = tmp_path / "base"
    assert run_plain(env, str(landing), str(base), 4) == 0
    reference = state(str(base))
    for k in (2, 5, 8, 11, 14, 17, 20):  # intent, superseded rows taken out, new files, ledger
        dest = tmp_path / f"reprocess-{k}"
        shutil.copytree(base, dest)
        crashed = run_plain(env, str(landing), str(dest), 4, crash_at=k, reprocess=True) == -signal.SIGKILL
        assert run_plain(env, str(landing), str(dest), 4, reprocess=True) == 0
        rows = sorted(str(r["story_id"]) for r in read_stories(str(dest)))
        assert rows == reference["story_ids"], k  # each story once, none lost
        store = open_storage(str(dest))
        latest = {uri: entry.outcome for uri, entry in load_ledger(store).done.items()}  # commit order
        assert latest == reference["outcomes"], k
        assert not list(store.list("_manifests/_pending/")), k
        assert glob_rows(str(dest)) == reference["story_ids"], k
        assert check_dataset(store).ok, k
        assert crashed or k > 14, f"crash point {k} was never reached"


def test_a_run_of_rewritten_inputs_killed_at_write_events_then_run_again_equals_a_clean_run(tmp_path: Path) -> None:
    """Inputs rewritten after they were ingested (one with new bytes, one quarantined and
    re-sent whole, one touched with the same bytes) are planned again as a reprocess of
    themselves: killed at each write, then run again, the store is what a clean run over
    the rewritten landing zone gives."""
    landing = tmp_path / "landing"
    written = write_corpus(landing, 6, bad_every=4)
    env = dict(os.environ)
    base = tmp_path / "base"
    assert run_plain(env, str(landing), str(base), 4) == 0
    changed, touched, bad = written[0], written[1], written[3]
    assert bad.name.endswith("empty.txt")
    changed.write_bytes(changed.read_bytes().replace(b"the", b"THE", 1))
    bad.write_bytes((REPO / "tests" / "golden" / "bloomberg-idlib.txt").read_bytes())
    os.utime(touched, (time.time() + 5, time.time() + 5))
    clean = tmp_path / "clean"
    assert run_plain(env, str(landing), str(clean), 4) == 0
    reference = state(str(clean))

    def latest(dest: Path) -> dict[str, str]:  # each input's latest entry, in commit order
        return {uri: entry.outcome for uri, entry in load_ledger(open_storage(str(dest))).done.items()}

    for k in (2, 4, 6, 8, 10, 12, 14):  # intent, superseded rows taken out, new files, ledger
        dest = tmp_path / f"rewrite-{k}"
        shutil.copytree(base, dest)
        crashed = run_plain(env, str(landing), str(dest), 4, crash_at=k) == -signal.SIGKILL
        assert run_plain(env, str(landing), str(dest), 4) == 0
        rows = sorted(str(r["story_id"]) for r in read_stories(str(dest)))
        assert rows == reference["story_ids"], k  # each story once, none lost
        assert latest(dest) == reference["outcomes"], k
        assert sorted(i.key for i in open_storage(str(dest)).list("quarantine/")) == reference["quarantine"], k
        assert not list(open_storage(str(dest)).list("_manifests/_pending/")), k
        assert glob_rows(str(dest)) == reference["story_ids"], k
        ledger = sorted(i.key for i in open_storage(str(dest)).list("_ledger/"))
        assert run_plain(env, str(landing), str(dest), 4) == 0, k  # then a no-op: nothing more committed
        assert sorted(i.key for i in open_storage(str(dest)).list("_ledger/")) == ledger, k
        assert check_dataset(open_storage(str(dest))).ok, k
        assert crashed or k > 8, f"crash point {k} was never reached"


def cli(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "flows.cli", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO
    )


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_two_ingests_at_once_with_different_batch_sizes_ingest_exactly_once(
    backend: str, tmp_path: Path, subprocess_env: dict[str, str], request: pytest.FixtureRequest
) -> None:
    landing = tmp_path / "landing"
    write_corpus(landing, 110, bad_every=13)
    if backend == "s3":
        bucket = request.getfixturevalue("s3_bucket")
        subprocess_env["AWS_ENDPOINT_URL"] = os.environ["AWS_ENDPOINT_URL"]
        dest, clean = f"s3://{bucket}/store", f"s3://{bucket}/clean"
    else:
        dest, clean = str(tmp_path / "store"), str(tmp_path / "clean")
    # The scheduled run (batch 200) and a manual one (batch 10), started together.
    runs = [
        cli(
            subprocess_env, "ingest", str(landing), "--dest", dest, "--batch-size", size, "--wait-lock", "240", "--json"
        )
        for size in ("200", "10")
    ]
    totals = []
    for run in runs:
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0, err.decode()[-3000:]
        totals.append(json.loads(out.decode().splitlines()[-1]))
    assert sorted(t["inputs"] for t in totals) == [0, 110], "one run did the work, the other found nothing new"
    reference_run = cli(subprocess_env, "ingest", str(landing), "--dest", clean, "--json")
    assert reference_run.wait(timeout=300) == 0
    after, reference = state(dest), state(clean)
    assert after["unique"] and after["story_ids"] == reference["story_ids"]
    assert after["outcomes"] == reference["outcomes"] and after["quarantine"] == reference["quarantine"]


def test_a_second_run_without_wait_exits_75_with_a_clear_message(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    from storage.lease import Lease

    landing = tmp_path / "landing"
    write_corpus(landing, 5)
    dest = tmp_path / "store"
    with Lease(open_storage(str(dest)), command="backfill", ttl=120) as lease:
        lease.acquire()
        run = cli(subprocess_env, "ingest", str(landing), "--dest", str(dest))
        _, err = run.communicate(timeout=300)
    assert run.returncode == 75
    assert "is being written by another run" in err.decode() and "--wait-lock" in err.decode()
    assert not (dest / "stories").exists()


def test_an_ingest_racing_a_backfill_ingests_exactly_once(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    landing = tmp_path / "landing"
    write_corpus(landing, 60, dated=True, bad_every=11)
    dest = str(tmp_path / "store")
    backfill = cli(
        subprocess_env, "backfill", str(landing), "--dest", dest, "--start", "2024-01-01", "--end", "2024-01-06",
        "--batch-size", "3", "--wait-lock", "240",
    )  # fmt: skip
    ingest = cli(subprocess_env, "ingest", str(landing), "--dest", dest, "--batch-size", "30", "--wait-lock", "240")
    for run in (backfill, ingest):
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0, err.decode()[-3000:]
    after = state(dest)
    assert after["unique"] and len(after["outcomes"]) == 60 and after["pending"] == []


def test_a_killed_run_leaves_no_process_behind(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    write_corpus(landing, 200)
    dest = tmp_path / "store"
    env = dict(os.environ)
    env.pop("PREFECT_API_URL", None)  # Prefect starts its temporary server: the helper that leaked
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    seed_home(tmp_path / "prefect-home")  # the temporary server starts on a migrated database
    run = cli(env, "ingest", str(landing), "--dest", str(dest), "--batch-size", "40", "--workers", "2")
    deadline = time.monotonic() + 180
    helpers: dict[int, int] = {}
    while time.monotonic() < deadline and run.poll() is None:
        helpers.update(descendants(run.pid))
        if next((dest / "stories").rglob("*.parquet"), None) is not None if (dest / "stories").exists() else False:
            break
        time.sleep(0.05)
    assert run.poll() is None, "the run ended before it could be killed"
    helpers.update(descendants(run.pid))
    assert len(helpers) >= 3, f"expected the server, the lifeline and parse workers, saw {len(helpers)}"
    run.send_signal(signal.SIGKILL)  # the main process only, as the OOM killer would
    run.wait()

    def alive() -> list[int]:
        from flows.lifeline import _alive

        return [pid for pid, start in helpers.items() if _alive(pid, start)]

    deadline = time.monotonic() + 20
    while alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert alive() == [], "helpers of the killed run are still running"


def test_a_run_killed_mid_ramp_then_rerun_writes_a_clean_runs_records(tmp_path: Path) -> None:
    """Batches grow within a run (8, 16, 32, 64 inputs here), and a rerun after a crash
    rolls the pending batch forward, then starts its ramp anew: its batches begin where a
    clean run's do not. Every record, near copies' ``duplicate_of`` included, must still be
    the clean run's."""
    landing = tmp_path / "landing"
    write_corpus(landing, 200, bad_every=9)
    env = {**os.environ, "WIRE_INGEST_FIRST_BATCH": "8"}
    clean = tmp_path / "clean"
    assert run_plain(env, str(landing), str(clean), 64, pool=True) == 0  # parse workers, as `ingest` has them
    crashed = tmp_path / "crashed"
    assert run_plain(env, str(landing), str(crashed), 64, crash_at=24, pool=True) == -signal.SIGKILL
    committed = len(state(str(crashed))["outcomes"])
    assert 8 <= committed < 200, f"the kill landed after {committed} committed inputs: move it"
    assert run_plain(env, str(landing), str(crashed), 64, pool=True) == 0

    def records(dest: Path) -> list[tuple[Any, ...]]:
        query = (
            "SELECT source_uri, story_id, duplicate_of, thread_id, version FROM read_parquet("
            f"'{dest}/stories/**/*.parquet', hive_partitioning = true) ORDER BY source_uri"
        )
        return duckdb.sql(query).fetchall()

    reference = records(clean)
    assert sum(1 for row in reference if row[2]) > 20  # near copies to get right
    assert records(crashed) == reference
    assert state(str(crashed))["outcomes"] == state(str(clean))["outcomes"]
