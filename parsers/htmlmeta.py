"""Page metadata: title, authors, publication time, canonical URL, language.

Read from JSON-LD, Open Graph / article / Dublin Core meta tags and ``<time>``, in
that order of trust. Nothing is invented: a value the page does not state stays None.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast
from urllib.parse import urlsplit

from lxml import etree

from parsers.dates import parse_datetime

# Rules as data: where each field may be found, most trusted first.
TITLE_META = ("og:title", "twitter:title", "sailthru.title", "parsely-title", "dc.title", "title")
DATE_META = (
    "article:published_time",
    "og:article:published_time",
    "datepublished",
    "date",
    "pubdate",
    "publishdate",
    "publish-date",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date",
    "dc.date.issued",
    "dcterms.created",
    "article.published",
    "originalpublicationdate",
    "cxenseparse:recs:publishtime",
    "og:published_time",
    "article:modified_time",
)
AUTHOR_META = ("author", "article:author", "parsely-author", "sailthru.author", "dc.creator", "byl")
URL_META = ("og:url", "twitter:url")
DESCRIPTION_META = ("description", "og:description", "twitter:description", "dc.description")
SITE_META = ("og:site_name", "application-name", "publisher")
LANG_META = ("content-language", "og:locale", "dc.language", "language")
_ARTICLE_TYPES = re.compile(r"(News)?Article|BlogPosting|Report|LiveBlogPosting|WebPage", re.IGNORECASE)
_TITLE_SUFFIX = re.compile(r"\s+[|\-–—:·•]\s+[^|\-–—:·•]{2,60}$")


@dataclass
class PageMetadata:
    """What a page says about itself."""

    title: str | None = None
    h1: str | None = None
    authors: list[str] = field(default_factory=list)
    published_at: datetime | None = None
    url: str | None = None
    language: str | None = None
    site_name: str | None = None
    article_body: str | None = None
    #: The page's own summary of the story (JSON-LD ``description``, else a description meta).
    description: str | None = None


def _meta_values(tree: etree._Element) -> dict[str, str]:
    values: dict[str, str] = {}
    for meta in tree.iter("meta"):
        key = (
            (meta.get("property") or meta.get("name") or meta.get("itemprop") or meta.get("http-equiv") or "")
            .strip()
            .lower()
        )
        content = (meta.get("content") or "").strip()
        if key and content and key not in values:
            values[key] = content
    return values


def _json_ld_objects(tree: etree._Element) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for script in tree.iter("script"):
        if (script.get("type") or "").lower() != "application/ld+json" or not script.text:
            continue
        try:
            data = json.loads(script.text.strip().rstrip(";"))
        except (ValueError, RecursionError):  # broken or absurdly nested JSON-LD: no metadata from it
            continue
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                if "@graph" in item:
                    stack.append(item["@graph"])
                objects.append(item)
    return objects


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value.strip()] if value.strip() and not value.startswith("http") else []
    if isinstance(value, dict):
        return _names(value.get("name"))
    if isinstance(value, list):
        return [name for item in value for name in _names(item)]
    return []


def _types(obj: dict[str, Any]) -> str:
    value = obj.get("@type", "")
    return " ".join(value) if isinstance(value, list) else str(value)


def _links_home(h1: etree._Element) -> bool:
    """Whether ``h1`` is, or sits in, a link to its site's home page ("/",
    "https://example.org/"): a logo's text, not a headline."""
    for link in (*h1.iterancestors("a"), *h1.iter("a")):
        href = (link.get("href") or "").strip()
        if href:
            parts = urlsplit(href)
            if parts.path in ("", "/") and not parts.query and not parts.fragment:
                return True
    return False


#: An element's text nodes outside scripts and styles (one XPath: no recursion, whatever the
#: nesting).
_VISIBLE_STRINGS = etree.XPath(
    "descendant::text()[not(ancestor::script or ancestor::style or ancestor::noscript or ancestor::template)]"
)


def _headline_text(element: etree._Element) -> str:
    """``element``'s text without the inside of scripts and styles (CSS-in-JS pages put a
    <style> inside the headline), whitespace folded."""
    return " ".join("".join(str(s) for s in cast("list[str]", _VISIBLE_STRINGS(element))).split())


def _page_h1(tree: etree._Element, site_name: str | None) -> str | None:
    """The text of the page's headline <h1>: the first <h1> that is not site chrome (in a
    <nav>, linking to the home page, or the site's name), else the first <h1>. Blog themes
    print the site's name in an <h1> above the post's own."""
    first = None
    for h1 in tree.iter("h1"):
        text = _headline_text(h1)
        if not text:
            continue
        if first is None:
            first = text
        in_nav = next(h1.iterancestors("nav"), None) is not None
        if not (in_nav or _links_home(h1) or (site_name and text.casefold() == site_name.strip().casefold())):
            return text
    return first


def read_metadata(tree: etree._Element) -> PageMetadata:
    """Collect the page's own statements about the story."""
    meta = _meta_values(tree)
    found = PageMetadata()
    for obj in _json_ld_objects(tree):
        if not _ARTICLE_TYPES.search(_types(obj)):
            continue
        headline = obj.get("headline") or obj.get("name")
        if isinstance(headline, str) and headline.strip() and found.title is None and "WebPage" not in _types(obj):
            found.title = headline.strip()
        if found.published_at is None and isinstance(obj.get("datePublished"), str):
            found.published_at = parse_datetime(obj["datePublished"])
        if not found.authors:
            found.authors = _names(obj.get("author"))
        if found.article_body is None and isinstance(obj.get("articleBody"), str):
            found.article_body = obj["articleBody"]
        if found.url is None and isinstance(obj.get("url"), str) and obj["url"].startswith("http"):
            found.url = obj["url"]
        if found.description is None and isinstance(obj.get("description"), str):
            found.description = obj["description"]
    if found.title is None:
        found.title = next((meta[k] for k in TITLE_META if k in meta), None)
    site_name = next((meta[k] for k in SITE_META if k in meta), None)
    found.h1 = _page_h1(tree, site_name)
    if found.title is None:
        found.title = found.h1
    if found.title is None:
        title = tree.find(".//title")
        if title is not None and title.text:
            found.title = _TITLE_SUFFIX.sub("", " ".join(title.text.split())) or None
    if found.published_at is None:
        for key in DATE_META:
            if key in meta:
                found.published_at = parse_datetime(meta[key])
                if found.published_at:
                    break
    if found.published_at is None:
        for time in tree.iter("time"):
            value = time.get("datetime") or ""
            parsed = parse_datetime(value) if value else None
            if parsed:
                found.published_at = parsed
                break
    if not found.authors:
        for key in AUTHOR_META:
            value = meta.get(key, "")
            if value and not value.startswith("http"):
                found.authors = [a.strip() for a in re.split(r"\s*(?:,|\band\b|;)\s*", value) if a.strip()]
                break
    canonical = next(
        (link.get("href") for link in tree.iter("link") if "canonical" in (link.get("rel") or "").lower().split()),
        None,
    )
    found.url = (
        canonical
        if canonical and canonical.startswith("http")
        else found.url or next((meta[k] for k in URL_META if k in meta), None)
    )
    found.language = tree.get("lang") or tree.get("xml:lang") or next((meta[k] for k in LANG_META if k in meta), None)
    found.site_name = site_name
    found.description = found.description or next((meta[k] for k in DESCRIPTION_META if k in meta), None)
    return found
