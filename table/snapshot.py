"""Ledger snapshots: the JSON ledger objects of many batches folded into layers of three
files each, so a run plans against millions of done inputs without reading millions of
JSON entries, and a fold rewrites a share of the history that does not grow with it.

    _ledger/<batch_id>.json              a batch's commit point (as before)
    _ledger/snapshot.json                the pointer: the layers (oldest first), the batches its fold took
    _ledger/snapshots/<id>.keys          a layer's inputs' source-URI hashes (16 bytes each, sorted)
    _ledger/snapshots/<id>.revs          each key's input revision hash (8 bytes, zeros if none; same order)
    _ledger/snapshots/<id>.parquet       the layer's entries (one row per input, commit order)

Planning reads only the ``.keys`` and ``.revs`` files (24 bytes per done input) and checks
the source listing against them in vectorised lookups (done, and rewritten since); the
``.parquet`` entries are read only when a run has work to deduplicate. An input in several
layers (reprocessed after its layer was written) has its entry in the newest; the older
rows are *shadowed* and skipped. A layer folded before revisions were kept has no ``.revs``
file: its inputs are never called rewritten. A batch's JSON object stays its commit point:
a fold writes the new layer's files (its batches merged with the newest layers no larger,
``fold``), then swaps the pointer with a compare-and-swap (the commit point of the fold),
then deletes the JSON objects it folded and the merged layers' files. A fold that dies
before the swap leaves files nobody points at (the next fold removes them); one that dies
after it leaves JSON objects the pointer already lists as folded, which readers skip and
the next fold deletes. Either way nothing is read twice or lost.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from schemas.errors import StorageError
from storage import Storage
from storage.base import CODE_BYTES, at_once, read_each, revision_code

LEDGER_PREFIX = "_ledger/"
SNAPSHOT_POINTER = f"{LEDGER_PREFIX}snapshot.json"
SNAPSHOT_PREFIX = f"{LEDGER_PREFIX}snapshots/"
HASH_BYTES = 16
REVISION_BYTES = CODE_BYTES

#: The revision an entry is given when its input must be read again by the next run over
#: its own source: a copy of a story whose row a batch took out (the input that held it
#: rewritten into another story, or reprocessed) without a copy in that batch to carry it
#: (a copy under another source root, or one the store failed to read). No listing gives
#: this revision, so that run takes the input as rewritten, and parses it again rather than
#: keep its entry (`flows.batch.keep_unchanged`); its story, no longer held, becomes its
#: row. A run that lists no revisions (``--ignore-rewrites``) still finds it: a layer
#: records how many entries it holds at it (``read_again`` in its spec), and ``lookup``
#: reads the revisions of a layer that holds some (or was folded before it was counted).
READ_AGAIN = "read-again"
#: Keys per block of the snapshot's sampled search index (``Snapshot._find``).
SAMPLE_EVERY = 64
#: Unfolded batch objects after which a run folds them (``WIRE_INGEST_LEDGER_FOLD_AFTER``).
DEFAULT_FOLD_AFTER = 50
#: The pointer's format: 2 lists layers; 1 (before the twenty-first session) named one
#: set of files, read as one layer.
POINTER_VERSION = 2
#: Layers past which a fold merges more of them than its size rule asks (reads stay few).
MAX_LAYERS = 12
#: ``Snapshot.shadowed`` makes a layer's ``hidden`` list when the lookups it would save
#: outnumber the newer layers' keys by this factor (one lookup each makes the list).
HIDDEN_OVER_LOOKUPS = 1.0
#: Keys looked up at once when a layer's shadowed keys are listed (bounds the temporaries).
LOOKUP_SLICE = 16_384
#: A layer's files, as its pointer entry names them (``overlap_keys`` only when it has some).
LAYER_FILES = ("keys", "revisions", "entries", "overlap_keys")

ENTRY_SCHEMA = pa.schema(
    [
        ("uri_hash", pa.binary(HASH_BYTES)),
        ("source_uri", pa.string()),
        ("source_sha256", pa.string()),
        ("outcome", pa.string()),
        ("batch_id", pa.string()),
        ("story_id", pa.string()),
        ("content_sha256", pa.string()),
        ("simhash", pa.uint64()),
        ("duplicate_of", pa.string()),
        ("reason", pa.string()),
        ("key", pa.string()),
        ("paragraph_keys", pa.list_(pa.string())),
        ("minhash", pa.string()),
        ("day", pa.string()),
        ("revision", pa.string()),
    ]
)
ENTRY_FIELDS = [f.name for f in ENTRY_SCHEMA if f.name != "uri_hash"]


def fold_after() -> int:
    return max(1, int(os.environ.get("WIRE_INGEST_LEDGER_FOLD_AFTER", DEFAULT_FOLD_AFTER)))


#: The latest stories of the history whose fingerprints a run loads for the near-duplicate
#: lookup (``WIRE_INGEST_DUPLICATE_WINDOW``; 0 = all). Near copies arrive within hours or
#: days; exact copies (same story id or body) are found across the whole history.
DEFAULT_DUPLICATE_WINDOW = 100_000


def duplicate_window() -> int:
    return max(0, int(os.environ.get("WIRE_INGEST_DUPLICATE_WINDOW", DEFAULT_DUPLICATE_WINDOW)))


SNAPSHOT_ROW_GROUP = 65_536


def read_rows(file: pq.ParquetFile, positions: np.ndarray, columns: list[str]) -> pa.Table:
    """The rows at ``positions`` (ascending) of ``file``, reading only the row groups
    from the one holding the first of them on."""
    if not len(positions):
        return file.schema_arrow.empty_table().select(columns)
    sizes = [file.metadata.row_group(g).num_rows for g in range(file.metadata.num_row_groups)]
    ends = np.cumsum(sizes)
    first_group = int(np.searchsorted(ends, positions[0], side="right"))
    offset = int(ends[first_group - 1]) if first_group else 0
    table = file.read_row_groups(list(range(first_group, len(sizes))), columns=columns)
    return table.take(pa.array(positions - offset, type=pa.int64()))


def story_positions(table: pa.Table) -> np.ndarray:
    """Row numbers of ``table``'s story entries, in order."""
    return np.flatnonzero(pc.equal(table.column("outcome"), "story").to_numpy(zero_copy_only=False))


