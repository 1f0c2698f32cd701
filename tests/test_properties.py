"""What must hold for any input: parsing never crashes, is deterministic, loses no text."""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
import zlib
from collections import Counter
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from lxml import etree

from parsers import decode, fingerprint, parse_story, rules, wire
from parsers.decode import decode_bytes, repair_text, sniff_format
from parsers.fingerprint import casefolded_words, compute_story_id, content_sha256, identity_keys
from parsers.wire import is_trailer, lift_agency_tag, lift_unknown_agency_tag, match_line_rule, same_headline
from schemas import ParseError, validate_story
from schemas.story import Story

WORD = re.compile(r"\w+")
PROSE = st.text(alphabet=st.one_of(st.sampled_from("ab Zé ß’—.,1 2\n"), st.characters(exclude_categories=("Cs",))))
PROSE_WORDS = st.one_of(PROSE, st.sampled_from(["Oil rose", "said the", "KſİıK", "’—"]))
PROSE_TEXT = st.lists(PROSE_WORDS, max_size=30).map(" ".join)
FRAGMENTS = [
    "ADVERTISEMENT",
    "Advertisement",
    "Story continues below advertisement",
    "(Bloomberg) -- ",
    "LONDON, Oct 3 (Reuters) - ",
    "NEW YORK (AP) — ",
    "PARIS (AFP) - ",
    "Reuter",
    "___",
    "To contact the reporter on this story: Jane Doe in Paris at jdoe@example.com",
    "To contact the editors responsible for this story: Tom Roe",
    "©2019 Bloomberg L.P.",
    "(Reporting by Jane Doe; Editing by Tom Roe)",
    "--With assistance from Li Wei.",
    "By JANE DOE",
    "Published: 2019-11-12T15:04:00Z",
    "Share this article",
    "Read more: x",
    "Oil rose on Monday, traders said.",
    "The central bank cut rates, surprising markets.",
    "Turkey Presses Russia",
    "turkey presses russia",
    "bur-jm/ach",
    "Copyright 2020 The Associated Press.",
]
lines = st.lists(
    st.one_of(
        st.sampled_from(FRAGMENTS),
        st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80),
        st.just(""),
    ),
    max_size=30,
)
HTML_BITS = [
    "<p>",
    "</p>",
    "<div class='share'>",
    "</div>",
    "<nav>",
    "</nav>",
    "<script>x=1</script>",
    "<article>",
    "</article>",
    "<h1>Title here</h1>",
    "<br>",
    "<a href='/x'>link</a>",
    "&amp;",
    "<!-- c -->",
]
html_docs = st.lists(
    st.one_of(st.sampled_from(HTML_BITS), st.sampled_from(FRAGMENTS), st.text(max_size=40)), max_size=40
)


def _parse(data: bytes) -> Story | None:
    try:
        return parse_story(data, "mem://input")
    except ParseError as exc:
        assert exc.reason
        return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4000))
def test_arbitrary_bytes_never_raise_anything_but_parse_error(data: bytes) -> None:
    story = _parse(data)
    if story is not None:
        assert validate_story(story) == []


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(html_docs)
def test_html_like_input_never_crashes(parts: list[str]) -> None:
    story = _parse(("<html><body>" + "".join(parts)).encode("utf-8"))
    if story is not None:
        assert validate_story(story) == []


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines)
def test_parsing_is_deterministic(parts: list[str]) -> None:
    data = "\n".join(parts).encode("utf-8")
    first, second = _parse(data), _parse(data)
    if first is None:
        assert second is None
    else:
        assert second is not None and first.to_row() == second.to_row()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines)
def test_text_not_in_the_body_is_in_removed_or_a_field(parts: list[str]) -> None:
    data = "\n".join(parts).encode("utf-8")
    story = _parse(data)
    if story is None or sniff_format(data) != "text":
        return
    text = repair_text(decode_bytes(data)[0])
    kept = [
        story.body,
        story.headline,
        story.dateline or "",
        story.copyright or "",
        story.standfirst or "",
        *story.byline,
        *story.editors,
        *(item.text for item in story.removed),
    ]
    for contact in story.contacts:
        kept += [contact.name, contact.email or "", contact.location or ""]
    have = set(WORD.findall(" ".join(kept)))
    lost = set(WORD.findall(text)) - have
    assert not lost, f"tokens lost: {sorted(lost)[:10]}"


