"""Near duplicates: precision/recall on the labelled set in tests/dupes/, and the flow marking
copies with duplicate_of across runs (ledger) and inside one batch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.near_duplicates import DUPES, evaluate
from flows.ingest import ingest_flow
from tests.test_flow_ingest import read_stories


def test_labelled_set_is_the_committed_one() -> None:
    pairs = [json.loads(line) for line in (DUPES / "pairs.jsonl").read_text(encoding="utf-8").splitlines()]
    kinds = {p["kind"] for p in pairs}
    assert {"republished", "update1", "corrected", "trimmed", "rewrapped", "different_story"} <= kinds
    # Re-sends of 1987 wire copy and one template's reports on two days.
    assert {"ticker_dropped", "reworded", "line_added", "template_next_day", "different_story_1987"} <= kinds
    assert sum(p["duplicate"] for p in pairs) >= 150 and sum(not p["duplicate"] for p in pairs) >= 650
    assert all((DUPES / "stories" / p[side]).is_file() for p in pairs for side in ("a", "b"))


def test_precision_and_recall_on_the_labelled_set() -> None:
    simhash_only, pipeline = evaluate()
    overall = pipeline["all"]
    assert overall.precision >= 0.99, overall
    assert overall.recall >= 0.95, overall
    for kind in ("update1", "corrected", "trimmed", "republished", "ticker_dropped", "line_added", "reworded"):
        assert pipeline[kind].recall >= 0.9, (kind, pipeline[kind])
    # The paragraph rule is what finds updated copies: simhash alone misses them.
    assert simhash_only["update1"].recall < 0.5
    # Short re-sends move the simhash: MinHash resemblance finds them.
    assert simhash_only["line_added"].recall < 0.5
    # A template's next-day report is near in simhash but is another story: the day decides.
    assert simhash_only["template_next_day"].fp > 0 and pipeline["template_next_day"].fp == 0


def _write(folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes((DUPES / "stories" / name).read_bytes())


def test_flow_marks_updates_and_republished_copies(prefect_server: str, tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    landing = tmp_path / "landing"
    _write(landing / "day1", "reuters-update1.txt")
    _write(landing / "day1", "ap-underscore-contrib.txt")
    ingest_flow(source=str(landing), dest=store)
    # The next run brings an update and a republished copy (found through the ledger),
    # and two copies of another story in one batch (found through the batch's own index).
    _write(landing / "day2", "reuters-update1--update1.txt")
    _write(landing / "day2", "reuters-update1--republished.txt")
    _write(landing / "day2", "bloomberg-hardwrapped.txt")
    _write(landing / "day2", "bloomberg-hardwrapped--corrected.txt")
    second = ingest_flow(source=str(landing), dest=store)
    assert second["stories"] == 4 and second["near_duplicates"] == 3
    rows = {Path(str(r["source_uri"])).name: r for r in read_stories(store)}
    original = rows["reuters-update1.txt"]["story_id"]
    assert rows["reuters-update1--update1.txt"]["duplicate_of"] == original
    assert rows["reuters-update1--republished.txt"]["duplicate_of"] == original
    # Inside one batch the first in input order is the original (here the corrected copy's
    # name sorts first): one of the two points at the other, never both.
    first, later = rows["bloomberg-hardwrapped--corrected.txt"], rows["bloomberg-hardwrapped.txt"]
    assert first["duplicate_of"] is None and later["duplicate_of"] == first["story_id"]
    assert rows["ap-underscore-contrib.txt"]["duplicate_of"] is None


def test_flow_links_a_short_resend_but_not_the_next_days_template_report(prefect_server: str, tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    landing = tmp_path / "landing"
    for name in ("wire87-bellwood-results.txt", "wire87-fed-reserves.txt", "wire87-harlow-results.txt"):
        _write(landing / "day1", name)
    ingest_flow(source=str(landing), dest=store)
    # Next run: the results table re-sent without its ticker, and the Fed's next-day report.
    _write(landing / "day2", "wire87-bellwood-results--ticker_dropped.txt")
    _write(landing / "day2", "wire87-fed-reserves--next-day.txt")
    second = ingest_flow(source=str(landing), dest=store)
    assert second["stories"] == 2 and second["near_duplicates"] == 1
    rows = {Path(str(r["source_uri"])).name: r for r in read_stories(store)}
    resend = rows["wire87-bellwood-results--ticker_dropped.txt"]
    assert resend["duplicate_of"] == rows["wire87-bellwood-results.txt"]["story_id"]
    assert resend["thread_id"] == rows["wire87-bellwood-results.txt"]["story_id"]
    assert rows["wire87-fed-reserves--next-day.txt"]["duplicate_of"] is None
    # Two companies' tables sharing a boilerplate NOTE line are two stories.
    assert rows["wire87-harlow-results.txt"]["duplicate_of"] is None


def test_posting_lists_stay_bounded_and_copies_are_still_found() -> None:
    """A paragraph in every story (boilerplate that escaped the rules) keeps only the latest
    MAX_POSTINGS stories; a copy is still found by what identifies it."""
    from parsers.fingerprint import Fingerprint
    from table.ledger import MAX_POSTINGS, LedgerIndex

    index = LedgerIndex()
    common = "c0ffee0000000000"
    for n in range(10 * MAX_POSTINGS):
        keys = (common, f"{n:016x}", f"{n + 10**6:016x}")
        index.add_story(f"s{n}", f"sha{n}", Fingerprint(n * 0x9E3779B97F4A7C15 % 2**64, keys, b"", None))
    lists = [v for v in index._by_paragraph.values() if isinstance(v, list)]
    assert [len(v) for v in lists] == [MAX_POSTINGS]  # the common paragraph's; the rest hold one story, bare
    first = Fingerprint(2**64 - 1, (common, f"{0:016x}", f"{10**6:016x}"), b"", None)  # simhash far: by paragraphs
    assert index.near_duplicate_of(first, set()) == "s0"
    unrelated = Fingerprint(2**63 + 12345, (common, "f" * 16, "e" * 16), b"", None)
    assert index.near_duplicate_of(unrelated, set()) is None  # one boilerplate paragraph is no copy


def test_simhash_lookup_keeps_to_the_story_day_and_returns_the_earliest_copy() -> None:
    """The simhash bands are kept per day: a dated story is matched against its own day and
    undated stories, an undated one against every day, and among matches in a band the
    story indexed first wins, wherever its day put it."""
    from parsers.fingerprint import Fingerprint
    from table.ledger import LedgerIndex

    base = 0x0123_4567_89AB_CDEF
    index = LedgerIndex()
    index.add_story("other-day", "sha1", Fingerprint(base, (), b"", "03-01"))
    index.add_story("undated", "sha2", Fingerprint(base ^ 0b1, (), b"", None))
    index.add_story("same-day", "sha3", Fingerprint(base ^ 0b10, (), b"", "03-02"))
    index.add_story("far", "sha4", Fingerprint(base ^ 0xFFFF_0000_FFFF_0000, (), b"", "03-02"))

    def copy_of(day: str | None, exclude: set[str] | None = None) -> str | None:
        return index.near_duplicate_of(Fingerprint(base ^ 0b100, (), b"", day), exclude or set())

    assert copy_of("03-02") == "undated"  # indexed before "same-day"; "other-day" is another day
    assert copy_of("03-02", {"undated"}) == "same-day"
    assert copy_of("03-01") == "other-day"
    assert copy_of("04-09", {"undated"}) is None  # nobody else on that day
    assert copy_of(None) == "other-day"  # undated: any day, the first indexed
    assert copy_of(None, {"other-day", "undated", "same-day"}) is None  # 32 bits off is no copy


def test_a_merged_batch_index_is_the_index_built_story_by_story() -> None:
    """A committed batch's index is merged into the run's (its stories indexed once): every
    posting list, trimmed to the latest MAX_POSTINGS, its order numbers, bodies, prints and
    cluster roots are what adding the same stories one by one builds."""
    import random

    from parsers.fingerprint import Fingerprint
    from table.ledger import MAX_POSTINGS, LedgerIndex

    rng = random.Random(7)
    common = [f"{n:016x}" for n in range(3)]  # paragraphs in many stories: lists overflow

    def story(n: int) -> tuple[str, str, Fingerprint]:
        keys = (rng.choice(common), f"{rng.randrange(40):016x}", f"{n + 10**6:016x}")
        signature = bytes(rng.randrange(4) for _ in range(128))  # bands shared by some stories
        day = rng.choice([None, "03-01", "03-02"])
        return f"s{n}", f"sha{n % 90}", Fingerprint(rng.getrandbits(8) << 56, keys, signature, day)

    stories = [story(n) for n in range(3 * MAX_POSTINGS)]
    copies = {f"s{n}": f"s{n - 5}" for n in range(10, len(stories), 7)}  # some copies of earlier ones

    whole = LedgerIndex()
    for story_id, sha, print_ in stories:
        whole.add_story(story_id, sha, print_)
        if story_id in copies:
            whole.add_copy(story_id, copies[story_id])
    merged = LedgerIndex()
    for start in range(0, len(stories), 50):
        batch = merged.for_batch()
        for story_id, sha, print_ in stories[start : start + 50]:
            batch.add_story(story_id, sha, print_)
            if story_id in copies:  # as run_batch records a copy: by its root, if already merged
                batch.add_copy(story_id, merged.cluster_root(copies[story_id]) or copies[story_id])
        merged.merge(batch)

    assert any(isinstance(v, list) and len(v) == MAX_POSTINGS for v in merged._by_paragraph.values())
    assert merged._posting_dicts() == whole._posting_dicts()
    assert (merged._added, merged._by_content, merged._prints, merged._roots, merged._story_ids) == (
        whole._added,
        whole._by_content,
        whole._prints,
        whole._roots,
        whole._story_ids,
    )
    probe = story(5000)[2]
    assert merged.near_duplicate_of(probe, set()) == whole.near_duplicate_of(probe, set())
    with pytest.raises(ValueError, match="for_batch"):
        merged.merge(LedgerIndex())  # numbered from 0: its order numbers would clash


def test_an_undated_lookup_over_many_days_finds_what_scanning_every_day_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past DAY_SCAN_LIMIT days an index reads, for an undated story, only the days whose
    band lists hold its band values (a bitmap made on the first such lookup and kept up to
    date by later stories and merged batches): the same answers as reading every day."""
    import dataclasses
    import random

    import table.ledger as ledger
    from parsers.fingerprint import Fingerprint
    from table.ledger import LedgerIndex, near_duplicate_in

    rng = random.Random(11)
    days = [None] + [f"{m:02d}-{d:02d}" for m in range(1, 13) for d in (1, 15, 31)]  # 36 days and undated

    def story(group: int) -> Fingerprint:
        # Few band values, so lists on several days share them; each group of stories
        # (before the bitmap, after it, a merged batch, a pending batch) its own values.
        simhash = sum((6 * group + rng.randrange(6)) << (16 * band) for band in range(4))
        return Fingerprint(simhash ^ rng.getrandbits(2) << 14, (), b"", rng.choice(days))

    groups = [[story(group) for _ in range(size)] for group, size in enumerate((300, 100, 50, 60))]

    def build(limit: int) -> tuple[LedgerIndex, LedgerIndex]:
        monkeypatch.setattr(ledger, "DAY_SCAN_LIMIT", limit)
        index = LedgerIndex()
        numbered = [(f"s{g}-{n}", print_) for g, group in enumerate(groups) for n, print_ in enumerate(group)]
        for story_id, print_ in numbered[:300]:
            index.add_story(story_id, story_id, print_)
        index.near_duplicate_of(dataclasses.replace(groups[0][0], day=None), set())  # the first undated lookup
        for story_id, print_ in numbered[300:400]:  # added after the bitmap is made
            index.add_story(story_id, story_id, print_)
        batch = index.for_batch()
        for story_id, print_ in numbered[400:450]:
            batch.add_story(story_id, story_id, print_)
        index.merge(batch)
        pending = index.for_batch()  # a batch's own index, looked up with the run's
        for n, (story_id, print_) in enumerate(numbered[450:]):
            if n == 25:  # a lookup in the middle of the batch, as run_batch makes them
                near_duplicate_in([(index, set()), (pending, set())], dataclasses.replace(print_, day=None))
            pending.add_story(story_id, story_id, print_)
        return index, pending

    scanned, scanned_batch = build(10**6)
    mapped, mapped_batch = build(16)
    assert scanned._value_days is None and mapped._value_days is not None
    # Undated copies of every story (a bit flipped or not), and dated ones.
    queries = [dataclasses.replace(p, simhash=p.simhash ^ rng.getrandbits(1), day=None) for g in groups for p in g]
    queries += [p for g in groups for p in g[:20]]
    excluded = {f"s0-{n}" for n in range(0, 300, 3)}
    monkeypatch.setattr(ledger, "DAY_SCAN_LIMIT", 10**6)
    answers = [near_duplicate_in([(scanned, excluded), (scanned_batch, set())], q) for q in queries]
    assert scanned._value_days is None  # every day read
    monkeypatch.setattr(ledger, "DAY_SCAN_LIMIT", 16)
    assert answers == [near_duplicate_in([(mapped, excluded), (mapped_batch, set())], q) for q in queries]
    for group in range(4):  # every group's stories are found, the pending batch's too
        assert sum(1 for a in answers if a and a.startswith(f"s{group}-")) >= 10
