"""Stable identities and duplicate keys: story_id, content hash and a 64-bit simhash."""

from __future__ import annotations

import hashlib
import re

# Quotes of every style are dropped: a headline quoted ‘so’, "so" or “so” is one headline.
_QUOTES = str.maketrans(dict.fromkeys("'\"‘’‚‛`´“”„«»″′"))
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
_EDGE_PUNCT = " \t\"'.,;:!?-–—"


def normalize_for_compare(text: str) -> str:
    """Case-, quote- and whitespace-insensitive form: two texts that differ only so are equal."""
    return _SPACE.sub(" ", text.translate(_QUOTES)).strip(_EDGE_PUNCT).casefold()


def content_sha256(body: str) -> str:
    """The exact-duplicate key: sha256 of the body with runs of whitespace folded."""
    return hashlib.sha256(_SPACE.sub(" ", body).strip().encode("utf-8")).hexdigest()


def compute_story_id(agency: str, headline: str, body: str) -> str:
    """Stable id from agency + normalized headline + normalized body; same input, same id."""
    key = "\x1f".join((agency, normalize_for_compare(headline), normalize_for_compare(body)))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


# Bit-sliced accumulation: each byte of a shingle hash is looked up in a table that spreads
# its 8 bits into 8 lanes of 16 bits, so summing big integers counts all 64 bit positions at
# once (about 10x faster than a per-bit loop in Python).
_LANE = 16
_BYTE_TABLES: list[list[int]] = [
    [sum(((value >> bit) & 1) << (_LANE * (8 * byte_index + bit)) for bit in range(8)) for value in range(256)]
    for byte_index in range(8)
]
_LANE_MASK = (1 << _LANE) - 1
_MAX_SHINGLES = (1 << (_LANE - 1)) - 1


def compute_simhash(text: str, shingle: int = 3) -> int:
    """64-bit simhash over word ``shingle``-grams of ``text`` (case-folded)."""
    words = _WORD.findall(text.casefold())
    if not words:
        return 0
    grams = (
        [" ".join(words[i : i + shingle]) for i in range(len(words) - shingle + 1)]
        if len(words) >= shingle
        else [" ".join(words)]
    )
    grams = grams[:_MAX_SHINGLES]
    t0, t1, t2, t3, t4, t5, t6, t7 = _BYTE_TABLES
    total = 0
    for gram in grams:
        d = hashlib.blake2b(gram.encode("utf-8"), digest_size=8).digest()
        total += t0[d[0]] + t1[d[1]] + t2[d[2]] + t3[d[3]] + t4[d[4]] + t5[d[5]] + t6[d[6]] + t7[d[7]]
    half = len(grams) / 2
    result = 0
    for position in range(64):
        if ((total >> (_LANE * position)) & _LANE_MASK) > half:
            result |= 1 << position
    return result


def hamming_distance(a: int, b: int) -> int:
    """Number of differing bits between two simhashes."""
    return (a ^ b).bit_count()