# Characters whose case folding is not one ASCII letter for one: the Kelvin sign and the
# long s fold to ASCII letters, a combining mark folds to a Greek letter, the sharp s to
# two letters; curly quotes and dashes stay separators.
TRICKY = "Kſͅßİ’—“”éÉ_-' \n\t0９"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.one_of(st.sampled_from(TRICKY), st.characters()), max_size=60))
@example("Die Größe des Hafens, die Größe der Schiffe")  # tokens beyond ASCII, one word each
@example("l’homme et la Größe — Straße")  # one token that is two words, one that is none
def test_fast_word_split_is_the_regex_over_casefolded_text(text: str) -> None:
    """`casefolded_words` (a byte table for ASCII) gives exactly what the regex gives."""
    expected = [word.encode("utf-8", "surrogatepass") for word in WORD.findall(text.casefold())]
    assert casefolded_words(text) == expected


AGENCY_BITS = [
    "LONDON",
    ", Oct 3",
    " ",
    "(",
    ")",
    "Reuters",
    "AP",
    "AFP",
    "PA Media",
    "IRNA",
    "Jiji Press",
    "/",
    " -- ",
    " - ",
    "_",
    "x",
    "Text",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(AGENCY_BITS), st.text(max_size=6)), max_size=12))
def test_agency_tag_lookup_is_the_first_pattern_that_matches(parts: list[str]) -> None:
    """`lift_agency_tag` tries only the agency named at the first "(": the same answer as
    trying every agency's pattern in order (and, when none matches, a tag read by its shape
    alone, `lift_unknown_agency_tag`, or nothing)."""
    paragraph = "".join(parts)
    head = paragraph[:160]
    expected = next(
        (
            (agency, match)
            for agency, pattern in map(rules.agency_tag_pattern, range(len(rules.AGENCY_TAGS)))
            if (match := pattern.match(head))
        ),
        None,
    )
    lifted = lift_agency_tag(paragraph)
    if expected is None:
        assert lifted == lift_unknown_agency_tag(paragraph)
    else:
        agency, match = expected
        assert lifted is not None and lifted[0] == agency and lifted[2] == match.group(0).strip()


def _looks_binary_by_regex(text: str) -> bool:
    """`looks_binary` as first written: every character through the regex."""
    sample = text[:8_000]
    if not sample:
        return False
    if sample.isascii() and sample.replace("\n", "").replace("\r", "").replace("\t", "").isprintable():
        return False
    if sample.count("\ufffd") / len(sample) > 0.01:
        return True
    odd = decode._NOT_PLAIN.findall(sample)
    if len(odd) / len(sample) <= 0.15:
        return False
    return sum(1 for ch in odd if unicodedata.category(ch)[0] not in "LMN") / len(sample) > 0.15


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.one_of(st.sampled_from("ab ,.\n^~{}\x01\ufffd’—é★"), st.characters()), max_size=80))
def test_binary_sniffing_by_byte_counts_agrees_with_the_regex(text: str) -> None:
    assert decode.looks_binary(text) == _looks_binary_by_regex(text)


@settings(max_examples=400, deadline=None)
@given(
    st.text(alphabet=st.one_of(st.sampled_from("'\"‘’`« » \t\n.-—Aaß"), st.characters(exclude_categories=("Cs",)))),
    st.text(alphabet=st.sampled_from("'\" “ab.\t"), max_size=12),
)
@example(body="said ' ' \" “ now", headline="x")  # quotes standing alone leave runs of spaces
def test_identity_keys_fold_the_body_once_to_the_same_keys(body: str, headline: str) -> None:
    """`identity_keys` shares one whitespace fold between the id, the body hash and the word
    count: each equals the function that defines it."""
    assert identity_keys("reuters", headline, body) == (
        compute_story_id("reuters", headline, body),
        content_sha256(body),
        len(body.split()),
    )


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=20)), min_size=1, max_size=4))
def test_one_call_rules_out_every_wire_line_rule(parts: list[str]) -> None:
    """`may_be_wire_line` is True whenever one of the checks it stands in for would take
    the paragraph out of the body (apply_wire_rules keeps what it rules out unchecked)."""
    text = " ".join(parts).strip()
    if not text:
        return
    takes = (
        rules.CONTACT_HEAD.match(text)
        or rules.CONTACT_LINE.match(text)
        or wire.may_be_credit(text)
        or rules.COPYRIGHT_LINE.match(text)
        or match_line_rule(text)
        or is_trailer(text)
    )
    if takes:
        assert wire.may_be_wire_line(text)


