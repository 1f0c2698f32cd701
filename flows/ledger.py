"""The ledger: which inputs are done, and the duplicate index built from it.

One JSON object per committed batch under ``_ledger/<batch_id>.json``; a batch's ledger
object is written after its data files and manifest, so an input is "done" only once
everything it produced is stored. No Prefect here.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from parsers.fingerprint import (
    MIN_RESEMBLANCE,
    NEAR_DUPLICATE_BITS,
    Fingerprint,
    hamming_distance,
    paragraphs_match,
    resemblance,
    same_day,
)
from storage import Storage

LEDGER_PREFIX = "_ledger/"
_BANDS = 4  # 4 bands of 16 bits: two hashes within 3 bits share at least one band
#: MinHash LSH: 16 bands of 4 positions (8 bytes). Two stories of resemblance 0.7 share a
#: band with probability 1 - (1 - 0.7**4)**16 = 0.998; of 0.3, 0.12 (then checked).
_SIGNATURE_BANDS, _SIGNATURE_BAND_BYTES = 16, 8


@dataclass
class LedgerEntry:
    """What became of one input."""

    source_uri: str
    source_sha256: str
    outcome: str  # "story" | "duplicate" | "quarantined"
    batch_id: str
    story_id: str | None = None
    content_sha256: str | None = None
    simhash: int | None = None
    duplicate_of: str | None = None
    reason: str | None = None
    key: str | None = None
    paragraph_keys: list[str] | None = None  # absent in ledgers written before it existed
    minhash: str | None = None  # hex of parsers.fingerprint.minhash_signature; absent before it existed
    day: str | None = None  # parsers.fingerprint.story_day

    def fingerprint(self) -> Fingerprint:
        return Fingerprint(
            self.simhash or 0, tuple(self.paragraph_keys or ()), bytes.fromhex(self.minhash or ""), self.day
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class LedgerIndex:
    """In-memory view of the ledger: done inputs, known stories, and a simhash band index."""

    def __init__(self) -> None:
        self.done: dict[str, LedgerEntry] = {}
        self.story_ids: set[str] = set()
        self.by_content: dict[str, str] = {}
        self._bands: list[dict[int, list[tuple[int, str]]]] = [{} for _ in range(_BANDS)]
        self._by_paragraph: dict[str, list[str]] = {}
        #: story -> (paragraph key count, MinHash signature, day)
        self._prints: dict[str, tuple[int, bytes, str | None]] = {}
        self._signature_bands: list[dict[bytes, list[str]]] = [{} for _ in range(_SIGNATURE_BANDS)]
        self.batches: set[str] = set()
        #: story -> the earliest story of its near-duplicate cluster, for copies only.
        self._roots: dict[str, str] = {}

    def add(self, entry: LedgerEntry) -> None:
        """Record one finished input (and, for a new story, its duplicate keys)."""
        self.done[entry.source_uri] = entry
        if entry.outcome == "story" and entry.story_id:
            self.add_story(entry.story_id, entry.content_sha256 or "", entry.fingerprint())
            if entry.duplicate_of:
                self.add_copy(entry.story_id, entry.duplicate_of)

    def add_copy(self, story_id: str, duplicate_of: str) -> None:
        """Record that ``story_id`` is a near copy of ``duplicate_of`` (same cluster)."""
        self._roots[story_id] = self._roots.get(duplicate_of, duplicate_of)

    def cluster_root(self, story_id: str) -> str | None:
        """The earliest story of ``story_id``'s near-duplicate cluster, if it is indexed here."""
        if story_id in self._roots:
            return self._roots[story_id]
        return story_id if story_id in self.story_ids else None

    def add_story(self, story_id: str, content_sha: str, print_: Fingerprint) -> None:
        """Index a story so later copies find it."""
        self.story_ids.add(story_id)
        self.by_content.setdefault(content_sha, story_id)
        for band in range(_BANDS):
            piece = (print_.simhash >> (16 * band)) & 0xFFFF
            self._bands[band].setdefault(piece, []).append((print_.simhash, story_id))
        self._prints[story_id] = (len(print_.keys), print_.signature, print_.day)
        for key in print_.keys:
            self._by_paragraph.setdefault(key, []).append(story_id)
        for band, chunk in enumerate(_signature_bands(print_.signature)):
            self._signature_bands[band].setdefault(chunk, []).append(story_id)

    def near_duplicate_of(self, print_: Fingerprint, exclude: set[str]) -> str | None:
        """The first indexed story that ``parsers.fingerprint.near_duplicates`` calls a copy
        of ``print_``: by simhash band, then by shared paragraphs, then by MinHash band."""
        for band in range(_BANDS):
            piece = (print_.simhash >> (16 * band)) & 0xFFFF
            for other, story_id in self._bands[band].get(piece, ()):
                if (
                    story_id not in exclude
                    and hamming_distance(print_.simhash, other) <= NEAR_DUPLICATE_BITS
                    and same_day(print_.day, self._prints[story_id][2])
                ):
                    return story_id
        shared: dict[str, int] = {}
        for key in dict.fromkeys(print_.keys):
            for story_id in self._by_paragraph.get(key, ()):
                if story_id not in exclude:
                    shared[story_id] = shared.get(story_id, 0) + 1
        for story_id in shared:  # first indexed first: the earliest copy
            count, signature, day = self._prints[story_id]
            if not same_day(print_.day, day):
                continue
            signed = bool(signature and print_.signature)
            resembles = resemblance(print_.signature, signature) if signed else 0.0
            if paragraphs_match(shared[story_id], len(print_.keys), count, resembles, signed):
                return story_id
        candidates: dict[str, None] = {}
        for band, chunk in enumerate(_signature_bands(print_.signature)):
            for story_id in self._signature_bands[band].get(chunk, ()):
                if story_id not in exclude:
                    candidates.setdefault(story_id)
        for story_id in candidates:
            _count, signature, day = self._prints[story_id]
            if same_day(print_.day, day) and resemblance(print_.signature, signature) >= MIN_RESEMBLANCE:
                return story_id
        return None


def _signature_bands(signature: bytes) -> list[bytes]:
    if not signature:
        return []
    return [signature[i * _SIGNATURE_BAND_BYTES : (i + 1) * _SIGNATURE_BAND_BYTES] for i in range(_SIGNATURE_BANDS)]


def ledger_key(batch_id: str) -> str:
    return f"{LEDGER_PREFIX}{batch_id}.json"


def encode_ledger(batch_id: str, entries: list[LedgerEntry], committed_at: str) -> bytes:
    record = {"batch_id": batch_id, "committed_at": committed_at, "entries": [e.to_dict() for e in entries]}
    return json.dumps(record, ensure_ascii=False).encode("utf-8")


def load_ledger(store: Storage) -> LedgerIndex:
    """Read every committed batch's ledger object into an index.

    Batches apply in commit order, so an input reprocessed later is described by its
    latest entry, and only stories that are still current feed the duplicate index.
    """
    index = LedgerIndex()
    batches = [json.loads(store.get(i.key)) for i in store.list(LEDGER_PREFIX) if i.key.endswith(".json")]
    batches.sort(key=lambda data: (data.get("committed_at", ""), data["batch_id"]))
    latest: dict[str, LedgerEntry] = {}
    for data in batches:
        index.batches.add(data["batch_id"])
        for raw in data["entries"]:
            latest[raw["source_uri"]] = LedgerEntry(**raw)
    for entry in latest.values():
        index.add(entry)
    return index
