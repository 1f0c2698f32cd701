"""The ledger: which inputs are done, and the duplicate index built from it.

One JSON object per committed batch under ``_ledger/<batch_id>.json``; a batch's ledger
object is written after its data files and manifest, so an input is "done" only once
everything it produced is stored. Runs fold the batch objects into a snapshot
(``table.snapshot``) every ``WIRE_INGEST_LEDGER_FOLD_AFTER`` batches; the index reads the
snapshot's sorted key hashes for planning and its entries only when a run has stories to
deduplicate. No Prefect here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from parsers.fingerprint import (
    MIN_RESEMBLANCE,
    NEAR_DUPLICATE_BITS,
    Fingerprint,
    hamming_distance,
    paragraphs_match,
    resemblance,
    same_day,
)
from schemas.errors import MissingObjectError
from storage import Storage
from storage.base import at_once
from table.snapshot import (
    LEDGER_PREFIX,
    Snapshot,
    batch_id_of,
    duplicate_window,
    entry_fields,
    key_array,
    read_pointer,
    read_rows,
    story_positions,
    uri_hash,
    uri_hashes,
)
from table.snapshot import READ_AGAIN as READ_AGAIN

_BANDS = 4  # 4 bands of 16 bits: two hashes within 3 bits share at least one band
#: MinHash LSH: 16 bands of 4 positions (8 bytes). Two stories of resemblance 0.7 share a
#: band with probability 1 - (1 - 0.7**4)**16 = 0.998; of 0.3, 0.12 (then checked).
_SIGNATURE_BANDS, _SIGNATURE_BAND_BYTES = 16, 8
#: Stories kept per posting list of the near-duplicate indexes (the latest ones).
MAX_POSTINGS = 64
#: An undated story looks for its simhash bands on every day the index holds. Past this
#: many days an index keeps, per band and band value, a bitmap of the days whose list holds
#: that value (``_value_days``), so the lookup reads only those: with a year's days indexed,
#: ~640 us an undated lookup against ~25 us a dated one before it.
DAY_SCAN_LIMIT = 16
_DAY_CODES = 416  # ``_day_code``'s range: month * 32 + day, 0 when undated


#: The outcome of an input read as one story (or quarantined) before it became a bundle,
#: once a batch of its members took out what it made: it has no row; its members are
#: inputs of their own (`flows.batch._read_as_bundle`).
BUNDLE = "bundle"


@dataclass(slots=True)
class LedgerEntry:
    """What became of one input."""

    source_uri: str
    source_sha256: str
    outcome: str  # "story" | "duplicate" | "quarantined" | "bundle" (BUNDLE)
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
    #: The input's revision when it was listed (``ObjectInfo.revision``; a bundle member's is
    #: its bundle's); None where the run was given keys without revisions, ran with
    #: ``detect_rewrites`` off, or before revisions were kept.
    revision: str | None = None

    def fingerprint(self) -> Fingerprint:
        return Fingerprint(
            self.simhash or 0, tuple(self.paragraph_keys or ()), bytes.fromhex(self.minhash or ""), self.day
        )

    def to_dict(self) -> dict[str, Any]:
        """``dataclasses.asdict``'s dict (same keys, same order), without its generic deep copy."""
        row = {name: getattr(self, name) for name in _ENTRY_FIELDS}
        if self.paragraph_keys is not None:
            row["paragraph_keys"] = list(self.paragraph_keys)
        return row


_ENTRY_FIELDS = tuple(f.name for f in fields(LedgerEntry))