def _settling_at_once(patterns: list[re.Pattern[str]], whole: bool | list[bool]) -> rules.FirstCharUnion:
    union = rules.FirstCharUnion(patterns, whole=whole)
    union.COMPILE_AFTER = 1  # each choice's own union from its first text on
    return union


_LINE = [rule.pattern for rule in rules.LINE_RULES]
_CREDIT = [rule.pattern for rule in rules.CREDIT_RULES if rule.tail is None]
_TRAILER = [rule.pattern for rule in rules.TRAILER_RULES]
_WIRE_LINE = list(rules.ANY_WIRE_LINE._patterns)
_WIRE_LINE_ENDS = list(rules.ANY_WIRE_LINE._ends)  # contact, credit, copyright: from the start; the rest whole
UNIONS: list[tuple[rules.FirstCharUnion, list[Any]]] = [
    (union, [getattr(p, "fullmatch" if end else "match") for p, end in zip(patterns, ends, strict=True)])
    for patterns, whole, ends in (
        (_LINE, True, [True] * len(_LINE)),
        (_CREDIT, False, [False] * len(_CREDIT)),
        (_TRAILER, True, [True] * len(_TRAILER)),
        (_WIRE_LINE, _WIRE_LINE_ENDS, _WIRE_LINE_ENDS),
    )
    for union in (rules.FirstCharUnion(patterns, whole=whole), _settling_at_once(patterns, whole))
]
EXAMPLES = [rule.example for table in (rules.LINE_RULES, rules.CREDIT_RULES, rules.TRAILER_RULES) for rule in table]
# First characters that case folding ties to ASCII letters (Kelvin sign, long s, dotted and
# dotless i), and ASCII that starts no rule.
ODD_FIRSTS = "KſİıkKsSiI#(©0 \t-–“”«»ÄÖÜäöüÉéÀàçñßÆøПРпр中新路연합"


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(EXAMPLES), st.sampled_from(ODD_FIRSTS + "aAbBtT"), st.integers(0, 3), st.booleans())
def test_rules_tried_by_first_character_agree_with_every_rule(example: str, first: str, cut: int, lower: bool) -> None:
    """A `FirstCharUnion` tries only the rules a text's first character can start; on a
    rule's example, its case variant and the example with its first characters replaced,
    it answers as trying every rule does."""
    for text in (example, example.lower() if lower else example.upper(), first + example[cut:]):
        for union, matchers in UNIONS:
            expected = any(match(text) for match in matchers)
            assert bool(union(text)) == expected, (text, union)
            # What the compiled callers ask: the settled match first, the union otherwise.
            assert wire.first_char_match(union, text) == expected, (text, union)


def test_first_character_split_leaves_most_rules_untried() -> None:
    """The split reads the rules' first characters on this Python (if the parser's format
    changed, every rule would be tried: still right, but the speed is gone)."""
    assert rules.ANY_LINE_RULE.tried("T") < len(rules.LINE_RULES) // 3
    assert rules.ANY_LINE_RULE.tried('"') == 0
    # Beyond ASCII too: the Kelvin sign meets the rules a case-blind "k" starts, a curly
    # quote or a Chinese letter almost none.
    assert 0 < rules.ANY_LINE_RULE.tried("\u212a") <= rules.ANY_LINE_RULE.tried("k")
    assert rules.ANY_LINE_RULE.tried("\u201c") < len(rules.LINE_RULES) // 3
    assert rules.ANY_LINE_RULE.tried("\u4e2d") < len(rules.LINE_RULES) // 3


WIRE_UNIONS = (rules.ANY_LINE_RULE, rules.ANY_CREDIT_RULE, rules.ANY_TRAILER_RULE, rules.ANY_WIRE_LINE)


