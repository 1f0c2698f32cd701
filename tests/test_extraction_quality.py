"""Article-body quality on the aeb-dev pages, scored with the benchmark's metric.

This guards the goal (F1 >= 0.97; measured 0.973), not speed: quality is deterministic,
timing is not.
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
    assert score.f1 >= 0.97, score
    assert score.precision >= 0.96 and score.recall >= 0.97, score
