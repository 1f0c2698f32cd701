"""The text path's modules compiled with mypyc (parsers/native.py): the same rows as their
sources, used only when built from exactly these sources, and the sources whenever not."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from parsers import native
from parsers.fingerprint import Fingerprint

ROOT = Path(__file__).resolve().parent.parent

# Parses every golden input (each format), a share of the HTML dev pages, and the golden
# wire stories bent the ways real copy is laid out (CRLF, indented paragraphs, no blank line
# after the headline, cut short, lines shuffled), through the worker's parse and prepare
# (validation, fingerprint), and prints a digest of every result's repr and pickle round trip.
DIGEST = r"""
import hashlib, json, pickle, random, sys
from pathlib import Path
import parsers
from parsers import native
from flows.workers import parse_payload, prepare

root = Path(sys.argv[1])
inputs = [p for p in sorted((root / "tests/golden").iterdir()) if p.suffix != ".json"]
pages = sorted((root / "tests/data").glob("*-dev/**/*.html"))
inputs += pages[::5]
payloads = [(str(p.relative_to(root)), p.read_bytes()) for p in inputs]
rng = random.Random(38)
for path in sorted((root / "tests/golden").glob("*.txt")):
    data = path.read_bytes().replace(b"\r\n", b"\n")
    head, _, body = data.partition(b"\n\n")
    lines = data.split(b"\n")
    shuffled = lines[:]
    rng.shuffle(shuffled)
    for name, variant in (
        ("crlf", data.replace(b"\n", b"\r\n")),
        ("indented", b"\n".join(b"    " + line if line else line for line in data.split(b"\n"))),
        ("run-on", head + b"\n" + body),
        ("half", data[: len(data) // 2]),
        ("shuffled", b"\n".join(shuffled)),
        ("long", head + b"\n\n" + b"\n\n".join([body] * 6)),
    ):
        payloads.append((f"{path.name}#{name}", variant))
digest = hashlib.sha256()
for uri, data in payloads:
    result = prepare(parse_payload(uri, data, None, 10_000_000))
    again = pickle.loads(pickle.dumps(result))
    assert again == result, uri
    digest.update(repr(result).encode("utf-8", "surrogatepass"))
print(json.dumps({"status": native.STATUS, "inputs": len(payloads), "digest": digest.hexdigest()}))
"""


def _run(script: str, env_extra: dict[str, str]) -> subprocess.Popen[str]:
    env = {**os.environ, **env_extra}
    return subprocess.Popen(
        [sys.executable, "-c", script, str(ROOT)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _result(process: subprocess.Popen[str]) -> dict[str, object]:
    out, err = process.communicate(timeout=240)
    assert process.returncode == 0, err[-3000:]
    return dict(json.loads(out.strip().splitlines()[-1]))


def test_the_compiled_parsers_give_the_same_rows_as_their_sources() -> None:
    if native.freshness(native.native_dir()) is not None or native.switched_off():
        pytest.skip(f"the parsers are not compiled here: {native.STATUS}")
    compiled = _run(DIGEST, {})
    pure = _run(DIGEST, {native.ENV_SWITCH: "0"})
    compiled_result, pure_result = _result(compiled), _result(pure)
    assert str(compiled_result["status"]).startswith("compiled (mypyc)")
    assert str(pure_result["status"]).startswith("pure Python: WIRE_INGEST_NATIVE=0")
    assert int(str(pure_result["inputs"])) > 600
    assert compiled_result["inputs"] == pure_result["inputs"]
    assert compiled_result["digest"] == pure_result["digest"]


WHICH = r"""
import json
import parsers.text, parsers.fingerprint
from parsers import native
print(json.dumps({"status": native.STATUS, "text": parsers.text.__file__, "fingerprint": parsers.fingerprint.__file__}))
"""


def _which(env_extra: dict[str, str]) -> dict[str, object]:
    return _result(_run(WHICH, env_extra))


def test_compiled_modules_run_only_when_built_from_these_very_sources(tmp_path: Path) -> None:
    built = native.native_dir()
    if native.freshness(built) is not None:
        pytest.skip(f"the parsers are not compiled here: {native.freshness(built)}")
    copy = tmp_path / "native"
    shutil.copytree(built, copy)
    used = _which({native.ENV_DIR: str(copy)})
    assert str(used["status"]).startswith("compiled (mypyc)")
    assert str(used["text"]).startswith(str(copy)) and str(used["text"]).endswith((".so", ".pyd"))
    assert str(used["fingerprint"]).startswith(str(copy))

    switched_off = _which({native.ENV_DIR: str(copy), native.ENV_SWITCH: "0"})
    assert str(switched_off["text"]) == str(ROOT / "parsers" / "text.py")

    # A source edited since the build: its compiled module (and, all or nothing, the others) unused.
    manifest = json.loads((copy / native.MANIFEST).read_text())
    manifest["sources"]["parsers.wire"] = "0" * 64
    (copy / native.MANIFEST).write_text(json.dumps(manifest))
    stale = _which({native.ENV_DIR: str(copy)})
    assert "compiled from other sources" in str(stale["status"]) and "build_native build" in str(stale["status"])
    assert str(stale["text"]) == str(ROOT / "parsers" / "text.py")


def test_a_missing_or_broken_build_leaves_the_sources_running(tmp_path: Path) -> None:
    where = tmp_path / "native"
    assert "not built" in str(native.freshness(where))
    where.mkdir()
    (where / native.MANIFEST).write_text("{not json")
    assert "unreadable" in str(native.freshness(where))
    (where / native.MANIFEST).write_text(json.dumps({"sources": native.source_digests()}))
    why = str(native.freshness(where))
    assert "incomplete build" in why and "text" in why
    used = _which({native.ENV_DIR: str(where)})
    assert "incomplete build" in str(used["status"])
    assert str(used["text"]) == str(ROOT / "parsers" / "text.py")


def test_a_fingerprint_pickles_by_its_fields() -> None:
    fingerprint = Fingerprint(2**63 + 5, ("a1b2", "c3d4"), b"\x00\x01" * 64, "11-29")
    again = pickle.loads(pickle.dumps(fingerprint))
    assert again == fingerprint and again is not fingerprint
    assert pickle.loads(pickle.dumps(Fingerprint(0, ()))) == Fingerprint(0, (), b"", None)
