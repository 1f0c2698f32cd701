"""`wire-ingest parse`: no Prefect, no storage, one JSON object per input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

GOLDEN = Path(__file__).resolve().parent / "golden"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_parse_jsonl_over_a_folder(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "seed.txt").write_bytes((GOLDEN / "bloomberg-idlib.txt").read_bytes())
    result = run_cli("parse", "--jsonl", str(tmp_path))
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 2
    by_name = {Path(r["source_uri"]).name: r for r in records}
    assert by_name["empty.txt"]["error"] == "empty"
    seed = by_name["seed.txt"]
    assert seed["agency"] == "bloomberg" and seed["word_count"] == 303
    assert set(seed) >= {"story_id", "headline", "body", "contacts", "removed", "published_at"}


def test_parse_does_not_import_prefect() -> None:
    code = (
        "import sys, io, contextlib\n"
        "from flows.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    main(['parse', '--jsonl', {str(GOLDEN / 'afp-paris.txt')!r}])\n"
        "print('prefect' in sys.modules, 'boto3' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip() == "False False"


def test_parsing_html_imports_neither_beautifulsoup_nor_its_selector_engine() -> None:
    """A parsing process reads HTML with lxml alone: BeautifulSoup's import (~35 ms, with the
    CSS-selector grammar it compiles) and its second parse of the region (a fifth of a
    page's parse) are no longer paid."""
    code = (
        "import sys\n"
        "from parsers import parse_story\n"
        "page = b'<html><body><article><p>' + b'Story text goes here. ' * 20 + b'</p></article></body></html>'\n"
        "story = parse_story(page, 'x')\n"
        "print(bool(story.body), [name for name in ('bs4', 'soupsieve') if name in sys.modules])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip() == "True []"


def test_a_reader_that_goes_away_stops_parse_quietly() -> None:
    # `wire-ingest parse --jsonl | head -1`: the pipe closes after the first record; parse
    # stops with the shell's SIGPIPE code and no traceback, and leaves no worker behind.
    process = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "parse", "--jsonl", "--workers", "2", str(GOLDEN)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    workers = psutil.Process(process.pid).children(recursive=True)
    process.stdout.close()
    assert json.loads(first)["source_uri"]
    assert process.wait(timeout=120) == 141
    assert b"Traceback" not in process.stderr.read()
    process.stderr.close()
    assert workers
    _gone, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_stops_parse_with_one_line_and_no_worker_left(how: str, tmp_path: Path) -> None:
    """A terminal's Ctrl-C reaches the whole foreground process group (parse and its
    workers); `kill` or a service manager sends SIGTERM to parse alone. Either way: the
    shell's code (130 / 143), one line, no traceback, no worker left running."""
    import signal

    from tests.corpus import write_corpus

    write_corpus(tmp_path / "in", 3000)
    process = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "parse", "--jsonl", "--workers", "2", str(tmp_path / "in")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, as a shell's foreground job
    )
    assert process.stdout is not None and process.stderr is not None
    assert json.loads(process.stdout.readline())["source_uri"]  # parsing has begun
    workers = psutil.Process(process.pid).children(recursive=True)
    if how == "ctrl-c":
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert len(out.splitlines()) < 2999, "the signal came after parse had finished"
    assert process.returncode == (130 if how == "ctrl-c" else 143), err.decode()[-2000:]
    lines = err.decode().strip().splitlines()
    assert lines[-1] == f"wire-ingest: stopped by {'Ctrl-C' if how == 'ctrl-c' else 'SIGTERM'}.", lines[-5:]
    assert b"Traceback" not in err
    assert workers
    _gone, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive


def test_missing_path_is_a_clear_error() -> None:
    result = run_cli("parse", "/no/such/path")
    assert result.returncode == 2
    assert "no such file or folder" in result.stderr
    # An object store's URI is not a missing path: `parse` says what reads it.
    result = run_cli("parse", "s3://bucket/landing")
    assert result.returncode == 2
    assert "local files and folders only" in result.stderr and "wire-ingest ingest" in result.stderr


def test_numbers_that_cannot_work_are_refused_before_anything_runs() -> None:
    """`--max-bytes 0` quarantined every input as too_large and `--workers -1` was taken
    silently; each is now a clear error (exit 2), for `parse` and for every command that runs
    the flow (checked here through the parser, as `ingest`, `backfill` and `serve` share it)."""
    from flows.cli import build_parser, run_options
    from schemas.errors import ConfigError

    for option, value, says in (
        ("--workers", "-1", "--workers takes a number"),
        ("--max-bytes", "0", "--max-bytes must be at least 1"),
        ("--parse-timeout", "-2", "--parse-timeout and --parse-memory-mb"),
        ("--parse-memory-mb", "-1", "--parse-timeout and --parse-memory-mb"),
    ):
        result = run_cli("parse", str(GOLDEN), option, value)
        assert result.returncode == 2 and says in result.stderr and result.stdout == "", (option, result.stderr)
        args = build_parser().parse_args(["ingest", "in", "--dest", "out", option, value])
        with pytest.raises(ConfigError, match=says):
            run_options(args)
    assert run_options(build_parser().parse_args(["ingest", "in", "--dest", "out", "--workers", "0"]))


def test_parse_with_workers_matches_one_process_in_order(tmp_path: Path) -> None:
    from tests.corpus import write_corpus

    write_corpus(tmp_path / "in", 300, bad_every=40)  # > one chunk of 256, with bad inputs
    unreadable = tmp_path / "in" / "part000" / "zzz-unreadable.txt"
    unreadable.write_bytes(b"x")
    unreadable.chmod(0)
    try:
        pooled = run_cli("parse", "--jsonl", "--workers", "2", str(tmp_path / "in"))
        single = run_cli("parse", "--jsonl", "--workers", "1", str(tmp_path / "in"))
    finally:
        unreadable.chmod(0o644)
    assert pooled.returncode == 0 and single.returncode == 0, pooled.stderr + single.stderr
    assert pooled.stdout == single.stdout
    records = [json.loads(line) for line in pooled.stdout.splitlines()]
    assert len(records) == 301
    uris = [r["source_uri"] for r in records]
    assert uris == sorted(uris)  # input order
    errors = {r["error"] for r in records if "error" in r}
    assert {"empty", "binary", "no_body"} <= errors
    if os.geteuid() != 0:  # root reads files whatever their mode
        assert "unreadable" in errors


def test_version_names_the_package_its_schema_and_its_stack_without_loading_prefect() -> None:
    result = run_cli("--version")
    assert result.returncode == 0, result.stderr
    from importlib.metadata import version

    from schemas.story import SCHEMA_VERSION

    line = result.stdout.strip()
    assert line.startswith(f"wire-ingest {version('wire-ingest')} (stories schema {SCHEMA_VERSION};"), line
    assert f"prefect {version('prefect')}" in line and f"pyarrow {version('pyarrow')}" in line
    assert "\n" not in line
    probe = subprocess.run(
        [sys.executable, "-c", "import sys\nfrom flows.cli import main\ntry:\n    main(['--version'])\n"
         "except SystemExit:\n    pass\nprint(sorted(m for m in ('prefect', 'pyarrow', 'boto3') if m in sys.modules))"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert probe.stdout.strip().splitlines()[-1] == "[]"