class DoneEntries:
    """Which inputs are done: the snapshot's (looked up by hash, in bulk) and the unfolded
    batches' (held as entries). A mapping from source URI to its latest LedgerEntry."""

    def __init__(self, snapshot: Snapshot | None = None) -> None:
        self.snapshot = snapshot
        self.recent: dict[str, LedgerEntry] = {}

    def check_many(
        self, uris: list[str], revisions: Sequence[str | None], codes: bytes | None = None
    ) -> tuple[list[bool], list[bool]]:
        """For each URI with the revision it is listed at: whether it is done, and whether
        it is done but *rewritten* since: its entry recorded another revision, or
        ``READ_AGAIN`` (so also when no revision is listed: ``--ignore-rewrites``). Otherwise
        an entry or a listing without a revision (see ``LedgerEntry.revision``) is never
        called rewritten. One vectorised snapshot lookup; ``codes``, the revisions' codes if the
        listing computed them (``storage.base.Revisions``), saves hashing them here."""
        done = [False] * len(uris)
        rewritten = [False] * len(uris)
        if self.snapshot is not None:
            found, changed = self.snapshot.lookup(uri_hashes(uris), revisions, codes)
            done = found.tolist()
            rewritten = changed.tolist()
        recent = self.recent
        if recent:
            for at, uri in enumerate(uris):
                entry = recent.get(uri)
                if entry is not None:  # the latest entry: it overrides the snapshot's
                    done[at] = True
                    listed = revisions[at]
                    rewritten[at] = entry.revision == READ_AGAIN or bool(
                        listed and entry.revision and entry.revision != listed
                    )
        return done, rewritten

    def __contains__(self, uri: object) -> bool:
        if not isinstance(uri, str):
            return False
        return uri in self.recent or (self.snapshot is not None and bool(self.snapshot.contains([uri_hash(uri)])[0]))

    def get(self, uri: str) -> LedgerEntry | None:
        return self.get_many([uri]).get(uri)

    def get_many(self, uris: Sequence[str]) -> dict[str, LedgerEntry]:
        """The latest entries of those of ``uris`` that are done (one pass over the
        snapshot's entries for all of them)."""
        found = {uri: self.recent[uri] for uri in uris if uri in self.recent}
        rest = [uri for uri in uris if uri not in found]
        if self.snapshot is not None and rest:
            held = self.snapshot.contains(uri_hashes(rest))
            folded = [uri for uri, yes in zip(rest, held, strict=True) if yes]
            if folded:
                rows = self.snapshot.entry_rows(folded)
                found.update((uri, LedgerEntry(**rows[uri])) for uri in folded if uri in rows)
        return {uri: found[uri] for uri in uris if uri in found}  # in the order asked

    def copies_of(self, story_ids: Iterable[str]) -> dict[str, LedgerEntry]:
        """The inputs whose latest entry points at one of ``story_ids`` (``duplicate_of``): exact
        duplicates (no row of their own: they point at that story's) and near copies (a row
        naming that story), with those entries. Asked only when a batch is to take stories'
        rows out (a rewrite or a reprocess): one pass over the folded entries'
        ``duplicate_of`` column."""
        ids = set(story_ids)
        if not ids:
            return {}
        found: dict[str, LedgerEntry] = {}  # in commit order: the folded entries first
        if self.snapshot is not None:
            folded = [uri for uri in self.snapshot.copy_uris(ids) if uri not in self.recent]
            for uri, entry in self.get_many(folded).items():  # the latest entry of each
                if entry.duplicate_of in ids:
                    found[uri] = entry
        found.update((u, e) for u, e in self.recent.items() if e.duplicate_of in ids)
        return found

    def __getitem__(self, uri: str) -> LedgerEntry:
        entry = self.get(uri)
        if entry is None:
            raise KeyError(uri)
        return entry

    def __setitem__(self, uri: str, entry: LedgerEntry) -> None:
        self.recent.pop(uri, None)  # a reprocessed input moves to its latest place
        self.recent[uri] = entry

    def items(self) -> Iterator[tuple[str, LedgerEntry]]:
        """Every done input and its latest entry, in commit order."""
        if self.snapshot is not None:
            for row in self.snapshot.iter_rows():
                if row["source_uri"] not in self.recent:
                    yield row["source_uri"], LedgerEntry(**row)
        yield from self.recent.items()

    def __iter__(self) -> Iterator[str]:
        return (uri for uri, _ in self.items())

    def __len__(self) -> int:
        if self.snapshot is None:
            return len(self.recent)
        overlap = sum(self.snapshot.contains([uri_hash(u) for u in self.recent])) if self.recent else 0
        return self.snapshot.rows + len(self.recent) - int(overlap)


