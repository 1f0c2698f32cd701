"""Quarantine that can be replayed, and a run that fails loudly when a feed turns bad:
through the real Prefect flow, read back with pyarrow."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from flows.batch import IngestSettings
from flows.ingest import ingest_flow
from flows.replay import plan_replay, replay
from storage import open_storage
from table.ledger import load_ledger
from tests.corpus import write_corpus
from tests.stores import AtOnceStore
from tests.test_flow_ingest import read_stories

SLOW = b"<html><body>" + b"<p>Officials said on Tuesday that the talks would resume.</p>" * 60_000 + b"</body></html>"


def quarantine(dest: Path) -> dict[str, str]:
    store = open_storage(str(dest))
    return {
        Path(entry["source_uri"]).name: entry["reason"]
        for entry in (json.loads(store.get(i.key)) for i in store.list("quarantine/"))
    }


def test_replay_turns_what_now_parses_into_rows_exactly_once(prefect_server: str, tmp_path: Path) -> None:
    landing, dest = tmp_path / "landing", tmp_path / "store"
    write_corpus(landing, 6)
    (landing / "slow.html").write_bytes(SLOW)
    (landing / "empty.txt").write_bytes(b"")
    # A deadline the 3.7 MB page cannot meet (1.5-2.5 s of parsing here) and a small story
    # always does, even in a fresh worker on a loaded machine (at 0.2 s, two small stories
    # of this corpus once timed out in a fresh clone's CI run while three test processes
    # shared two cores).
    first = ingest_flow(source=str(landing), dest=str(dest), parse_timeout=0.75)
    assert first["quarantined"] == {"timeout": 1, "empty": 1}
    assert quarantine(dest) == {"slow.html": "timeout", "empty.txt": "empty"}
    rows_before = len(read_stories(str(dest)))
    # A store that takes several requests at once (S3) is read that way, to the same plan.
    at_once = AtOnceStore(str(dest))
    assert plan_replay(at_once) == plan_replay(open_storage(str(dest))) and at_once.most_at_once > 1
    assert plan_replay(at_once, reason="timeout").by_source == {str(landing): ["slow.html"]}

    # "After a parser fix": here, a deadline the page fits in.
    totals = replay(str(dest), reason="timeout", settings=IngestSettings(parse_timeout=120))
    assert totals["inputs"] == 1 and totals["stories"] == 1
    assert quarantine(dest) == {"empty.txt": "empty"}  # the replayed entry left quarantine
    rows = read_stories(str(dest))
    assert len(rows) == rows_before + 1
    assert len({r["story_id"] for r in rows}) == len(rows)

    # Everything left still fails, with its reason; replaying again changes nothing.
    again = replay(str(dest), settings=IngestSettings(parse_timeout=120))
    assert again["inputs"] == 1 and again["quarantined"] == {"empty": 1}
    assert quarantine(dest) == {"empty.txt": "empty"}
    assert len(read_stories(str(dest))) == len(rows)
    done = load_ledger(open_storage(str(dest))).done  # batches in commit order: the latest word
    assert done[str(landing / "slow.html")].outcome == "story"
    assert done[str(landing / "empty.txt")].outcome == "quarantined"


def test_max_quarantine_share_fails_the_run_after_committing_what_parsed(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    landing, dest = tmp_path / "landing", tmp_path / "store"
    write_corpus(landing, 4)
    for number in range(3):
        (landing / f"bad-{number}.txt").write_bytes(b"")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "ingest",
            str(landing),
            "--dest",
            str(dest),
            "--max-quarantine-share",
            "0.2",
        ],
        env=subprocess_env,
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 3, run.stderr.decode()[-2000:]
    assert "3 of 7 inputs (43%) were quarantined" in run.stderr.decode()
    assert len(read_stories(str(dest))) == 4  # the good ones are committed
    assert len(quarantine(dest)) == 3