def test_rule_unions_are_compiled_from_one_parse_on_this_python() -> None:
    """Each union's per-character unions are compiled from one parse of its patterns (if
    the regex parser's output changed shape, they would be compiled from text: still right,
    but a worker pays ~3x as much for each while it settles)."""
    for union in WIRE_UNIONS:
        parsed = union._parsed
        assert parsed is not None
        choice = max((union._choice(char) for char in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"), key=len)
        assert len(choice) > 1
        ends = union._union_ends and [union._ends[i] for i in choice]
        from_parse, from_text = parsed.of(choice), rules._union([union._patterns[i] for i in choice], ends)
        assert from_parse.pattern is None  # compiled from the parse, not from text
        for text in ("The end", "TOKYO, March 3 - Shares rose", "Thomas Hardy, Reuters", "Tweet", "T"):
            assert bool(from_parse.match(text)) == bool(from_text.match(text))


def test_characters_that_choose_the_same_rules_settle_together() -> None:
    """Texts whose first characters choose the same rules count together towards compiling
    their union: 256 texts spread over the capitals that choose alike settle the shared
    union, where counted by character none would have (each would still meet every rule's
    union)."""
    union = rules.FirstCharUnion([rule.pattern for rule in rules.LINE_RULES], whole=True)
    choices = Counter(union._choice(char) for char in "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    choice = choices.most_common(1)[0][0]
    alike = [char for char in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if union._choice(char) == choice]
    assert len(alike) >= 4
    per_char = -(-union.COMPILE_AFTER // len(alike))
    assert per_char < union.COMPILE_AFTER
    for char in alike:
        for _ in range(per_char):
            union(char + "omething that is no rule")
    assert choice in union._by_choice
    assert union(alike[0] + "omething") is None


def _paragraph_keys_by_regex(paragraphs: list[str]) -> list[str]:
    """`paragraph_keys` as first written: runs of \\W as one space, over case-folded text."""
    keys: list[str] = []
    for paragraph in paragraphs:
        normalized = re.sub(r"\W+", " ", paragraph.casefold()).strip()
        if len(normalized) < fingerprint.MIN_PARAGRAPH_CHARS:
            continue
        key = hashlib.blake2b(normalized.encode("utf-8"), digest_size=8).hexdigest()
        if key not in keys:
            keys.append(key)
            if len(keys) == fingerprint.MAX_PARAGRAPH_KEYS:
                break
    return keys


def _word_hash(word: bytes) -> int:
    return zlib.crc32(word) | (zlib.crc32(word, 0x9E3779B9) << 32)


_M64 = (1 << 64) - 1


def _simhash_by_definition(text: str) -> int:
    """`compute_simhash` in plain Python: word 3-grams mixed by position, the splitmix64
    finalizer, and bit i set when more than half of the 3-grams have it."""
    hashes = [_word_hash(w.encode()) for w in re.findall(r"\w+", text.casefold())]
    if not hashes:
        return 0
    k1, k2, k3 = 0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9
    if len(hashes) >= 3:
        triples = zip(hashes, hashes[1:], hashes[2:], strict=False)
        grams = [(a * k1 & _M64) ^ (b * k2 & _M64) ^ (c * k3 & _M64) for a, b, c in triples]
    else:
        grams = [functools.reduce(lambda x, y: x ^ y, (h * k1 & _M64 for h in hashes))]
    mixed = []
    for g in grams:
        g ^= g >> 30
        g = g * 0xBF58476D1CE4E5B9 & _M64
        g ^= g >> 27
        g = g * 0x94D049BB133111EB & _M64
        mixed.append(g ^ (g >> 31))
    return sum(1 << i for i in range(64) if sum(g >> i & 1 for g in mixed) * 2 > len(mixed))


@settings(max_examples=200, deadline=None)
@given(PROSE_TEXT)
def test_simhash_agrees_with_its_definition(text: str) -> None:
    assert fingerprint.compute_simhash(text) == _simhash_by_definition(text)


def test_word_hashes_survive_the_word_table_filling_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """The word table is cleared when full, and a text with more distinct words than it
    holds is hashed directly: the simhash is the same either way."""
    monkeypatch.setattr(fingerprint, "_WORD_CACHE_LIMIT", 50)
    texts = [" ".join(f"w{n}x{i}" for i in range(40)) for n in range(3)] + [" ".join(f"big{i}" for i in range(60))]
    for text in texts * 2:
        assert fingerprint.compute_simhash(text) == _simhash_by_definition(text)
    assert len(fingerprint._WORD_IDS) <= 50


def _minhash_by_definition(text: str) -> bytes:
    """`minhash_signature` as first written: unique shingles, every bit shifted, then the minima."""
    words = [w.encode() for w in re.findall(r"\w+", re.sub(r"(?<=\d)[.,](?=\d)", "", text.casefold()))]
    if len(words) < fingerprint.SHINGLE_WORDS + fingerprint.MIN_SHINGLES - 1:
        return b""
    w = np.array([_word_hash(word) for word in words], dtype=np.uint64)
    n = len(w) - fingerprint.SHINGLE_WORDS + 1
    keys = (fingerprint._K1, fingerprint._K2, fingerprint._K3, fingerprint._M1, fingerprint._M2)
    grams = w[:n] * keys[0]
    for offset in range(1, 5):
        grams = grams ^ (w[offset : offset + n] * keys[offset])
    grams = np.unique(grams)
    with np.errstate(over="ignore"):
        permute_a, permute_b = (column[:, 0] for column in fingerprint._permutations())
        permuted = grams[:, None] * permute_a[None, :] + permute_b[None, :]
    return bytes((permuted >> np.uint64(48)).min(axis=0).astype("<u2").tobytes())


# Numbers whose "." or "," glues them (ASCII digits) or not (a digit of another script: the
# glue is then found by the regex), and tokens beyond ASCII that are two words or none.
NUMBERS = st.sampled_from(["7,800,000", "1.2.3", "747.0", "9,5 %", "٣,٤", "１.５", "2.x", ".5,", "l’homme—3,5"])
GLUED_PROSE = st.lists(st.one_of(PROSE, NUMBERS), max_size=8).map(" ".join)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(GLUED_PROSE, max_size=5),
    st.sampled_from(["", "Oil rose 1,200.5 points to 7,800,000 barrels, traders said. " * 3]),
)
@example(paragraphs=["é" * 25 + " " + "ж" * 25, "ж" * 70], prose="")  # 51 characters in 101 bytes: too short
@example(paragraphs=["Größe 1,5 — und 2.500,75 Mio. " * 4, "x" * 61], prose="")
def test_fingerprints_agree_with_their_first_definitions(paragraphs: list[str], prose: str) -> None:
    """Paragraph keys and MinHash, computed from the byte-table words, equal their regex
    definitions (and the MinHash one that sorted shingles first and shifted every value);
    so do they when cut and glued from the body's words that its simhash read."""
    paragraphs = [p + prose for p in paragraphs]
    expected_keys = _paragraph_keys_by_regex(paragraphs)
    assert fingerprint.paragraph_keys(paragraphs) == expected_keys
    text = "\n\n".join(paragraphs)
    expected_signature = _minhash_by_definition(text)
    assert fingerprint.minhash_signature(text) == expected_signature
    body = "".join(text)  # another string object: nothing kept from the calls above
    assert fingerprint.compute_simhash(body) == _simhash_by_definition(body)
    assert fingerprint._words_of(body) is fingerprint._words_of(body)  # the simhash's words, kept
    assert fingerprint.paragraph_keys(paragraphs, body) == expected_keys
    assert fingerprint.minhash_signature(body) == expected_signature
    # A body that is not the paragraphs joined is not cut: the paragraphs are read themselves.
    assert fingerprint.paragraph_keys(paragraphs, body.replace("\n\n", "\n") + " x") == expected_keys


def test_a_parsed_story_is_fingerprinted_from_the_words_its_parse_kept() -> None:
    """Parsing keeps the body's words (its simhash read them) for the fingerprints worked out
    next; they are the ones a fresh read of the same text gives, and none is kept after."""
    from dataclasses import replace
    from pathlib import Path

    inputs = sorted((Path(__file__).parent / "golden").glob("*.txt"))
    assert len(inputs) >= 40
    for path in inputs:
        try:
            story = parse_story(path.read_bytes(), path.name)
        except ParseError:
            continue
        assert fingerprint._LAST_WORDS.words.text is story.body, path.name  # kept by the parse
        kept = fingerprint.fingerprint_of(story)
        assert fingerprint._LAST_WORDS.words is None, path.name
        fresh = replace(story, body="".join(["", story.body]), paragraphs=["".join(["", p]) for p in story.paragraphs])
        assert fingerprint.fingerprint_of(fresh) == kept, path.name
        assert kept.signature == _minhash_by_definition(story.body), path.name
        assert list(kept.keys) == _paragraph_keys_by_regex(story.paragraphs), path.name


def test_threads_share_the_word_table_without_mixing_words_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """Threads that parse at once (a Dask worker's) hash new words into one table, and a
    small table is cleared often: every simhash still equals its definition."""
    import sys
    import threading

    monkeypatch.setattr(fingerprint, "_WORD_CACHE_LIMIT", 300)
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can
    wrong: list[str] = []

    def work(thread: int) -> None:
        for n in range(60):
            text = " ".join(f"t{thread}n{n}w{i}" for i in range(120))
            try:
                if fingerprint.compute_simhash(text) != _simhash_by_definition(text):
                    wrong.append(text[:20])
            except Exception as exc:  # a table cleared under another thread's lookup
                wrong.append(repr(exc))

    try:
        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(previous)
    assert not wrong


HEADLINE_CHARS = st.sampled_from(list("aAbB \t\"'“”‘’«».,-—ßſKİıͅ_1"))


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.one_of(HEADLINE_CHARS, st.characters()), max_size=12), st.data())
def test_headline_repeats_are_told_by_their_normal_forms(a: str, data: st.DataObject) -> None:
    """`same_headline` compares first word characters before normalizing: it answers as
    comparing the normal forms does (the second headline is often a variant of the first)."""
    b = data.draw(st.sampled_from([a.upper(), f'"{a}"', f" {a.lower()}. ", a[1:], "x" + a]) | st.text(max_size=12))
    assert same_headline(a, b) == (fingerprint.normalize_for_compare(a) == fingerprint.normalize_for_compare(b))


WHITESPACE_BITS = ["a", "Bc", " ", "  ", "\n", "\n\n", "\n\n\n", "\t", "\r", "\x0b", "\x1c", "\xa0", "\u3000", "é"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(WHITESPACE_BITS), max_size=12).map("".join) | st.text(max_size=40))
@example("Port reopens.\n\nShipping lines diverted vessels.")  # the usual layout: the fast path
def test_whitespace_fold_is_split_and_join(text: str) -> None:
    """`fingerprint.fold_whitespace` (a fast path for bodies in the usual layout) gives what
    the split and join give: the story id and content hash are built on it."""
    assert fingerprint.fold_whitespace(text) == " ".join(text.split())