class LedgerIndex:
    """View of the ledger: done inputs, known stories, and the near-duplicate indexes.

    The duplicate indexes of a loaded ledger are built on first use: a run with nothing new
    reads only which inputs are done."""

    def __init__(self, snapshot: Snapshot | None = None, *, lazy: bool = False, window: int | None = None) -> None:
        self.done = DoneEntries(snapshot)
        self._built = not lazy
        self.window = duplicate_window() if window is None else window
        self._older: OlderStories | None = None  # ids and body hashes of stories before the window
        self._story_ids: set[str] = set()
        self._by_content: dict[str, str] = {}
        # Posting lists keep the latest MAX_POSTINGS stories each: a paragraph or band that
        # recurs in thousands of stories (boilerplate that escaped the rules, one template's
        # reports) costs a bounded lookup, and copies, sent within hours, are among the latest.
        # Simhash bands are keyed by band value and day (``_band_key``): a copy is only ever
        # looked for on its own day and among undated stories, and 16-bit band values recur
        # past 65,536 stories, so lists keyed by value alone grew with the index (a lookup
        # at 1,000,000 stories scanned ~60 of them). Entries are (order added, simhash, story).
        # Each posting key maps to its one story, bare, or to a list of its latest ones.
        self._bands: list[dict[int, Any]] = [{} for _ in range(_BANDS)]
        self._band_days: set[int] = set()  # day codes in the bands (an undated story looks in each)
        #: [band, band value] -> bitmap of the day codes holding it; made on the first undated
        #: lookup over more than DAY_SCAN_LIMIT days, kept up to date from then on.
        self._value_days: np.ndarray | None = None
        #: A batch's own index (``for_batch``) keeps the same as sets, small: band -> value -> days.
        self._value_day_sets: list[dict[int, set[int]]] | None = None
        self._added = 0
        self._follows: int | None = None  # for_batch(): the ``_added`` of the index it follows
        self._by_paragraph: dict[str, Any] = {}
        #: story -> (paragraph key count, MinHash signature, day)
        self._prints: dict[str, tuple[int, bytes, str | None]] = {}
        self._signature_bands: list[dict[bytes, Any]] = [{} for _ in range(_SIGNATURE_BANDS)]
        self.batches: set[str] = set(snapshot.folded) if snapshot is not None else set()
        #: story -> the earliest story of its near-duplicate cluster, for copies only.
        self._roots: dict[str, str] = {}
        #: Stories whose rows a batch of this run took out (`forget`).
        self.removed: set[str] = set()

    def _ensure(self) -> None:
        """Build the duplicate indexes from the snapshot and the unfolded entries (once).

        Of the snapshot's stories, the latest ``window`` are indexed in full (fingerprints
        too); the older ones only by story id and body hash, kept as Arrow columns and
        looked up a batch at a time (``history_matches``): a run's memory and start-up no
        longer grow with the whole history (~2.8 KB and ~50 us a story indexed)."""
        if self._built:
            return
        self._built = True
        snapshot = self.done.snapshot
        if snapshot is not None:
            for file, latest in self._read_older(snapshot):
                rows = read_rows(file, latest, entry_fields(file.schema_arrow))
                for batch in rows.to_batches(max_chunksize=8192):
                    for row in batch.to_pylist():
                        self._index(LedgerEntry(**row))
        for entry in self.done.recent.values():
            self._index(entry)
            entry.paragraph_keys = entry.minhash = None  # indexed: see ``add``

    def _read_older(self, snapshot: Snapshot) -> list[tuple[pq.ParquetFile, np.ndarray]]:
        """Keep the ids and body hashes of the snapshot's stories before the window (as
        32-byte digests, in commit order: ``OlderStories``), reading four light columns a
        row group at a time, layer after layer; return each layer's entries file with the
        row numbers of its stories in the window, to be read in full. Stories whose input
        was reprocessed since (a newer layer's, or an unfolded batch's) are not current:
        left out."""
        recent = pa.array([uri_hash(u) for u in self.done.recent], type=pa.binary(16)) if self.done.recent else None
        snapshot.prefetch("entries")  # from S3, the layers' copies several at once
        files: list[tuple[pq.ParquetFile, np.ndarray]] = []
        ids: list[pa.Array] = []  # a row group's story ids: digests, or text
        bodies: list[pa.Array] = []
        for number, layer in enumerate(snapshot.layers):
            file = layer.entries_file()
            positions: list[np.ndarray] = []
            start = 0
            for group in range(file.metadata.num_row_groups):
                light = file.read_row_group(group, columns=["uri_hash", "outcome", "story_id", "content_sha256"])
                at = story_positions(light)
                keys = light.column("uri_hash").take(pa.array(at, type=pa.int64()))
                current = ~snapshot.shadowed(number, key_array(keys))
                if recent is not None:
                    current &= ~pc.is_in(keys, value_set=recent).to_numpy(zero_copy_only=False)
                at = at[current]
                taken = pa.array(at, type=pa.int64())
                ids.append(light.column("story_id").take(taken).combine_chunks())
                bodies.append(light.column("content_sha256").take(taken).combine_chunks())
                if (id_digests := _digests(ids[-1])) is not None and (body_digests := _digests(bodies[-1])) is not None:
                    ids[-1], bodies[-1] = id_digests, body_digests  # 32 bytes each, not ~68 as text
                positions.append(at + start)
                start += light.num_rows
                del light
            files.append((file, np.concatenate(positions) if positions else np.zeros(0, dtype=np.int64)))
        total = sum(len(at) for _, at in files)
        split = max(0, total - self.window) if self.window else 0
        if split:
            ids, bodies = _first(ids, split), _first(bodies, split)
            self._older = OlderStories(ids, bodies)
        latest: list[tuple[pq.ParquetFile, np.ndarray]] = []
        for file, at in files:  # the window: the last ``total - split`` stories
            latest.append((file, at[min(split, len(at)) :].copy()))
            split = max(0, split - len(at))
        return latest

    def history_matches(self, story_ids: list[str], content: list[str]) -> tuple[set[str], dict[str, str]]:
        """Of ``story_ids`` and body hashes, those held by stories older than the indexed
        window: the known ids, and each hash's earliest story. Empty without such stories."""
        self._ensure()
        if self._older is None or not (story_ids or content):
            return set(), {}
        return self._older.matches(story_ids, content)

    @property
    def story_ids(self) -> set[str]:
        self._ensure()
        return self._story_ids

    @property
    def by_content(self) -> dict[str, str]:
        self._ensure()
        return self._by_content

    def add(self, entry: LedgerEntry, print_: Fingerprint | None = None, *, indexed: bool = False) -> None:
        """Record one finished input (and, for a new story, its duplicate keys; ``print_``
        is the story's fingerprint when the caller has it, rebuilt from ``entry`` if not;
        ``indexed``: its story is in the duplicate index already, by ``merge``). Once the
        duplicate index is built, ``entry`` is kept without its fingerprint fields (call
        this after ``entry`` was written to the ledger)."""
        self.done[entry.source_uri] = entry
        if self._built:
            if not indexed:
                self._index(entry, print_)
            # Indexed: the entry's fingerprint now lives in the duplicate index, and what is
            # kept in ``done`` (planning, reprocessing, recovery) never reads it again. Its
            # paragraph keys and MinHash hex were ~600 bytes a story of the flow's memory.
            entry.paragraph_keys = None
            entry.minhash = None

    def _index(self, entry: LedgerEntry, print_: Fingerprint | None = None) -> None:
        if entry.outcome == "story" and entry.story_id:
            self.add_story(entry.story_id, entry.content_sha256 or "", print_ or entry.fingerprint())
            # A near copy to be read again names a story whose row went: it starts its
            # cluster until it is read again (and its row says so then).
            if entry.duplicate_of and entry.revision != READ_AGAIN:
                self.add_copy(entry.story_id, entry.duplicate_of)

    def add_copy(self, story_id: str, duplicate_of: str) -> None:
        """Record that ``story_id`` is a near copy of ``duplicate_of`` (same cluster)."""
        self._ensure()
        self._roots[story_id] = self._roots.get(duplicate_of, duplicate_of)

    def cluster_root(self, story_id: str) -> str | None:
        """The earliest story of ``story_id``'s near-duplicate cluster, if it is indexed here."""
        self._ensure()
        if story_id in self._roots:
            return self._roots[story_id]
        return story_id if story_id in self.story_ids else None

    def forget(self, story_ids: set[str], bodies: Iterable[str] = ()) -> None:
        """Stories whose rows a committed batch took out (their inputs rewritten or
        reprocessed into other stories, no copy left to carry them): unknown for the rest of
        the run, so a later copy is a row of its own, not a duplicate of a row that is gone
        (the next run's index is built from the inputs' latest entries, without them).
        ``bodies``: their body hashes, no longer the earliest of their text either."""
        self._ensure()
        self._story_ids -= story_ids
        self.removed |= story_ids
        # Their copies start their clusters now (as the next run's index has them, its
        # copies marked to be read again naming no story).
        for copy in [copy for copy, root in self._roots.items() if root in story_ids]:
            del self._roots[copy]
        for body in bodies:
            if self._by_content.get(body) in story_ids:
                del self._by_content[body]

    def add_story(self, story_id: str, content_sha: str, print_: Fingerprint) -> None:
        """Index a story so later copies find it."""
        self._ensure()
        self.removed.discard(story_id)
        self._story_ids.add(story_id)
        self._by_content.setdefault(content_sha, story_id)
        # Posting lists are plain lists trimmed to the latest MAX_POSTINGS, made on first
        # use, in one loop without a call per posting: a deque(maxlen) allocates a 64-slot
        # block up front (~760 bytes) and most keys only ever hold one story, so deques made
        # the index ~21 KB a story (1 GB of flow process at 100,000 stories).
        simhash = print_.simhash
        self._prints[story_id] = (len(print_.keys), print_.signature, print_.day)
        day = _day_code(print_.day)
        self._band_days.add(day)
        if self._value_days is not None:
            if day >= _DAY_CODES:  # not a day code (none is written): no bitmap, scan the days
                self._value_days = None
            else:
                byte, bit = day >> 3, 1 << (day & 7)
                for band in range(_BANDS):
                    self._value_days[band, (simhash >> (16 * band)) & 0xFFFF, byte] |= bit
        if self._value_day_sets is not None:
            for band, sets in enumerate(self._value_day_sets):
                sets.setdefault((simhash >> (16 * band)) & 0xFFFF, set()).add(day)
        self._added += 1
        entry = (self._added, simhash, story_id)  # one tuple, shared by the bands
        postings: list[tuple[dict[Any, list[Any]], Any, Any]] = [
            (self._bands[band], _band_key(simhash, band, day), entry) for band in range(_BANDS)
        ]
        postings += [(self._by_paragraph, key, story_id) for key in print_.keys]
        postings += [
            (self._signature_bands[band], chunk, story_id)
            for band, chunk in enumerate(_signature_bands(print_.signature))
        ]
        # A key's first story is stored bare and becomes a list only when a second one
        # comes: most MinHash bands and paragraph keys only ever hold one story, and a list
        # each cost ~72 bytes (21 of them a story: ~1.5 KB of the index's ~4.3 KB).
        for lists, key, value in postings:
            found = lists.get(key)
            if found is None:
                lists[key] = value
            elif type(found) is list:
                found.append(value)
                if len(found) > MAX_POSTINGS:
                    del found[0]
            else:
                lists[key] = [found, value]

    def merge(self, batch: LedgerIndex) -> None:
        """Fold ``batch``'s duplicate index (stories indexed after this index's, numbered on
        from ``_added``: see ``for_batch``) into this one, as if each of its stories had been
        added here in turn: a committed batch's stories indexed once, not twice (its
        lookups need them in a separate index until the commit). Each posting list keeps the
        latest ``MAX_POSTINGS`` of both."""
        self._ensure()
        if batch._follows != self._added:
            raise ValueError("merge() takes an index made by for_batch() after this index's last story")
        self._story_ids |= batch._story_ids
        self.removed -= batch._story_ids
        for sha, story_id in batch._by_content.items():
            self._by_content.setdefault(sha, story_id)
        for lists, more in zip(self._posting_dicts(), batch._posting_dicts(), strict=True):
            _merge_postings(lists, more)
        self._band_days |= batch._band_days
        if self._value_days is not None:
            self._mark_keys(batch._bands)
        self._prints.update(batch._prints)
        for story_id in batch._story_ids.difference(batch._roots):
            self._roots.pop(story_id, None)  # read again as nobody's copy: its own cluster's first
        self._roots.update(batch._roots)
        self._added = batch._added

    def days_of(self, band: int, simhash: int) -> Iterable[int]:
        """The day codes whose ``band`` list may hold ``simhash``'s band value: every day
        the index holds, or, past ``DAY_SCAN_LIMIT`` of them, those its bitmap names (a
        batch's own index: its sets)."""
        if len(self._band_days) <= DAY_SCAN_LIMIT:
            return self._band_days
        value = (simhash >> (16 * band)) & 0xFFFF
        if self._follows is not None:  # a batch's index: a few thousand stories at most
            if self._value_day_sets is None:
                self._value_day_sets = [{} for _ in range(_BANDS)]
                for sets, lists in zip(self._value_day_sets, self._bands, strict=True):
                    for key in lists:
                        sets.setdefault(key & 0xFFFF, set()).add(key >> 16)
            return self._value_day_sets[band].get(value, ())
        if self._value_days is None:
            if max(self._band_days) >= _DAY_CODES:
                return self._band_days
            self._value_days = np.zeros((_BANDS, 1 << 16, _DAY_CODES // 8), dtype=np.uint8)
            self._mark_keys(self._bands)
            if self._value_days is None:
                return self._band_days
        # The row's 52 bytes as one integer, its set bits read off lowest first (~1 us;
        # numpy's unpackbits and flatnonzero took ~5).
        bits = int.from_bytes(self._value_days[band, value].tobytes(), "little")
        days = []
        while bits:
            low = bits & -bits
            days.append(low.bit_length() - 1)
            bits ^= low
        return days

    def _mark_keys(self, bands: list[dict[int, Any]]) -> None:
        """Set the day bits of every posting key of ``bands`` (``_band_key``s: value | day << 16)."""
        assert self._value_days is not None
        for band, lists in enumerate(bands):
            keys = np.fromiter(lists.keys(), dtype=np.int64, count=len(lists))
            days = keys >> 16
            if len(days) and days.max() >= _DAY_CODES:  # not a day code: no bitmap, scan the days
                self._value_days = None
                return
            np.bitwise_or.at(self._value_days[band], (keys & 0xFFFF, days >> 3), (1 << (days & 7)).astype(np.uint8))

    def _posting_dicts(self) -> list[dict[Any, Any]]:
        return [*self._bands, self._by_paragraph, *self._signature_bands]

    def for_batch(self) -> LedgerIndex:
        """An empty index for a batch's own stories, numbered on from this one's (``merge``)."""
        self._ensure()
        batch = LedgerIndex(window=self.window)
        batch._added = batch._follows = self._added
        return batch

    def near_duplicate_of(self, print_: Fingerprint, exclude: set[str]) -> str | None:
        """The first indexed story that ``parsers.fingerprint.near_duplicates`` calls a copy
        of ``print_``: by simhash band, then by shared paragraphs, then by MinHash band."""
        return near_duplicate_in([(self, exclude)], print_)


def _segments(found: list[Any]) -> list[tuple[int, Any]]:
    """One posting key's stories over several indexes (``found``: what each holds for the
    key, in order) as one index would hold them: ``(position of the index, its postings)``,
    the earlier index's first, only the latest ``MAX_POSTINGS`` in all (each index's own
    list holds at most that many, so only the first may need cutting)."""
    if found.count(None) == len(found):  # most keys: held by no index
        return []
    segments = [(at, f if type(f) is list else (f,)) for at, f in enumerate(found) if f is not None]
    if len(segments) > 1:
        extra = sum(len(postings) for _, postings in segments) - MAX_POSTINGS
        if extra > 0:
            segments[0] = (segments[0][0], segments[0][1][extra:])
    return segments


def near_duplicate_in(indexes: Sequence[tuple[LedgerIndex, set[str]]], print_: Fingerprint) -> str | None:
    """The story ``LedgerIndex.near_duplicate_of`` would find in one index holding the
    stories of ``indexes`` in their order, each index with the ids it must not name: the
    run's history, then the batch's own stories. Asking the history through every stage of
    the lookup before the batch made a copy's ``duplicate_of`` depend on where a batch
    began (so on the batch size, and on whether a run had crashed midway); here every
    posting list is the indexes' lists as one, so the answer does not.

    Most posting keys hold nothing in any index (a story's paragraphs and MinHash bands
    are mostly its own): ``_segments`` returns at once for those."""
    for index, _ in indexes:
        index._ensure()
    simhash, day_code = print_.simhash, _day_code(print_.day)
    # Same day or undated: that day's list and the undated one; undated: every day's that
    # holds the band's value (the order days are read in does not change the earliest match).
    if day_code:
        dated: Iterable[int] = (day_code, 0) if any(0 in i._band_days for i, _ in indexes) else (day_code,)
    lists_by_band = list(zip(*(index._bands for index, _ in indexes), strict=True))
    for band in range(_BANDS):
        first: tuple[int, int, str] | None = None  # (index position, order added, story) of the earliest match
        band_lists = lists_by_band[band]
        if day_code:
            days = dated
        elif len(indexes) == 1:
            days = indexes[0][0].days_of(band, simhash)
        else:
            days = set().union(*(index.days_of(band, simhash) for index, _ in indexes))
        value = (simhash >> (16 * band)) & 0xFFFF
        band_keys = [value | code << 16 for code in days]  # _band_key's
        if all(lists.keys().isdisjoint(band_keys) for lists in band_lists):
            continue
        for band_key in band_keys:
            for at, entries in _segments([lists.get(band_key) for lists in band_lists]):
                exclude = indexes[at][1]
                for entry in entries:  # in the order added: the first match is this list's earliest
                    if first is not None and (at, entry[0]) >= first[:2]:
                        break
                    if entry[2] not in exclude and hamming_distance(simhash, entry[1]) <= NEAR_DUPLICATE_BITS:
                        first = (at, entry[0], entry[2])
                        break
                else:
                    continue
                break
        if first is not None:
            return first[2]
    shared: dict[tuple[int, str], int] = {}
    paragraph_lists = [index._by_paragraph for index, _ in indexes]
    # Most stories share no paragraph and no MinHash band with any indexed story: asked in
    # one C-level pass per index first, each stage is skipped for them (~30 of the ~80 us
    # a lookup took went to building and reading lists that held nothing).
    if all(lists.keys().isdisjoint(print_.keys) for lists in paragraph_lists):
        paragraph_lists = []
    for paragraph in dict.fromkeys(print_.keys) if paragraph_lists else ():
        for at, story_ids in _segments([lists.get(paragraph) for lists in paragraph_lists]):
            exclude = indexes[at][1]
            for story_id in story_ids:
                if story_id not in exclude:
                    shared[at, story_id] = shared.get((at, story_id), 0) + 1
    for (at, story_id), count_shared in shared.items():  # first indexed first: the earliest copy
        count, signature, day = indexes[at][0]._prints[story_id]
        if same_day(print_.day, day) and paragraphs_match(
            count_shared, len(print_.keys), count, print_.signature, signature
        ):
            return story_id
    candidates: dict[tuple[int, str], None] = {}
    chunks = _signature_bands(print_.signature)
    if not any(any(map(dict.__contains__, index._signature_bands, chunks)) for index, _ in indexes):
        chunks = []
    for band, chunk in enumerate(chunks):
        for at, story_ids in _segments([index._signature_bands[band].get(chunk) for index, _ in indexes]):
            exclude = indexes[at][1]
            for story_id in story_ids:
                if story_id not in exclude:
                    candidates.setdefault((at, story_id))
    for at, story_id in candidates:
        _count, signature, day = indexes[at][0]._prints[story_id]
        if same_day(print_.day, day) and resemblance(print_.signature, signature) >= MIN_RESEMBLANCE:
            return story_id
    return None


def _merge_postings(lists: dict[Any, Any], more: dict[Any, Any]) -> None:
    """``more``'s posting lists appended to ``lists``' (a key's first story bare, as
    ``add_story`` stores it; the latest ``MAX_POSTINGS`` kept). Keys new to ``lists``, most
    of them, are copied over in one ``update``."""
    common = more.keys() & lists.keys()
    joined = {key: [*_postings(lists[key]), *_postings(more[key])] for key in common}
    lists.update(more)
    for key, postings in joined.items():
        lists[key] = list(postings[-MAX_POSTINGS:])


def _postings(found: Any) -> Any:
    """A posting key's stories: its list, or its one story stored bare (a story id, or a
    simhash band's (order, simhash, story) tuple), or none."""
    if found is None:
        return ()
    return found if type(found) is list else (found,)


def _day_code(day: str | None) -> int:
    """A story's ``MM-DD`` day as 1..415 (month * 32 + day), 0 when undated."""
    if not day:
        return 0
    try:
        return int(day[:2]) * 32 + int(day[3:5])
    except ValueError:  # not a day this pipeline writes: looked for as an undated story is
        return 0


def _band_key(simhash: int, band: int, day: int) -> int:
    """The posting key of ``simhash``'s 16-bit ``band`` on ``day`` (a ``_day_code``)."""
    return ((simhash >> (16 * band)) & 0xFFFF) | day << 16


def _signature_bands(signature: bytes) -> list[bytes]:
    if not signature:
        return []
    return [signature[i * _SIGNATURE_BAND_BYTES : (i + 1) * _SIGNATURE_BAND_BYTES] for i in range(_SIGNATURE_BANDS)]


class OlderStories:
    """The ids and body hashes of the stories before the duplicate window, looked up a
    batch at a time. Held as 32-byte digests (the hex text decoded; Arrow fixed-size
    binaries, in commit order): ~64 bytes a story, where Arrow strings took ~136 plus a
    copy of every entry's light columns while they were read (2.0 GB at 3,000,000 done
    inputs, against ~0.9 GB). A lookup scans them against the batch's values (a hash set
    of those), as it scanned the strings. Ids or hashes that are not 64 lowercase hex
    characters (none a run writes) are kept as Arrow strings and looked up as before."""

    def __init__(self, ids: list[pa.Array], bodies: list[pa.Array]) -> None:
        """``ids`` and ``bodies``: a row group's at a time, in commit order, as digests
        (``_digests``) or, where a group held other text, as Arrow strings."""
        self._strings: tuple[pa.ChunkedArray, pa.ChunkedArray] | None = None
        if not all(part.type == DIGEST for part in (*ids, *bodies)):
            self._strings = (_as_text(ids), _as_text(bodies))
            return
        self._ids = pa.chunked_array(ids, type=DIGEST)
        self._bodies = pa.chunked_array(bodies, type=DIGEST)

    def matches(self, story_ids: list[str], content: list[str]) -> tuple[set[str], dict[str, str]]:
        if self._strings is not None:
            return _string_matches(*self._strings, story_ids, content)
        found = self._ids.filter(pc.is_in(self._ids, value_set=_query(story_ids)))
        known = {bytes(digest).hex() for digest in found.to_pylist()}
        same = pc.is_in(self._bodies, value_set=_query(content))
        owners: dict[str, str] = {}
        for body, story in zip(self._bodies.filter(same).to_pylist(), self._ids.filter(same).to_pylist(), strict=True):
            owners.setdefault(bytes(body).hex(), bytes(story).hex())  # in commit order: the earliest
        return known, owners


#: A story id or body hash as its 32 bytes.
DIGEST = pa.binary(32)
_LOWER_HEX = b"0123456789abcdef"


def _digests(array: pa.Array) -> pa.Array | None:
    """64-lowercase-hex-character strings as 32-byte digests, or None if any is not."""
    if array.null_count:
        return None
    if not len(array):
        return pa.array([], type=DIGEST)
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int32)[array.offset : array.offset + len(array) + 1]
    if not bool((np.diff(offsets) == 64).all()):
        return None
    text = np.frombuffer(array.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]].tobytes()
    if text.translate(None, _LOWER_HEX):  # anything but lowercase hex digits (fromhex skips spaces)
        return None
    return pa.FixedSizeBinaryArray.from_buffers(DIGEST, len(array), [None, pa.py_buffer(bytes.fromhex(text.decode()))])


