"""`wire-ingest demo` (the README's first command) runs the real flow over the bundled
inputs: stories, quarantined bad inputs, near duplicates, and a second run that adds nothing."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from flows.demo import BAD_INPUTS, COPIES, demo


def test_demo_ingests_the_bundled_inputs_once(
    prefect_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo(tmp_path / "out")
    printed = capsys.readouterr().out
    assert "second run over the same landing zone: 0 new inputs, 0 files written" in printed
    assert "consistent: every guarantee checked holds" in printed  # its `wire-ingest check`
    store = tmp_path / "out" / "store"
    rows = duckdb.sql(
        "SELECT source_uri, story_id, duplicate_of "
        f"FROM read_parquet('{store}/stories/**/*.parquet', hive_partitioning = true)"
    ).fetchall()
    by_name = {Path(uri).name: (story_id, duplicate_of) for uri, story_id, duplicate_of in rows}
    for copy in COPIES:
        original = copy.name.split("--")[0] + ".txt"
        (copy_id, copy_of), (original_id, original_of) = by_name[copy.name], by_name[original]
        # Whichever the flow met first is the original; the other points at it.
        assert copy_of == original_id or original_of == copy_id, (copy.name, by_name[copy.name], by_name[original])
    quarantined = list((store / "quarantine").rglob("*.json"))
    assert len(quarantined) == len(BAD_INPUTS)
