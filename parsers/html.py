"""HTML pages: prune the page, find the article region and read its paragraphs, all on
lxml's tree (libxml2 parses; the scoring reads readability-style paragraph scores, link
density and class/id hints).

The region's paragraphs are read by walking that tree (``_paragraphs``). Up to the eleventh
session its markup was serialized and parsed again by BeautifulSoup for that walk: the same
paragraphs (tests/test_properties.py compares the two on generated trees; ~4,400 inputs gave
identical stories) at ~8x the cost, a fifth of an HTML page's parse.
"""

from __future__ import annotations

import html as html_lib
import itertools
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, cast

from lxml import etree
from lxml import html as lxml_html

from parsers.decode import clean_text, repair_mojibake, strip_controls
from parsers.htmlmeta import PageMetadata, read_metadata
from parsers.rules import error_status
from parsers.wire import Draft, agency_hint, find_copyright, parse_credit_line, same_headline
from schemas.errors import ParseError
from schemas.story import Removed

# --- Rules as data ---------------------------------------------------------------------
#: Elements dropped with everything inside them; their visible text is not story text.
DROP_TAGS = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "svg",
        "iframe",
        "form",
        "button",
        "input",
        "select",
        "textarea",
        "canvas",
        "video",
        "audio",
        "object",
        "embed",
        "head",
        "link",
        "meta",
        "picture",
        "source",
        "dialog",
        "menu",
    }
)
#: Structural tags and the ``removed`` kind their text gets.
STRUCTURAL_KINDS = {
    "nav": "navigation",
    "footer": "navigation",
    "aside": "related_links",
    "figcaption": "caption",
    "figure": "caption",
    "header": "navigation",
}
#: class/id/role words that mark boilerplate, with the kind recorded in ``removed``.
NEGATIVE_HINTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "advertisement",
        re.compile(
            r"(^|[\s_-])(ad|ads|adv|advert|advertisement|dfp|gpt|sponsor(ed)?|promo(tion)?s?|banner|outbrain|taboola|commercial)([\s_-]|$)|ad-?slot|adunit|ad-?container",
            re.I,
        ),
    ),
    ("share_widget", re.compile(r"share|social|sharing|toolbar|tools|print-?button|bookmark", re.I)),
    (
        "newsletter",
        re.compile(r"newsletter|subscri(be|ption)|signup|sign-up|paywall|registration|(^|[\s_-])cta([\s_-]|$)", re.I),
    ),
    (
        "related_links",
        re.compile(
            r"related|recommend|more-?(stories|news|articles)|read-?more|also-?read|most-?(read|popular)|trending|popular|next-?article|teaser|rail|widget|carousel|tags?(-list)?$|topics",
            re.I,
        ),
    ),
    (
        "navigation",
        re.compile(
            r"(^|[\s_-])(nav|navbar|navigation|menu|breadcrumbs?|masthead|site-?header|footer|sidebar|skip|pagination|pager|cookie|consent|modal|popup|overlay|drawer|hidden|sr-only|visually-?hidden|offscreen)([\s_-]|$)",
            re.I,
        ),
    ),
    (
        "caption",
        re.compile(
            r"caption|credit|photo-?(info|meta)|image-?(info|meta)|media-?(info|meta)|gallery|slideshow|video-?(player|wrap)|lightbox",
            re.I,
        ),
    ),
    (
        "byline",
        re.compile(
            r"byline|author|contributor|dateline|timestamp|publish(ed)?-?(date|time)|article-?meta|post-?meta|entry-?meta|story-?meta|meta-?data",
            re.I,
        ),
    ),
    (
        "boilerplate",
        re.compile(
            r"comment|kommentar|comentario|community|disqus|feedback|rating|disclaimer|disclosure|copyright|legal|corrections?-?policy|print-?only|app-?promo|live-?updates-?nav|rollover[\w-]*(block|card|content)|tool-?tip|popover|hover-?card",
            re.I,
        ),
    ),
)
POSITIVE_HINT = re.compile(
    r"article(?!s)|body|content|entry|main|page|post(?!s)|text|blog|story|prose|rich-?text|paragraph", re.I
)
# The same patterns without re.I, for hint strings lowered first: Python's case-insensitive
# matching of long alternations is ~3x slower, and pages carry thousands of class strings.
_NEGATIVE_LOWER = tuple((kind, re.compile(pattern.pattern)) for kind, pattern in NEGATIVE_HINTS)
_POSITIVE_LOWER = re.compile(POSITIVE_HINT.pattern)
# One pass to rule out the common case (no boilerplate hint at all) before the ordered loop.
_ANY_NEGATIVE = re.compile("|".join(f"(?:{pattern.pattern})" for _, pattern in NEGATIVE_HINTS))
#: Elements whose text is paragraph-like for scoring.
SCORE_TAGS = frozenset({"p", "pre", "td", "blockquote"})
BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "section",
        "article",
        "main",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "ul",
        "ol",
        "li",
        "blockquote",
        "pre",
        "table",
        "tr",
        "td",
        "th",
        "dl",
        "dt",
        "dd",
        "header",
        "footer",
        "figure",
        "aside",
        "hr",
        "br",
        "address",
        "center",
        "body",
    }
)
_TAG_WEIGHT = {
    "div": 5,
    "article": 10,
    "main": 5,
    "section": 3,
    "pre": 3,
    "td": 3,
    "blockquote": 3,
    "ol": -3,
    "ul": -3,
    "dl": -3,
    "dd": -3,
    "dt": -3,
    "li": -3,
    "address": -3,
    "form": -3,
    "h1": -5,
    "h2": -5,
    "h3": -5,
    "h4": -5,
    "h5": -5,
    "h6": -5,
    "th": -5,
}
#: Inline elements: their text runs on inside the paragraph. They are unwrapped before the
#: region's paragraphs are read.
INLINE_TAGS = (
    "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "del", "dfn", "em", "font", "i", "ins",
    "kbd", "label", "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var",
)  # fmt: skip
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
# The plain etree parser: lxml.html's element classes cost a Python lookup per node visited.
_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True)
HtmlElement = etree._Element


def _squash(text: str) -> str:
    """Runs of whitespace folded to one space, ends trimmed (str.split is C, faster than re)."""
    return " ".join(text.split())


def _strings(element: HtmlElement) -> Iterator[str]:
    """The element's text nodes (str: the tree was parsed from str)."""
    return cast("Iterator[str]", element.itertext())


_STRING = etree.XPath("string()", smart_strings=False)


def _text(element: HtmlElement) -> str:
    """The element's text with whitespace folded (its text nodes joined by libxml2: twice
    as fast as joining itertext() in Python); kept while the tree is only read
    (`_texts_kept`)."""
    kept: dict[HtmlElement, str] | None = _KEPT.texts
    if kept is None:
        return _squash(cast(str, _STRING(element)))
    text = kept.get(element)
    if text is None:
        text = kept[element] = _squash(cast(str, _STRING(element)))
    return text


class _Kept(threading.local):
    """Per thread (a Dask worker parses on several): the texts `_text` keeps, or None."""

    texts: dict[HtmlElement, str] | None = None


_KEPT = _Kept()


@contextmanager
def _texts_kept() -> Iterator[None]:
    """Within it, `_text` keeps each element's text: finding the story's region reads the
    text of the same elements again and again (the winner's, each wrapper's as the region
    climbs, the entries' of a list: 46% of `_text`'s calls on the aeb-dev pages), and
    changes nothing in the tree. Not where the tree is cut (an element's text would go stale)."""
    outer, _KEPT.texts = _KEPT.texts, {}
    try:
        yield
    finally:
        _KEPT.texts = outer


#: The attributes whose words hint at what an element is.
HINT_ATTRIBUTES = ("class", "id", "role", "itemprop")


def _hints(attributes: Mapping[str, str] | HtmlElement) -> str:
    """The hint words of an element (or of its attributes, already read into a dict)."""
    return " ".join(attributes.get(name) or "" for name in HINT_ATTRIBUTES)


@lru_cache(maxsize=16384)
def _kind_for_hints(hints: str) -> str | None:
    """Decide a whole class/id/role string from its words (each decided once per process:
    pages repeat words far more than whole strings, and the patterns are costly)."""
    kinds: set[str] = set()
    positive = False
    for word in hints.lower().split():
        word_kinds, word_positive = _word_hints(word)
        kinds.update(word_kinds)
        positive = positive or word_positive
    if not kinds:
        return None
    # Ads and navigation are never the story, whatever else the class says
    # ("shunno-sidebar-articles"); other hints yield to a positive word ("post-content
    # has-share-bar"), though not to one inside their own compound (`_word_hints`).
    for kind in _HINT_ORDER:
        if kind in kinds and (kind in ("advertisement", "navigation") or not positive):
            return kind
    return None


_HINT_ORDER = tuple(kind for kind, _ in NEGATIVE_HINTS)


def _names_the_story(hints: str) -> bool:
    """Whether a class/id/role string has a positive word ("article-body", "story")."""
    return any(_word_hints(word)[1] for word in hints.lower().split())


