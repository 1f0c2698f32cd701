"""Stable identities and duplicate keys: story_id, content hash and a 64-bit simhash."""

from __future__ import annotations

import functools
import hashlib
import operator
import re
import sys
import threading
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from parsers import rules

if TYPE_CHECKING:
    from schemas.story import Story

# Quotes of every style are dropped: a headline quoted ‘so’, "so" or “so” is one headline.
_QUOTE_CHARS = "'\"‘’‚‛`´“”„«»″′"
_ASCII_QUOTES = "'\"`"
_WORD = re.compile(r"\w+")
_EDGE_PUNCT = " \t\"'.,;:!?-–—"


def _without_quotes(text: str) -> str:
    # One C scan per quote kind (a replace only for kinds present) beats a regex (3x on a
    # body) and str.translate (10x).
    for quote in _ASCII_QUOTES if text.isascii() else _QUOTE_CHARS:
        if quote in text:
            text = text.replace(quote, "")
    return text


def normalize_for_compare(text: str) -> str:
    """Case-, quote- and whitespace-insensitive form: two texts that differ only so are equal."""
    return " ".join(_without_quotes(text).split()).strip(_EDGE_PUNCT).casefold()


def first_word_char(text: str) -> str:
    """The first ``\\w`` character of ``text`` case-folded ("" if none). Two texts with equal
    ``normalize_for_compare`` forms have the same one (normalizing drops only characters
    that are not word characters and stay none when folded), so comparing it first spares
    normalizing lines that differ from their first letter."""
    for char in text.casefold():
        if char.isalnum() or char == "_":
            return char
    return ""


def content_sha256(body: str) -> str:
    """The exact-duplicate key: sha256 of the body with runs of whitespace folded."""
    return hashlib.sha256(" ".join(body.split()).encode("utf-8")).hexdigest()


def compute_story_id(agency: str, headline: str, body: str) -> str:
    """Stable id from agency + normalized headline + normalized body; same input, same id."""
    key = "\x1f".join((agency, normalize_for_compare(headline), normalize_for_compare(body)))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


