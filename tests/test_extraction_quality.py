"""Article-body quality on the aeb-dev pages, scored with the benchmark's metric.

This guards the level reached (aeb-dev F1 0.983, precision 0.980, exact 0.457; trafilatura-dev F 0.965 on
half A, 0.945 on half B with the standfirst column, 0.946 and 0.924 for the body alone), not
speed: quality is deterministic, timing is not.
"""

from __future__ import annotations

from bench.aeb_metric import page_scores, score_pages
from bench.extraction_quality import extract_ours, load_pages


def test_metric_on_known_pairs() -> None:
    assert page_scores("a b c d e", "a b c d e") == (1.0, 0.0, 0.0)
    score = score_pages([("one two three four five", "one two three four five"), ("x y z w", "q r s t")])
    assert score.precision == 0.5 and score.recall == 0.5 and score.accuracy == 0.5


def test_html_extraction_f1_floor_on_aeb_dev() -> None:
    pages = load_pages()
    assert len(pages) == 92
    score = score_pages([(extract_ours(data), truth) for _, data, truth in pages])
    assert score.f1 >= 0.981, score
    assert score.precision >= 0.979 and score.recall >= 0.98, score
    assert score.accuracy >= 0.44, score


def test_segment_metric_counts_as_the_corpus_defines_it() -> None:
    from bench.segments_quality import Score, half_of, score_page

    score = Score()
    missed, leaked = score_page("Story  text here.\nMore text.", ["Story text", "absent"], ["More text", "menu"], score)
    assert (score.tp, score.fn, score.fp, score.tn) == (1, 1, 1, 1) and missed == ["absent"] and leaked == ["More text"]
    assert {half_of(str(n)) for n in range(20)} == {"A", "B"}


def test_html_extraction_floor_on_trafilatura_dev_both_halves() -> None:
    # A regression guard at today's level (issue 9 aims higher: F >= trafilatura's + 0.03).
    # Scored on the standfirst column above the body, as the benchmark scores it; the body
    # alone keeps its own floor (the standfirst must add to it, never take from it).
    floors = {"A": 0.964, "B": 0.943}
    body_floors = {"A": 0.944, "B": 0.922}
    from bench.segments_quality import Score, extract_ours, extract_story_text, half_of, load_pages, score_page

    pages = load_pages()
    assert len(pages) == 253
    scores = {"A": Score(), "B": Score()}
    body_scores = {"A": Score(), "B": Score()}
    for page_id, data, with_, without in pages:
        score_page(extract_story_text(data), with_, without, scores[half_of(page_id)])
        score_page(extract_ours(data), with_, without, body_scores[half_of(page_id)])
    for half, score in scores.items():
        assert score.f >= floors[half] and score.precision >= 0.94, (half, score)
        assert score.recall > body_scores[half].recall, (half, score, body_scores[half])
        assert body_scores[half].f >= body_floors[half], (half, body_scores[half])