@lru_cache(maxsize=65536)
def _word_hints(word: str) -> tuple[frozenset[str], bool]:
    """(boilerplate kinds, names-the-story) for one lower-case class/id word."""
    if not _ANY_NEGATIVE.search(word):
        return frozenset(), bool(_POSITIVE_LOWER.search(word))
    kinds = frozenset(kind for kind, pattern in _NEGATIVE_LOWER if pattern.search(word))
    if _OTHER_STORIES_FIRST.match(word):
        # Other stories named first ("relatedArticle", "related-post", "popular-story",
        # "recommended-article"): the story word is what the teaser links to, not this box.
        return kinds, False
    # In a compound word the last part names the thing ("post-ratings", "article-tools",
    # "homestory-show-cta"): the ratings, tools or call to action of a post, not the post. A
    # number is not a part ("post-ratings-90871").
    parts = [part for part in _WORD_PARTS.split(word) if part and not part.isdigit()]
    while len(parts) > 1 and parts[-1] in _GENERIC_PARTS:
        parts.pop()  # "share-text", "comment-body": the box of a share widget, of a comment
    head = parts[-1] if parts else word
    if head != word and _ANY_NEGATIVE.search(head) and not _POSITIVE_LOWER.search(head):
        return kinds, False
    return kinds, bool(_POSITIVE_LOWER.search(word))


#: A class word opening with other stories (the modifier of a compound whose head may be
#: "article", "post", "story"): anchored at the word's start.
_OTHER_STORIES_FIRST = re.compile(
    r"related|recommend|more-?(stories|news|articles)|read-?more|also-?read|most-?(read|popular)|trending|popular|next-?article|teaser"
)
_WORD_PARTS = re.compile(r"[-_]+")
#: Last parts of a compound class word that name no kind of thing, only a box.
_GENERIC_PARTS = frozenset(
    {
        "text",
        "content",
        "contents",
        "body",
        "wrapper",
        "wrap",
        "container",
        "inner",
        "outer",
        "box",
        "area",
        "block",
        "holder",
    }
)


def _visible_text(element: HtmlElement) -> str:
    """Text of an element with its text nodes kept apart ("Home World", not "HomeWorld")."""
    return _squash(" ".join(_strings(element)))


def drop_tree(element: HtmlElement) -> None:
    """Remove ``element`` and its subtree, keeping its tail text in the document."""
    parent = element.getparent()
    if parent is None:
        return
    if element.tail:
        previous = element.getprevious()
        try:
            if previous is not None:
                previous.tail = (previous.tail or "") + element.tail
            else:
                parent.text = (parent.text or "") + element.tail
        except ValueError:  # lxml keeps control characters it parsed but refuses them here
            if previous is not None:
                previous.tail = strip_controls((previous.tail or "") + element.tail)
            else:
                parent.text = strip_controls((parent.text or "") + element.tail)
    parent.remove(element)


def _drop(element: HtmlElement, kind: str | None, removed: list[Removed]) -> None:
    if kind:
        text = _visible_text(element)
        if text:
            removed.append(Removed(kind, text))
    drop_tree(element)


_ELLIPSES = ("...", "…", "[…]", "[...]")
_SENTENCE_END = (".", "!", "?", "…", '"', "”", "’", "»", ")", ":", "。", "！", "？")


def holds_story_text(element: HtmlElement) -> bool:
    """True for a container with several real paragraphs: a class name alone must not drop it."""
    long_paragraphs = 0
    for paragraph in element.iter("p"):
        text = _text(paragraph)
        # A teaser cut off with an ellipsis is a link to a story, not story text.
        if len(text) > 120 and not text.endswith(_ELLIPSES) and _link_density(paragraph, len(text)) < 0.3:
            long_paragraphs += 1
            if long_paragraphs >= 2:
                return True
    return False


#: Unlinked text a page <header> may hold and still be a header (title, standfirst, byline).
HEADER_TEXT_LIMIT = 500
#: A <header> with no link, a subheading (h2-h6) and at most this much text heads a section.
SECTION_HEADING_LIMIT = 200


def _holds_story(element: HtmlElement) -> bool:
    """``holds_story_text``, or, for a <header> without a headline, more unlinked text than a
    header holds: libxml2 (an HTML4 parser) can leave a <header> open on malformed markup, and
    it then swallows what follows it (a forum post's whole text)."""
    if holds_story_text(element):
        return True
    if element.tag != "header" or element.find(".//h1") is not None:
        return False  # the story's own head (headline, standfirst, byline): not body text
    text = _text(element)
    if 0 < len(text) <= SECTION_HEADING_LIMIT and _link_density(element, len(text)) == 0:
        # The head of a section inside the story (an FAQ entry's question) is a subheading
        # when what follows it is text, not a list of links ("Trending").
        following = element.getnext()
        if following is None or not any(child.tag in _HEADINGS for child in element.iter(etree.Element)):
            return False
        after = _text(following)
        return len(after) >= 25 and _link_density(following, len(after)) < 0.5
    return len(text) > HEADER_TEXT_LIMIT and _link_density(element, len(text)) < 0.3


_NO_ATTRS: dict[str, str] = {}
_WHOLE_BLOCK = "related_links:parent"
_HEADINGS = frozenset({"h2", "h3", "h4", "h5", "h6"})


def _opened_block(element: HtmlElement, kind: str) -> str:
    """A "related stories" heading that opens its block marks the whole block as related links
    (the teasers under it carry no hint of their own); any other hit marks the element only."""
    parent = element.getparent()
    if (
        kind == "related_links"
        and element.tag in _HEADINGS
        and element.getprevious() is None
        and parent is not None
        and parent.tag not in ("body", "html", "main")
        and parent.find(".//h1") is None
        and not (parent.text or "").strip()
    ):
        return _WHOLE_BLOCK
    return kind


#: A class/id that names a readers' comments section (not "comment-count", not "has-comments").
COMMENT_SECTION_HINT = re.compile(
    r"(^|\s)((comments?|kommentare?|comentarios?|commentaires?|commenti|community)([-_](list|area|section|thread|wrap(per)?|container|block))?|commentlist|disqus_thread|respond)(\s|$)",
    re.I,
)


@lru_cache(maxsize=16384)
def _names_comments(hints: str) -> bool:
    return bool(COMMENT_SECTION_HINT.search(hints))


def _is_comment_section(hints: str, element: HtmlElement) -> bool:
    return _names_comments(hints) and element.find(".//h1") is None


#: The text an image's block may hold and still be the image's caption and credit.
CAPTION_TEXT_LIMIT = 250
_IMAGE_BLOCK = "data-wi-image-block"


#: Text of a paragraph set in none of the inline styles a caption is set in (italics,
#: small type) when it shares the paragraph with its image.
_UNSTYLED_TEXT = etree.XPath(
    "boolean(descendant::text()[normalize-space()]"
    "[not(ancestor::em or ancestor::i or ancestor::small or ancestor::sub or ancestor::sup)])"
)


def _styled_caption(paragraph: HtmlElement) -> bool:
    """Whether a paragraph that holds an image has only a caption's worth of text, all of it
    in italics or small type ("<p><img><br><em><sub>Abbildung 4: ...</sub></em></p>")."""
    return 0 < len(_text(paragraph)) <= CAPTION_TEXT_LIMIT and not _UNSTYLED_TEXT(paragraph)


def mark_image_blocks(body: HtmlElement) -> None:
    """Mark the blocks that hold an image and a caption's worth of text ("<div><picture/>
    <div>A caption. © Photographer</div></div>") for pruning: a figure without the tag.
    A paragraph holding an image is one when its text is all in italics or small type."""
    for image in body.iter("picture", "img"):
        holder = image.getparent()
        while holder is not None and holder.tag in ("a", "picture", "span"):
            holder = holder.getparent()
        if holder is not None and holder.tag == "p" and not holder.get(_IMAGE_BLOCK) and _styled_caption(holder):
            holder.set(_IMAGE_BLOCK, "1")
            continue
        for _level in range(2):  # the image's own box, or the box around it and its caption
            if holder is None or holder.tag not in ("div", "section") or holder.get(_IMAGE_BLOCK):
                break
            if holder.find(".//p") is not None or holder.find(".//h1") is not None:
                break
            text = _text(holder)
            if 0 < len(text) <= CAPTION_TEXT_LIMIT:
                holder.set(_IMAGE_BLOCK, "1")
                break
            if text:
                break
            holder = holder.getparent()


#: Bootstrap's display utilities, on a great many sites: ``d-none`` hides an element unless
#: a breakpoint class shows it again (``d-none d-md-block``: hidden on phones only);
#: ``d-print-block`` shows it in print only, so it stays hidden on screen.
_SHOWN_AT_BREAKPOINT = re.compile(r"(?<![\w-])d-(?:sm|md|lg|xl|xxl)-(?!none\b)[a-z-]+")


def hidden_by_class(classes: str) -> bool:
    """Whether a class string hides its element on every screen (``d-none`` alone, or
    shown only in print)."""
    return "d-none" in classes.split() and not _SHOWN_AT_BREAKPOINT.search(classes)


#: A post quoted from a social network, in the markup its embed code prints: Twitter's
#: <blockquote class="twitter-tweet"> carries the post's text (a quote in the story), and a
#: box around it named "social" is not a share widget.
_QUOTED_POST = etree.XPath(
    "boolean(descendant-or-self::blockquote[contains(concat(' ', normalize-space(@class), ' '), ' twitter-tweet ')])"
)
_EMBED_EXCUSED = frozenset({"share_widget", "related_links", "boilerplate"})


