"""The article-extraction-benchmark metric (Scrapinghub/Zyte), reimplemented.

Texts are split into ``\\w+`` tokens and counted as 4-token shingles; per page the
true/false positives and false negatives are the shingle-count overlaps, normalised to
sum to 1; precision and recall are averaged over pages; F1 comes from those averages.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

_TOKEN = re.compile(r"\w+")
SHINGLE = 4


def shingles(text: str) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN.findall(text or "")
    return Counter(tuple(tokens[i : i + SHINGLE]) for i in range(max(0, len(tokens) - SHINGLE + 1)))


def page_scores(predicted: str, truth: str) -> tuple[float, float, float]:
    """(tp, fp, fn) for one page, normalised to sum to 1 (an empty pair counts as perfect)."""
    pred, true = shingles(predicted), shingles(truth)
    tp = sum((pred & true).values())
    fp = sum((pred - true).values())
    fn = sum((true - pred).values())
    total = tp + fp + fn
    if total == 0:
        return 0.0, 0.0, 0.0
    return tp / total, fp / total, fn / total


@dataclass
class Score:
    precision: float
    recall: float
    f1: float
    accuracy: float
    pages: int


def score_pages(pairs: list[tuple[str, str]]) -> Score:
    """Score (predicted, truth) pairs with the benchmark's averaging."""
    precisions, recalls, exact = [], [], 0
    for predicted, truth in pairs:
        tp, fp, fn = page_scores(predicted, truth)
        if fp == 0 and fn == 0:
            precisions.append(1.0)
            recalls.append(1.0)
        elif tp == 0:
            precisions.append(0.0)
            recalls.append(0.0)
        else:
            precisions.append(tp / (tp + fp))
            recalls.append(tp / (tp + fn))
        exact += _TOKEN.findall(predicted or "") == _TOKEN.findall(truth or "")
    n = len(pairs)
    p = sum(precisions) / n if n else 0.0
    r = sum(recalls) / n if n else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return Score(p, r, f1, exact / n if n else 0.0, n)
