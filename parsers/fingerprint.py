"""Stable identities and duplicate keys: story_id, content hash and a 64-bit simhash."""

from __future__ import annotations

import hashlib
import re
import zlib

import numpy as np

# Quotes of every style are dropped: a headline quoted ‘so’, "so" or “so” is one headline.
_QUOTES = re.compile("[" + re.escape("'\"‘’‚‛`´“”„«»″′") + "]")  # re: 10x faster than str.translate here
_WORD = re.compile(r"\w+")
_EDGE_PUNCT = " \t\"'.,;:!?-–—"


def normalize_for_compare(text: str) -> str:
    """Case-, quote- and whitespace-insensitive form: two texts that differ only so are equal."""
    return " ".join(_QUOTES.sub("", text).split()).strip(_EDGE_PUNCT).casefold()


def content_sha256(body: str) -> str:
    """The exact-duplicate key: sha256 of the body with runs of whitespace folded."""
    return hashlib.sha256(" ".join(body.split()).encode("utf-8")).hexdigest()


def compute_story_id(agency: str, headline: str, body: str) -> str:
    """Stable id from agency + normalized headline + normalized body; same input, same id."""
    key = "\x1f".join((agency, normalize_for_compare(headline), normalize_for_compare(body)))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


# Words repeat across stories (a news vocabulary is a few hundred thousand words), so each
# word is hashed once per process; the shingle hashes are then mixed and counted in numpy.
_WORD_HASHES: dict[str, int] = {}
_WORD_CACHE_LIMIT = 500_000
_K1, _K2, _K3 = (np.uint64(k) for k in (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9))
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _word_hashes(words: list[str]) -> np.ndarray:
    cache = _WORD_HASHES
    hashes = [cache.get(word, -1) for word in words]
    if -1 in hashes:
        if len(cache) > _WORD_CACHE_LIMIT:
            cache.clear()
        for index, value in enumerate(hashes):
            if value == -1:
                word = words[index]
                data = word.encode("utf-8")
                # Two CRC-32s (different seeds) make 64 stable bits at a third of blake2b's
                # cost; the splitmix64 finalizer in compute_simhash mixes them.
                value = zlib.crc32(data) | (zlib.crc32(data, 0x9E3779B9) << 32)
                cache[word] = value
                hashes[index] = value
    return np.array(hashes, dtype=np.uint64)


def compute_simhash(text: str, shingle: int = 3) -> int:
    """64-bit simhash over word 3-grams of ``text`` (case-folded).

    Each 3-gram's hash mixes its three word hashes by position (so word order counts) and
    goes through the splitmix64 finalizer; bit i of the result is set when more than half
    of the 3-grams have bit i set.
    """
    words = _WORD.findall(text.casefold())
    if not words:
        return 0
    w = _word_hashes(words)
    if len(w) >= shingle:
        grams = (w[:-2] * _K1) ^ (w[1:-1] * _K2) ^ (w[2:] * _K3)
    else:
        grams = np.bitwise_xor.reduce(w * _K1, keepdims=True)
    grams ^= grams >> np.uint64(30)
    grams *= _M1
    grams ^= grams >> np.uint64(27)
    grams *= _M2
    grams ^= grams >> np.uint64(31)
    bits = np.unpackbits(grams.astype("<u8").view(np.uint8), bitorder="little").reshape(-1, 64)
    majority = bits.sum(axis=0, dtype=np.int64) * 2 > len(grams)
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
_NOT_WORD = re.compile(r"\W+")
#: Simhashes this close are near duplicates whatever their paragraphs.
NEAR_DUPLICATE_BITS = 3
#: Paragraphs shorter than this (normalized) are too generic to identify a story.
MIN_PARAGRAPH_CHARS = 60
#: Fingerprints kept per story (the head of a story is what copies share).
MAX_PARAGRAPH_KEYS = 16


def paragraph_keys(paragraphs: list[str]) -> list[str]:
    """16-hex fingerprints of a story's substantial paragraphs, case/punctuation-blind."""
    keys: list[str] = []
    for paragraph in paragraphs:
        normalized = _NOT_WORD.sub(" ", paragraph.casefold()).strip()
        if len(normalized) < MIN_PARAGRAPH_CHARS:
            continue
        key = hashlib.blake2b(normalized.encode("utf-8"), digest_size=8).hexdigest()
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


def near_duplicates(simhash_a: int, keys_a: list[str], simhash_b: int, keys_b: list[str]) -> bool:
    """The pipeline's near-duplicate test for two stories (flows.ledger indexes it)."""
    if hamming_distance(simhash_a, simhash_b) <= NEAR_DUPLICATE_BITS:
        return True
    return shares_paragraphs(len(set(keys_a) & set(keys_b)), len(keys_a), len(keys_b))