def prune_page(body: HtmlElement, removed: list[Removed], *, use_hints: bool = True) -> None:
    """Drop non-content elements: scripts, hidden parts, navigation, widgets, ads, captions.

    ``use_hints=False`` keeps elements that only their class/id marks as boilerplate (the
    retry for pages whose markup names everything "content-sidebar-wrapper").
    """
    # Scripts, styles, embeds: gone in one C call (their tails stay), so the loop below
    # visits fewer elements.
    etree.strip_elements(body, *DROP_TAGS, with_tail=False)
    doomed: list[tuple[HtmlElement, str | None]] = []
    # A walk that skips the inside of every element already doomed (menus, footers, ad
    # blocks hold a large share of a page's elements).
    walker = etree.iterwalk(body, events=("start",), tag=etree.Element)
    for _event, element in walker:
        tag = element.tag
        # One C call for all attributes: most elements have none or only a class.
        attrs = cast("dict[str, str]", dict(element.items())) if len(element.attrib) else _NO_ATTRS
        if attrs and _IMAGE_BLOCK in attrs:
            doomed.append((element, "caption"))
        elif attrs and _FORM_BOX in attrs:
            doomed.append((element, "newsletter"))
        elif attrs and _TAG_LIST in attrs:
            doomed.append((element, "related_links"))
        elif attrs and (
            "hidden" in attrs
            or attrs.get("aria-hidden") == "true"
            or ("style" in attrs and _HIDDEN_STYLE.search(attrs["style"]))
            or ("class" in attrs and "d-none" in attrs["class"] and hidden_by_class(attrs["class"]))
        ):
            doomed.append((element, "boilerplate"))
        elif tag in STRUCTURAL_KINDS and (tag in ("nav", "footer") or not _holds_story(element)):
            doomed.append((element, STRUCTURAL_KINDS[tag]))
        elif (attrs or "-" in tag) and use_hints and tag not in ("body", "html", "article", "main", "h1"):
            # A custom element's name is a hint like its class ("pp-inline-teaser", "amp-ad").
            hints = f"{_hints(attrs)} {tag}" if "-" in tag else _hints(attrs)
            kind = _kind_for_hints(hints.strip())
            if kind and not holds_story_text(element) and not (kind in _EMBED_EXCUSED and _QUOTED_POST(element)):
                doomed.append((element, _opened_block(element, kind)))
            elif _is_comment_section(hints, element):
                # Readers' comments are long paragraphs too; a comments section is never
                # the story (unless it holds the headline: then the hint is on a wrapper).
                doomed.append((element, "boilerplate"))
        if doomed and doomed[-1][0] is element:
            walker.skip_subtree()
    dropped: set[HtmlElement] = set()
    for element, kind in doomed:
        if kind == _WHOLE_BLOCK:
            element, kind = cast(HtmlElement, element.getparent()), "related_links"
        if any(ancestor in dropped for ancestor in element.iterancestors()):
            continue
        dropped.add(element)
        parent = element.getparent()
        _drop(element, kind, removed)
        if kind in ("navigation", "related_links") and parent is not None and _left_with_a_title(parent):
            dropped.add(parent)
            _drop(parent, kind, removed)


#: The most text a box may keep after losing its menu or link list and still be only that
#: list's title ("Inhaltsverzeichnis", "Related topics").
LIST_TITLE_LIMIT = 40


def _left_with_a_title(box: HtmlElement) -> bool:
    """Whether ``box``, its menu or link list just dropped, holds nothing but the list's
    title: a short unlinked line that does not end a sentence, in a block that is not the
    page's body or story."""
    if box.tag not in ("div", "section", "header", "aside") or len(box) > 3:
        return False  # a title's box holds a child or two; most parents of a menu hold more
    raw = cast(str, _STRING(box))
    if len(raw) > 8 * LIST_TITLE_LIMIT:
        return False  # far too much text, even counting the markup's indentation
    text = _squash(raw)
    if not 0 < len(text) <= LIST_TITLE_LIMIT or text.endswith(_SENTENCE_END):
        return False
    return box.find(".//a") is None and box.find(".//h1") is None


def _link_density(element: HtmlElement, text_length: int) -> float:
    if text_length == 0:
        return 0.0
    # Text nodes under links, gathered by libxml2 in one call (edge whitespace not counted).
    links = sum(len(t.strip()) for t in cast("list[str]", _LINK_TEXT(element)))
    return min(1.0, links / text_length)


_LINK_TEXT = etree.XPath(".//a//text()", smart_strings=False)


def _is_paragraph_like(element: HtmlElement) -> bool:
    tag = element.tag
    if tag in SCORE_TAGS:
        return True
    if tag in ("div", "section", "span") and (element.text or "").strip():
        return not any(isinstance(child.tag, str) and child.tag in BLOCK_TAGS for child in element)
    return False


_LOOSE_TEXT_HOLDERS = frozenset({"div", "section", "article", "main", "td", "center"})
_SCORED_TAGS = tuple(sorted(SCORE_TAGS | _LOOSE_TEXT_HOLDERS | {"span"}))


def _loose_text(element: HtmlElement) -> str:
    """Text of ``element`` outside its block children: its own text, its inline children,
    and the tails between children."""
    if element.tag not in _LOOSE_TEXT_HOLDERS:
        return ""
    parts = [element.text or ""]
    for child in element:
        if isinstance(child.tag, str) and child.tag not in BLOCK_TAGS and child.tag != "img":
            parts.extend(_strings(child))
        parts.append(child.tail or "")
    return _squash("".join(parts))


#: The score a story-naming class/id ("article-body") adds, and the text an element needs
#: for the name to count.
POSITIVE_BONUS = 25
NAMED_MIN_TEXT = 100


class _FinalScores(dict[HtmlElement, float]):
    """Scores discounted by link density, computed only for the elements that can matter.

    Link density needs the text of a whole subtree, so it is worked out lazily: the best
    element is found by visiting candidates from the highest raw score down and stopping
    once a raw score (an upper bound: the discount only lowers a positive score) falls
    below the best final score seen. Elements without a raw score have no final score.
    """

    def __init__(self, raw: dict[HtmlElement, float], named: set[HtmlElement]) -> None:
        super().__init__()
        self.raw = raw
        self.named = named

    def __missing__(self, element: HtmlElement) -> float:
        raw = self.raw[element]  # KeyError for elements that were never scored
        length = len(_text(element))
        if element in self.named and length < NAMED_MIN_TEXT:
            # A class that names the story ("accordion-content") around a line or two of
            # text is a widget: the name alone must not outscore the story's paragraphs.
            raw -= POSITIVE_BONUS
        value = raw * (1 - _link_density(element, length))
        self[element] = value
        return value

    def __contains__(self, element: object) -> bool:
        return element in self.raw

    def get(self, element: HtmlElement, default: float = 0.0) -> float:  # type: ignore[override]
        return self[element] if element in self.raw else default

    def best(self) -> HtmlElement:
        ranked = sorted(self.raw, key=self.raw.__getitem__, reverse=True)
        top, top_score = ranked[0], self[ranked[0]]
        for element in ranked[1:]:
            if self.raw[element] <= top_score and top_score > 0:
                break
            if self[element] > top_score:
                top, top_score = element, self[element]
        return top


#: Wrapper levels the region may climb to find the story's next chunk (real grids: 2-5).
MAX_WRAPPER_CLIMB = 12


def find_article_region(body: HtmlElement) -> list[HtmlElement]:
    """The element(s) holding the story: best-scored container plus its related siblings."""
    with _texts_kept():
        return _find_article_region(body)


