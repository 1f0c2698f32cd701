"""Exactly once across a SIGKILL: kill `wire-ingest ingest` after its first upload, run it
again, and the dataset equals an uninterrupted run's. Local root and S3 over loopback."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storage import open_storage
from tests.corpus import write_corpus
from tests.test_flow_ingest import read_stories

INPUTS = 240
BATCH = 8


def cli(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "flows.cli", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def kill_after_first_upload(process: subprocess.Popen[bytes], dest: str, sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` (SIGKILL) to ``process`` as soon as a story file appears under ``dest``."""
    store = open_storage(dest)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        if next(iter(store.list("stories/")), None) is not None:
            break
        time.sleep(0.005)
    assert process.poll() is None, "the run ended before its first upload was seen"
    process.send_signal(sig)
    process.wait(timeout=60)


def snapshot(dest: str) -> dict[str, object]:
    store = open_storage(dest)
    rows = read_stories(dest)
    ledger = [json.loads(store.get(i.key)) for i in store.list("_ledger/")]
    outcomes: dict[str, str] = {}
    for batch in ledger:
        for entry in batch["entries"]:
            assert entry["source_uri"] not in outcomes, "an input is in the ledger twice"
            outcomes[entry["source_uri"]] = entry["outcome"]
    return {
        "story_ids": sorted(str(r["story_id"]) for r in rows),
        "quarantine": sorted(i.key for i in store.list("quarantine/")),
        "outcomes": outcomes,
        "pending": [i.key for i in store.list("_manifests/_pending/")],
    }


def rerun_matches_a_clean_run(
    env: dict[str, str], args: tuple[str, ...], resumed: str, clean: str
) -> dict[str, object]:
    """Run ``args`` again into ``resumed`` (a stopped or killed run's store) and once into
    ``clean``; both must end with the same stories, outcomes and quarantine, nothing pending.
    Returns the resumed store's snapshot."""
    for dest in (resumed, clean):
        run = cli(env, *args, "--dest", dest, "--json")
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0, err.decode()[-2000:]
    after, reference = snapshot(resumed), snapshot(clean)
    assert after["pending"] == [] and after["story_ids"] == reference["story_ids"]
    assert after["outcomes"] == reference["outcomes"] and after["quarantine"] == reference["quarantine"]
    return after


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_sigkill_after_first_upload_then_rerun_equals_clean_run(
    backend: str, tmp_path: Path, subprocess_env: dict[str, str], request: pytest.FixtureRequest
) -> None:
    landing = tmp_path / "landing"
    write_corpus(landing, INPUTS, bad_every=17)
    if backend == "s3":
        bucket = request.getfixturevalue("s3_bucket")
        subprocess_env["AWS_ENDPOINT_URL"] = os.environ["AWS_ENDPOINT_URL"]
        crashed, clean = f"s3://{bucket}/crashed", f"s3://{bucket}/clean"
    else:
        crashed, clean = str(tmp_path / "crashed"), str(tmp_path / "clean")

    args = ("ingest", str(landing), "--batch-size", str(BATCH))
    process = cli(subprocess_env, *args, "--dest", crashed)
    kill_after_first_upload(process, crashed)
    interrupted = snapshot(crashed)
    assert len(interrupted["outcomes"]) < INPUTS, "the kill came too late to test anything"
    print(
        f"killed with {len(interrupted['outcomes'])} inputs committed, {len(interrupted['pending'])} batch(es) pending"
    )

    rerun = cli(subprocess_env, *args, "--dest", crashed, "--json")
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err.decode()
    clean_run = cli(subprocess_env, *args, "--dest", clean, "--json")
    _, err_clean = clean_run.communicate(timeout=300)
    assert clean_run.returncode == 0, err_clean.decode()

    after, reference = snapshot(crashed), snapshot(clean)
    assert after["pending"] == [] and reference["pending"] == []
    assert len(after["outcomes"]) == INPUTS
    assert after["story_ids"] == reference["story_ids"]
    assert len(set(after["story_ids"])) == len(after["story_ids"])
    assert after["quarantine"] == reference["quarantine"]
    assert after["outcomes"] == reference["outcomes"]
    totals = json.loads(out.decode().strip().splitlines()[-1])
    assert totals["balanced"] is True


#: A line of Prefect's console log ("05:46:15.273 | WARNING | EventsWorker - ...").
PREFECT_LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d\.\d+ \| [A-Z]+ +\| ")


@pytest.mark.parametrize(
    ("sig", "code", "name"),
    [(signal.SIGINT, 130, "Ctrl-C"), (signal.SIGTERM, 143, "SIGTERM")],
    ids=["ctrl-c", "sigterm"],
)
def test_ctrl_c_or_sigterm_stops_cleanly_and_the_next_run_goes_on(
    sig: int, code: int, name: str, tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    """Stopped mid-run as a user or a service manager stops it: a message and 128 + the
    signal (no traceback), the store's lease released (a rerun at once is not refused, as
    after a SIGKILL until the lease lapses), and the rerun's dataset equals a clean run's."""
    landing = tmp_path / "landing"
    inputs = 96  # twelve batches: the signal lands in the first few
    write_corpus(landing, inputs, bad_every=17)
    stopped, clean = str(tmp_path / "stopped"), str(tmp_path / "clean")
    args = ("ingest", str(landing), "--batch-size", str(BATCH))
    process = cli(subprocess_env, *args, "--dest", stopped)
    kill_after_first_upload(process, stopped, sig)
    assert process.returncode == code
    err = process.stderr.read().decode() if process.stderr else ""
    # Prefect's own log lines may follow ours as it exits ("EventsWorker - Still processing
    # items", its event queue draining to the server on a slow machine): ours is the last of
    # the rest, and there is no traceback.
    own = [line for line in err.rstrip().splitlines() if not PREFECT_LOG_LINE.match(line)]
    assert own[-1].startswith(f"wire-ingest: stopped by {name}. Every committed batch stays"), err[-2000:]
    assert "Traceback" not in err
    assert len(snapshot(stopped)["outcomes"]) < inputs  # type: ignore[arg-type]
    assert not Path(stopped, "_lock", "lease.json").exists(), "the lease was left held"

    rerun_matches_a_clean_run(subprocess_env, args, stopped, clean)


def test_backfill_killed_mid_run_resumes_without_duplicates_or_gaps(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    landing = tmp_path / "landing"
    write_corpus(landing, 160, dated=True, bad_every=23)
    crashed, clean = str(tmp_path / "crashed"), str(tmp_path / "clean")
    args = ("backfill", str(landing), "--start", "2024-01-02", "--end", "2024-01-09", "--batch-size", "4")
    process = cli(subprocess_env, *args, "--dest", crashed)
    kill_after_first_upload(process, crashed)
    after = rerun_matches_a_clean_run(subprocess_env, args, crashed, clean)
    assert len(set(after["story_ids"])) == len(after["story_ids"])
