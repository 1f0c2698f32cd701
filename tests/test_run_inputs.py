"""A backlog larger than one run's limit (``--run-inputs``, the flow's ``max_inputs``) is taken
by several flow runs: each takes the next inputs in listing order and counts the rest, and
``wire-ingest ingest`` runs them one after another until nothing new is left. Real flows,
real files; the dataset is read back with DuckDB."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import duckdb
import pytest

from flows.batch import IngestSettings, PlanNotes, plan_batches
from flows.cli import build_parser, ingest, main, run_inputs_option
from flows.ingest import ingest_flow
from flows.inputs import DEFAULT_RUN_INPUTS
from flows.report import BatchProgress
from schemas.errors import ConfigError
from storage.local import LocalStorage
from table.commit import BatchPlan
from table.ledger import load_ledger
from tests.corpus import write_corpus


def keys_of(plans: list[BatchPlan]) -> list[str]:
    return [key for plan in plans for key in plan.inputs]


def test_planning_takes_the_first_inputs_up_to_the_limit_and_counts_the_rest(tmp_path: Path) -> None:
    landing, store = tmp_path / "landing", tmp_path / "store"
    write_corpus(landing, 25)
    source = LocalStorage(str(landing))
    everything = keys_of(plan_batches(source, load_ledger(LocalStorage(str(store))), 4, IngestSettings()))
    assert len(everything) == 25

    notes = PlanNotes()
    first = keys_of(
        plan_batches(source, load_ledger(LocalStorage(str(store))), 4, IngestSettings(), notes=notes, limit=10)
    )
    assert first == everything[:10] and notes.left == 15

    # A bundle straddling the limit is split between runs, member by member.
    story = sorted((landing / "part000").iterdir())[0].read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for number in range(4):
            archive.writestr(f"m{number}.txt", story)
    (landing / "part000" / "zz.zip").write_bytes(buffer.getvalue())
    notes = PlanNotes()
    taken = keys_of(
        plan_batches(source, load_ledger(LocalStorage(str(store))), 4, IngestSettings(), notes=notes, limit=27)
    )
    assert taken[-2:] == ["part000/zz.zip#m0.txt", "part000/zz.zip#m1.txt"] and notes.left == 2


def test_runs_over_a_backlog_take_it_in_turns_and_each_input_once(prefect_server: str, tmp_path: Path) -> None:
    landing, store = tmp_path / "landing", tmp_path / "store"
    write_corpus(landing, 25, bad_every=6)
    first = ingest_flow(source=str(landing), dest=str(store), batch_size=4, max_inputs=10)
    assert (first["inputs"], first["left"]) == (10, 15) and first["balanced"]
    second = ingest_flow(source=str(landing), dest=str(store), batch_size=4, max_inputs=10)
    assert (second["inputs"], second["left"]) == (10, 5)
    third = ingest_flow(source=str(landing), dest=str(store), batch_size=4, max_inputs=10)
    assert (third["inputs"], third["left"]) == (5, 0)
    assert ingest_flow(source=str(landing), dest=str(store), max_inputs=10)["inputs"] == 0
    with pytest.raises(ValueError, match="max_inputs"):
        ingest_flow(source=str(landing), dest=str(store), max_inputs=0)


def test_the_ingest_command_runs_flow_after_flow_until_the_backlog_is_done(prefect_server: str, tmp_path: Path) -> None:
    landing, store = tmp_path / "landing", tmp_path / "store"
    write_corpus(landing, 25, bad_every=6)
    lines: list[str] = []
    watcher = Recorder()
    totals = ingest(str(landing), str(store), batch_size=4, run_inputs=10, progress=lines.append, batches=watcher)
    assert totals["runs"] == 3 and totals["inputs"] == 25 and totals["left"] == 0 and totals["balanced"]
    assert lines == [
        "run 1: 10 inputs ingested, 15 more waiting: starting the next run",
        "run 2: 10 inputs ingested, 5 more waiting: starting the next run",
    ]
    # Each run's plan (inputs, batches of at most 4), then each batch as it commits.
    assert [event[:3] for event in watcher.events if event[0] == "planned"] == [
        ("planned", 10, 3),
        ("planned", 10, 3),
        ("planned", 5, 2),
    ]
    assert sum(inputs for kind, inputs, _ in watcher.events if kind == "committed") == 25
    assert sum(stories for kind, _, stories in watcher.events if kind == "committed") == totals["stories"]
    assert [kind for kind, *_ in watcher.events].count("committed") == 8
    rows = duckdb.sql(
        f"SELECT source_uri FROM read_parquet('{store}/stories/**/*.parquet', hive_partitioning = true)"
    ).fetchall()
    assert len(rows) == len({uri for (uri,) in rows}) == totals["stories"]
    quarantined = list((store / "quarantine").rglob("*.json"))
    assert len(quarantined) == totals["quarantined_total"] > 0

    again = ingest(str(landing), str(store), run_inputs=10, progress=lines.append)
    assert again["runs"] == 1 and again["inputs"] == 0 and len(lines) == 2


class Recorder:
    """A run watcher that records what it is told."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int, int]] = []

    def planned(self, inputs: int, batches: int) -> None:
        self.events.append(("planned", inputs, batches))

    def committed(self, inputs: int, stories: int) -> None:
        self.events.append(("committed", inputs, stories))