def _find_article_region(body: HtmlElement) -> list[HtmlElement]:
    scores: dict[HtmlElement, float] = {}
    named: set[HtmlElement] = set()
    # Only tags that can be paragraph-like or hold loose text (lxml filters in C).
    for element in body.iter(*_SCORED_TAGS):
        if _is_paragraph_like(element):
            text = _text(element)
            holders: Iterator[HtmlElement] = element.iterancestors()
        elif element.tag in _LOOSE_TEXT_HOLDERS and len(element):
            # Text written straight into a container between its blocks ("<div><h1/>Story
            # text<br>more text<div class=share/></div>") is a paragraph of that container.
            text = _loose_text(element)
            holders = itertools.chain((element,), element.iterancestors())
        else:
            continue
        if len(text) < 25:
            continue
        score = 1 + text.count(",") + text.count("،") + text.count("，") + text.count("、") + min(len(text) // 100, 3)
        for level, ancestor in enumerate(holders):
            if level > 3 or ancestor.tag == "html":
                break
            if ancestor not in scores:
                base = _TAG_WEIGHT.get(ancestor.tag, 0)
                if _names_the_story(_hints(ancestor)):
                    base += POSITIVE_BONUS
                    named.add(ancestor)
                scores[ancestor] = float(base)
            scores[ancestor] += score / (1 if level == 0 else 2 if level == 1 else level * 3)
    if not scores:
        return [body]
    final = _FinalScores(scores, named)
    top = final.best()
    # Readability's rule: when the parent holds several strong candidates, the story spans them.
    parent = top.getparent()
    if parent is not None and parent.tag not in ("html",):
        strong = [el for el in parent if el in final and final[el] >= final[top] * 0.75]
        if len(strong) >= 3 or (parent in final and final[parent] >= final[top] * 0.9 and parent.tag != "body"):
            top = parent
    threshold = max(10.0, final.get(top, 0.0) * 0.2)
    region = _with_siblings(top, final, threshold, kin=True)
    if len(region) == 1:
        wrapper, wider = _beside_wrapper(top, final, threshold)
        if len(wider) > 1:
            region = wider
        if len(region) == 1 and len(_text(top)) <= SECTIONS_INTRO_MAX:
            sections = _following_sections(wrapper)
            if sections:
                region = [wrapper, *sections]
    if region and body not in region:
        region = _with_paragraphs_beside_its_wrapper(region, top)
    if region:
        entries = _entry_list(region[0])  # an ancestor of region[0], so of its siblings too
        if entries is not None:
            region = [entries]
            # The list (an accordion of the story's sections, a thread) may itself be one of
            # the page's content blocks built alike, the story's other parts in the others
            # (a CMS's numbered content elements: intro, sections, accordion, closing): the
            # climb again, from the list.
            wider = _beside_wrapper(entries, final, threshold)[1]
            if len(wider) > 1:
                region = wider
    return region


#: Paragraphs that sit straight in a box around the story's wrapper, beside it, are the
#: story's too when at least this many read as prose and hold this share of its text; the
#: boxes are looked at up to this many levels up.
BESIDE_PARAGRAPHS_MIN, BESIDE_PARAGRAPHS_SHARE, BESIDE_PARAGRAPHS_LEVELS = 3, 0.25, 3


def _with_paragraphs_beside_its_wrapper(region: list[HtmlElement], top: HtmlElement) -> list[HtmlElement]:
    """``region`` and the paragraphs beside ``top``'s outermost wrapper in the boxes around
    it: a post written straight into its content box, then a block of earlier text quoted
    below it in a div of its own (which, denser, won the scoring: the post's own paragraphs
    were left out as boilerplate). A box's paragraphs are taken when BESIDE_PARAGRAPHS_MIN
    of them read as prose (`_reads_as_prose`) and hold BESIDE_PARAGRAPHS_SHARE of the
    story's text; the boxes are looked at up to BESIDE_PARAGRAPHS_LEVELS up (one holding
    none, a box of source links, does not stop the climb). They join in document order."""
    story_length = len(_text(top))
    roots = set(region)
    taken: list[HtmlElement] = []
    box = _outermost_wrapper(top)
    for _level in range(BESIDE_PARAGRAPHS_LEVELS):
        parent = box.getparent()
        if parent is None or parent.tag in ("body", "html"):
            break
        prose = [child for child in parent if child is not box and child not in roots and _reads_as_prose(child)]
        if (
            len(prose) >= BESIDE_PARAGRAPHS_MIN
            and sum(len(_text(p)) for p in prose) >= BESIDE_PARAGRAPHS_SHARE * story_length
        ):
            taken.extend(prose)
        box = parent
    if not taken:
        return region
    order = {element: index for index, element in enumerate(box.getroottree().getroot().iter())}
    return sorted([*region, *taken], key=order.__getitem__)


def _reads_as_prose(element: HtmlElement) -> bool:
    """A leaf paragraph (``<p>``) of LEAD_MIN characters or more that ends a sentence, under
    a fifth linked (a post's paragraphs may sit under its own linked sub-headings: unlike
    the short-region rule, no teaser-box guard)."""
    if element.tag != "p" or not _is_paragraph_like(element):
        return False
    text = _text(element)
    if len(text) < LEAD_MIN or not text.endswith(_SENTENCE_END):
        return False
    return _link_density(element, len(text)) < 0.2


def _outermost_wrapper(top: HtmlElement) -> HtmlElement:
    """The outermost ancestor of ``top`` holding little but it (its text at most 1.1 times
    ``top``'s), at most MAX_WRAPPER_CLIMB levels up: grid cells, layout divs."""
    low = high = len(_text(top))
    limit = low * 1.1
    wrapper, parent = top, top.getparent()
    for _level in range(MAX_WRAPPER_CLIMB):
        if parent is None or parent.tag in ("body", "html"):
            break
        bounds = _text_length_within(parent, wrapper, (low, high), limit)
        if bounds is None:
            break
        low, high = bounds
        wrapper, parent = parent, parent.getparent()
    return wrapper


def _text_length_within(
    element: HtmlElement, inner: HtmlElement, inner_bounds: tuple[int, int], limit: float
) -> tuple[int, int] | None:
    """Bounds on ``len(_text(element))`` when it is at most ``limit``, else None, from its
    parts: its text, its children's texts (``inner``'s known to lie within ``inner_bounds``)
    and their tails. The folded text of a concatenation is at least as long as its parts'
    folded texts together (folding keeps every other character) and at most one space a
    join longer; only where the bounds straddle ``limit`` is the text folded whole. The
    climb to the outermost wrapper folded each ancestor's whole text, one level after the
    other: ~5% of an HTML parse on aeb-dev (a story nine layout divs deep folded its 53 KB
    nine times)."""
    kept = _KEPT.texts
    if kept is not None and element in kept:
        length = len(kept[element])
        return (length, length) if length <= limit else None
    low = high = joins = 0
    for part in itertools.chain((element.text,), *((child, child.tail) for child in element)):
        if part is None:
            continue
        if isinstance(part, str):
            part_low = part_high = len(_squash(part))
        elif part is inner:
            part_low, part_high = inner_bounds
        elif isinstance(part.tag, str):
            part_low = part_high = len(_text(part))
        else:  # a node string() reads otherwise (a comment a parser kept): the whole text
            length = len(_text(element))
            return (length, length) if length <= limit else None
        if part_high:
            low, high, joins = low + part_low, high + part_high, joins + 1
            if low > limit:
                return None
    high += max(joins - 1, 0)
    if high <= limit:
        return low, high
    length = len(_text(element))
    return (length, length) if length <= limit else None


def _beside_wrapper(top: HtmlElement, final: _FinalScores, threshold: float) -> tuple[HtmlElement, list[HtmlElement]]:
    """The outermost wrapper of ``top`` (an ancestor holding little but it: grid cells,
    layout divs) and that wrapper with the siblings built like it that hold unlinked text:
    the story's next chunk may be a sibling of the wrapper. At most MAX_WRAPPER_CLIMB
    levels: each reads the whole wrapper's text, and a page nested hundreds of levels deep
    would read itself once per level."""
    wrapper = _outermost_wrapper(top)
    if wrapper is top:
        return wrapper, [top]
    return wrapper, _with_siblings(wrapper, final, threshold, same_shape=True, kin=True)


#: A list of entries (a live blog's updates, a thread's posts): at least this many siblings
#: built alike, holding this many times the text of the entry that won the scoring.
ENTRY_LIST_MIN, ENTRY_LIST_GAIN = 5, 2.0


#: A story box this short may be a page's intro, with its sections after it
#: (``_following_sections``); a longer one is a story, and boxes after it are left alone.
SECTIONS_INTRO_MAX = 1500


def _following_sections(top: HtmlElement) -> list[HtmlElement]:
    """Two or more sibling boxes right after ``top``, built alike, each headed by a heading
    and holding mostly unlinked text: the page's further sections."""
    run: list[HtmlElement] = []
    shape = None
    for sibling in top.itersiblings():
        if not isinstance(sibling.tag, str):
            continue
        sibling_shape = _shape(sibling)
        if sibling_shape is None or (shape is not None and sibling_shape != shape):
            break
        text = _text(sibling)
        if (
            len(text) < KIN_MIN_TEXT
            or _link_density(sibling, len(text)) >= 0.3
            or _holds_teasers(sibling)
            or next(sibling.iter(*_HEADINGS), None) is None
        ):
            break
        shape = sibling_shape
        run.append(sibling)
    return run if len(run) >= 2 else []


def _first_class(element: HtmlElement) -> tuple[str, str] | None:
    cls = element.get("class")
    return (element.tag, cls.split()[0]) if cls and cls.split() else None


def _entry_list(top: HtmlElement) -> HtmlElement | None:
    """The parent of ``top``'s entry when ``top`` is one entry of a list of unlinked entries
    built alike (same tag and first class word, within three levels up, each with text): the
    story is the list. Lists of links (teasers, results) are not entry lists; layout rows
    (``row-fluid``) are alike but mostly empty, so too few of them count."""
    length = len(_text(top))
    entry = top
    for _level in range(3):
        parent = entry.getparent()
        if parent is None or parent.tag in ("body", "html"):
            return None
        key = _first_class(entry)
        # Counted without their text first: most parents have few children built alike.
        if key is not None and sum(_first_class(child) == key for child in parent) >= ENTRY_LIST_MIN:
            alike = [child for child in parent if _first_class(child) == key and len(_text(child)) >= 25]
            if len(alike) >= ENTRY_LIST_MIN:
                text = _text(parent)
                if len(text) >= length * ENTRY_LIST_GAIN and _link_density(parent, len(text)) < 0.2:
                    return parent
        entry = parent
    return None


_DIGITS = re.compile(r"\d+")


def _shape(element: HtmlElement) -> tuple[str, str] | None:
    """What marks siblings as built alike: tag and class, or tag and id with its numbers taken
    out (``block-4647400``, ``block-4647401``: a CMS's numbered story blocks); None for neither."""
    tag = element.tag
    if not isinstance(tag, str):
        return None
    cls = element.get("class")
    if cls:
        return tag, cls
    ident = element.get("id")
    return (tag, "#" + _DIGITS.sub("", ident)) if ident and _DIGITS.search(ident) else None


#: The text a box of the story's kind must hold to join it: a paragraph's worth, not a
#: row of tools ("Share: | Print | Tags:"), unless it is the story's head (it holds the <h1>).
KIN_MIN_TEXT = 150


def _holds_teasers(element: HtmlElement) -> bool:
    """Whether ``element`` holds a heading that is all link: a teaser's title."""
    return any(_link_only(heading) for heading in element.iter(*_HEADINGS))


def _with_siblings(
    top: HtmlElement, final: _FinalScores, threshold: float, *, same_shape: bool = False, kin: bool = False
) -> list[HtmlElement]:
    """``top`` plus the siblings that score above ``threshold`` or read like paragraphs
    (``same_shape``: or are built like ``top``, same tag and class, mostly unlinked text;
    ``kin``: or are boxes of ``top``'s kind, same tag and first class word, mostly unlinked
    and holding no teaser titles: a recipe's head, ingredients and method are sister boxes
    of which only the method scores as a story)."""
    parent = top.getparent()
    if parent is None:
        return [top]
    region = []
    shape = _shape(top)
    first = _first_class(top) if kin else None
    if first is not None and _DIGITS.search(first[1]):
        first = None  # a grid column's width ("col-xs-12") or a numbered item: no kinship
    for sibling in parent:
        if not isinstance(sibling.tag, str):
            continue
        if sibling is top:
            region.append(sibling)
            continue
        if final.get(sibling, 0.0) >= threshold:
            region.append(sibling)
            continue
        if first is not None and _first_class(sibling) == first:
            text = _text(sibling)
            long_enough = len(text) >= KIN_MIN_TEXT or (bool(text) and sibling.find(".//h1") is not None)
            if long_enough and _link_density(sibling, len(text)) < 0.3 and not _holds_teasers(sibling):
                region.append(sibling)
                continue
        if same_shape and shape is not None and _shape(sibling) == shape:
            text = _text(sibling)
            if len(text) >= 25 and _link_density(sibling, len(text)) < 0.3:
                region.append(sibling)
                continue
        if sibling.tag == "p" and _reads_as_a_paragraph(sibling):
            region.append(sibling)
    if len(region) > 1:
        # A <div> of bare text between two parts of the region is a paragraph of it too
        # (CNN's "zn-body__paragraph" divs between the lead and the rest); one before the
        # first or after the last is left as it was (a deck, a sign-up line).
        members = set(region)
        children = [child for child in parent if child in members or child.tag == "div"]
        inside = [n for n, child in enumerate(children) if child in members]
        between = {
            child
            for child in children[inside[0] + 1 : inside[-1]]
            if child not in members and _is_paragraph_like(child) and _reads_as_a_paragraph(child)
        }
        if between:
            region = [child for child in parent if child in members or child in between]
    return region


def _reads_as_a_paragraph(element: HtmlElement) -> bool:
    """A paragraph's worth of mostly unlinked text, or a short unlinked sentence."""
    text = _text(element)
    density = _link_density(element, len(text))
    return (len(text) > 80 and density < 0.25) or (0 < len(text) <= 80 and density == 0 and text.endswith("."))


def _link_only(element: HtmlElement) -> bool:
    text = _text(element)
    return bool(text) and _link_density(element, len(text)) > 0.9


def _attached(element: HtmlElement, root: HtmlElement) -> bool:
    """Whether ``element`` is still under ``root`` (not inside a subtree dropped since)."""
    node: HtmlElement | None = element
    while node is not None and node is not root:
        node = node.getparent()
    return node is root


def _drop_link_runs(root: HtmlElement, removed: list[Removed]) -> None:
    """Three or more consecutive blocks that are each just a link form a link list ("You may
    also like" as plain paragraphs); a short link-free line right before the run is its title."""
    for parent in list(root.iter(etree.Element)):
        if not _attached(parent, root):
            continue  # inside a subtree dropped earlier in this loop
        run: list[HtmlElement] = []
        for child in [*parent, None]:
            if child is not None and isinstance(child.tag, str) and child.tag in ("p", "div") and _link_only(child):
                run.append(child)
                continue
            if len(run) >= 3:
                title = run[0].getprevious()
                if title is not None and _list_title(title):
                    _drop(title, "related_links", removed)
                for element in run:
                    _drop(element, "related_links", removed)
            run = []


def _list_title(element: HtmlElement) -> bool:
    """A short, unlinked block that ends no sentence (a trailing ellipsis is a title's: "You
    may also like..."): the title of the link list that follows it."""
    if element.tag not in ("p", "div", "h2", "h3", "h4", "h5", "h6") or element.find(".//a") is not None:
        return False
    text = _text(element)
    ends_sentence = text.endswith((".", "!", "?", '"', "”")) and not text.endswith(_ELLIPSES)
    return 0 < len(text) <= 80 and not ends_sentence


def clean_region(region: list[HtmlElement], removed: list[Removed]) -> None:
    """Inside the region, drop link lists and widgets that survived pruning."""
    for root in region:
        _drop_link_runs(root, removed)
        for element in list(root.iter("ul", "ol", "div", "section", "table", "dl", "p", "td", "th")):
            if element is root or not _attached(element, root):
                continue  # the region itself, or inside a block dropped earlier in this loop
            text = _text(element)
            if not text:
                continue
            density = _link_density(element, len(text))
            if element.tag == "p":
                # A paragraph that is nothing but a run of links: category tags, "see also";
                # with three links or more, labels between them ("[VIDEO]", "|") may take
                # up to a fifth of its text.
                links = len(element.findall(".//a"))
                if (density > 0.9 and links >= 2) or (density > 0.8 and links >= 3):
                    title = element.getprevious()
                    if title is not None and _list_title(title):
                        _drop(title, "related_links", removed)  # "DON'T MISS", "Related:"
                    _drop(element, "related_links", removed)
                elif _labelled_link(element, text) or (links == 1 and density > 0.9 and _shouted_headline(text)):
                    _drop(element, "related_links", removed)
                continue
            if element.tag in ("td", "th"):
                # A layout table's menu column: a cell of links beside the story's cell.
                if density > 0.5 and len(element.findall(".//a")) >= 2:
                    _drop(element, "navigation", removed)
                continue
            if density > 0.5 or (
                density > 0.25 and len(text) < 600 and element.tag != "div" and len(element.findall(".//p")) <= 1
            ):
                _drop(element, "related_links", removed)


def _shouted_headline(text: str) -> bool:
    """A headline in capitals ("SEAN SPICER ELIMINATED FROM DANCING WITH THE STARS"): as a
    paragraph that is all one link, another story's title set into this one."""
    return text.isupper() and len(text.split()) >= 4 and len(text) <= 200


#: A pointer to another page is a headline's length: an interview's question, linked and
#: led by the interviewer's name ("Korinna Hennig: ..."), is longer.
LABELLED_LINK_LIMIT = 200


def _labelled_link(paragraph: HtmlElement, text: str) -> bool:
    """A paragraph that is a short label ending in ":" and then one link ("Auch lesen:
    <a>Diese 3 Sternzeichen ...</a>", "Read more: <a>...</a>"): a pointer to another page."""
    links = paragraph.findall(".//a")
    if len(links) != 1 or len(text) > LABELLED_LINK_LIMIT:
        return False
    link_text = _text(links[0])
    label = text[: len(text) - len(link_text)].strip() if text.endswith(link_text) else ""
    return 0 < len(label) <= 30 and label.endswith(":") and len(link_text) >= 10


def _paragraphs(region: list[HtmlElement]) -> list[str]:
    """The region's text cut into paragraphs at block boundaries (``BLOCK_TAGS``), in
    document order; inline text runs on. Iterative: a deep tree does not recurse."""
    paragraphs: list[str] = []
    parts: list[str] = []

    def flush() -> None:
        text = _squash("".join(parts))
        if text:
            paragraphs.append(text)
        parts.clear()

    for root in region:
        # A comment (or processing instruction) comes as one event: its tail is text.
        for event, element in etree.iterwalk(root, events=("start", "end", "comment", "pi")):
            tag = element.tag
            if event == "start":
                if tag in BLOCK_TAGS:
                    flush()
                if element.text:
                    parts.append(element.text)
                continue
            if tag in BLOCK_TAGS:
                flush()
            if element.tail and element is not root:
                parts.append(element.tail)
    flush()
    return paragraphs


def _outer_text_blocks(body: HtmlElement, region: list[HtmlElement]) -> list[str]:
    """Visible text outside the region, one entry per text node, for ``removed``."""
    inside: set[HtmlElement] = set()
    for root in region:
        inside.update(root.iter())
    blocks: list[str] = []
    for element in body.iter():
        if not isinstance(element.tag, str):
            continue
        parent = element.getparent()
        # An element's text belongs to it; its tail belongs to its parent.
        if element not in inside and element.text and element.text.strip():
            blocks.append(_squash(element.text))
        if (
            element is not body
            and parent is not None
            and parent not in inside
            and element.tail
            and element.tail.strip()
        ):
            blocks.append(_squash(element.tail))
    return blocks


#: A standfirst (the summary under the headline) is one block of this many characters and
#: words, among the first STANDFIRST_LOOK text blocks after the page's <h1>.
STANDFIRST_MIN, STANDFIRST_MAX, STANDFIRST_WORDS, STANDFIRST_LOOK = 60, 600, 8, 6
#: How far up from the <h1> the standfirst is looked for (page heads nest the headline in
#: column wrappers; the summary may sit beside the fourth one up).
STANDFIRST_LEVELS = 5
#: Blocks under these tags are never a standfirst (captions, lists, tables, quotes, asides).
_NOT_STANDFIRST_TAGS = frozenset(
    {"figure", "figcaption", "aside", "nav", "footer", "ul", "ol", "dl", "table", "blockquote", "address", "time"}
)
#: Nor are blocks whose class/id words mark them as these.
_NOT_STANDFIRST_KINDS = frozenset({"advertisement", "navigation", "caption", "byline", "share_widget", "newsletter"})


def _leaf_blocks(element: HtmlElement) -> Iterator[HtmlElement]:
    """``element``'s innermost blocks in document order (blocks holding no other block),
    not entering captions, lists, tables, asides or elements named as page furniture."""
    if not isinstance(element.tag, str) or element.tag in _NOT_STANDFIRST_TAGS or element.get(_IMAGE_BLOCK):
        return
    if len(element.attrib) and any(
        _word_hints(word)[0] & _NOT_STANDFIRST_KINDS for word in _hints(element).lower().split()
    ):
        return  # any such word, even beside a story word ("caption-text-block")
    children = [child for child in element if isinstance(child.tag, str) and child.tag in BLOCK_TAGS]
    if not children:
        yield element
        return
    for child in children:
        yield from _leaf_blocks(child)


def printed_description(description: str | None, body_text: str, removed: list[Removed]) -> str | None:
    """The page's own summary (its JSON-LD or meta description) as the standfirst, when the
    page prints it, whole, in a block that pruning took (a header the headline rule could
    not read: an <h1> only in the breadcrumb, an excerpt the parser nested around the story)
    and the body does not hold it. Never a summary the page does not show."""
    text = _squash(description or "")
    if len(text) < STANDFIRST_MIN or text in body_text:
        return None
    return text if any(text in item.text for item in removed) else None


def block_a_cut_description_begins(body: HtmlElement, description: str | None) -> tuple[HtmlElement, str] | None:
    """A CMS often cuts the page's meta description short ("... que penaliza a quienes
    hagan cobertura de..."), so it is never printed whole: the printed block it begins
    (60-600 characters, unlinked, not a caption, list or aside) is the standfirst then.
    Read before pruning, as ``find_standfirst``."""
    text = _squash(description or "")
    if not text.endswith(_ELLIPSES):
        return None
    cut = text.rstrip(".…[]").rstrip()
    if len(cut) < STANDFIRST_MIN:
        return None
    for block in _leaf_blocks(body):
        printed = _visible_text(block)
        if printed.startswith(cut) and len(printed) <= STANDFIRST_MAX:
            return (block, printed) if _link_density(block, len(printed)) < 0.1 else None
    return None


def _after_image(block: HtmlElement, root: HtmlElement) -> bool:
    """Whether ``block`` (or an ancestor of it up to ``root``) comes right after an image
    with no text of its own: then it is the image's caption, marked up or not."""
    for element in itertools.chain((block,), block.iterancestors()):
        previous = element.getprevious()
        if previous is not None and (
            previous.tag == "img" or (previous.find(".//img") is not None and not _text(previous))
        ):
            return True
        if element is root:
            return False
    return False


_MENU_TAGS = frozenset({"nav", "footer", "aside"})


def _in_menu(element: HtmlElement) -> bool:
    """Whether ``element`` sits in a menu or list (a breadcrumb's current page is an <h1>)."""
    return any(ancestor.tag in ("nav", "ul", "ol", "footer", "aside") for ancestor in element.iterancestors())


def find_standfirst(body: HtmlElement) -> tuple[HtmlElement, str] | None:
    """The story's standfirst (the summary under the headline) and its block: the first
    sentence-sized, unlinked block after the page's headline (an <h1> of two words or more,
    not in a menu: a one-word <h1> is a site's name), within five levels of it, among the
    first few text blocks, before any block long enough to be the story itself. Not a label
    that opens a list (ending in ":"), a row of fields ("a | b | c"), nor an image's
    caption; a copyright notice ends the search (the page's footer: the head is behind).
    Read before pruning (page headers are pruned whole)."""
    h1 = next((h for h in body.iter("h1") if len(_text(h).split()) >= 2 and not _in_menu(h)), None)
    if h1 is None:
        return None
    seen = 0
    node = h1
    for _level in range(STANDFIRST_LEVELS):
        for sibling in node.itersiblings():
            for block in _leaf_blocks(sibling):
                text = _visible_text(block)  # a kicker in its own <span> stays a word apart
                if not text:
                    continue
                seen += 1
                if seen > STANDFIRST_LOOK or len(text) > STANDFIRST_MAX:
                    return None  # the story has begun (or the head is far behind)
                if len(text) < STANDFIRST_MIN or len(text.split()) < STANDFIRST_WORDS:
                    continue  # a kicker, a byline, a date
                if text.endswith(":") or text.count(" | ") >= 2 or _after_image(block, sibling):
                    continue
                if find_copyright(text):
                    return None  # the page's footer: the head is far behind
                return (block, text) if _link_density(block, len(text)) < 0.1 else None
        parent = node.getparent()
        if parent is None or parent.tag in ("body", "html"):
            return None
        node = parent
    return None


#: A lead above the region is a sentence of at least this many characters (a kicker, a
#: date line or a label is shorter), and at most STANDFIRST_MAX.
LEAD_MIN = 80


def _story_container(element: HtmlElement) -> HtmlElement | None:
    """The nearest <article>, <main> or ``itemprop=articleBody`` element holding ``element``."""
    for ancestor in element.iterancestors():
        if ancestor.tag in ("body", "html"):
            return None
        if ancestor.tag in ("article", "main") or "articlebody" in (ancestor.get("itemprop") or "").lower():
            return ancestor
    return None


def _furniture(block: HtmlElement, container: HtmlElement) -> bool:
    """Whether ``block`` sits in a caption, list, table, quote or aside of ``container``, or
    in a box whose class/id words name page furniture, or right after an image."""
    for element in itertools.chain((block,), block.iterancestors()):
        if element is container:
            break
        if element.tag in _NOT_STANDFIRST_TAGS or element.get(_IMAGE_BLOCK):
            return True
        if len(element.attrib) and any(
            _word_hints(word)[0] & _NOT_STANDFIRST_KINDS for word in _hints(element).lower().split()
        ):
            return True
    return _after_image(block, container)


def lead_above_region(region: list[HtmlElement]) -> str | None:
    """The story's lead, when the page prints it as a lone paragraph of the story's <article>
    (or <main>) above the region that won the scoring, and the headline rule found none:
    a dek set apart from the body's column (its own box between the headline and the body).
    Only a lone one: two or more sentence paragraphs above the region are the story's
    beginning in another box, and which of them is a summary cannot be told."""
    if not region:
        return None
    first = region[0]
    container = _story_container(first)
    if container is None:
        return None
    ancestors = set(first.iterancestors())
    lead: str | None = None
    for paragraph in container.iter("p", first.tag):
        if paragraph is first:
            break
        if paragraph.tag != "p" or paragraph in ancestors:
            continue
        text = _visible_text(paragraph)
        if not LEAD_MIN <= len(text) <= STANDFIRST_MAX or not text.endswith(_SENTENCE_END):
            continue
        if text.endswith(_ELLIPSES) or _link_density(paragraph, len(text)) >= 0.1:
            continue
        if _furniture(paragraph, container):
            continue
        if lead is not None:
            return None
        lead = text
    return lead


#: A region with less text than this is no whole story (a product page's header, a
#: section page's intro, a story set in several boxes): prose beside it is taken too.
SHORT_REGION = 600
#: The blocks that can be such prose: leaf blocks (holding no block with text).
_PROSE_TAGS = ("p", "li", "dd", "td", "div")


def with_prose_beside_a_short_region(
    body: HtmlElement, region: list[HtmlElement], standfirst: str | None = None
) -> list[HtmlElement]:
    """``region``, and when it holds under SHORT_REGION bytes of text (UTF-8: a Japanese
    character says about what three Latin letters do), the page's other blocks that read as
    prose, in document order: leaf blocks of LEAD_MIN characters or more that end a
    sentence, under a fifth linked, outside menus, footers and asides, not in a teaser box
    (under a heading that links elsewhere), and not the ``standfirst`` (a field of its own).
    Pruning took the page's furniture (navigation, widgets, comments, forms) before; what is
    left outside a short region is the rest of a page the scoring could not hold in one box."""
    roots = set(region)
    if body in roots or _holds_bytes(region, SHORT_REGION):
        # The region is the whole page (a page of bare <p>s, a mail's HTML part): nothing is
        # beside it. Walked from the body's children, its own blocks were taken again, and
        # every paragraph came out twice.
        return region
    taken: list[HtmlElement] = []
    stack = list(body)  # the page less the region and the menus, in any order (sorted below)
    while stack:
        element = stack.pop()
        if not isinstance(element.tag, str) or element in roots or element.tag in _MENU_TAGS:
            continue
        stack.extend(element)
        if element.tag not in _PROSE_TAGS:
            continue
        if any(
            isinstance(child.tag, str) and child.tag in BLOCK_TAGS and any(t.strip() for t in _strings(child))
            for child in element
        ):
            continue  # not a leaf: its blocks come on their own
        text = _visible_text(element)
        if len(text) < LEAD_MIN or not text.endswith(_SENTENCE_END) or text == standfirst:
            continue
        if _link_density(element, len(text)) >= 0.2 or _under_a_linked_heading(element):
            continue
        taken.append(element)
    if not taken:
        return region
    order = {element: index for index, element in enumerate(body.iter())}
    return sorted([*region, *taken], key=order.__getitem__)


def _holds_bytes(region: list[HtmlElement], least: int) -> bool:
    """Whether the region's text runs to ``least`` UTF-8 bytes (each text less its edge
    whitespace, the indentation between tags): read only until it does, as most regions do
    within their first paragraphs."""
    total = 0
    for root in region:
        for text in _strings(root):
            text = text.strip()
            total += len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
            if total >= least:
                return True
    return False


def _under_a_linked_heading(element: HtmlElement) -> bool:
    """Whether ``element`` sits in a teaser box: the nearest heading before it (or before one
    of its three nearest ancestors, among their three previous siblings) is mostly a link
    to another page."""
    for box in itertools.islice(itertools.chain((element,), element.iterancestors()), 4):
        for sibling in itertools.islice(box.itersiblings(preceding=True), 3):
            if sibling.tag in _HEADINGS:
                heading = _text(sibling)
                return bool(heading) and _link_density(sibling, len(heading)) > 0.5
    return False


def extract_paragraphs(
    body: HtmlElement, *, use_hints: bool, watch: HtmlElement | None = None, standfirst: str | None = None
) -> tuple[list[Removed], list[str], bool, str | None]:
    """Prune ``body`` in place, pick the article region, and return (removed, paragraphs,
    whether the region holds ``watch``, a lead printed above the region)."""
    removed: list[Removed] = []
    prune_page(body, removed, use_hints=use_hints)
    region = find_article_region(body)
    lead = lead_above_region(region)
    # Pruning detaches what it drops: ``watch`` is in the region only if one of its roots
    # is ``watch`` or an ancestor of it in the tree as it is now.
    if watch is None:
        holds = False
    else:
        ancestors = {watch, *watch.iterancestors()}
        holds = any(root in ancestors for root in region)
    clean_region(region, removed)
    # The lead is the standfirst where no other is found (parse_html_document).
    region = with_prose_beside_a_short_region(body, region, standfirst or lead)
    removed.extend(Removed("boilerplate", text) for text in _outer_text_blocks(body, region))
    for root in region:
        etree.strip_tags(root, *INLINE_TAGS)
        for element in root.iter():
            element.attrib.clear()
    return removed, _paragraphs(region), holds, lead


def page_copyright(body: HtmlElement) -> tuple[str, int | None] | None:
    """The page's copyright notice (the last one printed: the footer's), read from the
    smallest block around the © so that the footer menu after it is not swallowed.
    Expects scripts and styles to be stripped already."""
    found = None
    # Many (c) strings may share one holder ("<p>(c) A<br>(c) B<br>..."): its text is read
    # once, and a holder too long to be a notice is never joined whole (linear, not quadratic).
    blocks: dict[HtmlElement, str] = {}
    for text, holder in _notice_strings(body):
        parent = holder.getparent()
        while holder.tag in INLINE_TAGS and parent is not None:
            holder, parent = parent, parent.getparent()
        block = blocks.get(holder)
        if block is None:
            block = _visible_text(holder) if len(cast(str, _STRING(holder))) <= 2000 else ""
            blocks[holder] = block
        printed = find_copyright(block if 0 < len(block) <= 400 else _squash(text))
        if printed:
            found = printed
    return found


def _notice_strings(body: HtmlElement) -> Iterator[tuple[str, HtmlElement]]:
    """``(text, the element holding it)`` for each text and tail of ``body``'s elements that
    may hold a copyright notice (an element's text, then its tail, element after element).
    A plain loop over the elements: timed faster than an XPath over every text node (and
    than one asking libxml2 for the texts holding a mark: 57 against 40 ms for the 92
    aeb-dev pages); each test written out, not a loop over a pair (38 -> 25 ms)."""
    for element in body.iter(etree.Element):
        text = element.text
        if text and ("©" in text or "opyright" in text or "OPYRIGHT" in text):
            yield text, element
        text = element.tail
        if text and ("©" in text or "opyright" in text or "OPYRIGHT" in text):
            parent = element.getparent()
            if parent is not None:
                yield text, parent


def _repair_strings(strings: list[str]) -> list[str]:
    """`repair_mojibake` over many strings at once (one detection pass, one ftfy call)."""
    joined = "\n".join(strings)
    repaired = repair_mojibake(joined)
    if repaired == joined:
        return strings
    parts = repaired.split("\n")
    return parts if len(parts) == len(strings) else [repair_mojibake(s) for s in strings]


#: Every tag but the paragraph-level ones, for pages nested too deep for libxml2.
_FLATTEN = re.compile(r"<(?!/?(?:p|h[1-6]|li|br|html|head|body|title|meta|script|style|pre)\b)/?[A-Za-z][^<>]{0,2000}>")


def _too_deep(log: Any) -> bool:
    return any("Excessive depth" in entry.message for entry in log.filter_from_fatals())


_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]{0,200}\?>")


