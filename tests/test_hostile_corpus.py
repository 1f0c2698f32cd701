"""A CI-sized sample of bench/hostile.py's corpus (every kind, twice) through ``parse`` on
the worker pool and through the real ingest flow: no crash, every input accounted for,
none over its deadline. Large inputs in one batch once deadlocked the pool's pipes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.hostile import KINDS, generate
from flows.ingest import ingest_flow

REPO = Path(__file__).resolve().parents[1]


def test_every_hostile_input_is_accounted_for_by_parse(tmp_path: Path) -> None:
    names = generate(tmp_path / "corpus", 2)
    run = subprocess.run(
        [sys.executable, "-m", "flows.cli", "parse", str(tmp_path / "corpus"), "--jsonl", "--workers", "2"],
        capture_output=True,
        timeout=600,
        check=False,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr.decode()[-3000:]
    records = [json.loads(line) for line in run.stdout.decode("utf-8").splitlines()]
    seen = sorted(os.path.basename(r["source_uri"]) for r in records)
    assert seen == sorted(names), "every input exactly once"
    failures = [r for r in records if r.get("error") in ("timeout", "worker_crashed", "parser_error")]
    assert failures == [], failures
    assert len(KINDS) >= 35


def test_the_hostile_corpus_through_the_flow_balances(prefect_server: str, tmp_path: Path) -> None:
    generate(tmp_path / "corpus", 1)
    totals = ingest_flow(source=str(tmp_path / "corpus"), dest=str(tmp_path / "store"), batch_size=50)
    assert totals["inputs"] == len(KINDS) and totals["balanced"]
    assert not {"timeout", "worker_crashed", "parser_error"} & set(totals["quarantined"])