class FailingWatcher(Recorder):
    def committed(self, inputs: int, stories: int) -> None:
        raise OSError("stderr is closed")


def test_a_watcher_that_fails_does_not_fail_the_run(prefect_server: str, tmp_path: Path) -> None:
    landing, store = tmp_path / "landing", tmp_path / "store"
    write_corpus(landing, 6, bad_every=4)
    watcher = FailingWatcher()
    totals = ingest(str(landing), str(store), batch_size=4, batches=watcher)
    assert totals["inputs"] == 6 and totals["balanced"] and totals["batches"] == 2
    assert watcher.events == [("planned", 6, 2)]


def test_batch_progress_prints_a_line_a_batch_off_a_terminal() -> None:
    out = io.StringIO()
    progress = BatchProgress(out)
    progress.planned(10, 3)
    for inputs in (4, 4, 2):
        progress.committed(inputs, inputs - 1)
    progress.planned(0, 0)  # a run with nothing new prints nothing
    progress.committed(0, 0)
    progress.planned(5, 1)
    progress.committed(5, 5)
    lines = out.getvalue().splitlines()
    assert [line.split(" inputs done")[0] for line in lines] == [
        "ingest: batch 1/3: 4/10",
        "ingest: batch 2/3: 8/10",
        "ingest: batch 3/3: 10/10",
        "ingest: run 3, batch 1/1: 5/5",
    ]
    assert all(", ETA " in line and " stories/s" in line for line in lines)


def test_the_ingest_command_shows_each_batch(
    prefect_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    landing, store = tmp_path / "landing", tmp_path / "store"
    write_corpus(landing, 9, bad_every=4)
    assert main(["ingest", str(landing), "--dest", str(store), "--batch-size", "4"]) == 0
    err = capsys.readouterr().err
    progress = [line for line in err.splitlines() if line.startswith("ingest: ")]
    assert [line.split(" inputs done")[0] for line in progress] == [
        "ingest: batch 1/3: 4/9",
        "ingest: batch 2/3: 8/9",
        "ingest: batch 3/3: 9/9",
    ]


def test_a_run_without_an_api_says_it_starts_a_temporary_server(prefect_server: str) -> None:
    """Prefect's temporary server is 10-25 s of silence before a first batch: the commands
    say so, and how to avoid it, only when no API is configured."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.environment import temporary_server_notice

    assert temporary_server_notice() is None  # the session's server is configured
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        notice = temporary_server_notice()
    assert notice is not None and "PREFECT_API_URL" in notice and "prefect server start" in notice


def test_a_command_s_flow_runs_have_no_heartbeat_unless_one_is_configured(prefect_server: str) -> None:
    """Prefect joins a flow run's heartbeat thread at the run's end, and the thread sleeps in
    whole seconds (up to 1 s a run): `ingest`'s runs go without it unless the operator
    configured one; outside them (a deployment's runs, a backfill's), Prefect's default stands."""
    from prefect import flow
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        get_current_settings,
        temporary_settings,
    )

    from flows.environment import command_runs

    @flow(name="heartbeat-probe")
    def heartbeat_seen_by_the_engine() -> int | None:
        # What Prefect's flow engine reads when it enters the run (FlowRunEngine.heartbeat_seconds).
        return get_current_settings().flows.heartbeat_frequency

    assert heartbeat_seen_by_the_engine() == 180  # Prefect's default, as a deployment's run has it
    with command_runs():
        assert heartbeat_seen_by_the_engine() is None
    assert get_current_settings().flows.heartbeat_frequency == 180  # restored after the command's runs

    # Configured (the environment and a profile are read at start, as settings set here are): kept.
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: 60}), command_runs():
        assert heartbeat_seen_by_the_engine() == 60

    # No API configured: Prefect's temporary server, stopped as the process exits, needs the
    # heartbeat's wait to write the last task's events (tests/test_faults_and_secrets.py runs it).
    with temporary_settings(restore_defaults={PREFECT_API_URL}), command_runs():
        assert get_current_settings().flows.heartbeat_frequency == 180


def test_the_run_inputs_option() -> None:
    parser = build_parser()
    for command in (["ingest", "in", "--dest", "out"], ["serve", "--source", "in", "--dest", "out"]):
        args = parser.parse_args(command)
        assert args.run_inputs == DEFAULT_RUN_INPUTS == 100_000
        assert run_inputs_option(args) == 100_000
        assert run_inputs_option(parser.parse_args([*command, "--run-inputs", "0"])) is None
        with pytest.raises(ConfigError, match="--run-inputs"):
            run_inputs_option(parser.parse_args([*command, "--run-inputs", "-5"]))