def _parse_page(page: str) -> HtmlElement:
    try:
        tree = etree.fromstring(page, parser=_PARSER)
    except ValueError:
        # lxml refuses a str that carries an encoding declaration ("<?xml ... encoding=koi8_r?>"):
        # the bytes were decoded already, so the declaration has done its job.
        tree = _parse_undeclared(page)
    except etree.LxmlError as exc:
        raise ParseError("bad_html", f"lxml could not parse the page: {exc}") from exc
    if _PARSER.error_log.filter_from_fatals() and _too_deep(_PARSER.error_log):
        # libxml2 gives up on the whole page past 255 levels; keep the text, lose the nesting.
        tree = _parse_undeclared(_FLATTEN.sub(" ", page))
        if _PARSER.error_log.filter_from_fatals() and _too_deep(_PARSER.error_log):
            raise ParseError("too_deep", "the page nests elements deeper than 255 levels even without its containers")
    if tree is None:
        raise ParseError("bad_html", "lxml found no document in the page")
    return tree


def _marked_body(tree: HtmlElement) -> HtmlElement:
    """The page's <body> (the whole tree without one), made ready for pruning while the
    tags that tell are still there: image blocks marked (``mark_image_blocks``: <picture>
    goes with the other embeds), posts libxml2 nested inside each other moved back
    (``unnest_entries``), a <form> that wraps the story turned into a plain block and the
    box of any other form marked (``mark_form_box``: forms go with the embeds)."""
    body = tree.find("body")
    if body is None:
        body = tree
    mark_image_blocks(body)
    mark_tag_lists(body)
    unnest_entries(body)
    for form in list(body.iter("form")):
        # ASP.NET WebForms wraps the whole page in one <form>: a form that holds the headline
        # or story text is the page, not a sign-up box, and is kept (as a <div>) when forms
        # are dropped.
        if form.find(".//h1") is not None or holds_story_text(form):
            form.tag = "div"
        else:
            mark_form_box(form)
    return body