def _paragraphs_by_soup(region: list[etree._Element]) -> list[str]:
    """`parsers.html`'s paragraphs as they were read up to the eleventh session: the region's
    markup serialized and parsed again by BeautifulSoup, whose text nodes are joined and cut
    at block boundaries. The lxml walk that replaced it (eight times faster) must read the
    same paragraphs."""
    from bs4 import BeautifulSoup
    from bs4.element import NavigableString, Tag

    from parsers.html import BLOCK_TAGS

    markup = "".join(etree.tostring(el, encoding="unicode", method="html", with_tail=False) for el in region)
    paragraphs: list[str] = []
    parts: list[str] = []

    def flush() -> None:
        text = " ".join("".join(parts).split())
        if text:
            paragraphs.append(text)
        parts.clear()

    def walk(node: Tag) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                if type(child) is NavigableString:  # not a comment
                    parts.append(str(child))
            elif isinstance(child, Tag):
                if child.name in BLOCK_TAGS:
                    flush()
                    walk(child)
                    flush()
                else:
                    walk(child)

    walk(BeautifulSoup(markup, "lxml"))
    flush()
    return paragraphs


PARAGRAPH_BITS = ["Port", " reopens ", "\n\t", "&amp; ", "&lt;b&gt;", "&nbsp;", "x", "", "Löhne steigen.", "<!-- c -->"]
PARAGRAPH_TAGS = ["div", "p", "li", "td", "h2", "br", "hr", "pre", "blockquote", "figure", "img", "em", "span"]


