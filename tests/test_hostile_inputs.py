"""Hostile and malformed inputs: each ends as one story or one quarantine reason, the
others of its batch are unaffected, output is always encodable, nothing is skipped without
a word, and no input stalls a batch (the repros of the reliability issue, one test each)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from flows.cli import parse
from flows.workers import ParsePool, parse_payloads
from parsers import parse_story
from schemas.errors import ParseError
from schemas.story import Story, validate_story

REPO = Path(__file__).resolve().parents[1]
GOOD = b"Oil rises\n\nOil prices rose on Tuesday as traders weighed supply risks, analysts said.\n"

#: (file name, bytes, what it must become: "story" or a quarantine reason)
REPROS: list[tuple[str, bytes, str]] = [
    (
        "unicode-escape.txt",
        b"Oil rises\n\nOil prices rose on Tuesday as traders weighed risks, analysts said.\n\n"
        b"Read more: \\ud800 x\n\n<meta charset=unicode_escape>\n",
        "story",
    ),
    (
        "date-max.txt",
        b"Talks resume\n\nPublished: 9999-12-31T23:59:59-12:00\n\nOfficials said on Tuesday talks would resume.\n",
        "story",
    ),
    (
        "date-min.html",
        b'<html><head><meta property="article:published_time" content="0001-01-01T00:00:00+14:00">'
        b'<script type="application/ld+json">{"datePublished": "9999-12-31T23:59:59-12:00"}</script></head>'
        b"<body><article><p>Officials said on Tuesday that talks would resume, analysts said.</p></article>"
        b"</body></html>",
        "story",
    ),
    (
        "jsonld-deep.html",
        b'<html><head><script type="application/ld+json">'
        + b"[" * 10_000
        + b"]" * 10_000
        + b"</script></head><body><article><p>Officials said on Tuesday that talks would resume.</p>"
        b"</article></body></html>",
        "story",
    ),
    (
        "jsonld-surrogate.html",
        b'<html><head><script type="application/ld+json">'
        b'{"@type": "NewsArticle", "headline": "Talks \\ud800 resume"}</script></head>'
        b"<body><article><p>Officials said on Tuesday that talks would resume, analysts said.</p></article>"
        b"</body></html>",
        "story",
    ),
    (
        "charset-undefined.html",
        b'<html><head><meta charset="undefined"></head><body><article><p>Officials said on Tuesday that '
        b"talks would resume.</p></article></body></html>",
        "story",
    ),
    (
        "charset-punycode.html",
        b'<html><head><meta charset="punycode"></head><body><article><p>Officials said on Tuesday that '
        b"talks would resume.</p></article></body></html>",
        "story",
    ),
    (
        "xml-koi8.html",
        '<?xml version="1.0" encoding="koi8_r"?><html><body><article><p>Чиновники заявили во вторник, '
        "что переговоры возобновятся.</p></article></body></html>".encode("koi8_r"),
        "story",
    ),
    ("combining.txt", ("Headline\n\n" + "e\u0301" * 300 + " said officials.\n").encode(), "story"),
    (
        "deep-divs.html",
        b"<html><body>"
        + b"<div>" * 10_000
        + b"<p>Officials said on Tuesday that talks would resume, analysts said.</p>"
        + b"</div>" * 10_000
        + b"</body></html>",
        "story",
    ),
    # Quadratic before: seconds to minutes each. Scaled up so that a regression cannot hide
    # under the deadline below.
    (
        "update-note-spaces.txt",
        b"Headline here\n\nOfficials said talks would resume" + b" " * 300_000 + b")\n",
        "story",
    ),
    ("copyright-br.html", b"<p>" + "© 2020 Wire<br>".encode() * 20_000 + b"</p>", "no_body"),
    (
        "deep-many-p.html",
        b"<div>" * 250 + b"<p>This is a sentence of the story, said the officials.</p>" * 20_000,
        "story",
    ),
    ("empty.txt", b"", "empty"),
    ("binary.bin", bytes(range(256)) * 64, "binary"),
]


def outcome(result: dict[str, object]) -> str:
    return "story" if "story_id" in result else str(result["error"])


def test_every_repro_ends_as_its_expected_outcome_with_encodable_output(tmp_path: Path) -> None:
    for name, data, _ in REPROS:
        (tmp_path / name).write_bytes(data)
    (tmp_path / "good.txt").write_bytes(GOOD)
    # A generous deadline: the point is that nothing stalls (the quadratic inputs took
    # minutes at this size), not how fast a shared machine runs.
    results = {Path(str(r["source_uri"])).name: r for r in parse([str(tmp_path)], workers=2, parse_timeout=60)}
    assert len(results) == len(REPROS) + 1
    for name, _, expected in REPROS:
        assert outcome(results[name]) == expected, (name, results[name].get("detail"))
        json.dumps(results[name], ensure_ascii=False).encode("utf-8")  # encodable: no lone surrogate
    assert outcome(results["good.txt"]) == "story"
    assert "\ufffd" in results["jsonld-surrogate.html"]["headline"]  # type: ignore[operator]


def test_lone_surrogates_never_reach_a_record() -> None:
    story = parse_story(REPROS[0][1], "mem://s.txt")
    assert validate_story(story) == []
    for paragraph in story.paragraphs:
        paragraph.encode("utf-8")


def test_an_invalid_record_with_a_surrogate_is_caught_by_validation() -> None:
    story = parse_story(GOOD, "mem://good.txt")
    story.headline = "Oil \ud800 rises"
    assert any("surrogate" in problem for problem in validate_story(story))


def test_a_non_utf8_file_name_is_ingested_under_a_percent_escaped_uri(tmp_path: Path) -> None:
    name = os.fsencode(tmp_path) + b"/latin1-\xe9t\xe9.txt"
    with open(name, "wb") as handle:
        handle.write(b"Headline\n\nOfficials said on Tuesday that talks would resume, analysts said.\n")
    (result,) = list(parse([str(tmp_path)], workers=1))
    assert result["source_uri"] == f"{tmp_path}/latin1-%E9t%E9.txt"
    assert "story_id" in result


def test_a_non_utf8_file_name_goes_through_backfill_ingest_and_replay_once(prefect_server: str, tmp_path: Path) -> None:
    """Through the flows, not only `parse`: a batch id was made from the keys encoded as
    strict UTF-8, so such a name in a landing zone stopped every run at its batch."""
    from datetime import date

    from flows.cli import backfill, replay
    from flows.ingest import ingest_flow
    from storage import open_storage
    from tests.test_flow_ingest import read_stories

    landing, dest = tmp_path / "landing", str(tmp_path / "store")
    day = landing / "2024" / "01" / "04"
    day.mkdir(parents=True)
    (day / "plain.txt").write_bytes(GOOD)
    with open(os.fsencode(day) + b"/latin1-\xe9t\xe9.txt", "wb") as handle:
        handle.write(b"Talks resume\n\nOfficials said on Tuesday that the talks would resume next week.\n")
    empty = os.fsencode(landing) + b"/vide-\xe9.txt"
    open(empty, "wb").close()
    first = backfill(str(landing), dest, date(2024, 1, 4), date(2024, 1, 4), batch_size=4)
    assert first["inputs"] == 2 and first["stories"] == 2 and first["balanced"]
    rest = ingest_flow(source=str(landing), dest=dest, batch_size=4)
    assert rest["inputs"] == 1 and rest["quarantined"] == {"empty": 1}
    assert ingest_flow(source=str(landing), dest=dest, batch_size=4)["inputs"] == 0
    uris = sorted(str(r["source_uri"]) for r in read_stories(dest))
    assert uris == [f"{day}/latin1-%E9t%E9.txt", f"{day}/plain.txt"]
    store = open_storage(dest)
    (entry,) = [json.loads(store.get(i.key)) for i in store.list("quarantine/")]
    assert entry["source_uri"] == f"{landing}/vide-%E9.txt"
    # Replay reads the quarantined input back under its own name: now it holds a story.
    with open(empty, "wb") as handle:
        handle.write(b"Port reopens\n\nThe port reopened on Tuesday after a strike, the union said.\n")
    replayed = replay(dest)
    assert replayed["inputs"] == 1 and replayed["stories"] == 1
    assert not list(store.list("quarantine/"))
    rows = read_stories(dest)
    assert len(rows) == 3 == len({r["story_id"] for r in rows})


def test_links_leaving_the_source_and_devices_are_quarantined_not_skipped(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_bytes(GOOD)
    source = tmp_path / "source"
    source.mkdir()
    (source / "good.txt").write_bytes(GOOD)
    (source / "zero.txt").symlink_to("/dev/zero")
    (source / "escape.txt").symlink_to(outside)
    (source / "linked-folder").symlink_to(tmp_path)
    inside = source / "inside.txt"
    inside.symlink_to(source / "good.txt")
    # Links that lead to each other raised Python's RuntimeError past every handler: the
    # batch failed at each retry and every run stopped there.
    (source / "loop-a.txt").symlink_to(source / "loop-b.txt")
    (source / "loop-b.txt").symlink_to(source / "loop-a.txt")
    results = {Path(str(r["source_uri"])).name: r for r in parse([str(source)], workers=1)}
    assert set(results) == {
        "good.txt",
        "zero.txt",
        "escape.txt",
        "linked-folder",
        "inside.txt",
        "loop-a.txt",
        "loop-b.txt",
    }
    assert outcome(results["loop-a.txt"]) == outcome(results["loop-b.txt"]) == "not_a_file"
    assert "loop" in str(results["loop-a.txt"]["detail"])
    assert outcome(results["zero.txt"]) == "link_outside_root"
    assert outcome(results["escape.txt"]) == "link_outside_root"
    assert outcome(results["linked-folder"]) == "link_outside_root"
    assert outcome(results["inside.txt"]) == "story"  # a link that stays inside is an input like any
    # A device named directly is refused by what it is, not by where it lives.
    (direct,) = list(parse(["/dev/zero"], workers=1))
    assert outcome(direct) == "not_a_file"


def test_an_input_past_the_deadline_is_quarantined_timeout_and_the_rest_parse() -> None:
    slow = b"<html><body>" + b"<p>Officials said it.</p>" * 100_000 + b"</body></html>"
    payloads = [(f"mem://{i}.txt", GOOD.replace(b"Oil", f"Oil {i}".encode())) for i in range(6)]
    payloads.insert(2, ("mem://slow.html", slow))
    pool = ParsePool(2, timeout=1.0)  # the slow page takes seconds; a story, milliseconds
    try:
        results = pool.map(payloads, default_agency=None, max_bytes=1 << 30)
    finally:
        pool.close()
    assert [getattr(r, "reason", "story") for r in results] == ["story"] * 2 + ["timeout"] + ["story"] * 4
    assert [r.source_uri for r in results] == [uri for uri, _ in payloads]
    assert pool.replaced == 1


def test_a_worker_killed_mid_input_costs_that_input_only() -> None:
    slow = b"<html><body>" + b"<p>Officials said it.</p>" * 100_000 + b"</body></html>"
    payloads = [("mem://slow.html", slow)] + [(f"mem://{i}.txt", GOOD + str(i).encode()) for i in range(5)]
    pool = ParsePool(1, timeout=0)

    def kill_worker_soon() -> None:
        time.sleep(0.5)
        pid = pool.workers[0].process.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)  # what the OOM killer does to a worker

    try:
        pool._ensure_workers()
        killer = threading.Thread(target=kill_worker_soon)
        killer.start()
        results = pool.map(payloads, default_agency=None, max_bytes=1 << 30)
        killer.join()
    finally:
        pool.close()
    assert results[0].reason == "worker_crashed"  # type: ignore[union-attr]
    assert "signal 9" in results[0].detail  # type: ignore[union-attr]
    assert all(isinstance(r, Story) for r in results[1:])


def test_parse_payloads_without_deadline_isolates_any_exception_type() -> None:
    # 100,000 paragraphs in-process, a recursion-limit JSON-LD, a bare UnicodeError codec:
    # each is one result, never an exception out of the batch.
    payloads = [(name, data) for name, data, _ in REPROS]
    results = parse_payloads(payloads, default_agency=None, max_bytes=1 << 30, workers=1, timeout=0)
    assert len(results) == len(payloads)


def test_parse_error_reasons_are_stable_codes() -> None:
    with pytest.raises(ParseError) as info:
        parse_story(b"   \n", "mem://blank.txt")
    assert info.value.reason == "empty"


def test_parse_command_reports_every_input_and_exits_zero(tmp_path: Path) -> None:
    for name, data, _ in REPROS[:4]:
        (tmp_path / name).write_bytes(data)
    (tmp_path / "zero.txt").symlink_to("/dev/zero")
    run = subprocess.run(
        [sys.executable, "-m", "flows.cli", "parse", str(tmp_path), "--jsonl"],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr.decode()
    lines = run.stdout.decode("utf-8").splitlines()
    assert len(lines) == 5


def test_an_input_past_the_memory_budget_is_quarantined_and_the_worker_goes_on() -> None:
    # A 10 MB one-line story adds ~600 MB to a worker while it parses; 200 MB is not enough.
    heavy = b"Headline\n\n" + b"word " * 2_000_000
    payloads = [("mem://heavy.txt", heavy), ("mem://good.txt", GOOD)]
    pool = ParsePool(1, timeout=120, memory_mb=200)
    try:
        results = pool.map(payloads, default_agency=None, max_bytes=1 << 30)
    finally:
        pool.close()
    assert getattr(results[0], "reason", "story") in ("out_of_memory", "worker_crashed")
    assert isinstance(results[1], Story)


def test_worker_pipes_grow_where_allowed_and_the_pool_queues_by_their_real_size() -> None:
    # The pool sizes how much it queues on a worker from the pipe's real size: grown to
    # 1 MB where Linux allows it; a pipe it cannot ask is taken as the 64 KB default.
    import multiprocessing

    from flows.workers import DEFAULT_PIPE_BYTES, PIPE_BYTES, _pipe_capacity

    reader, writer = multiprocessing.Pipe(duplex=False)
    try:
        assert _pipe_capacity(writer, PIPE_BYTES) == PIPE_BYTES
    finally:
        reader.close()
        writer.close()
    assert _pipe_capacity(writer, PIPE_BYTES) == DEFAULT_PIPE_BYTES  # closed: no size to ask
    pool = ParsePool(1, timeout=5.0)
    try:
        pool._ensure_workers()
        assert pool.queue_bytes == PIPE_BYTES * 3 // 4
        payloads = [(f"mem://{i}.txt", GOOD + str(i).encode()) for i in range(300)]
        results = pool.map(payloads, default_agency=None, max_bytes=1 << 30)
    finally:
        pool.close()
    assert [r.source_uri for r in results] == [uri for uri, _ in payloads]
    assert all(isinstance(r, Story) for r in results)


def test_a_pool_started_ahead_parses_its_first_batch_like_any() -> None:
    # `wire-ingest ingest` starts the workers before importing Prefect, from a thread of
    # their own; their "ready" messages must be read as such, not taken for the first
    # batch's results, and the first batch waits for that thread.
    from flows.workers import get_pool, start_prepare, warm_pool

    warm_pool(2, timeout=7.5, memory_mb=0)
    pool = get_pool(2, timeout=7.5, memory_mb=0)
    launcher = pool._launcher
    assert launcher is not None and launcher.name == "wire-ingest-pool-launch"
    payloads = [(f"mem://{i}.txt", GOOD.replace(b"Oil", f"Oil {i}".encode())) for i in range(40)]
    try:
        results = start_prepare(
            payloads, default_agency=None, max_bytes=1 << 30, workers=2, timeout=7.5, memory_mb=0
        ).collect()
    finally:
        pool.close()
    assert not pool._warming and not launcher.is_alive() and pool._launcher is None
    assert [r.story.source_uri for r in results] == [uri for uri, _ in payloads]  # type: ignore[union-attr]


def test_a_pool_started_in_the_background_starts_once_and_closes_clean() -> None:
    from flows.workers import ParsePool

    pool = ParsePool(2, timeout=5.0)
    pool.launch_in_background()
    pool.launch_in_background()  # a second call while the first runs starts nothing more
    launcher = pool._launcher
    assert launcher is not None
    launcher.join()
    processes = [w.process for w in pool.workers]
    assert len(processes) == 2 and all(p.is_alive() for p in processes)
    pool.close()
    assert pool._launcher is None and not pool.workers
    assert not any(p.is_alive() for p in processes)

    racing = ParsePool(2, timeout=5.0)
    racing.launch_in_background()
    racing.close()  # waits for the launch, then stops what it started
    assert not racing.workers and racing._launcher is None


MAIN_MODULE = """
import json, os, sys
with open(os.environ["MARKER"], "a") as marker:  # every process that runs this module
    marker.write(f"{os.getpid()}\\n")