def uri_hash(uri: str) -> bytes:
    """The 16-byte key of a source URI in a snapshot (blake2b)."""
    return hashlib.blake2b(uri.encode("utf-8", "surrogateescape"), digest_size=HASH_BYTES).digest()


def uri_hashes(uris: Iterable[str]) -> list[bytes]:
    """``uri_hash`` of each URI, inlined (planning hashes every listed input's URI)."""
    blake2b = hashlib.blake2b
    return [blake2b(uri.encode("utf-8", "surrogateescape"), digest_size=HASH_BYTES).digest() for uri in uris]


def revision_hash(revision: str | None) -> bytes:
    """The 8-byte code of an input revision in a snapshot's ``.revs`` file (blake2b);
    ``b""`` (all zeros there) for none."""
    return revision_code(revision) if revision else b""


#: ``READ_AGAIN``'s code in a ``.revs`` file.
READ_AGAIN_CODE = revision_hash(READ_AGAIN)


def entry_fields(schema: pa.Schema) -> list[str]:
    """The LedgerEntry fields an entries file holds (one folded before a field existed
    lacks it; the entry takes its default)."""
    return [name for name in ENTRY_FIELDS if name in schema.names]


def batch_id_of(key: str) -> str | None:
    """The batch id of a ledger object key, or None for the pointer and snapshot files."""
    name = key[len(LEDGER_PREFIX) :] if key.startswith(LEDGER_PREFIX) else ""
    if not name.endswith(".json") or "/" in name or key == SNAPSHOT_POINTER:
        return None
    return name[: -len(".json")]


def read_pointer(store: Storage) -> tuple[dict[str, Any], str] | None:
    """The current snapshot pointer and its token, or None before the first fold."""
    found = store.get_with_token(SNAPSHOT_POINTER)
    if found is None:
        return None
    return json.loads(found[0]), found[1]


def layer_specs(pointer: dict[str, Any]) -> list[dict[str, Any]]:
    """The pointer's layers, oldest first: each its ``keys``, ``revisions`` (absent for a
    layer folded before revisions were kept), ``entries`` and ``rows`` (its file's rows,
    shadowed ones included). A pointer written before layers (version 1) is one layer."""
    if "layers" in pointer:
        return list(pointer["layers"])
    return [
        {
            "keys": pointer["keys"],
            "revisions": pointer.get("revisions"),
            "entries": pointer.get("entries"),
            "rows": int(pointer["rows"]),
        }
    ]