#: Whitespace that a body in the usual layout (single spaces, paragraphs joined by one
#: blank line) never holds once its blank lines are spaces.
_ASCII_BREAKS = ("  ", "\n", "\t", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f")


def fold_whitespace(text: str) -> str:
    """``" ".join(text.split())``: runs of whitespace to one space, the ends trimmed. A body
    in the usual layout (ASCII, single spaces, paragraphs joined by "\n\n") needs only its
    blank lines turned into spaces, which a few C scans confirm (~50 us on a 20 KB body
    against ~100 us for the split and join)."""
    if not text.isascii():  # known without a scan (str keeps its widest character's kind)
        return " ".join(text.split())
    joined = text.replace("\n\n", " ")
    if joined.startswith(" ") or joined.endswith(" ") or any(gap in joined for gap in _ASCII_BREAKS):
        return " ".join(text.split())
    return joined


def identity_keys(agency: str, headline: str, body: str) -> tuple[str, str, int]:
    """``(compute_story_id, content_sha256, len(body.split()))`` from one whitespace fold of
    the body instead of three splits (a split and join is ~13 us on a 2.5 KB body)."""
    folded = fold_whitespace(body)
    unquoted = _without_quotes(folded)
    while "  " in unquoted:  # a quote that stood alone left two spaces; the ends are stripped below
        unquoted = unquoted.replace("  ", " ")
    key = "\x1f".join((agency, normalize_for_compare(headline), unquoted.strip(_EDGE_PUNCT).casefold()))
    return (
        hashlib.sha256(key.encode("utf-8")).hexdigest(),
        hashlib.sha256(folded.encode("utf-8")).hexdigest(),
        folded.count(" ") + 1 if folded else 0,
    )


# Words repeat across stories (a news vocabulary is a few hundred thousand words), so each
# word is hashed once per process, into a table the words index by number; the shingle
# hashes are then mixed and counted in numpy.
_WORD_CACHE_LIMIT = 500_000
_WORD_IDS: dict[bytes, int] = {}
_WORD_TABLE = np.zeros(_WORD_CACHE_LIMIT, dtype=np.uint64)  # 4 MB
_WORD_LOCK = threading.Lock()
_K1, _K2, _K3 = (np.uint64(k) for k in (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9))
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_S27, _S30, _S31 = np.uint64(27), np.uint64(30), np.uint64(31)
_LITTLE_ENDIAN = sys.byteorder == "little"


# \w+ over case-folded text, on UTF-8 bytes: for ASCII, [a-z0-9_] after lowering is
# exactly \w after casefold, and bytes.translate + split beat the regex 2.5x.
_ASCII = bytes(range(128))
_WORD_BYTE = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789_")


def _table(keep_non_ascii: bool) -> bytes:
    """A-Z lowered, [a-z0-9_] kept, other ASCII to a space; bytes >= 0x80 kept or spaced."""
    return bytes(
        c + 32 if 65 <= c <= 90 else c if c in _WORD_BYTE or (c >= 128 and keep_non_ascii) else 32 for c in range(256)
    )


_ASCII_WORDS, _MIXED_WORDS = _table(False), _table(True)


def casefolded_words(text: str) -> list[bytes]:
    r"""``re.findall(r"\w+", text.casefold())``, each word UTF-8 encoded, ~2.5x faster.

    ASCII is split by a byte table. Characters beyond ASCII that are all separators once
    case-folded (curly quotes, dashes in English copy) are spaces; otherwise only the
    tokens holding them go through the regex (casefold maps characters one by one, and
    ASCII separators end a word either way, so the words come out the same).
    """
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: the regex, as before
        return [word.encode("utf-8", "surrogatepass") for word in _WORD.findall(text.casefold())]
    return _split_words(data, None)[1]


def _split_words(data: bytes, beyond_ascii: str | None) -> tuple[bytes, list[bytes], list[int] | None]:
    """``(translated, words, first_word)`` of UTF-8 ``data``: the bytes after the word table
    (every separator a space, so a token is a run of other bytes), the words, and, when a
    token is not exactly one word, the index of each token's first word (one more entry:
    the word count). ``beyond_ascii``: the text's characters beyond ASCII, when known."""
    if data.isascii():
        translated = data.translate(_ASCII_WORDS)
        return translated, translated.split(), None
    if beyond_ascii is None:
        beyond_ascii = data.translate(None, _ASCII).decode("utf-8")
    if not _WORD.search(beyond_ascii.casefold()):
        translated = data.translate(_ASCII_WORDS)
        return translated, translated.split(), None
    translated = data.translate(_MIXED_WORDS)
    tokens = translated.split()
    # Each distinct token beyond ASCII is read once; when each is one word (most are:
    # "Größe" -> "grösse"), they are swapped in by a C-level map over the tokens.
    spelled = {
        token: [word.encode("utf-8") for word in _WORD.findall(token.decode("utf-8").casefold())]
        for token in set(tokens)
        if not token.isascii()
    }
    if all(len(found) == 1 for found in spelled.values()):
        single = {token: found[0] for token, found in spelled.items()}
        return translated, list(map(single.get, tokens, tokens)), None
    words: list[bytes] = []
    first_word: list[int] = []
    for token in tokens:
        first_word.append(len(words))
        found = spelled.get(token)
        if found is None:
            words.append(token)
        else:
            words.extend(found)
    first_word.append(len(words))
    return translated, words, first_word


#: A decimal digit (``\d`` in a str pattern: any script's).
_DIGIT = re.compile(r"\d")


class _Words:
    """A text's words, kept so that its three fingerprints read the text once: the simhash
    (parsing) hashes them, the MinHash (with numbers glued) and the paragraph keys (cut at
    the paragraphs' bytes) reuse them. ``plain_digits``: no decimal digit beyond ASCII, so
    the number glue can be found in the bytes."""

    __slots__ = ("_hashes", "_marks", "data", "first_word", "plain_digits", "text", "translated", "words")

    def __init__(self, text: str, data: bytes) -> None:
        beyond_ascii = "" if data.isascii() else data.translate(None, _ASCII).decode("utf-8")
        self.text, self.data = text, data
        self.translated, self.words, self.first_word = _split_words(data, beyond_ascii)
        self.plain_digits = not _DIGIT.search(beyond_ascii)
        self._hashes: np.ndarray | None = None
        self._marks: bytes | None = None

    def hashes(self) -> np.ndarray:
        """``_word_hashes(self.words)`` (read-only: callers copy before changing)."""
        if self._hashes is None:
            self._hashes = _word_hashes(self.words)
            self._hashes.flags.writeable = False
        return self._hashes

    def tokens_in(self, begin: int, end: int) -> int:
        """How many tokens start within bytes ``begin:end`` of the text."""
        if self._marks is None:
            # A space before the text, then each byte as "0" (a separator) or "1": a token
            # starting at byte j is the "01" at marks[j:j + 2].
            self._marks = b"0" + self.translated.translate(_TOKEN_MARKS)
        return self._marks.count(b"01", begin, end + 1)

    def word_index(self, token: int) -> int:
        """The index of the first word of the token numbered ``token`` (of ``translated``)."""
        return token if self.first_word is None else self.first_word[token]


_TOKEN_MARKS = bytes(48 if c == 32 else 49 for c in range(256))
_LAST_WORDS = threading.local()


def _words_of(text: str) -> _Words | None:
    """``text``'s _Words, None for text with lone surrogates. The last one a thread made
    is kept: parsing computes a body's simhash and the same worker its other fingerprints
    right after, from the same string object."""
    last: _Words | None = getattr(_LAST_WORDS, "words", None)
    if last is not None and last.text is text:
        return last
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        return None
    found = _LAST_WORDS.words = _Words(text, data)
    return found


def word_hash(word: bytes) -> int:
    """A word's 64 stable bits: two CRC-32s with different seeds (a third of blake2b's
    cost); the splitmix64 finalizer in compute_simhash mixes them."""
    return zlib.crc32(word) | (zlib.crc32(word, 0x9E3779B9) << 32)


def _word_hashes(words: list[bytes]) -> np.ndarray:
    """``word_hash`` of each word, as uint64. Words seen before are looked up by number in
    one pass (a miss stops it; the new words are then hashed and numbered). Under a lock:
    parsing threads (a Dask worker's) share the table, and a number handed out twice or
    reused after a clear would give a word another word's hash."""
    ids = _WORD_IDS
    with _WORD_LOCK:
        try:
            known: np.ndarray = _WORD_TABLE[_numbers(ids, words)]
            return known
        except KeyError:
            pass
        if len(words) > _WORD_CACHE_LIMIT:  # more words than the table holds: hash them directly
            return np.array([word_hash(word) for word in words], dtype=np.uint64)
        if len(ids) + len(words) > _WORD_CACHE_LIMIT:
            ids.clear()
        for word in words:
            if word not in ids:
                number = ids[word] = len(ids)
                _WORD_TABLE[number] = word_hash(word)
        hashed: np.ndarray = _WORD_TABLE[_numbers(ids, words)]
        return hashed


def _numbers(ids: dict[bytes, int], words: list[bytes]) -> np.ndarray:
    """The number of each of ``words`` in ``ids`` (KeyError at the first one missing):
    one C-level getter over all of them, ~25% faster than mapping ``ids.__getitem__``
    (an itemgetter of one key returns the value, not a tuple)."""
    if len(words) < 2:
        return np.fromiter(map(ids.__getitem__, words), np.intp, len(words))
    return np.fromiter(operator.itemgetter(*words)(ids), np.intp, len(words))


def compute_simhash(text: str, shingle: int = 3) -> int:
    """64-bit simhash over word 3-grams of ``text`` (case-folded).

    Each 3-gram's hash mixes its three word hashes by position (so word order counts) and
    goes through the splitmix64 finalizer; bit i of the result is set when more than half
    of the 3-grams have bit i set.
    """
    found = _words_of(text)
    words = casefolded_words(text) if found is None else found.words
    if not words:
        return 0
    w = _word_hashes(words) if found is None else found.hashes()
    if len(w) >= shingle:
        grams = (w[:-2] * _K1) ^ (w[1:-1] * _K2) ^ (w[2:] * _K3)
    else:
        grams = np.bitwise_xor.reduce(w * _K1, keepdims=True)
    grams ^= grams >> _S30
    grams *= _M1
    grams ^= grams >> _S27
    grams *= _M2
    grams ^= grams >> _S31
    # The bytes of each hash, least significant first (a view on a little-endian machine).
    octets = grams.view(np.uint8) if _LITTLE_ENDIAN else grams.astype("<u8").view(np.uint8)
    bits = np.unpackbits(octets, bitorder="little").reshape(-1, 64)
    # Bits set per position: einsum's summing loop is ~30% faster here than a reduce down
    # the columns (no BLAS: a matrix product would start OpenBLAS's threads in every worker),
    # and faster again counting in 16 bits, which hold the count of any text under 65,535 words.
    majority = np.einsum("ij->j", bits, dtype=np.uint16 if len(grams) < 65_535 else np.uint32) * 2 > len(grams)
    return int(np.packbits(majority, bitorder="little").view("<u8")[0])


def hamming_distance(a: int, b: int) -> int:
    """Number of differing bits between two simhashes."""
    return (a ^ b).bit_count()


# --- Near duplicates by shared paragraphs ------------------------------------------------
# A simhash over the whole body moves by 6-20 bits when an update adds a paragraph or an
# outlet trims the last one, as far as unrelated short stories sit apart. Paragraphs are
# the unit wire copy is edited in, so a second key is the set of paragraph fingerprints:
# an UPDATE 1, a corrected or trimmed copy, or a republication under other boilerplate
# keeps most of its paragraphs word for word.
#: Simhashes this close are near duplicates whatever their paragraphs.
NEAR_DUPLICATE_BITS = 3
#: Paragraphs shorter than this (normalized) are too generic to identify a story.
MIN_PARAGRAPH_CHARS = 60
#: Fingerprints kept per story (the head of a story is what copies share).
MAX_PARAGRAPH_KEYS = 16


def paragraph_keys(paragraphs: list[str], body: str | None = None) -> list[str]:
    """16-hex fingerprints of a story's substantial paragraphs, case/punctuation-blind.
    ``body``, when given and the paragraphs joined by blank lines (as a valid story's is):
    their words are then cut from the body's (the same words: no word spans a blank line)."""
    found = _words_of(body) if body is not None and "\n\n".join(paragraphs) == body else None
    if found is None:
        return _keys_of(casefolded_words(paragraph) for paragraph in paragraphs)
    # Each paragraph's bytes in the body hold its tokens (a blank line is two separators).
    words, word_index, tokens_in = found.words, found.word_index, found.tokens_in
    lengths = map(len, paragraphs) if len(found.data) == len(body or "") else (len(p.encode()) for p in paragraphs)
    cuts: list[tuple[int, int]] = []
    offset = token = 0
    for length in lengths:
        first = token
        token += tokens_in(offset, offset + length)
        cuts.append((word_index(first), word_index(token)))
        offset += length + 2
    return _keys_of(words[begin:end] for begin, end in cuts)


def _keys_of(paragraph_words: Iterable[list[bytes]]) -> list[str]:
    keys: list[str] = []
    for words in paragraph_words:
        # The paragraph's words joined by single spaces (what replacing every run of \W by a
        # space and stripping gives), as UTF-8; its length is counted in characters.
        normalized = b" ".join(words)
        if len(normalized) < MIN_PARAGRAPH_CHARS or (
            not normalized.isascii() and len(normalized.decode("utf-8", "surrogatepass")) < MIN_PARAGRAPH_CHARS
        ):
            continue
        key = hashlib.blake2b(normalized, digest_size=8).hexdigest()
        if key not in keys:
            keys.append(key)
            if len(keys) == MAX_PARAGRAPH_KEYS:
                break
    return keys


def shares_paragraphs(shared: int, count_a: int, count_b: int) -> bool:
    """Near duplicates by paragraphs: at least half of the smaller story's fingerprints are
    shared, and at least two of them (one when the smaller story has only one)."""
    smaller = min(count_a, count_b)
    return smaller > 0 and shared >= min(2, smaller) and shared * 2 >= smaller


# --- Near copies by word shingles (short stories, tables) --------------------------------
# A short story or a results table re-sent with a ticker dropped, a word changed or a line
# added keeps most of its 5-word shingles, while its simhash moves by more than
# NEAR_DUPLICATE_BITS and every paragraph key changes (or it has no paragraph long enough
# to be keyed). A MinHash signature estimates the Jaccard resemblance of two stories'
# shingle sets from MINHASH_SIZE 16-bit minima: the share of equal positions.
#: Words per shingle.
SHINGLE_WORDS = 5
#: Signature length (positions); bytes = 2 x this.
MINHASH_SIZE = 64
#: Estimated resemblance at or above which two stories are near copies (true Jaccard 0.8
#: is seen at >= 0.70 with probability ~0.97 at this signature length).
MIN_RESEMBLANCE = 0.7
#: Stories with fewer shingles than this are too short to call copies by resemblance.
MIN_SHINGLES = 8


@functools.cache
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    """The MinHash's MINHASH_SIZE hash permutations (a x + b), made on first use: only the
    near-duplicate check reads them, and numpy.random's import cost every process ~4 ms."""
    a = np.random.default_rng(0x5EED).integers(1, 2**63, size=MINHASH_SIZE, dtype=np.uint64) | np.uint64(1)
    b = np.random.default_rng(0xB0B).integers(0, 2**63, size=MINHASH_SIZE, dtype=np.uint64)
    return a[:, None], b[:, None]


# A "." or "," between digits (the lookbehind after the class lets the regex engine scan for
# the class first: twice as fast as a leading lookbehind, same matches).
_NUMBER_GLUE = re.compile(r"[.,](?<=\d[.,])(?=\d)")


def minhash_signature(text: str) -> bytes:
    """MINHASH_SIZE x 16-bit minima over the 5-word shingles of ``text`` (case-folded;
    ``7,800,000`` and ``747.0`` are one word each), or b"" when it has too few shingles."""
    found = _words_of(text)
    if found is None or not found.plain_digits:
        words = casefolded_words(_NUMBER_GLUE.sub("", text))
        if len(words) < SHINGLE_WORDS + MIN_SHINGLES - 1:
            return b""
        return _minima(_word_hashes(words))
    return _minima(_glued_hashes(found))


#: ASCII digits to "0", "." and "," to ".", every other byte to a space: a number's glue
#: (_NUMBER_GLUE, when no digit beyond ASCII is in the text) is a "0.0" in this shape.
_GLUE_SHAPES = bytes(48 if 48 <= c <= 57 else 46 if c in (44, 46) else 32 for c in range(256))


def _glued_hashes(found: _Words) -> np.ndarray:
    """The word hashes of ``found.text`` with numbers glued (_NUMBER_GLUE) from its words'.
    A "." or "," between two ASCII digits is a separator in ``found``; without it the digits
    on either side are one word: the last word of the token before and the first of the
    token after (both ASCII digits) join into one."""
    hashes = found.hashes()
    shape = found.data.translate(_GLUE_SHAPES)
    at = shape.find(b"0.0")
    if at < 0:
        return hashes
    words = found.words
    joined: list[int] = []  # the first word of each token after a glue
    token = start = 0
    while at >= 0:
        token += found.tokens_in(start, at + 2)  # the tokens before the one after the glue
        joined.append(found.word_index(token))
        start = at + 2
        at = shape.find(b"0.0", at + 1)
    heads: list[int] = []
    spelled: list[bytes] = []
    previous = -2
    for index in joined:  # ascending; a run (7,800,000) joins three words into one
        if index == previous + 1:
            spelled[-1] += words[index]
        else:
            heads.append(index - 1)
            spelled.append(words[index - 1] + words[index])
        previous = index
    glued = hashes.copy()
    glued[heads] = _word_hashes(spelled)
    keep = np.ones(len(glued), dtype=bool)
    keep[joined] = False
    return glued[keep]


def _minima(w: np.ndarray) -> bytes:
    """The signature of a text whose word hashes are ``w``."""
    if len(w) < SHINGLE_WORDS + MIN_SHINGLES - 1:
        return b""
    n = len(w) - SHINGLE_WORDS + 1
    grams = w[:n] * _K1
    for offset, key in ((1, _K2), (2, _K3), (3, _M1), (4, _M2)):
        grams = grams ^ (w[offset : offset + n] * key)
    # A shingle seen twice changes no minimum, and the top 16 bits of the minimum are the
    # minimum of the top 16 bits: one pass less over the MINHASH_SIZE x shingles matrix.
    # The products wrap modulo 2**64 on purpose; numpy checks overflow only on scalars, so
    # no np.errstate is needed around arrays (it cost ~5 us a story to enter and leave).
    permute_a, permute_b = _permutations()
    permuted = permute_a * grams[None, :]
    permuted += permute_b
    minima = (permuted.min(axis=1) >> np.uint64(48)).astype("<u2")
    return bytes(minima.tobytes())


def resemblance(signature_a: bytes, signature_b: bytes) -> float:
    """Estimated Jaccard resemblance of two signatures (0.0 when either is empty)."""
    if not signature_a or len(signature_a) != len(signature_b):
        return 0.0
    a = np.frombuffer(signature_a, dtype="<u2")
    b = np.frombuffer(signature_b, dtype="<u2")
    return int(np.count_nonzero(a == b)) / len(a)  # (a == b).mean(), without its ~10 us of set-up


# --- The decision -------------------------------------------------------------------
#: Month name or abbreviation of a dateline -> month number (rules.DATELINE_MONTHS).
_MONTH_NAMES: dict[str, int] = {
    name: number for number, names in enumerate(rules.DATELINE_MONTHS, start=1) for name in names.split()
}
_DATELINE_DATE = re.compile(r"\b(?P<a>[^\W\d_]{3,10}|\d{1,2})\.?\s+(?P<b>[^\W\d_]{3,10}|\d{1,2})\.?(?=[\s,)(-]|$)")
_ENVELOPE_DATE = re.compile(r"\s(?P<month>\d{1,2})-(?P<day>\d{1,2})\s+\d{2,5}\s*[<=]?$")


def _month_day(month: str, day: str) -> str | None:
    number = _MONTH_NAMES.get(month.casefold())
    if number is None or not day.isdigit() or not 1 <= int(day) <= 31:
        return None
    return f"{number:02d}-{int(day):02d}"


def story_day(published_at: datetime | None, removed: list[tuple[str, str]]) -> str | None:
    """The day a story reports on, as ``MM-DD``: the date its dateline prints ("NEW YORK,
    Oct 20 -", "PARIS, 21 oct (AFP) -"), else its publication time's UTC date, else its
    ANPA envelope's date ("... 10-20 0105"). None when nothing dates it. ``removed`` holds
    (kind, text) of what the parser lifted out."""
    for kind, text in removed[:12]:
        if kind in ("dateline", "agency_tag"):
            for match in _DATELINE_DATE.finditer(text):
                a, b = match.group("a"), match.group("b")
                day = _month_day(a, b) if b.isdigit() else _month_day(b, a) if a.isdigit() else None
                if day:
                    return day
    if published_at is not None:
        return f"{published_at.month:02d}-{published_at.day:02d}"
    for kind, text in removed[:6]:
        if kind == "envelope":
            found = _ENVELOPE_DATE.search(text)
            if found and 1 <= int(found.group("month")) <= 12 and 1 <= int(found.group("day")) <= 31:
                return f"{int(found.group('month')):02d}-{int(found.group('day')):02d}"
    return None


@dataclass(frozen=True)
class Fingerprint:
    """What the near-duplicate decision reads of a story."""

    simhash: int
    keys: tuple[str, ...]  # paragraph_keys
    signature: bytes = b""  # minhash_signature of the body
    day: str | None = None  # story_day

    def __reduce__(self) -> tuple[type[Fingerprint], tuple[int, tuple[str, ...], bytes, str | None]]:
        # Pickled by its fields (workers send it to the coordinator): a frozen dataclass
        # compiled by mypyc (parsers/native.py) cannot have its state set after creation.
        return (Fingerprint, (self.simhash, self.keys, self.signature, self.day))


def same_day(a: str | None, b: str | None) -> bool:
    """Two stories may be copies unless both are dated and the dates differ: one
    template's reports on two days (``FED ADDS RESERVES ...``) are two stories."""
    return a is None or b is None or a == b


def near_duplicates(a: Fingerprint, b: Fingerprint) -> bool:
    """The pipeline's near-duplicate test for two stories (table.ledger indexes it):
    on the same day (or undated), and one of
    - simhashes within NEAR_DUPLICATE_BITS;
    - shared paragraphs (shares_paragraphs); when the smaller story has a single keyed
      paragraph, its shingles must agree too (a boilerplate note shared by two results
      tables is not a copy);
    - estimated shingle resemblance at least MIN_RESEMBLANCE (short stories and tables
      re-sent with a ticker dropped, a word changed or a line added)."""
    if not same_day(a.day, b.day):
        return False
    if hamming_distance(a.simhash, b.simhash) <= NEAR_DUPLICATE_BITS:
        return True
    shared = len(set(a.keys) & set(b.keys))
    if paragraphs_match(shared, len(a.keys), len(b.keys), a.signature, b.signature):
        return True
    return resemblance(a.signature, b.signature) >= MIN_RESEMBLANCE


#: With a single keyed paragraph shared, the shingle resemblance the stories need as well.
SINGLE_PARAGRAPH_RESEMBLANCE = 0.3


def paragraphs_match(shared: int, count_a: int, count_b: int, signature_a: bytes, signature_b: bytes) -> bool:
    """The paragraph rule, checked by resemblance when only one paragraph is shared and
    both stories have a signature to check it by. The resemblance is worked out only then:
    a story sharing one boilerplate paragraph with dozens of others fails ``shares_paragraphs``
    against most of them, and comparing signatures first cost ~10 us a candidate."""
    if not shares_paragraphs(shared, count_a, count_b):
        return False
    if shared >= 2 or not (signature_a and signature_b):
        return True
    return resemblance(signature_a, signature_b) >= SINGLE_PARAGRAPH_RESEMBLANCE


def fingerprint_of(story: Story) -> Fingerprint:
    """A parsed story's fingerprint (its body's paragraphs, shingles and day)."""
    fingerprint = Fingerprint(
        story.simhash,
        tuple(paragraph_keys(story.paragraphs, story.body)),
        minhash_signature(story.body),
        story_day(story.published_at, [(r.kind, r.text) for r in story.removed]),
    )
    _LAST_WORDS.words = None  # the body's words have no later reader: not kept for the next story
    return fingerprint