def _keep_tail(element: HtmlElement) -> None:
    """Leave ``element``'s tail text where it is before the element moves."""
    if not element.tail:
        return
    previous, parent = element.getprevious(), element.getparent()
    if previous is not None:
        previous.tail = (previous.tail or "") + element.tail
    elif parent is not None:
        parent.text = (parent.text or "") + element.tail
    element.tail = None


def unnest_entries(body: HtmlElement) -> None:
    """Undo libxml2's nesting of a thread's posts. libxml2 is an HTML4 parser: an end tag
    for an element it does not know (``</header>``) cannot close an open <div>, so one stray
    end tag in a forum's post template leaves every post open and the next post is parsed
    inside it, nine deep for nine posts. Where <article>s built alike (same first class
    word) nest three deep or more, each is moved to follow the one it was swallowed by. Two
    deep is left alone: a story's <article> may hold its related stories' <article>s."""
    entries = list(body.iter("article"))
    misnested = set()
    for entry in entries:
        key = _first_class(entry)
        if key is None or key in misnested:
            continue
        alike = (a for a in entry.iterancestors("article") if _first_class(a) == key)
        if next(alike, None) is not None and next(alike, None) is not None:  # two, without counting all
            misnested.add(key)
    if not misnested:
        return
    for entry in entries:
        key = _first_class(entry)
        if key not in misnested:
            continue
        host = next((a for a in entry.iterancestors("article") if _first_class(a) == key), None)
        if host is not None:
            _keep_tail(entry)
            host.addnext(entry)  # lxml moves the element (its own tail stays behind above)