if __name__ == "__main__":
    from flows.workers import ParsePool
    pool = ParsePool(2, timeout=30.0)
    ticket = pool.submit([("mem://a.txt", sys.argv[1].encode())], default_agency=None, max_bytes=1 << 20)
    [story] = pool.collect(ticket)
    print(json.dumps([story.headline, os.getpid(), [w.process.pid for w in pool.workers]]))
    pool.close()
"""


@pytest.mark.parametrize("how", ["module", "script"])
def test_parse_workers_do_not_run_the_main_module_again(tmp_path: Path, how: str) -> None:
    # Prefect runs each flow run of a deployment as `python -m prefect.engine`; a worker
    # started from a forkserver ran that module again (Prefect's import: ~1.5 s and ~60 MB
    # a worker). A console script (`wire-ingest`) is a main module run by its path.
    (tmp_path / "main_under_test.py").write_text(MAIN_MODULE)
    marker = tmp_path / "ran-by"
    command = ["-m", "main_under_test"] if how == "module" else [str(tmp_path / "main_under_test.py")]
    done = subprocess.run(
        [sys.executable, *command, GOOD.decode()],
        env={**os.environ, "MARKER": str(marker), "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    headline, parent, workers = json.loads(done.stdout)
    assert headline == "Oil rises" and len(workers) == 2
    assert marker.read_text().split() == [str(parent)]  # the parent only: no worker, no fork server


def test_pump_hands_out_inputs_and_takes_results_while_the_caller_is_busy() -> None:
    # Between two collects (deduplicating and committing a batch) the caller pumps the pool:
    # queued inputs beyond what the worker's pipe held must go out, and results come in,
    # with no collect at all. Each input here is ~400 KB, so the pipe takes two at a time.
    body = b" ".join(b"Officials said on Tuesday the talks would resume next week." for _ in range(6_500))
    payloads = [(f"mem://{i}.txt", f"Talks resume {i}\n\n".encode() + body + b"\n") for i in range(8)]
    pool = ParsePool(1, timeout=60)
    try:
        ticket = pool.submit(payloads, default_agency=None, max_bytes=1 << 30)
        assert pool._pending, "every input fitted in the pipe: the test would not see pump hand any out"
        deadline = time.monotonic() + 120
        while ticket.missing and time.monotonic() < deadline:
            pool.pump()
            time.sleep(0.01)
        assert ticket.missing == 0
        assert not pool._pending and not pool.workers[0].assigned
        assert [r.source_uri for r in ticket.results] == [uri for uri, _ in payloads]
        assert all(isinstance(r, Story) for r in ticket.results)
    finally:
        pool.close()


def test_a_local_read_stops_one_byte_past_the_limit_and_takes_a_file_that_grew(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A read asks for the size the file had when opened plus a byte, not for the limit; a
    # file that grew after that is still read whole, up to one byte past the limit (which
    # quarantines it as too_large).
    from storage import local
    from storage.local import LocalStorage

    store = LocalStorage(tmp_path)
    (tmp_path / "a.txt").write_bytes(b"x" * 1000)
    assert store.get("a.txt", limit=5000) == b"x" * 1000
    assert store.get("a.txt", limit=1000) == b"x" * 1000
    assert store.get("a.txt", limit=999) == b"x" * 1000  # one past the limit: too large
    assert store.get("a.txt", limit=10) == b"x" * 11
    assert store.get("a.txt") == b"x" * 1000

    real_fstat = os.fstat

    def opened_when_smaller(fd: int) -> os.stat_result:  # the file grew after the descriptor's fstat
        info = list(real_fstat(fd))
        info[6] = 100  # st_size
        return os.stat_result(info)

    monkeypatch.setattr(local.os, "fstat", opened_when_smaller)
    assert store.get("a.txt", limit=5000) == b"x" * 1000
    assert store.get("a.txt", limit=500) == b"x" * 501
    assert store.get("a.txt", limit=50) == b"x" * 51


def test_a_parser_bug_while_a_backfill_dates_its_inputs_costs_that_input_its_date_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backfill parses each undated input to date it, in its own process: an error of a
    type the parser does not raise on purpose (a bug, a recursion limit) stopped the whole
    backfill's planning, where the ingest's workers make it one input's `parser_error`. The
    parser's bug is injected here (no real input is known to raise one)."""
    from datetime import UTC, date, datetime

    import flows.backfill as backfill_module
    from flows.batch import IngestSettings
    from storage.local import LocalStorage

    landing = tmp_path / "landing"
    landing.mkdir()
    golden = Path(__file__).resolve().parent / "golden"
    (landing / "fine.txt").write_bytes((golden / "ap-by-line.txt").read_bytes())
    (landing / "trips.txt").write_bytes((golden / "afp-paris.txt").read_bytes())
    real = backfill_module.parse_story

    def buggy(data: bytes, uri: str, **kwargs: object) -> Story:
        if uri.endswith("trips.txt"):
            raise RecursionError("maximum recursion depth exceeded")
        return real(data, uri, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(backfill_module, "parse_story", buggy)
    today = datetime.now(UTC).date()
    plan = backfill_module.plan_backfill(
        LocalStorage(str(landing)), LocalStorage(str(tmp_path / "store")), date(1990, 1, 1), today, IngestSettings()
    )
    assert sorted(k for keys in plan.by_day.values() for k in keys) == ["fine.txt", "trips.txt"]
    assert "trips.txt" in plan.by_day[today]  # dated by its file's time


@pytest.mark.parametrize(
    "body",
    [
        b"404 page not found\n",  # Go's http.NotFound (Traefik, Caddy, many APIs)
        b"Service Unavailable",  # a reason phrase alone
        b"HTTP/1.1 503 Service Unavailable\r\n",
        b"502 Bad Gateway",
        b"no healthy upstream",  # Envoy
        b"upstream connect error or disconnect/reset before headers. reset reason: connection failure",
        b"default backend - 404",  # a Kubernetes ingress
        b"Cannot GET /feeds/latest.txt\n",  # Express
        b"  Not Found.\n\n",
    ],
)
def test_a_server_s_plain_text_error_answer_is_quarantined_not_a_brief(body: bytes) -> None:
    """A poller that saves whatever it was answered saves a server's error body in a story's
    place: one line, read as a brief (a headline with an empty body), it was a story row."""
    with pytest.raises(ParseError) as caught:
        parse_story(body, "feed/latest.txt")
    assert caught.value.reason == "error_page" and "fetch it again" in caught.value.detail


@pytest.mark.parametrize(
    "body",
    [
        b"400 killed in quake\n",  # a number, not a status
        b"404 Not Found: why links die\n",  # more than the status
        b"FLASH: Service unavailable at Heathrow after power cut\n",
        b"Not found, the missing hikers turn up safe\n",
        b"Service Unavailable\n\nThe rail operator said trains between Paris and Lyon were cancelled on Tuesday.\n",
    ],
)
def test_a_brief_that_starts_like_an_error_answer_is_still_a_story(body: bytes) -> None:
    story = parse_story(body, "wire/brief.txt")
    assert story.headline == body.decode().strip().split("\n")[0]