def _query(values: list[str]) -> pa.Array:
    """Query strings as digests; those that are not 64 lowercase hex characters are left
    out (nothing held as a digest can match them)."""
    return pa.array([raw for value in values if (raw := _digest(value))], type=DIGEST)


def _digest(text: str) -> bytes:
    if len(text) != 64:
        return b""
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        return b""
    return raw if raw.hex() == text else b""


def _first(parts: list[pa.Array], count: int) -> list[pa.Array]:
    """The first ``count`` values of ``parts``, still in parts."""
    kept: list[pa.Array] = []
    for part in parts:
        if count <= 0:
            break
        kept.append(part.slice(0, count))
        count -= len(part)
    return kept


def _as_text(parts: list[pa.Array]) -> pa.ChunkedArray:
    """``parts`` as one column of hex text (digests written back as text)."""
    return pa.chunked_array(
        [
            pa.array([bytes(d).hex() for d in part.to_pylist()], type=pa.string()) if part.type == DIGEST else part
            for part in parts
        ],
        type=pa.string(),
    )


def _string_matches(
    ids: pa.ChunkedArray, bodies: pa.ChunkedArray, story_ids: list[str], content: list[str]
) -> tuple[set[str], dict[str, str]]:
    known = set(ids.filter(pc.is_in(ids, value_set=pa.array(story_ids, type=pa.string()))).to_pylist())
    same = pc.is_in(bodies, value_set=pa.array(content, type=pa.string()))
    owners: dict[str, str] = {}
    for sha, story_id in zip(bodies.filter(same).to_pylist(), ids.filter(same).to_pylist(), strict=True):
        owners.setdefault(sha, story_id)  # in commit order: the earliest
    return known, owners