PHRASING_TAGS = ["em", "span", "br", "img"]


@st.composite
def region_pages(draw: st.DrawFn, depth: int = 0, phrasing: bool = False) -> str:
    """Nested block and inline elements with text, whitespace, entities and comments, nested
    as HTML allows (only inline elements inside a paragraph or heading: libxml2 keeps other
    nestings as written, where a second parse of the markup would move them)."""
    text = st.lists(st.sampled_from(PARAGRAPH_BITS), max_size=3).map("".join)
    tag = draw(st.sampled_from(PHRASING_TAGS if phrasing else PARAGRAPH_TAGS))
    inside_phrasing = phrasing or tag in ("p", "h2", "em", "span", "pre")
    children = [] if depth >= 4 else draw(st.lists(st.just(None), max_size=3))
    inner = "".join(draw(region_pages(depth + 1, inside_phrasing)) + draw(text) for _ in children)
    if tag in ("br", "hr", "img"):
        return f"<{tag}>{inner}"
    return f"<{tag}>{draw(text)}{inner}</{tag}>"


@settings(max_examples=200, deadline=None)
@given(st.lists(region_pages(), min_size=1, max_size=3), st.booleans())
def test_the_lxml_walk_reads_the_paragraphs_beautifulsoup_read(roots: list[str], keep_comments: bool) -> None:
    from parsers.html import INLINE_TAGS, _paragraphs

    parser = etree.HTMLParser(remove_comments=not keep_comments)
    body = etree.fromstring(f"<html><body>{''.join(roots)}</body></html>", parser=parser).find("body")
    assert body is not None
    etree.strip_tags(body, *INLINE_TAGS)  # as extract_paragraphs does before reading
    region = [child for child in body if isinstance(child.tag, str)] or [body]
    assert _paragraphs(region) == _paragraphs_by_soup(region)
    assert _paragraphs([body]) == _paragraphs_by_soup([body])