#: Text a box around a form may hold besides the form's and still be the form's box (its
#: title and a line of pitch: "NEWSLETTER / The day's news in your inbox").
FORM_BOX_TEXT_LIMIT = 300
#: A paragraph this long beside a form is story text: the form's box stops below it.
FORM_BOX_PARAGRAPH = 80
#: How far up a form's box may reach (a hostile page nests hundreds of levels deep).
FORM_BOX_LEVELS = 8
_FORM_BOX = "data-wi-form-box"
_TAG_LIST = "data-wi-tag-list"
#: Links marked as a post's topics (rel="tag": the microformat WordPress and most blog
#: engines print under a post, each link to the topic's archive).
#: (XPath's ``contains(concat(' ', normalize-space(translate(@rel, 'TAG', 'tag')), ' '), ' tag ')``
#: over ``.//a`` found the same links in twice the time: `_tag_links`.)
_REL_WORDS = re.compile(r"[ \t\r\n]+")
_REL_CASE = str.maketrans("TAG", "tag")


def _tag_links(body: HtmlElement) -> list[HtmlElement]:
    """The links whose ``rel`` has the word "tag" (in any case: "Tag", "TAG")."""
    return [
        link
        for link in body.iter("a")
        if (rel := link.get("rel")) and "tag" in _REL_WORDS.split(rel.translate(_REL_CASE))
    ]


#: Share of a box's text its tag links must carry for the box to be the tag list.
TAG_LIST_SHARE = 0.6
#: Levels above a tag link's parent the tag list may reach (its label, its list, its box).
TAG_LIST_LEVELS = 3


def mark_tag_lists(body: HtmlElement) -> None:
    """Mark a post's tag lists for pruning: the widest box (a few levels at most) around
    rel="tag" links whose text is mostly those links' text, its label included ("Tags:",
    "Schlagworte"), whatever the tags' language."""
    links = _tag_links(body)
    if not links:
        return
    linked = {link: len(_text(link)) for link in links}
    seen: set[HtmlElement] = set()
    for link in linked:
        holder = link.getparent()
        if holder is None or holder in seen:
            continue
        box = None
        for _level in range(TAG_LIST_LEVELS + 1):
            if holder is None or holder.tag in ("body", "html", "article", "main"):
                break
            if holder in seen and box is not None:
                break  # decided from another of its links already (each box is read once)
            if holder.find(".//h1") is not None:
                break
            seen.add(holder)
            length = len(_text(holder))
            tagged = sum(linked.get(a, 0) for a in holder.iter("a"))
            if not length or tagged < TAG_LIST_SHARE * length:
                break
            box, holder = holder, holder.getparent()
        if box is not None:
            box.set(_TAG_LIST, "1")