#: How many links of ``duplicate_of`` a `CopyTree` follows down from a story.
_COPY_DEPTH = 32


class CopyTree:
    """The inputs whose latest ledger entries point at some of ``story_ids`` (their exact
    duplicates and near copies, ``duplicate_of``), then at those near copies, and so on down
    (at most ``_COPY_DEPTH`` links): each level one scan of the ledger's ``duplicate_of``
    column (`DoneEntries.copies_of`), asked only when stories' rows are taken
    out or written again. ``entries``: each input's entry, level by level (so in the order
    the copies were made: a copy comes after the story it names); ``named_by``: story ->
    the near copies (stories) naming it."""

    def __init__(self, index: LedgerIndex, story_ids: Iterable[str]) -> None:
        self.entries: dict[str, LedgerEntry] = {}
        self.named_by: dict[str, list[str]] = {}
        seen = set(story_ids)
        frontier = set(seen)
        for _ in range(_COPY_DEPTH):
            if not frontier:
                break
            found = index.done.copies_of(frontier)
            frontier = set()
            for uri, entry in found.items():
                if uri in self.entries:
                    continue
                self.entries[uri] = entry
                copy = entry.story_id
                if entry.outcome == "story" and copy and entry.duplicate_of and copy not in seen:
                    self.named_by.setdefault(entry.duplicate_of, []).append(copy)
                    seen.add(copy)
                    frontier.add(copy)

    def below(self, story_id: str) -> set[str]:
        """``story_id`` and the stories naming it, directly or through others."""
        reached, stack = {story_id}, [story_id]
        while stack:
            for copy in self.named_by.get(stack.pop(), ()):
                if copy not in reached:
                    reached.add(copy)
                    stack.append(copy)
        return reached

    def under(self, story_ids: set[str]) -> dict[str, LedgerEntry]:
        """The entries of the inputs whose copy chain leads to one of ``story_ids``."""
        reached: set[str] = set()
        for story_id in story_ids:
            reached |= self.below(story_id)
        return {uri: e for uri, e in self.entries.items() if e.duplicate_of in reached}


