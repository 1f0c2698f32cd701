"""Ledger snapshots: the JSON ledger objects of many batches folded into three files, so a
run plans against millions of done inputs without reading millions of JSON entries.

    _ledger/<batch_id>.json              a batch's commit point (as before)
    _ledger/snapshot.json                the pointer: which snapshot is current, the batches its fold took
    _ledger/snapshots/<id>.keys          the folded inputs' source-URI hashes (16 bytes each, sorted)
    _ledger/snapshots/<id>.revs          each key's input revision hash (8 bytes, zeros if none; same order)
    _ledger/snapshots/<id>.parquet       the folded entries (one row per input, latest entry)

Planning reads only the ``.keys`` and ``.revs`` files (24 bytes per done input) and checks
the source listing against them in vectorised lookups (done, and rewritten since); the
``.parquet`` entries are read only when a run has work to deduplicate. A snapshot folded
before revisions were kept has no ``.revs`` file: its inputs are never called rewritten.
A batch's JSON object stays its commit point: a fold writes the new snapshot's files, then
swaps the pointer with a compare-and-swap (the commit point of the fold), then deletes the
JSON objects it folded and the previous snapshot's files. A fold that dies before the swap
leaves files nobody points at (the next fold removes them); one that dies after it leaves
JSON objects the pointer already lists as folded, which readers skip and the next fold
deletes. Either way nothing is read twice or lost.
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
from storage.base import CODE_BYTES, read_each, revision_code

LEDGER_PREFIX = "_ledger/"
SNAPSHOT_POINTER = f"{LEDGER_PREFIX}snapshot.json"
SNAPSHOT_PREFIX = f"{LEDGER_PREFIX}snapshots/"
HASH_BYTES = 16
REVISION_BYTES = CODE_BYTES
#: Keys per block of the snapshot's sampled search index (``Snapshot._find``).
SAMPLE_EVERY = 64
#: Unfolded batch objects after which a run folds them (``WIRE_INGEST_LEDGER_FOLD_AFTER``).
DEFAULT_FOLD_AFTER = 50

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


class Snapshot:
    """The folded part of the ledger: sorted key hashes, and the entries read on demand."""

    def __init__(self, store: Storage, pointer: dict[str, Any]) -> None:
        self.store = store
        self.pointer = pointer
        self.folded: set[str] = set(pointer["folded"])
        self.rows: int = int(pointer["rows"])
        self._keys: np.ndarray | None = None
        self._samples: np.ndarray | None = None  # every SAMPLE_EVERY-th key's first 8 bytes (``_find``)
        self._revisions: np.ndarray | None = None
        self._file: pq.ParquetFile | None = None  # the entries file, copied from S3 once a run

    @property
    def keys(self) -> np.ndarray:
        """The folded inputs' URI hashes, sorted (numpy ``S16``)."""
        if self._keys is None:
            self._keys = self._fixed_width(
                self.pointer["keys"],
                HASH_BYTES,
                "keys",
                "(the batch objects it folds are gone, and without it every input would be ingested again)",
            )
        return self._keys

    @property
    def revisions(self) -> np.ndarray | None:
        """Each key's input revision hash (``S8``, in ``keys``' order; empty where the entry
        has none), or None for a snapshot folded before revisions were kept."""
        name = self.pointer.get("revisions")
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

    def contains(self, hashes: list[bytes]) -> np.ndarray:
        """For each hash, whether the snapshot holds it (one vectorised lookup)."""
        return self._find(hashes)[0]

    def _find(self, hashes: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
        """Whether each hash is a key, and where (``np.searchsorted``'s answer, computed
        ~2.5x faster: a million lookups a run over a large landing zone). Every
        ``SAMPLE_EVERY``-th key's first 8 bytes, as integers (their order is the bytes'
        order), bound each query to a block of keys, in which a vectorised bisection over
        the whole keys finds its place; keys that share their first 8 bytes only widen a
        block. ~125 KB at a million keys, where the first 8 bytes of all keys took 8 MB."""
        keys = self.keys
        if not len(keys) or not hashes:
            return np.zeros(len(hashes), dtype=bool), np.zeros(len(hashes), dtype=np.int64)
        query = np.array(hashes, dtype=f"S{HASH_BYTES}")
        if self._samples is None:
            self._samples = np.ascontiguousarray(keys[::SAMPLE_EVERY]).view(">u8")[::2].astype(np.uint64)
        heads = query.view(">u8")[::2].astype(np.uint64)
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

    def lookup(
        self, hashes: list[bytes], revisions: Sequence[str | None], codes: bytes | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """For each URI hash and the revision its input is listed at: whether the snapshot
        holds it, and whether it holds it at another revision (neither side empty).
        ``codes``: the revisions' ``revision_hash`` values end to end, if already made."""
        found, at = self._find(hashes)
        listed = codes is not None or any(revisions)
        stored = self.revisions if listed and found.any() else None  # not read without a revision listed
        if stored is None:
            return found, np.zeros(len(hashes), dtype=bool)
        if codes is not None:
            query = np.frombuffer(codes, dtype=f"S{REVISION_BYTES}")
        else:
            query = _revision_codes(revisions)  # explicit keys (backfill, replay): few
        held = stored[at]
        changed: np.ndarray = found & (held != b"") & (query != b"") & (held != query)
        return found, changed

    def entries_file(self, folder: str | None = None) -> pq.ParquetFile:
        """The entries file, read as asked (a row group, some columns), never held whole
        (~200 bytes a done input): read in place on a local root; from S3, copied once to
        a file in ``folder`` (else the system's temporary folder) that is unlinked at once
        and lives while this snapshot is (a run's duplicate index and each reprocessing
        batch read it: one download, not one each)."""
        key = self.pointer["entries"]
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

    def entry_rows(self, uris: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The folded entries of ``uris`` (those it holds), as dicts of LedgerEntry fields:
        the key column read a row group at a time, and only the row groups holding one of
        them in full. (A reprocess asks for its inputs' entries; reading every entry and a
        dict of every URI for that took ~1.5 GB at 3,000,000 inputs.)"""
        wanted = pa.array([uri_hash(uri) for uri in dict.fromkeys(uris)], type=pa.binary(HASH_BYTES))
        found: dict[str, dict[str, Any]] = {}
        if not len(wanted):
            return found
        file = self.entries_file()
        columns = entry_fields(file.schema_arrow)
        for group in range(file.metadata.num_row_groups):
            hashes = file.read_row_group(group, columns=["uri_hash"]).column("uri_hash")
            hits = np.flatnonzero(pc.is_in(hashes, value_set=wanted).to_numpy(zero_copy_only=False))
            if len(hits):
                rows = file.read_row_group(group, columns=columns).take(pa.array(hits, type=pa.int64()))
                found.update((row["source_uri"], row) for row in rows.to_pylist())
        return found

    def iter_rows(self, batch_rows: int = 8192) -> Iterator[dict[str, Any]]:
        """The folded entries in fold order (commit order), as dicts of LedgerEntry fields,
        read a row group at a time."""
        file = self.entries_file()
        columns = entry_fields(file.schema_arrow)
        for batch in file.iter_batches(batch_size=batch_rows, columns=columns):
            yield from batch.to_pylist()


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
    column = table.column("uri_hash").combine_chunks()
    data = np.frombuffer(column.buffers()[1], dtype=f"S{HASH_BYTES}")
    return data[column.offset : column.offset + len(column)]


def fold(
    store: Storage, *, min_batches: int | None = None, check: Callable[[], None] | None = None
) -> dict[str, Any] | None:
    """Fold the committed batch objects not yet in the snapshot into a new snapshot, when
    there are at least ``min_batches`` of them (default ``fold_after()``). Returns the new
    pointer, or None when there was too little to fold. Call under the store's lease;
    ``check`` (the lease's) runs before the first write and before the pointer swap.

    The old entries are read a row group at a time (in place on a local root, from a copy
    in the temporary folder from S3) and the new entries file is written to the temporary
    folder a row group at a time, then uploaded (``_write_merged``): the fold holds ~40
    bytes an input (key and revision hashes, masks) and a row group, not the whole
    snapshot (1.4 GB at 1,000,000 inputs, 3.7 GB at 3,000,000 when it did)."""
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
    # The batch ids whose objects may still exist: those folded now, and those a fold that
    # died after its swap left (deleted below). Not every id ever folded: the pointer, read
    # by every run, grew by ~30 bytes a batch for good (~3 MB a year at a run every 5
    # minutes). Nothing needs an older id: every run rolls its pending batches forward
    # before it folds, so no intent of a batch folded earlier is left to recognise.
    folded_now = sorted({bid for _, bid in fresh if bid} | {bid for key in stale if (bid := batch_id_of(key))})
    snapshot_id = hashlib.sha256("\n".join(folded_now).encode()).hexdigest()[:20]
    new_pointer: dict[str, Any] = {
        "version": 1,
        "keys": f"{SNAPSHOT_PREFIX}{snapshot_id}.keys",
        "entries": f"{SNAPSHOT_PREFIX}{snapshot_id}.parquet",
        "revisions": f"{SNAPSHOT_PREFIX}{snapshot_id}.revs",
    }
    with tempfile.TemporaryDirectory(prefix="wire-ingest-fold-") as work:
        entries_path = os.path.join(work, "entries.parquet")
        snapshot = Snapshot(store, pointer) if pointer is not None else None
        keys, revisions = _write_merged(snapshot, new, work, entries_path)
        new_pointer.update(rows=len(keys), folded=folded_now, folded_at=datetime.now(UTC).isoformat())
        if check is not None:
            check()
        store.put_file(new_pointer["entries"], entries_path, "application/vnd.apache.parquet")
    store.put(new_pointer["keys"], keys.tobytes(), "application/octet-stream")
    store.put(new_pointer["revisions"], revisions.tobytes(), "application/octet-stream")
    if check is not None:
        check()
    data = json.dumps(new_pointer).encode("utf-8")
    swapped = store.replace_if(SNAPSHOT_POINTER, data, token) if token else store.put_if_absent(SNAPSHOT_POINTER, data)
    if swapped is None:
        raise StorageError(
            "the ledger snapshot pointer changed during this fold: another writer holds the store; "
            "nothing was lost (the batch objects are still the commit points), run again"
        )
    keep = {new_pointer["keys"], new_pointer["entries"], new_pointer["revisions"]}
    for key, _ in fresh:
        store.delete(key)
    for key in stale:
        store.delete(key)
    for info in list(store.list(SNAPSHOT_PREFIX)):
        if info.key not in keep:
            store.delete(info.key)
    return new_pointer


def _write_merged(snapshot: Snapshot | None, new: pa.Table, work: str, path: str) -> tuple[np.ndarray, np.ndarray]:
    """Write the folded entries to ``path``: the old snapshot's entries that ``new`` does
    not replace, in their order, then ``new`` (commit order), with the fingerprints of every
    row before the latest ``duplicate_window()`` stories emptied, in row groups of
    ``SNAPSHOT_ROW_GROUP``. Returns the sorted key hashes and the revision hash of each.

    Two passes over the old file, a row group at a time: the keys and outcomes first (which
    rows are kept, and where the window starts), then every column of the kept rows."""
    new_hashes = _hash_array(new)
    hashes = [new_hashes]
    codes = [_revision_codes(new.column("revision").to_pylist())]
    is_story = [pc.equal(new.column("outcome"), "story").to_numpy(zero_copy_only=False)]
    old: pq.ParquetFile | None = None
    kept_masks: list[np.ndarray] = []
    if snapshot is not None:
        old = snapshot.entries_file(work)
        # As Arrow binaries: numpy's S16 drops a hash's trailing NUL bytes when it gives them.
        replaced = new.column("uri_hash").combine_chunks() if new.num_rows else None
        # The kept inputs' revision hashes are the old snapshot's, looked up by key below
        # (every kept key is in it): a fold hashes only the revisions of the batches it
        # folds; a snapshot folded before revisions were kept has its entries' hashed.
        hash_revisions = snapshot.revisions is None and "revision" in old.schema_arrow.names
        light_columns = ["uri_hash", "outcome", *(["revision"] if hash_revisions else [])]
        kept_hashes, kept_story, kept_codes = [], [], []
        for group in range(old.metadata.num_row_groups):
            light = old.read_row_group(group, columns=light_columns)
            if replaced is not None:
                kept = ~pc.is_in(light.column("uri_hash"), value_set=replaced).to_numpy(zero_copy_only=False)
            else:
                kept = np.ones(light.num_rows, dtype=bool)
            kept_masks.append(kept)
            kept_hashes.append(_hash_array(light)[kept])
            kept_story.append(pc.equal(light.column("outcome"), "story").to_numpy(zero_copy_only=False)[kept])
            if hash_revisions:
                kept_codes.append(_revision_codes(light.column("revision").filter(pa.array(kept)).to_pylist()))
        old_hashes = np.concatenate(kept_hashes) if kept_hashes else new_hashes[:0]
        hashes.insert(0, old_hashes)
        is_story.insert(0, np.concatenate(kept_story) if kept_story else np.zeros(0, dtype=bool))
        if snapshot.revisions is not None:
            codes.insert(0, snapshot.revisions[np.searchsorted(snapshot.keys, old_hashes)])
        else:
            codes.insert(0, np.concatenate(kept_codes) if kept_codes else _revision_codes([None] * len(old_hashes)))
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

        if old is not None:
            for group, kept in enumerate(kept_masks):
                rows = old.read_row_group(group).filter(pa.array(kept))
                for name in ENTRY_SCHEMA.names:  # folded before a column existed: null there
                    if name not in rows.schema.names:
                        rows = rows.append_column(name, pa.nulls(rows.num_rows, ENTRY_SCHEMA.field(name).type))
                emit(rows.select(ENTRY_SCHEMA.names).cast(ENTRY_SCHEMA).replace_schema_metadata(None))
        emit(new.select(ENTRY_SCHEMA.names).cast(ENTRY_SCHEMA))
        if held:
            flush(held)
    del old
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