def mark_form_box(form: HtmlElement) -> None:
    """Mark the box a form sits in (a newsletter sign-up, a donation appeal: its title and
    pitch around the fields) for pruning: the widest ancestor with little text of its own
    and no paragraph of story length."""
    own_raw = cast(str, _STRING(form))
    own = len(_squash(own_raw))
    box = None
    for level, ancestor in enumerate(form.iterancestors()):
        if level == FORM_BOX_LEVELS or ancestor.tag in ("body", "html", "article", "main"):
            break
        raw = cast(str, _STRING(ancestor))
        # Folding whitespace costs a pass over the text: a container with far more raw
        # text than a box may hold (markup indentation included) is not the box.
        if len(raw) - len(own_raw) > 8 * FORM_BOX_TEXT_LIMIT or len(_squash(raw)) - own > FORM_BOX_TEXT_LIMIT:
            break
        if ancestor.find(".//h1") is not None or any(
            len(_text(p)) >= FORM_BOX_PARAGRAPH for p in ancestor.iter("p") if form not in p.iterancestors()
        ):
            break
        box = ancestor
    if box is not None:
        box.set(_FORM_BOX, "1")


#: The longest unpunctuated last line read as the title of a list pruning dropped (titles
#: run to ~60 characters: "Weitere aktuelle Themen aus der Arbeitswelt" is 43).
ORPHAN_TITLE_LIMIT = 60


#: Text an error page's body may hold (a sentence or two of apology, a link home); a page
#: whose title is a status but that holds more is read as the story it may be.
ERROR_PAGE_MAX_TEXT = 600


def page_title(tree: HtmlElement) -> str | None:
    """The text of the page's ``<title>`` element as written (`read_metadata`'s title prefers
    the page's metadata and its ``<h1>``)."""
    title = tree.find(".//title")
    return " ".join(title.text.split()) if title is not None and title.text else None


def error_response_status(title: str | None, h1: str | None) -> str | None:
    """The status line a page's ``<title>`` or top heading is, when it is one (a web server's
    or a CDN's error page saved by a poller instead of the story or feed), else None."""
    for text in (title, h1):
        status = error_status(text) if text else None
        if status:
            return status
    return None


def _credit_kind(text: str) -> str | None:
    credit = parse_credit_line(text)
    return credit[0] if credit else None


def parse_html_document(page: str) -> Draft:
    """Turn an HTML page into a Draft: metadata fields plus the article's paragraphs."""
    tree = _parse_page(page)
    meta: PageMetadata = read_metadata(tree)
    body = _marked_body(tree)
    etree.strip_elements(body, *DROP_TAGS, with_tail=False)  # after metadata: JSON-LD is a script
    printed_copyright = page_copyright(body)  # before pruning takes the footer apart
    # Before pruning takes the page's header apart.
    found = find_standfirst(body) or block_a_cut_description_begins(body, meta.description)
    first = _squash(found[1]) if found else None
    removed, paragraphs, in_body, lead = extract_paragraphs(
        body, use_hints=True, watch=found[0] if found else None, standfirst=first
    )
    if sum(len(p) for p in paragraphs) < 250:
        # Too little survived: the class/id hints probably hit a wrapper. Retry without them
        # on a fresh tree (re-parsing is cheaper than copying every tree up front).
        retry_removed, retry_paragraphs, _, retry_lead = extract_paragraphs(
            _marked_body(_parse_page(page)), use_hints=False, standfirst=first
        )
        if sum(len(p) for p in retry_paragraphs) > sum(len(p) for p in paragraphs):
            removed, paragraphs, in_body, lead = retry_removed, retry_paragraphs, False, retry_lead
    structured = _structured_body(meta.article_body, paragraphs)
    if structured:
        removed.extend(Removed("boilerplate", p) for p in paragraphs)
        paragraphs = structured
    standfirst = (found[1] if found and not in_body else None) or lead
    # The page itself was not cleaned (parsers.story): repair and clean what was taken from
    # it (a few KB) rather than the whole page (scripts and markup, ~100 KB).
    head = [meta.title or "", meta.h1 or "", standfirst or "", meta.description or "", *meta.authors]
    texts = [clean_text(t) for t in _repair_strings([*head, *paragraphs, *(item.text for item in removed)])]
    meta.title, meta.h1, standfirst, meta.description = (t or None for t in texts[:4])
    meta.authors = texts[4 : len(head)]
    paragraphs, removed_texts = texts[len(head) : len(head) + len(paragraphs)], texts[len(head) + len(paragraphs) :]
    removed = [Removed(item.kind, text) for item, text in zip(removed, removed_texts, strict=True)]
    # A short unpunctuated last line after a real story is the title of a list that was
    # dropped ("More Great WIRED Stories"), not the story's last sentence; a credit line is
    # not (Reuters' "Reporting by Jane Smith; Editing by John Doe" is left to the wire rules,
    # which read its names: until the thirty-fifth session it went as a list's title).
    if (
        len(paragraphs) > 3
        and len(paragraphs[-1]) < ORPHAN_TITLE_LIMIT
        and not paragraphs[-1].endswith(_SENTENCE_END)
        and paragraphs[-2].endswith(_SENTENCE_END)
        and _credit_kind(paragraphs[-1]) in (None, "byline")  # a by-line after the text goes: no wire rule takes it
    ):
        removed.append(Removed("related_links", paragraphs.pop()))
    body_text = " ".join(" ".join(paragraphs).split())
    status = error_response_status(page_title(tree), meta.h1)
    if status and len(body_text) < ERROR_PAGE_MAX_TEXT:
        raise ParseError(
            "error_page",
            f"the page is a server's error response ({status!r}), not a story: the source did not "
            "answer with the page when it was fetched; fetch it again (a rewritten file is read again)",
        )
    if standfirst and standfirst in body_text:
        standfirst = None  # the story region took it: it is body text here
    standfirst = standfirst or printed_description(meta.description, body_text, removed)
    if standfirst:  # it reached a field: cut out of what ``removed`` records (a pruned header's text)
        removed = [
            Removed(item.kind, _squash(item.text.replace(standfirst, " "))) if standfirst in item.text else item
            for item in removed
        ]
        removed = [item for item in removed if item.text]
    headline = meta.title or meta.h1
    if meta.h1 and headline and not same_headline(meta.h1, headline) and len(meta.h1) > 10:
        # The on-page headline is what readers saw; og:title often carries a site suffix.
        headline = meta.h1
    draft = Draft(
        paragraphs=paragraphs,
        input_format="html",
        headline=headline,
        removed=removed,
        byline=list(meta.authors),
        published_at=meta.published_at,
        language=meta.language,
        url=meta.url,
        standfirst=standfirst,
    )
    if printed_copyright:
        draft.copyright, draft.copyright_year = clean_text(printed_copyright[0]), printed_copyright[1]
    # Lift what pruning took out but a field wants: bylines, and the page's copyright line.
    for item in removed:
        if item.kind == "byline":
            credit = parse_credit_line(item.text)
            if credit:
                draft.byline.extend(n for n in credit[1] if n not in draft.byline)
        elif draft.copyright is None and item.kind in ("navigation", "boilerplate"):
            printed = find_copyright(item.text)
            if printed:
                draft.copyright, draft.copyright_year = printed
    if meta.site_name:
        draft.agency = agency_hint(meta.site_name) if len(meta.site_name) < 40 else None
    return draft


#: The least text of a JSON-LD ``articleBody`` taken where the page's own markup gave
#: (almost) none, and how many times the markup's text it must hold.
STRUCTURED_BODY_MIN = 200
STRUCTURED_BODY_RATIO = 2.0
_MARKUP_IN_TEXT = re.compile(r"<(?:p|br|div|h[1-6]|li)\b[^>]*>", re.IGNORECASE)


def _structured_body(article_body: str | None, paragraphs: list[str]) -> list[str] | None:
    """The story's paragraphs from the page's JSON-LD ``articleBody``, where the markup gave
    under 250 characters (the retry's threshold) and the structured text holds at least
    STRUCTURED_BODY_MIN and twice as much: a page whose text a script renders (the HTML is a
    shell: no body, quarantined ``no_body``), or a paywall's teaser over the whole story the
    publisher put in its metadata. Split at its line breaks (or its ``<p>``s, for sites
    that put markup in it). None otherwise: where the markup holds the story, it wins (the
    JSON-LD text is often cut, or flattened without paragraphs)."""
    if not article_body or len(article_body) < STRUCTURED_BODY_MIN:
        return None
    found = sum(len(p) for p in paragraphs)
    if found >= 250 or len(article_body) < STRUCTURED_BODY_RATIO * found:
        return None
    text = html_lib.unescape(article_body)
    if _MARKUP_IN_TEXT.search(text):
        fragment = lxml_html.fragment_fromstring(text, create_parent="div")
        blocks = [" ".join(_visible_text(e).split()) for e in fragment.iter("p", "li", "h2", "h3", "h4")]
        parts = [b for b in blocks if b] or [" ".join(fragment.text_content().split())]
    else:
        parts = [" ".join(line.split()) for line in text.splitlines()]
    return [p for p in parts if p] or None


def _parse_undeclared(page: str) -> HtmlElement:
    try:
        return etree.fromstring(_XML_DECLARATION.sub("", page, count=1), parser=_PARSER)
    except (etree.LxmlError, ValueError) as exc:
        raise ParseError("bad_html", f"lxml could not parse the page: {exc}") from exc