class Layer:
    """One fold's files: its inputs' sorted key hashes, their revision hashes, and their
    entries in commit order. A key may also be in a newer layer (an input reprocessed
    since): the newest layer holding a key holds its entry, older ones are *shadowed*."""

    def __init__(self, store: Storage, spec: dict[str, Any]) -> None:
        self.store = store
        self.spec = spec
        self.rows = int(spec["rows"])
        self._keys: np.ndarray | None = None
        self._samples: np.ndarray | None = None  # every SAMPLE_EVERY-th key's first 8 bytes (``find``)
        self._revisions: np.ndarray | None = None
        self._file: pq.ParquetFile | None = None  # the entries file, copied from S3 once a run
        #: How many of its keys older layers held when it was written (None: not recorded).
        self.overlap: int | None = spec.get("overlap")
        self._overlap_keys: np.ndarray | None = None

    @property
    def overlap_keys(self) -> np.ndarray:
        """Its keys that older layers held when it was written, sorted (``S16``): the rows
        of theirs it shadows. Empty when ``overlap`` is 0 or unknown."""
        if self._overlap_keys is None:
            name = self.spec.get("overlap_keys")
            if not self.overlap or name is None:
                self._overlap_keys = np.zeros(0, dtype=f"S{HASH_BYTES}")
            else:
                data = self.store.get(name)
                if len(data) != self.overlap * HASH_BYTES:
                    raise StorageError(
                        f"{name} holds {len(data)} bytes, not {self.overlap} keys: the ledger snapshot is damaged. "
                        "Restore _ledger/snapshots/ from a backup or an object version"
                    )
                self._overlap_keys = np.frombuffer(data, dtype=f"S{HASH_BYTES}")
        return self._overlap_keys

    @property
    def keys(self) -> np.ndarray:
        """The layer's URI hashes, sorted (numpy ``S16``)."""
        if self._keys is None:
            self._keys = self._fixed_width(
                self.spec["keys"],
                HASH_BYTES,
                "keys",
                "(the batch objects it folds are gone, and without it every input would be ingested again)",
            )
        return self._keys

    @property
    def revisions(self) -> np.ndarray | None:
        """Each key's input revision hash (``S8``, in ``keys``' order; empty where the entry
        has none), or None for a layer folded before revisions were kept."""
        name = self.spec.get("revisions")
        if name is None:
            return None
        if self._revisions is None:
            self._revisions = self._fixed_width(
                name,
                REVISION_BYTES,
                "revisions",
                "(until then, --ignore-rewrites runs without it: it only tells which inputs were rewritten since)",
            )
        return self._revisions

    def _fixed_width(self, name: str, width: int, what: str, why: str) -> np.ndarray:
        """``name``'s ``rows`` values of ``width`` bytes each, or a StorageError saying what to do."""
        data = self.store.get(name)
        if len(data) != self.rows * width:
            raise StorageError(
                f"{name} holds {len(data)} bytes, not {self.rows} {what}: the ledger snapshot is damaged. "
                f"Restore _ledger/snapshots/ from a backup or an object version; do not delete it {why}"
            )
        return np.frombuffer(data, dtype=f"S{width}")

    def find(self, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Whether each hash of ``query`` (numpy ``S16``) is a key, and where
        (``np.searchsorted``'s answer, computed ~2.5x faster: a million lookups a run over a
        large landing zone). Every ``SAMPLE_EVERY``-th key's first 8 bytes, as integers
        (their order is the bytes' order), bound each query to a block of keys, in which a
        vectorised bisection over the whole keys finds its place; keys that share their
        first 8 bytes only widen a block. ~125 KB at a million keys, where the first 8
        bytes of all keys took 8 MB."""
        keys = self.keys
        if not len(keys) or not len(query):
            return np.zeros(len(query), dtype=bool), np.zeros(len(query), dtype=np.int64)
        if self._samples is None:
            self._samples = np.ascontiguousarray(keys[::SAMPLE_EVERY]).view(">u8")[::2].astype(np.uint64)
        heads = np.ascontiguousarray(query).view(">u8")[::2].astype(np.uint64)
        # Samples before the query's head are below it; samples after it are above it.
        low = (np.searchsorted(self._samples, heads, "left") - 1).clip(0) * SAMPLE_EVERY
        high = np.minimum(np.searchsorted(self._samples, heads, "right") * SAMPLE_EVERY, len(keys))
        while len(active := np.nonzero(low < high)[0]):
            below, above = low[active], high[active]
            middle = (below + above) >> 1
            less = keys[middle] < query[active]
            low[active] = np.where(less, middle + 1, below)
            high[active] = np.where(less, above, middle)
        at = np.minimum(low, len(keys) - 1)
        found: np.ndarray = keys[at] == query
        return found, at

    def entries_file(self, folder: str | None = None) -> pq.ParquetFile:
        """The entries file, read as asked (a row group, some columns), never held whole
        (~200 bytes a done input): read in place on a local root; from S3, copied once to
        a file in ``folder`` (else the system's temporary folder) that is unlinked at once
        and lives while this layer is (a run's duplicate index and each reprocessing
        batch read it: one download, not one each)."""
        key = self.spec["entries"]
        try:
            if (path := self.store.local_path(key)) is not None:
                return pq.ParquetFile(pa.OSFile(path))  # read natively, not through Python files
        except OSError as exc:
            raise StorageError(f"cannot read {self.store.full_uri(key)}: {exc}") from exc
        if self._file is None:
            handle = tempfile.NamedTemporaryFile(dir=folder, prefix="wire-ingest-entries-", suffix=".parquet")
            try:
                self.store.get_file(key, handle.name)
                source = pa.OSFile(handle.name)
            finally:
                handle.close()  # unlinks the name; the open file keeps the data
            self._file = pq.ParquetFile(source)
        return self._file


class Snapshot:
    """The folded part of the ledger, in layers (oldest first): each fold writes the
    batches it folds as a new layer, merged with the newest layers while they are no
    larger than what is merged so far (``fold``), so a fold rewrites a share of the history
    that does not grow with it, and a run reads a handful of layers (~log2 of the history
    over one fold's inputs). Sorted key hashes per layer, entries read on demand."""

    def __init__(self, store: Storage, pointer: dict[str, Any]) -> None:
        if int(pointer.get("version", 1)) > POINTER_VERSION:
            raise StorageError(
                f"{store.full_uri(SNAPSHOT_POINTER)} is version {pointer['version']}, written by a newer "
                "wire-ingest: upgrade this installation (this one reads up to "
                f"version {POINTER_VERSION}); nothing was changed"
            )
        self.store = store
        self.pointer = pointer
        self.folded: set[str] = set(pointer["folded"])
        self.rows: int = int(pointer["rows"])  # inputs held (each once, whichever layers hold it)
        self.layers = [Layer(store, spec) for spec in layer_specs(pointer)]
        self._hidden: dict[int, np.ndarray] = {}  # ``hidden``'s answers
        self._asked: dict[int, int] = {}  # hashes ``shadowed`` was asked about, by layer

    def prefetch(self, part: str) -> None:
        """Read every layer's ``part`` (``keys``, ``revisions`` or ``entries``: the
        entries file's copy) several layers at once where the store takes that (S3): one
        round trip after another per layer and file otherwise, with up to ``MAX_LAYERS``."""
        if len(self.layers) < 2 or int(getattr(self.store, "put_concurrency", 1)) < 2:
            return

        def read(layer: Layer) -> None:
            if part == "entries":
                layer.entries_file()
            else:
                getattr(layer, part)

        at_once(self.store, read, self.layers, "wire-ingest-snapshot")

    def _newest(self, hashes: Sequence[bytes] | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each hash: whether a layer holds it, the newest layer that does (-1 if
        none), and its place in that layer's keys. Layers are searched oldest (largest)
        first for the hashes not found yet; a hash found in a layer that a newer one
        shadows for it (``hidden``: reprocessed inputs, few) is looked for in the newer
        layers too."""
        if any(each._keys is None for each in self.layers):
            self.prefetch("keys")
        query = np.asarray(hashes, dtype=f"S{HASH_BYTES}")
        layer = np.full(len(query), -1, dtype=np.int64)
        where = np.zeros(len(query), dtype=np.int64)
        remaining = np.arange(len(query))
        for number, each in enumerate(self.layers):
            if not len(remaining):
                break
            found, at = each.find(query[remaining])
            layer[remaining[found]] = number
            where[remaining[found]] = at[found]
            remaining = remaining[~found]
        for number in range(len(self.layers) - 1):
            mine = np.flatnonzero(layer == number)
            if not len(mine):
                continue
            moved = mine[self.shadowed(number, query[mine], len(mine))]
            for newer in range(number + 1, len(self.layers)):  # the newest holding it wins
                found, at = self.layers[newer].find(query[moved])
                layer[moved[found]] = newer
                where[moved[found]] = at[found]
        return layer >= 0, layer, where

    def contains(self, hashes: Sequence[bytes] | np.ndarray) -> np.ndarray:
        """For each hash, whether the snapshot holds it (vectorised lookups)."""
        return self._newest(hashes)[0]

    def _recorded(self, number: int) -> bool:
        """Whether every layer newer than ``number`` recorded its overlap when written."""
        return all(each.overlap is not None for each in self.layers[number + 1 :])

    def hidden(self, number: int) -> np.ndarray:
        """The keys of layer ``number`` that a newer layer holds too (its rows of them are
        not the inputs' latest entries), sorted, once per snapshot: the newer layers'
        recorded overlaps (keys an older layer held when each was written: none, most
        times) looked up in it, or, for layers written before overlaps were recorded, all
        the newer layers' keys (newer layers are the smaller ones)."""
        if number not in self._hidden:
            mine = self.layers[number]
            recorded = self._recorded(number)
            found = [mine.keys[:0]]
            for newer in self.layers[number + 1 :]:
                candidates = newer.overlap_keys if recorded else newer.keys
                for start in range(0, len(candidates), LOOKUP_SLICE):  # a lookup's arrays: ~60 bytes a key
                    keys = candidates[start : start + LOOKUP_SLICE]
                    found.append(keys[mine.find(keys)[0]])
            self._hidden[number] = np.unique(np.concatenate(found))
        return self._hidden[number]

    def shadowed(self, number: int, hashes: np.ndarray, asked: int | None = None) -> np.ndarray:
        """For each hash of layer ``number``'s rows, whether a newer layer holds it (that
        row is not the input's latest entry). ``asked``: how many hashes of this layer the
        caller will ask about in all (default: all its rows, as a scan of it does; planning
        asks 10,000 at a time, and what this snapshot was asked before counts too). Few
        are looked up in the newer layers; many against ``hidden`` (made once, from the
        newer layers' keys: dearer than a few lookups, far cheaper than a layer's)."""
        newer = self.layers[number + 1 :]
        self._asked[number] = self._asked.get(number, 0) + len(hashes)
        asked = max(self._asked[number], self.layers[number].rows if asked is None else asked)
        cost = sum(each.overlap or 0 for each in newer) if self._recorded(number) else sum(e.rows for e in newer)
        if number in self._hidden or asked * len(newer) > HIDDEN_OVER_LOOKUPS * cost:
            return _members(hashes, self.hidden(number))
        hidden = np.zeros(len(hashes), dtype=bool)
        for each in newer:
            hidden |= each.find(hashes)[0]
        return hidden

    def lookup(
        self, hashes: list[bytes], revisions: Sequence[str | None], codes: bytes | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """For each URI hash and the revision its input is listed at: whether the snapshot
        holds it, and whether it holds it at another revision (neither side empty).
        ``codes``: the revisions' ``revision_hash`` values end to end, if already made."""
        found, layer, at = self._newest(hashes)
        changed = np.zeros(len(hashes), dtype=bool)
        if not found.any():
            return found, changed
        if not (codes is not None or any(revisions)):
            # No revision listed: only entries marked to be read again count as rewritten,
            # looked for in the layers that may hold one (most hold none: nothing is read).
            for number, each in enumerate(self.layers):
                if each.spec.get("read_again", 1) == 0 or each.spec.get("revisions") is None:
                    continue
                mine = np.flatnonzero(found & (layer == number))
                if len(mine) and (stored := each.revisions) is not None:
                    changed[mine] = stored[at[mine]] == READ_AGAIN_CODE
            return found, changed
        if codes is not None:
            query = np.frombuffer(codes, dtype=f"S{REVISION_BYTES}")
        else:
            query = _revision_codes(revisions)  # explicit keys (backfill, replay): few
        if any(each._revisions is None and each.spec.get("revisions") for each in self.layers):
            self.prefetch("revisions")
        for number, each in enumerate(self.layers):
            mine = np.flatnonzero(layer == number)
            if not len(mine) or (stored := each.revisions) is None:
                continue
            held, listed = stored[at[mine]], query[mine]
            changed[mine] = ((held != b"") & (listed != b"") & (held != listed)) | (held == READ_AGAIN_CODE)
        return found, changed

    def entry_rows(self, uris: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The folded entries of ``uris`` (those it holds), as dicts of LedgerEntry fields:
        each from the newest layer holding it, whose key column is read a row group at a
        time and only the row groups holding one of them in full. (A reprocess asks for its
        inputs' entries; reading every entry and a dict of every URI for that took ~1.5 GB
        at 3,000,000 inputs.)"""
        asked = list(dict.fromkeys(uris))
        hashes = np.array([uri_hash(uri) for uri in asked], dtype=f"S{HASH_BYTES}")
        found: dict[str, dict[str, Any]] = {}
        if not len(asked):
            return found
        held, layer, _ = self._newest(hashes)
        for number, each in enumerate(self.layers):
            mine = [asked[i] for i in np.flatnonzero(held & (layer == number))]
            if not mine:
                continue
            wanted = pa.array([uri_hash(uri) for uri in mine], type=pa.binary(HASH_BYTES))
            file = each.entries_file()
            columns = entry_fields(file.schema_arrow)
            for group in range(file.metadata.num_row_groups):
                keys = file.read_row_group(group, columns=["uri_hash"]).column("uri_hash")
                hits = np.flatnonzero(pc.is_in(keys, value_set=wanted).to_numpy(zero_copy_only=False))
                if len(hits):
                    rows = file.read_row_group(group, columns=columns).take(pa.array(hits, type=pa.int64()))
                    found.update((row["source_uri"], row) for row in rows.to_pylist())
        return found

    def copy_uris(self, story_ids: set[str]) -> list[str]:
        """The source URIs of folded entries that point at one of ``story_ids`` (``duplicate_of``:
        exact duplicates and near copies; in any layer: the caller checks which are the inputs'
        latest), read a row group at a time, one light column first."""
        wanted = pa.array(sorted(story_ids), type=pa.string())
        found: list[str] = []
        for each in self.layers:
            file = each.entries_file()
            for group in range(file.metadata.num_row_groups):
                table = file.read_row_group(group, columns=["duplicate_of"])
                mask = pc.is_in(table["duplicate_of"], value_set=wanted)
                hits = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
                if len(hits):
                    uris = file.read_row_group(group, columns=["source_uri"]).column("source_uri")
                    found += uris.take(pa.array(hits, type=pa.int64())).to_pylist()
        return list(dict.fromkeys(found))

    def iter_rows(self, batch_rows: int = 8192, *, skip: Sequence[str] = ()) -> Iterator[dict[str, Any]]:
        """The folded entries in fold order (commit order), each input once (its newest
        layer's entry), as dicts of LedgerEntry fields (but those in ``skip``: not read),
        read a row group at a time."""
        for number, each in enumerate(self.layers):
            file = each.entries_file()
            columns = [name for name in entry_fields(file.schema_arrow) if name not in skip]
            for batch in file.iter_batches(batch_size=batch_rows, columns=["uri_hash", *columns]):
                table = pa.Table.from_batches([batch])
                if number + 1 < len(self.layers):
                    hidden = self.shadowed(number, _hash_array(table))
                    if hidden.any():
                        table = table.filter(pa.array(~hidden))
                yield from table.drop_columns(["uri_hash"]).to_pylist()


def _members(query: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """For each hash of ``query``, whether ``sorted_keys`` (sorted ``S16``) holds it."""
    if not len(sorted_keys) or not len(query):
        return np.zeros(len(query), dtype=bool)
    at = np.searchsorted(sorted_keys, query).clip(0, len(sorted_keys) - 1)
    found: np.ndarray = sorted_keys[at] == query
    return found


def entries_table(rows: Iterable[dict[str, Any]]) -> pa.Table:
    columns: dict[str, list[Any]] = {name: [] for name in ENTRY_SCHEMA.names}
    for row in rows:
        columns["uri_hash"].append(uri_hash(row["source_uri"]))
        for name in ENTRY_FIELDS:
            columns[name].append(row.get(name))
    return pa.table(columns, schema=ENTRY_SCHEMA)


def latest_entries(store: Storage, batch_keys: list[str]) -> pa.Table:
    """The entries of these batch objects as one table in commit order, each input once,
    at its latest place (a reprocessed input moves to its latest batch). Each object is
    turned into columns as it is read, so the fold holds Arrow columns, not a dict per
    entry (that took ~340 MB at 100,000 entries, more than the rest of the run)."""
    pieces: list[tuple[str, str, pa.Table]] = []
    # Read 16 at a time (8 requests at once on S3), each turned into columns before the next 16.
    for _, data in read_each(store, batch_keys, "wire-ingest-fold", chunk=16):
        record = json.loads(data)
        pieces.append((record.get("committed_at", ""), record["batch_id"], entries_table(record["entries"])))
    pieces.sort(key=lambda piece: (piece[0], piece[1]))
    every = pa.concat_tables([table for _, _, table in pieces])  # no copy: one chunk a batch
    del pieces
    hashes = _hash_array(every)
    seen: set[bytes] = set()
    keep: list[int] = []
    for row in range(len(hashes) - 1, -1, -1):  # the last occurrence of each input wins
        digest = bytes(hashes[row])  # numpy drops trailing NULs: still one value per 16-byte key
        if digest not in seen:
            seen.add(digest)
            keep.append(row)
    if len(keep) == every.num_rows:
        return every
    keep.reverse()
    return every.take(pa.array(keep, type=pa.int64()))


def _revision_codes(revisions: Sequence[str | None]) -> np.ndarray:
    """``revision_hash`` of each revision, as a numpy ``S8`` array."""
    return np.array([revision_hash(r) for r in revisions], dtype=f"S{REVISION_BYTES}")


def _hash_array(table: pa.Table) -> np.ndarray:
    """The uri_hash column as a numpy array of 16-byte strings, without a Python object each."""
    return key_array(table.column("uri_hash"))


def key_array(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """URI hashes (Arrow ``binary(16)``) as a numpy ``S16`` array, without a Python object each."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if not len(column):
        return np.zeros(0, dtype=f"S{HASH_BYTES}")
    data = np.frombuffer(column.buffers()[1], dtype=f"S{HASH_BYTES}")
    return data[column.offset : column.offset + len(column)]


def fold(
    store: Storage, *, min_batches: int | None = None, check: Callable[[], None] | None = None
) -> dict[str, Any] | None:
    """Fold the committed batch objects not yet in the snapshot into it, when there are at
    least ``min_batches`` of them (default ``fold_after()``). Returns the new pointer, or
    None when there was too little to fold. Call under the store's lease; ``check`` (the
    lease's) runs before the first write and before the pointer swap.

    The folded entries become the snapshot's newest layer, merged with the newest layers
    before it while each is no larger than what is merged so far (``merge_count``): like a
    binary counter, a fold of F inputs over a history of N rewrites F inputs most times
    and all N once every ~N/F folds, each input ~log2(N/F) times in its life; it rewrote
    all N every time (~4.5 s a million inputs here). The merge reads the old entries a row
    group at a time (in place on a local root, from a copy in the temporary folder from
    S3) and writes the new layer's entries file a row group at a time to the temporary
    folder, then uploads it (``_write_merged``): ~40 bytes a merged input and a row group."""
    current = read_pointer(store)
    pointer, token = current if current else (None, None)
    folded = set(pointer["folded"]) if pointer else set()
    batch_keys = [(info.key, batch_id_of(info.key)) for info in store.list(LEDGER_PREFIX)]
    fresh = [(key, bid) for key, bid in batch_keys if bid is not None and bid not in folded]
    stale = [key for key, bid in batch_keys if bid is not None and bid in folded]
    if len(fresh) < (min_batches if min_batches is not None else fold_after()):
        if stale and check is not None:
            check()
            for key in stale:  # left by a fold that died after its pointer swap
                store.delete(key)
        return None
    new = latest_entries(store, [key for key, _ in fresh])
    snapshot = Snapshot(store, pointer) if pointer is not None else None
    layers = snapshot.layers if snapshot is not None else []
    merged = merge_count([layer.rows for layer in layers], new.num_rows)
    kept, merging = layers[: len(layers) - merged], layers[len(layers) - merged :]
    # Inputs held now: those held before and those of this fold no layer held.
    rows = snapshot.rows + int((~snapshot.contains(_hash_array(new))).sum()) if snapshot else new.num_rows
    # The batch ids whose objects may still exist: those folded now, and those a fold that
    # died after its swap left (deleted below). Not every id ever folded: the pointer, read
    # by every run, grew by ~30 bytes a batch for good (~3 MB a year at a run every 5
    # minutes). Nothing needs an older id: every run rolls its pending batches forward
    # before it folds, so no intent of a batch folded earlier is left to recognise.
    folded_now = sorted({bid for _, bid in fresh if bid} | {bid for key in stale if (bid := batch_id_of(key))})
    layer_id = hashlib.sha256("\n".join([*folded_now, *(layer.spec["entries"] for layer in merging)]).encode())
    name = f"{SNAPSHOT_PREFIX}{layer_id.hexdigest()[:20]}"
    spec: dict[str, Any] = {"keys": f"{name}.keys", "revisions": f"{name}.revs", "entries": f"{name}.parquet"}
    overlap = _overlap(snapshot, len(kept), _hash_array(new)) if snapshot is not None else np.zeros(0, "S16")
    spec["overlap"] = len(overlap)
    if len(overlap):
        spec["overlap_keys"] = f"{name}.overlap"
    with tempfile.TemporaryDirectory(prefix="wire-ingest-fold-") as work:
        entries_path = os.path.join(work, "entries.parquet")
        keys, revisions = _write_merged(snapshot, len(kept), new, work, entries_path)
        spec["rows"] = len(keys)
        spec["read_again"] = int((revisions == READ_AGAIN_CODE).sum())
        if check is not None:
            check()
        store.put_file(spec["entries"], entries_path, "application/vnd.apache.parquet")
    store.put(spec["keys"], keys.tobytes(), "application/octet-stream")
    store.put(spec["revisions"], revisions.tobytes(), "application/octet-stream")
    if len(overlap):
        store.put(spec["overlap_keys"], overlap.tobytes(), "application/octet-stream")
    new_pointer: dict[str, Any] = {
        "version": POINTER_VERSION,
        "layers": [layer.spec for layer in kept] + [spec],
        "rows": rows,
        "folded": folded_now,
        "folded_at": datetime.now(UTC).isoformat(),
    }
    if check is not None:
        check()
    data = json.dumps(new_pointer).encode("utf-8")
    swapped = store.replace_if(SNAPSHOT_POINTER, data, token) if token else store.put_if_absent(SNAPSHOT_POINTER, data)
    if swapped is None:
        raise StorageError(
            "the ledger snapshot pointer changed during this fold: another writer holds the store; "
            "nothing was lost (the batch objects are still the commit points), run again"
        )
    keep = {spec[part] for spec in new_pointer["layers"] for part in LAYER_FILES if spec.get(part)}
    for key, _ in fresh:
        store.delete(key)
    for key in stale:
        store.delete(key)
    for info in list(store.list(SNAPSHOT_PREFIX)):
        if info.key not in keep:
            store.delete(info.key)
    return new_pointer


def _overlap(snapshot: Snapshot, kept: int, new_hashes: np.ndarray) -> np.ndarray:
    """The keys of a fold's new layer (``new_hashes`` merged with the snapshot's layers
    from ``kept`` on) that the layers it keeps (before ``kept``) hold, sorted: the new
    keys found there, and the merged layers' recorded overlaps (all their keys for one
    that recorded none) found there still. Lookups of the fold's keys, not the history's."""
    if not kept:
        return np.zeros(0, dtype=f"S{HASH_BYTES}")
    candidates = [new_hashes]
    for each in snapshot.layers[kept:]:
        candidates.append(each.overlap_keys if each.overlap is not None else each.keys)
    unique = np.unique(np.concatenate(candidates).astype(f"S{HASH_BYTES}"))
    held = np.zeros(len(unique), dtype=bool)
    for each in snapshot.layers[:kept]:
        held |= each.find(unique)[0]
    found: np.ndarray = unique[held]
    return found


def merge_count(sizes: Sequence[int], new: int) -> int:
    """How many of the newest layers (``sizes``, oldest first) a fold of ``new`` inputs
    merges: while the next is no larger than what is merged so far, and then while more
    than ``MAX_LAYERS`` would be left."""
    merged, total = 0, new
    while merged < len(sizes) and (sizes[-1 - merged] <= total or len(sizes) - merged >= MAX_LAYERS):
        total += sizes[-1 - merged]
        merged += 1
    return merged


def _write_merged(
    snapshot: Snapshot | None, first: int, new: pa.Table, work: str, path: str
) -> tuple[np.ndarray, np.ndarray]:
    """Write the merged layer's entries to ``path``: the rows of ``snapshot``'s layers from
    ``first`` on that neither a newer layer nor ``new`` replaces, in their order, then ``new`` (commit
    order), with the fingerprints of every row before its latest ``duplicate_window()``
    stories emptied, in row groups of ``SNAPSHOT_ROW_GROUP``. Returns the sorted key hashes
    and the revision hash of each.

    Two passes over each old file, a row group at a time: the keys and outcomes first
    (which rows are kept, and where the window starts), then every column of the kept
    rows. (Layers older than these are not rewritten: their rows that ``new`` replaces
    stay there, shadowed, until a fold merges them.)"""
    new_hashes = _hash_array(new)
    hashes: list[np.ndarray] = []
    codes: list[np.ndarray] = []
    is_story: list[np.ndarray] = []
    files: list[tuple[pq.ParquetFile, list[np.ndarray]]] = []
    # As Arrow binaries: numpy's S16 drops a hash's trailing NUL bytes when it gives them.
    replaced = new.column("uri_hash").combine_chunks() if new.num_rows else None
    layers = snapshot.layers if snapshot is not None else []
    for number in range(first, len(layers)):
        layer = layers[number]
        old = layer.entries_file(work)
        # The kept inputs' revision hashes are the layer's, looked up by key below (every
        # kept key is in it): a fold hashes only the revisions of the batches it folds; a
        # layer folded before revisions were kept has its entries' hashed.
        hash_revisions = layer.revisions is None and "revision" in old.schema_arrow.names
        light_columns = ["uri_hash", "outcome", *(["revision"] if hash_revisions else [])]
        masks: list[np.ndarray] = []
        for group in range(old.metadata.num_row_groups):
            light = old.read_row_group(group, columns=light_columns)
            group_hashes = _hash_array(light)
            if replaced is not None:
                kept = ~pc.is_in(light.column("uri_hash"), value_set=replaced).to_numpy(zero_copy_only=False)
            else:
                kept = np.ones(light.num_rows, dtype=bool)
            if snapshot is not None:
                kept &= ~snapshot.shadowed(number, group_hashes)
            masks.append(kept)
            hashes.append(group_hashes[kept])
            is_story.append(pc.equal(light.column("outcome"), "story").to_numpy(zero_copy_only=False)[kept])
            if hash_revisions:
                codes.append(_revision_codes(light.column("revision").filter(pa.array(kept)).to_pylist()))
            elif layer.revisions is not None:
                codes.append(layer.revisions[np.searchsorted(layer.keys, hashes[-1])])
            else:
                codes.append(_revision_codes([None] * len(hashes[-1])))
        files.append((old, masks))
    hashes.append(new_hashes)
    codes.append(_revision_codes(new.column("revision").to_pylist()))
    is_story.append(pc.equal(new.column("outcome"), "story").to_numpy(zero_copy_only=False))
    stories = np.flatnonzero(np.concatenate(is_story))
    window = duplicate_window()
    # Rows before the window's first story lose their paragraph keys and MinHash.
    cut = int(stories[-window]) if window and len(stories) > window else 0
    with pq.ParquetWriter(path, ENTRY_SCHEMA, compression="zstd") as writer:
        pending: list[pa.Table] = []
        held = 0
        written = 0

        def emit(table: pa.Table) -> None:
            nonlocal held
            pending.append(table)
            held += table.num_rows
            while held >= SNAPSHOT_ROW_GROUP:
                flush(SNAPSHOT_ROW_GROUP)

        def flush(rows: int) -> None:
            nonlocal held, written, pending
            whole = pa.concat_tables(pending)
            part, rest = whole.slice(0, rows), whole.slice(rows)
            writer.write_table(_fingerprints_before(part, cut - written), row_group_size=SNAPSHOT_ROW_GROUP)
            written += part.num_rows
            pending, held = ([rest] if rest.num_rows else []), rest.num_rows

        for old, masks in files:
            for group, kept in enumerate(masks):
                rows = old.read_row_group(group).filter(pa.array(kept))
                for name in ENTRY_SCHEMA.names:  # folded before a column existed: null there
                    if name not in rows.schema.names:
                        rows = rows.append_column(name, pa.nulls(rows.num_rows, ENTRY_SCHEMA.field(name).type))
                emit(rows.select(ENTRY_SCHEMA.names).cast(ENTRY_SCHEMA).replace_schema_metadata(None))
        emit(new.select(ENTRY_SCHEMA.names).cast(ENTRY_SCHEMA))
        if held:
            flush(held)
    del files
    # Arrow's allocator keeps what decoding the row groups freed (~250 MB at 3,000,000
    # entries); give it back before the sort allocates as much again outside it.
    pa.default_memory_pool().release_unused()
    every = np.concatenate(hashes)
    del hashes
    order = np.argsort(every, kind="stable")
    keys = every[order]
    del every
    return keys, np.concatenate(codes)[order]


def _fingerprints_before(table: pa.Table, cut: int) -> pa.Table:
    """``table`` with the paragraph keys and MinHash of its first ``cut`` rows emptied (no
    run loads those of stories before the window; ~600 bytes a story not kept)."""
    if cut <= 0:
        return table
    old = np.zeros(table.num_rows, dtype=bool)
    old[: min(cut, table.num_rows)] = True
    mask = pa.array(old)
    for name in ("paragraph_keys", "minhash"):
        column = table.column(name)
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, pc.if_else(mask, pa.nulls(table.num_rows, column.type), column))
    return table
