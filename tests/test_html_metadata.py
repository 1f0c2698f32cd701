"""Metadata from HTML: JSON-LD first, then meta tags, then <time>; never invented."""

from __future__ import annotations

import json

from parsers import parse_story
from schemas import Story

STORY = "".join(
    f"<p>The port of Rotterdam reopened on Tuesday after a three-day strike, the union said, "
    f"and shipping lines began to clear the backlog of containers number {i}.</p>"
    for i in range(4)
)


def _parse(head: str, body: str = f"<article><h1>Port strike ends</h1>{STORY}</article>", lang: str = "") -> Story:
    page = f"<html{lang}><head>{head}</head><body>{body}</body></html>"
    return parse_story(page.encode(), "page.html")


def test_json_ld_wins_over_meta_and_time() -> None:
    ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": "Port strike ends",
        "datePublished": "2024-03-05T08:30:00+01:00",
        "author": [{"@type": "Person", "name": "Bart Meijer"}, {"@type": "Person", "name": "Jan Harvey"}],
        "url": "https://example.com/ld-url",
    }
    head = (
        f"<script type='application/ld+json'>{json.dumps(ld)}</script>"
        "<meta property='article:published_time' content='2024-03-06T00:00:00Z'>"
        "<meta name='author' content='Someone Else'>"
        "<link rel='canonical' href='https://example.com/canonical'>"
    )
    story = _parse(head, lang=" lang='en-GB'")
    assert story.published_at is not None and story.published_at.isoformat() == "2024-03-05T07:30:00+00:00"
    assert story.byline == ["Bart Meijer", "Jan Harvey"]
    assert story.url == "https://example.com/canonical"  # the canonical link is the page's own statement
    assert story.language == "en"


def test_meta_tags_then_time_element() -> None:
    story = _parse(
        "<meta name='author' content='Anna Lee and Tom Kranz'><meta property='og:url' content='https://e.com/a'>"
    )
    assert story.byline == ["Anna Lee", "Tom Kranz"]
    assert story.url == "https://e.com/a"
    assert story.published_at is None
    timed = _parse(
        "", body=f"<article><h1>Port strike ends</h1><time datetime='2024-03-05'>5 March</time>{STORY}</article>"
    )
    assert timed.published_at is not None and timed.published_at.isoformat() == "2024-03-05T00:00:00+00:00"


def test_nothing_is_invented_when_the_page_says_nothing() -> None:
    story = _parse("")
    assert story.published_at is None
    assert story.url is None
    assert story.byline == [] and story.editors == []
    assert story.copyright is None and story.dateline is None
    assert story.language == "en"  # detected from the text, the one field always filled