def _outermost_wrapper_as_first_written(top: Any) -> Any:
    """`parsers.html._outermost_wrapper` as first written: each ancestor's whole text folded."""
    from parsers.html import MAX_WRAPPER_CLIMB, _text

    top_length = len(_text(top))
    wrapper, parent = top, top.getparent()
    for _level in range(MAX_WRAPPER_CLIMB):
        if parent is None or parent.tag in ("body", "html") or len(_text(parent)) > top_length * 1.1:
            break
        wrapper, parent = parent, parent.getparent()
    return wrapper


@settings(max_examples=300, deadline=None)
@given(st.lists(region_pages(), min_size=1, max_size=3), st.booleans(), st.sampled_from([0.0, 0.5, 0.9, 1.0, 1.1, 2.0]))
def test_a_text_s_length_bounded_by_its_parts_decides_as_its_folded_text_does(
    roots: list[str], keep_comments: bool, scale: float
) -> None:
    """`_text_length_within` (an element's folded text length from its parts') answers as
    folding the whole text does, its bounds hold that length, and the climb to a story's
    outermost wrapper built on it finds the wrapper folding each ancestor found."""
    from parsers.html import _outermost_wrapper, _text, _text_length_within

    parser = etree.HTMLParser(remove_comments=not keep_comments)
    body = etree.fromstring(f"<html><body>{''.join(roots)}</body></html>", parser=parser).find("body")
    assert body is not None
    elements = [element for element in body.iter() if isinstance(element.tag, str)]
    for element in elements:
        exact = len(_text(element))
        for child in element:
            if not isinstance(child.tag, str):
                continue
            inner = len(_text(child))
            for limit in (exact * scale, exact, exact - 1, inner * 1.1):
                found = _text_length_within(element, child, (inner, inner), limit)
                assert (found is None) == (exact > limit)
                if found is not None:
                    assert found[0] <= exact <= found[1]
    for element in elements:
        assert _outermost_wrapper(element) is _outermost_wrapper_as_first_written(element)


_TAG_LINKS_BY_XPATH = etree.XPath(
    ".//a[contains(concat(' ', normalize-space(translate(@rel, 'TAG', 'tag')), ' '), ' tag ')]"
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from(["tag", "Tag", "TAG", "tags", "nofollow", " ", "\t", "\n", "\xa0", "\x0b", "x"])))
)
def test_tag_links_are_the_links_the_xpath_found(rels: list[list[str]]) -> None:
    """`parsers.html._tag_links` (``rel`` read in Python) finds the links the XPath it
    replaced found: the word "tag" in any case, between XPath's whitespace only."""
    from parsers.html import _tag_links

    body = etree.Element("body")
    for parts in rels:
        link = etree.SubElement(body, "a")
        if parts:
            link.set("rel", "".join(parts).replace("\x0b", "\u2028"))  # lxml refuses a control character
    assert _tag_links(body) == _TAG_LINKS_BY_XPATH(body)