def whole_entries(dest: Storage, entries: list[LedgerEntry]) -> list[LedgerEntry]:
    """``entries``, each story's with the fingerprint its committed entry holds (paragraph
    keys, MinHash): the run keeps its entries without them once indexed (``LedgerIndex.add``),
    and a near copy marked to be read again is still a story the next runs look copies up
    against until it is read again. Read back from the batch objects that wrote them (a
    folded entry comes from the snapshot whole)."""
    stripped = {e.batch_id for e in entries if e.outcome == "story" and e.paragraph_keys is None and e.minhash is None}
    if not stripped:
        return entries
    whole: dict[str, dict[str, Any]] = {}
    for batch_id in sorted(stripped):
        try:
            record = json.loads(dest.get(ledger_key(batch_id)))
        except MissingObjectError:  # folded since: its entry was whole already
            continue
        whole.update((raw["source_uri"], raw) for raw in record["entries"])
    return [
        replace(entry, paragraph_keys=raw.get("paragraph_keys"), minhash=raw.get("minhash"))
        if (raw := whole.get(entry.source_uri)) is not None and entry.outcome == "story"
        else entry
        for entry in entries
    ]


def ledger_key(batch_id: str) -> str:
    return f"{LEDGER_PREFIX}{batch_id}.json"


def encode_ledger(batch_id: str, entries: list[LedgerEntry], committed_at: str) -> bytes:
    record = {"batch_id": batch_id, "committed_at": committed_at, "entries": [e.to_dict() for e in entries]}
    return json.dumps(record, ensure_ascii=False).encode("utf-8")


def load_ledger(store: Storage) -> LedgerIndex:
    """The ledger as an index: the snapshot (if a run has folded one) and every committed
    batch object it does not fold.

    Batches apply in commit order, so an input reprocessed later is described by its
    latest entry, and only stories that are still current feed the duplicate index.
    """
    found = read_pointer(store)
    snapshot = Snapshot(store, found[0]) if found is not None else None
    index = LedgerIndex(snapshot, lazy=True)
    keys = [info.key for info in store.list(LEDGER_PREFIX)]
    # Up to WIRE_INGEST_LEDGER_FOLD_AFTER (50) of them, read at every run's start: on S3
    # several at once (one after another they were ~1-2.5 s of each run there).
    unfolded = [key for key in keys if (bid := batch_id_of(key)) and bid not in index.batches]
    batches = [json.loads(data) for data in at_once(store, store.get, unfolded, "wire-ingest-ledger")]
    batches.sort(key=lambda data: (data.get("committed_at", ""), data["batch_id"]))
    for data in batches:
        index.batches.add(data["batch_id"])
        for raw in data["entries"]:
            index.add(LedgerEntry(**raw))
    return index
