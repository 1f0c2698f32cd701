"""The benchmark corpus of issue 11 (tests/corpus.py ``write_varied_corpus``): stories of
1-4 KB in the golden inputs' own layouts, distinct from each other except the near copies
planted on purpose. A corpus whose stories were near copies of each other (as growing a
story by repeating its own lines made them) measures the duplicate lookup's worst case,
not a feed."""

from __future__ import annotations

from pathlib import Path

from parsers import parse_story
from parsers.fingerprint import fingerprint_of, near_duplicates
from tests.corpus import write_varied_corpus


def test_varied_corpus_is_distinct_stories_of_1_to_4_kb_with_planted_near_copies(tmp_path: Path) -> None:
    paths = write_varied_corpus(tmp_path, 150, seed=7)
    assert [p.read_bytes() for p in paths] == [
        p.read_bytes() for p in write_varied_corpus(tmp_path / "again", 150, seed=7)
    ]
    stories = [parse_story(p.read_bytes(), str(p)) for p in paths]  # each parses to a story
    sizes = [p.stat().st_size for p in paths]
    assert min(sizes) >= 1000 and max(sizes) <= 4000 * 1.3
    assert len({s.story_id for s in stories}) == len(stories)
    assert len({s.agency for s in stories}) >= 4  # several templates, several agencies
    prints = [fingerprint_of(s) for s in stories]
    copied = [n for n in range(len(stories)) if any(near_duplicates(prints[n], prints[m]) for m in range(n))]
    planted = [n for n in range(len(stories)) if n % 10 == 9]
    assert set(planted) <= set(copied)  # every planted copy is found
    assert len(set(copied) - set(planted)) <= 1  # and almost nothing else is a copy
    # The grown body keeps the template's paragraph layout: a CRLF template stays CRLF.
    crlf = [p.read_bytes() for p in paths if b"\r\n" in p.read_bytes()]
    assert crlf and all(data.count(b"\r\n") == data.count(b"\n") for data in crlf)


def test_a_story_grown_to_4_kb_keeps_every_field_its_template_has(tmp_path: Path) -> None:
    """The parser reads headers, datelines and trailers by structure: a body grown with
    other paragraphs (words varied, the template's line ends and indentation kept) must
    not move any field. Templates whose headline the growth varied are skipped."""
    from tests.corpus import golden_inputs

    templates = {}
    for path in golden_inputs():
        if path.suffix == ".txt":
            try:
                story = parse_story(path.read_bytes(), path.name)
            except Exception:  # the goldens of quarantined inputs
                continue
            templates.setdefault(story.headline, story)
    fields = ("agency", "dateline", "byline", "editors", "contacts", "copyright", "published_at", "language")
    compared = 0
    for path in write_varied_corpus(tmp_path, 300, copy_every=0, seed=3):
        grown = parse_story(path.read_bytes(), str(path))
        template = templates.get(grown.headline)
        if template is not None:
            compared += 1
            assert [getattr(grown, f) for f in fields] == [getattr(template, f) for f in fields], path.name
    assert compared >= 280
