"""One batch, start to finish, with the commit protocol that makes ingestion exactly-once.

Order of writes for a batch (``<id>`` is derived from the batch's input keys):

1. ``_manifests/_pending/<id>.json``: the intent (inputs, planned time) - before any data;
   rewritten with the data keys it is about to write, before the first upload;
2. ``stories/agency=../date=../part-<id>.parquet`` and ``quarantine/..`` objects;
3. ``_manifests/<id>.json``: what the batch wrote, with checksums;
4. ``_ledger/<id>.json``: the inputs are now done (the commit point);
5. the intent is deleted.

A crash anywhere leaves the intent behind; the next run rolls the batch forward first
(same inputs, same keys, so retries overwrite instead of adding), removes keys the
earlier attempt wrote that the new one did not, and only then plans new work.
No Prefect here: the flow in ``flows.ingest`` calls these functions from tasks.
"""

from __future__ import annotations

import gc
import hashlib
import itertools
import json
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any, NamedTuple, TypeVar

from flows.bundles import BundleLimits, OpenBundle, containers_of, is_bundle, junk_name, may_be_message, split_member
from flows.inputs import (
    NOT_READ,
    QUARANTINE_PREFIX,
    UNREADABLE,
    BundleIndex,
    UnreadLog,
    candidates,
    expand_bundles,
    read_payloads,
)
from flows.workers import (
    DEFAULT_PARSE_MEMORY_MB,
    DEFAULT_PARSE_TIMEOUT,
    PendingParse,
    Prepared,
    Quarantined,
    pump_pools,
    start_prepare,
)
from parsers import DEFAULT_MAX_BYTES
from parsers.fingerprint import Fingerprint
from schemas.story import Story
from storage import Storage, key_under
from storage.lease import Lease
from table.commit import PENDING_PREFIX, BatchPlan, abandon, commit, open_intent, pending_plans
from table.compaction import recover_compactions
from table.dataset import encode_parquet, group_by_partition, partition_key
from table.ledger import (
    BUNDLE,
    READ_AGAIN,
    CopyTree,
    LedgerEntry,
    LedgerIndex,
    load_ledger,
    near_duplicate_in,
    whole_entries,
)
from table.snapshot import fold

try:
    PIPELINE_VERSION = version("wire-ingest")
except PackageNotFoundError:  # running from a source tree without installing
    PIPELINE_VERSION = "0+source"


@dataclass(frozen=True)
class IngestSettings:
    """Knobs of the parse and write stages (all have CLI options)."""

    max_bytes: int = DEFAULT_MAX_BYTES
    default_agency: str | None = None
    pattern: str = "*"
    workers: int = 0  # parse processes; 0 = one per core
    parse_timeout: float = DEFAULT_PARSE_TIMEOUT  # seconds per input; 0 = no deadline
    parse_memory_mb: int = DEFAULT_PARSE_MEMORY_MB  # address space per parse worker; 0 = no limit
    bundle_limits: BundleLimits = field(default_factory=BundleLimits)
    dask_address: str | None = None  # parse on this Dask cluster instead of the local pool
    #: Seconds a local input must have been left unchanged to be planned: a file written in
    #: place is listed while it grows, and once ingested half-written it would be "done".
    settle_seconds: float = 0.0
    #: List each input with its revision (size and modification time, or ETag) and ingest
    #: again, replacing its rows, one rewritten since it was ingested (a stat per file).
    detect_rewrites: bool = True

    def flow_parameters(self) -> dict[str, Any]:
        """These settings as the ingest flow's parameters (what backfill and replay pass on)."""
        return {
            "max_bytes": self.max_bytes,
            "default_agency": self.default_agency,
            "pattern": self.pattern,
            "workers": self.workers,
            "parse_timeout": self.parse_timeout,
            "parse_memory_mb": self.parse_memory_mb,
            "bundle_max_members": self.bundle_limits.max_members,
            "bundle_max_mb": self.bundle_limits.max_bytes // 1024**2,
            "bundle_max_ratio": self.bundle_limits.max_ratio,
            "dask_address": self.dask_address,
            "settle_seconds": self.settle_seconds,
            "detect_rewrites": self.detect_rewrites,
        }


@dataclass
class BatchSummary:
    """Counts and keys a batch produced: small, so Prefect can keep it in memory."""

    batch_id: str
    inputs: int = 0
    stories: int = 0
    duplicates: int = 0
    near_duplicates: int = 0
    quarantined: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    bytes_written: int = 0
    recovered: bool = False
    #: Inputs planned again as rewritten whose bytes had not changed: they keep their rows.
    unchanged: int = 0
    #: Inputs the store failed to read (nothing committed: the next run reads them again),
    #: and the first of them with the store's error.
    unread: int = 0
    unread_first: str | None = None
    #: Their source keys, each with the store's error (for `flows.inputs.UnreadLog`).
    unread_keys: dict[str, str] = field(default_factory=dict)
    #: Inputs gone (deleted or moved) between the listing and the read: nothing committed.
    vanished: int = 0

    @property
    def quarantined_total(self) -> int:
        return sum(self.quarantined.values())


def make_batch_id(source_uri: str, keys: list[str], generation: str = "") -> str:
    """Derived from the inputs (and, for a reprocess, its planned time): a replan, same id."""
    digest = hashlib.sha256((source_uri + generation).encode("utf-8"))
    for key in keys:
        # A local file name that is not UTF-8 comes as lone surrogates (os.fsdecode): its
        # own bytes, not an error that stopped every run at the batch holding it.
        digest.update(b"\n" + key.encode("utf-8", "surrogateescape"))
    return digest.hexdigest()[:24]


T = TypeVar("T")

#: Listed keys checked against the ledger at a time.
PLAN_CHUNK = 10_000
#: Inputs in a run's first batch (``WIRE_INGEST_FIRST_BATCH``); each next batch holds twice
#: the one before, up to ``--batch-size``. The first commit lands soon after a run starts,
#: and the bulk of a large run goes in large batches: a batch writes a file per partition
#: and five commit objects whatever its size, so 10,000 stories in batches of 200 wrote 303
#: files of ~33 rows and were ~20% slower than in batches of 2,000.
FIRST_BATCH = int(os.environ.get("WIRE_INGEST_FIRST_BATCH", "200"))
#: Inputs committed first in a run of more than ``FIRST_BATCH`` (``WIRE_INGEST_QUICK_FIRST``;
#: 0: none): a batch of a few stories lands within ~2 s of the start against a running
#: server (thirty-first session, a quiet hour: 1.85-1.95 s against 2.23-2.45 s with 200
#: first, the whole 10,000-story run unchanged at 8.8-9.3 s), at the cost of one small batch
#: more in such a run; a run of ``FIRST_BATCH`` or fewer (a scheduled poll's) stays one batch,
#: and so does every batch of a ``--batch-size`` at or below ``FIRST_BATCH``.
QUICK_FIRST = int(os.environ.get("WIRE_INGEST_QUICK_FIRST", "20"))


def batch_bounds(total: int, batch_size: int, first: int | None = None) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of each batch over ``total`` pending inputs: the first holds
    ``first`` (``FIRST_BATCH``; at most ``batch_size``), each next one twice the one before,
    up to ``batch_size``; by default, a run of more than the first batch commits
    ``QUICK_FIRST`` inputs before it."""
    size, start = max(1, min(FIRST_BATCH if first is None else first, batch_size)), 0
    if first is None and 0 < QUICK_FIRST < FIRST_BATCH < min(batch_size, total):
        # Only where the batches ramp up anyway: with --batch-size at or below the first
        # batch's, every batch holds --batch-size, and a run rolled forward after a crash
        # lays its batches out as a clean run does.
        yield 0, QUICK_FIRST
        start = QUICK_FIRST
    while start < total:
        yield start, min(start + size, total)
        start += size
        size = min(size * 2, batch_size)


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def plan_batches(
    source: Storage,
    index: LedgerIndex,
    batch_size: int,
    settings: IngestSettings,
    now: datetime | None = None,
    keys: list[str] | None = None,
    reprocess: bool = False,
    notes: PlanNotes | None = None,
    limit: int | None = None,
    revisions: dict[str, str] | None = None,
    bundles: BundleIndex | None = None,
    retry_last: set[str] | frozenset[str] = frozenset(),
    retry: bool = True,
) -> list[BatchPlan]:
    """Split the inputs not yet in the ledger (all of them with ``reprocess``) into batches
    (``batch_bounds``: from ``FIRST_BATCH`` inputs, doubling up to ``batch_size``).

    The source listing is streamed in chunks and each chunk checked against the ledger in
    one lookup, so planning over millions of done inputs holds only what is pending. With
    ``settings.detect_rewrites``, each input is listed with its revision (size and
    modification time, or ETag; for explicit ``keys``, as ``revisions`` gives them, if at
    all): one the ledger holds at another revision was rewritten since it was ingested, and
    is planned again as a reprocess of itself (its earlier rows replaced), before the new
    inputs, with the inputs the ledger has as copies of the story it held (exact
    duplicates and near copies: `_copies_of`); its key goes to ``notes.rewritten``. With
    ``settings.settle_seconds``, a file (or bundle) to be planned that changed within that
    time is left for a later run and its key added to ``notes.settling``: it may still be
    being written (checked before a bundle is read to list its members). A listed file named
    as a transfer in progress (``.part``, ``.tmp``) or an operating system's file
    (``Thumbs.db``: ``flows.bundles.junk_name``) is not planned at all. With ``limit``, the
    run takes the first ``limit`` inputs to plan in listing order and counts the rest in
    ``notes.left`` without holding them. With ``bundles`` (the dataset root's
    ``BundleIndex``), a bundle listed by an earlier run at the revision it has now is not
    read again to list its members. Inputs in ``retry_last`` (those the store failed to
    read in earlier runs: `flows.inputs.UnreadLog`) are planned after every other input,
    new or rewritten, in the room the limit leaves (``notes.retried``; listed:
    ``notes.retry_listed``; left: ``notes.left_unread``, counted in ``notes.left`` too), so
    that inputs that keep failing never hold back the rest; without ``retry``, not at all
    (the command's later runs, after one left inputs unread: its next invocation tries
    them)."""
    notes = notes if notes is not None else PlanNotes()
    planned = now or datetime.now(UTC)
    planned_at = planned.isoformat()
    settle, clock = settings.settle_seconds, planned.timestamp()
    pending: list[str] = []
    rewritten: list[str] = []
    recorded: dict[str, str] = {}
    held_new: list[str] = []
    held_changed: list[str] = []
    held_revisions: dict[str, str] = {}
    for chunk in _listing(source, settings, keys, revisions):
        if reprocess:
            unknown, changed = list(chunk.keys), []
        else:
            full_uri = source.full_uri
            flags, rewrites = index.done.check_many(
                [full_uri(k) for k in chunk.keys], chunk.revisions, codes=chunk.codes
            )
            unknown = [k for k, is_done in zip(chunk.keys, flags, strict=True) if not is_done]
            changed = [k for k, again in zip(chunk.keys, rewrites, strict=True) if again]
        if keys is None:  # asked of what the ledger lacks only: ~0.4 s a million for every key
            unknown = [k for k in unknown if not junk_name(k)]  # a transfer in progress, a Thumbs.db
            changed = [k for k in changed if not junk_name(k)]
        if settle > 0 and (unknown or changed):
            young = source.settling(unknown + changed, settle, clock)
            if young:
                notes.settling += [k for k in unknown + changed if k in young]
                unknown = [k for k in unknown if k not in young]
                changed = [k for k in changed if k not in young]
        if not unknown and not changed:
            continue  # all done: the common chunk of a large landing zone
        # ``unknown`` holds no key the ledger has as itself: no need to ask it again here.
        listed: dict[str, str | None] = (
            dict(zip(chunk.keys, chunk.revisions, strict=True)) if settings.detect_rewrites else {}
        )
        own: dict[str, str] = {}
        if changed and not reprocess:
            changed = _regrown_as_bundles(source, index, settings, changed, listed, own, bundles)
        expanded = expand_bundles(
            source, unknown, settings.bundle_limits, known=bundles, revisions=listed, member_revisions=own
        )
        bundled = expanded != unknown
        if bundled and listed:
            # A bundle's members are inputs of their own, listed at the bundle's revision (a
            # feed's items at their own: `flows.bundles.member_revisions`): a member the
            # ledger holds at another one is in a bundle rewritten since.
            listed.update((k, own.get(k) or listed.get(_bundle_of(k))) for k in expanded if k not in listed)
        if reprocess or not bundled:  # no bundle: ``unknown`` is what the ledger lacks
            new = expanded
        else:
            flags, rewrites = index.done.check_many(
                [source.full_uri(k) for k in expanded], [listed.get(k) for k in expanded]
            )
            new = [k for k, is_done in zip(expanded, flags, strict=True) if not is_done]
            changed += [k for k, again in zip(expanded, rewrites, strict=True) if again]
        if retry_last:  # failed before: after the rest (at most the log's size held here)
            held = [k for k in new if k in retry_last], [k for k in changed if k in retry_last]
            if held[0] or held[1]:
                held_new += held[0]
                held_changed += held[1]
                held_revisions.update((k, r) for k in held[0] + held[1] if (r := listed.get(k)))
                new = [k for k in new if k not in retry_last]
                changed = [k for k in changed if k not in retry_last]
        taken = len(pending) + len(rewritten)
        room = len(new) if limit is None else max(0, min(len(new), limit - taken))
        pending += new[:room]
        again = len(changed) if limit is None else max(0, min(len(changed), limit - taken - room))
        rewritten += changed[:again]
        notes.left += len(new) - room + len(changed) - again
        if listed and (room or again):
            recorded.update((k, r) for k in new[:room] + changed[:again] if (r := listed.get(k)))
    if held_new or held_changed:
        notes.retry_listed += held_changed + held_new
        taken = len(pending) + len(rewritten)
        again = len(held_changed) if limit is None else max(0, min(len(held_changed), limit - taken))
        room = len(held_new) if limit is None else max(0, min(len(held_new), limit - taken - again))
        again, room = (again, room) if retry else (0, 0)
        rewritten += held_changed[:again]
        pending += held_new[:room]
        notes.retried += again + room
        notes.left_unread += len(held_changed) - again + len(held_new) - room
        notes.left += len(held_changed) - again + len(held_new) - room
        recorded.update((k, r) for k in held_changed[:again] + held_new[:room] if (r := held_revisions.get(k)))
    notes.rewritten += rewritten
    # An input whose row a batch takes out (rewritten, reprocessed) may be the story that
    # exact duplicates point at (inputs with no row of their own) or near copies name
    # (``duplicate_of``): each goes into the batch of the input it points at, read again, so
    # that one of the exact duplicates carries the story's row and no near copy names a
    # story that has none.
    replaced = pending if reprocess else rewritten
    followers = _copies_of(source, index, replaced, recorded) if replaced else {}
    plans = []
    # Rewritten inputs replace what they produced before, as ``--reprocess`` does; the
    # planned time is in their batch ids, so a later rewrite of the same inputs is a new batch.
    # They go first: a new input read after a rewrite took its old story's row out is that
    # story's row itself, not an exact duplicate of a row that is gone (until the
    # thirty-fifth session they went last, and a new copy of the story met that way).
    for start, end in batch_bounds(len(rewritten), batch_size):
        chunk_keys = _with_followers(rewritten[start:end], followers)
        batch_id = make_batch_id(source.uri, chunk_keys, f"rewritten@{planned_at}")
        plans.append(_plan(batch_id, source.uri, chunk_keys, planned_at, True, recorded, rewrite=True))
    generation = f"reprocess@{planned_at}" if reprocess else ""
    for start, end in batch_bounds(len(pending), batch_size):
        chunk_keys = _with_followers(pending[start:end], followers)  # a reprocess's: new inputs hold no story
        batch_id = make_batch_id(source.uri, chunk_keys, generation)
        plans.append(_plan(batch_id, source.uri, chunk_keys, planned_at, reprocess, recorded))
    return plans


def _copies_of(
    source: Storage, index: LedgerIndex, replaced: list[str], recorded: dict[str, str]
) -> dict[str, list[str]]:
    """For inputs of ``replaced`` that hold a story row now, the other inputs of ``source``
    that the ledger has as copies of that story (``{key: [their keys]}``: exact duplicates,
    near copies whose rows name it in ``duplicate_of``, and their own copies down the
    chain: `CopyTree`), each with the revision its entry recorded (put in ``recorded``:
    unchanged, it is planned for its story's sake, and a later rewrite of it must still be
    noticed). Until the
    thirty-fifth session a rewritten input's new text took its old story's row out while its
    duplicates went on pointing at it: a story still in the landing zone, in no row; until
    the thirty-seventh its near copies went on naming it in ``duplicate_of``. A
    member's bundle read whole before counts as its member (its row goes with the member's
    batch: `run_batch`), so the copies of its story follow the bundle's first member."""
    uris = {source.full_uri(key): key for key in replaced}
    for member in replaced:
        for container in containers_of(member):
            uris.setdefault(source.full_uri(container), member)
    story_of: dict[str, str] = {}
    for part in chunked(list(uris), 10_000):  # entries a part at a time: a reprocess may plan 100,000
        held = index.done.get_many(part)
        story_of.update((e.story_id, uris[uri]) for uri, e in held.items() if e.outcome == "story" and e.story_id)
    if not story_of:
        return {}
    tree = CopyTree(index, story_of)
    owner = dict(story_of)  # story -> the replaced input it descends from
    followers: dict[str, list[str]] = {}
    for uri, entry in tree.entries.items():  # level by level: a copy after the story it names
        planned_with = owner.get(entry.duplicate_of or "")
        if planned_with is None:
            continue
        if entry.outcome == "story" and entry.story_id:
            owner.setdefault(entry.story_id, planned_with)
        key = key_under(source.uri, uri)
        if key is None or uri in uris:
            continue  # another source's input, or one planned already
        followers.setdefault(planned_with, []).append(key)
        if entry.revision:
            recorded.setdefault(key, entry.revision)
    return followers


def _with_followers(keys: list[str], followers: dict[str, list[str]]) -> list[str]:
    """``keys``, each followed by its copies (`_copies_of`)."""
    if not followers:
        return keys
    return [each for key in keys for each in (key, *followers.get(key, ()))]


class _Listed(NamedTuple):
    """A chunk of ``plan_batches``' inputs: keys, the revision each is listed at (None: not
    known, or ``detect_rewrites`` off) and, where the storage gave them, the revisions'
    8-byte codes end to end (``storage.base.Revisions``)."""

    keys: list[str]
    revisions: list[str | None]
    codes: bytes | None = None


def _listing(
    source: Storage, settings: IngestSettings, keys: list[str] | None, revisions: dict[str, str] | None
) -> Iterator[_Listed]:
    """What ``plan_batches`` checks against the ledger: the inputs (``keys``, else the
    source's candidate files), about ``PLAN_CHUNK`` at a time. Worked a chunk at a time in
    comprehensions: over a million done files, each Python frame a file costs ~0.5 s."""
    pattern = settings.pattern
    if keys is not None:
        given = revisions if revisions and settings.detect_rewrites else {}
        for part in chunked(keys, PLAN_CHUNK):
            yield _Listed(part, [given.get(k) for k in part])
        return
    if not settings.detect_rewrites:
        names = source.keys()
        while listed := list(itertools.islice(names, PLAN_CHUNK)):
            taken = candidates(listed, pattern)
            yield _Listed(taken, [None] * len(taken))
        return
    # Local files are statted and their revisions coded by helper processes (a long
    # listing), S3 objects coded here from their ETags: no object a file in this loop.
    found: list[str] = []
    at: list[str | None] = []
    codes: list[bytes] = []
    for run in source.list_revisions():
        taken = candidates(run.keys, pattern)
        if len(taken) != len(run.keys):
            kept = set(taken)
            run = run.take([i for i, key in enumerate(run.keys) if key in kept])
        found += run.keys
        at += run.revisions
        codes.append(run.codes)
        if len(found) >= PLAN_CHUNK:
            yield _Listed(found, at, b"".join(codes))
            found, at, codes = [], [], []
    if found:
        yield _Listed(found, at, b"".join(codes))


def _regrown_as_bundles(
    source: Storage,
    index: LedgerIndex,
    settings: IngestSettings,
    changed: list[str],
    listed: dict[str, str | None],
    own: dict[str, str],
    bundles: BundleIndex | None,
) -> list[str]:
    """``changed`` (inputs the ledger holds as themselves, rewritten since) with each one that
    is now a bundle replaced by its members not yet done at their revision: a zip first read
    half uploaded (quarantined ``bad_bundle``), a mail that now carries attachments. Planned
    as a rewrite, their batch takes out what the file gave before (`run_batch`: an input's
    containers are superseded with it). Until the thirty-fourth session such a file was read
    again as itself, and quarantined again: its members were never read."""
    maybe = [k for k in changed if is_bundle(k) or may_be_message(k)]
    if not maybe:
        return changed
    listing = expand_bundles(
        source, maybe, settings.bundle_limits, known=bundles, revisions=listed, member_revisions=own
    )
    became = set(maybe).difference(listing)  # listed as members now, not as themselves
    if not became:
        return changed
    members = [k for k in listing if k not in maybe]
    listed.update((k, own.get(k) or listed.get(_bundle_of(k))) for k in members if k not in listed)
    flags, rewrites = index.done.check_many([source.full_uri(k) for k in members], [listed.get(k) for k in members])
    fresh = [k for k, done, again in zip(members, flags, rewrites, strict=True) if not done or again]
    return [k for k in changed if k not in became] + fresh


def _bundle_of(key: str) -> str:
    """The bundle a member key belongs to (``flows.bundles.split_member``), else the key."""
    member = split_member(key)
    return member[0] if member else key


def _plan(
    batch_id: str,
    source_uri: str,
    keys: list[str],
    planned_at: str,
    reprocess: bool,
    revisions: dict[str, str],
    rewrite: bool = False,
) -> BatchPlan:
    own = {k: revisions[k] for k in keys if k in revisions}
    return BatchPlan(batch_id, source_uri, keys, planned_at, reprocess, own, rewrite)


@dataclass
class PlanNotes:
    """What planning found beyond the new inputs: inputs that may still be being written
    (their keys; left for a later run), how many inputs were over the run's limit, and the
    inputs rewritten since they were ingested (their keys; planned again)."""

    settling: list[str] = field(default_factory=list)
    left: int = 0
    rewritten: list[str] = field(default_factory=list)
    #: Inputs of ``retry_last`` listed as still to ingest (planned after the others or left).
    retry_listed: list[str] = field(default_factory=list)
    #: How many of those were planned, and how many left (counted in ``left`` too).
    retried: int = 0
    left_unread: int = 0


def quarantine_key(item: Quarantined, day: str) -> str:
    # The design names entries <source_sha256>.json; two different inputs with the same bytes
    # (two empty files, say) would collide there, so the key adds a hash of the source URI.
    uri_id = hashlib.sha256(item.source_uri.encode("utf-8")).hexdigest()[:16]
    return f"{QUARANTINE_PREFIX}date={day}/{item.source_sha256 or 'unread'}-{uri_id}.json"


#: Inputs read and handed to the parse workers at a time within a batch, and the input bytes
#: a batch keeps read ahead of what has been collected: a batch of 2,000 web pages is read
#: a slice at a time as the workers get through it, so this process holds ~32 MB of a
#: batch's inputs, never a whole batch's. 2,000 wire stories of a few KB fit whole, so the
#: next batch's inputs are all with the workers while this process commits the last (read a
#: slice at a time, the workers ran dry during each commit: ~15% slower at 10,000 stories).
READ_SLICE = 200
READ_AHEAD_BYTES = 32 * 1024**2


class ParseJob:
    """A batch's inputs being read and parsed (``start_parse``); ``collect`` gives one
    result per input: the parsed ones in input order, then those that could not be read."""

    def __init__(
        self,
        keys: list[str],
        start: Callable[[list[str], str | None], tuple[PendingParse, int, list[Quarantined]]],
    ) -> None:
        self._slices = [keys[i : i + READ_SLICE] for i in range(0, len(keys), READ_SLICE)]
        self._slices.reverse()  # popped from the end
        self._start = start
        self._started: list[tuple[PendingParse, int]] = []  # (parse, its input bytes)
        self.unreadable: list[Quarantined] = []
        self._read_ahead()

    def _read_ahead(self) -> None:
        while self._slices and (not self._started or sum(size for _, size in self._started) < READ_AHEAD_BYTES):
            keys = self._slices.pop()
            parsing, size, unreadable = self._start(keys, self._slices[-1][0] if self._slices else None)
            self._started.append((parsing, size))
            self.unreadable += unreadable

    def collect(self) -> list[Prepared | Quarantined]:
        results: list[Prepared | Quarantined] = []
        while self._started:
            results += self._started.pop(0)[0].collect()
            self._read_ahead()
        return [*results, *self.unreadable]

    def cancel(self) -> None:
        self._slices.clear()
        while self._started:
            self._started.pop()[0].cancel()


def start_parse(
    plan: BatchPlan, source: Storage, settings: IngestSettings, *, after: BatchPlan | None = None, last: bool = False
) -> ParseJob:
    """Read ``plan``'s first inputs and start parsing them (the rest are read as they are
    collected): on the local pool it runs while the caller commits the batch before
    (writes nothing, so it may start before that commit). ``after``, the batch to be
    parsed next, or ``last`` when none is: a bundle whose members go on in ``after`` is
    kept open for it (``flows.inputs.read_input`` shares it), one whose members do not is
    freed after the last slice; with neither (the next batch not known), the bundle is
    freed with the job."""
    cache: dict[str, OpenBundle] = {}  # a bundle read and opened once for its members, across slices
    then = after.inputs[0] if after is not None and after.inputs else None
    if last or (after is not None and after.source != plan.source):
        then = ""  # nothing of this bundle is read after this batch

    def start(keys: list[str], following: str | None) -> tuple[PendingParse, int, list[Quarantined]]:
        payloads, unreadable = read_payloads(source, keys, settings.max_bytes, settings.bundle_limits, cache)
        following = following if following is not None else then
        member = split_member(following) if following else None
        if following is not None and (member is None or member[0] not in cache):
            cache.clear()  # what is read next does not go on in this bundle: free it (up to 1 GB)
        return start_slice(payloads, settings), sum(len(data) for _, data in payloads), unreadable

    return ParseJob(plan.inputs, start)


def start_slice(payloads: list[tuple[str, bytes]], settings: IngestSettings) -> PendingParse:
    """Start parsing ``payloads`` on the Dask cluster (``--dask-address``) or the local pool."""
    if settings.dask_address:
        from flows.dask_parse import DaskParse

        # Submitted now: the cluster parses (and validates and fingerprints) this slice while
        # the caller commits a batch.
        address, agency = settings.dask_address, settings.default_agency
        on_dask = DaskParse(
            payloads, address=address, default_agency=agency, max_bytes=settings.max_bytes, prepared=True
        )
        return PendingParse(on_dask.result, on_dask.cancel)
    # Validation and fingerprints are worked out by the parse workers, in parallel.
    return start_prepare(
        payloads,
        default_agency=settings.default_agency,
        max_bytes=settings.max_bytes,
        workers=settings.workers,
        timeout=settings.parse_timeout,
        memory_mb=settings.parse_memory_mb,
    )


#: Parses started by one task of a flow run for the first batch of the next (``then``), by
#: batch id: the run's tasks run one after another in its process, and the workers need not
#: wait at a task's end for the next task to hand them work.
_STARTED_AHEAD: dict[str, ParseJob] = {}


def drop_started_ahead() -> None:
    """Cancel the parses started for a task that did not take them (one that never ran,
    or a plan that changed): call at a run's end, and before a task starts its own."""
    while _STARTED_AHEAD:
        _STARTED_AHEAD.popitem()[1].cancel()


def run_plans(
    plans: list[BatchPlan],
    source: Storage,
    dest: Storage,
    index: LedgerIndex,
    settings: IngestSettings,
    *,
    lease: Lease | None = None,
    on_commit: Callable[[BatchPlan, BatchSummary], None] = lambda plan, summary: None,
    then: BatchPlan | None = None,
) -> None:
    """``run_batch`` over ``plans`` in order, each batch's parse started before the batch
    ahead of it is deduplicated and committed, so the workers parse while this process
    writes. Results and output are those of running the batches one after another. With
    ``then`` (the next task's first batch), its parse is started after the last batch's
    and left for that task's ``run_plans``."""
    # Each input's records are freed by reference counting; the default first-generation
    # threshold (700 allocations) ran ~650 collections over 10,000 inputs, five of them full
    # passes over the duplicate index (~0.55 s of the coordinator's ~3.6 CPU-s).
    gc.set_threshold(20_000, 20, 20)
    ahead = _STARTED_AHEAD.pop(plans[0].batch_id, None) if plans else None
    drop_started_ahead()  # any other was started for a plan this task does not run
    order: list[BatchPlan | None] = [*plans, then]

    def parse(at: int) -> ParseJob | None:
        """The parse of ``order[at]``, told what comes after it: a plan, nothing (the run
        ends), or, for ``then``, not known here (the next task's)."""
        if at >= len(order) or (plan := order[at]) is None:
            return None
        after = order[at + 1] if at + 1 < len(order) else None
        return start_parse(plan, source, settings, after=after, last=at + 1 < len(order) and after is None)

    if ahead is None and plans:
        ahead = parse(0)
    try:
        for number, plan in enumerate(plans):
            job = ahead
            ahead = parse(number + 1)
            try:
                summary = run_batch(plan, source, dest, index, settings, lease=lease, job=job)
            finally:
                if job is not None:
                    job.cancel()  # a no-op once collected; frees the workers after a failure
            on_commit(plan, summary)
        if ahead is not None and then is not None:
            _STARTED_AHEAD[then.batch_id], ahead = ahead, None
    finally:
        if ahead is not None:
            ahead.cancel()


def run_batch(
    plan: BatchPlan,
    source: Storage,
    dest: Storage,
    index: LedgerIndex,
    settings: IngestSettings,
    *,
    recovered: bool = False,
    lease: Lease | None = None,
    job: ParseJob | None = None,
) -> BatchSummary:
    """Parse, validate, dedupe, write and commit one batch. Idempotent for a given plan.

    With ``lease``, the batch checks that its run still holds the store before its first
    write and again before its commit point (the ledger object). ``job`` is the batch's
    parse if it was started ahead (``start_parse``); it is started here otherwise."""
    if lease is not None:
        lease.check()
    previous_keys = open_intent(dest, plan)
    # A reprocess replaces what these inputs produced before: their old stories are not
    # duplicates of the new ones, and their old rows are removed before the new are written.
    # So, in any batch, are the row or quarantine entry of a bundle these inputs are members
    # of, where the ledger holds it as one input of its own: a file read whole before it
    # became a bundle (`_regrown_as_bundles`; a backfill lists its members itself), a mail
    # listed as one input before the thirty-second session.
    superseded = {
        uri: entry for uri, entry in _earlier_entries(plan, source, index).items() if entry.batch_id != plan.batch_id
    }

    planned_at = datetime.fromisoformat(plan.planned_at)
    day = planned_at.strftime("%Y-%m-%d")
    summary = BatchSummary(plan.batch_id, inputs=len(plan.inputs), recovered=recovered)
    batch_index = index.for_batch()  # this batch's stories; merged into ``index`` after the commit
    stories: list[Story] = []
    prints: dict[str, Fingerprint] = {}
    quarantined: list[Quarantined] = []
    entries: list[LedgerEntry] = []
    reasons: Counter[str] = Counter()

    job = job if job is not None else start_parse(plan, source, settings)
    parsed = job.collect()
    # An input the store failed to read, or gone since it was listed, is no outcome of the
    # input: nothing is committed for it (one ingested before keeps what it made), and the
    # next run reads the first again.
    not_read = [r for r in parsed if isinstance(r, Quarantined) and r.reason in NOT_READ]
    if not_read:
        parsed = [r for r in parsed if not (isinstance(r, Quarantined) and r.reason in NOT_READ)]
        unread = [r for r in not_read if r.reason == UNREADABLE]
        summary.unread, summary.vanished = len(unread), len(not_read) - len(unread)
        summary.unread_first = unread[0].detail if unread else None
        for item in unread:
            key = key_under(source.uri, item.source_uri)
            if key is not None:
                summary.unread_keys[key] = item.detail[:200]
        for item in not_read:
            superseded.pop(item.source_uri, None)
    # An input planned again whose bytes are what its entry recorded (a file touched, or
    # rewritten with the same bytes) keeps what it produced: its row stays where it is.
    kept = keep_unchanged(parsed, superseded, plan.batch_id) if plan.rewrite and superseded else {}
    # A copy of a story whose row this batch takes out is read again, not kept (planned with
    # it: `_copies_of`): one of its exact duplicates carries the story's row from now on, and
    # a near copy's row is written again (so its copies are read again too), naming a story
    # that still has a row, if any.
    while True:
        own_ids = {e.story_id for u, e in superseded.items() if u not in kept and e.outcome == "story" and e.story_id}
        copies = [uri for uri, e in kept.items() if e.duplicate_of in own_ids]
        if not copies:
            break
        for uri in copies:
            del kept[uri]
    for uri in kept:
        del superseded[uri]
    # Stories older than the index's window are matched by id and body hash a batch at a time.
    ready = [r.story for r in parsed if isinstance(r, Prepared) and not r.problems]
    old_ids, old_bodies = index.history_matches([s.story_id for s in ready], [s.content_sha256 for s in ready])
    gone = own_ids | index.removed  # stories whose rows this batch, or one before it in the run, takes out
    # A story read again whose row is written again (the same text) must not name a story
    # that names it, directly or through others: neither would be among the stories that are
    # nobody's copy.
    tree = CopyTree(index, own_ids) if own_ids else None

    def root_of(story_id: str) -> str:
        """The first story of ``story_id``'s near-duplicate cluster as this batch leaves it:
        a root whose row this batch (or one before it in the run) takes out without writing
        it again starts the cluster no more (``story_id`` does, as the next run's index,
        built from the ledger, will have it)."""
        root = batch_index.cluster_root(story_id)
        if root is None:
            root = index.cluster_root(story_id)
            if root in gone and batch_index.cluster_root(root) is None:
                root = story_id
        return root or story_id

    for number, result in enumerate(parsed):
        if number % 64 == 63:
            pump_pools()  # the next batch's parse goes on while this loop runs
        if kept and (result.story.source_uri if isinstance(result, Prepared) else result.source_uri) in kept:
            continue
        if isinstance(result, Prepared) and result.problems:
            invalid = result.story
            problems = "; ".join(result.problems)
            result = Quarantined(invalid.source_uri, invalid.source_sha256, 0, "invalid_record", problems)
        if isinstance(result, Quarantined):
            quarantined.append(result)
            reasons[result.reason] += 1
            entries.append(
                LedgerEntry(
                    result.source_uri,
                    result.source_sha256,
                    "quarantined",
                    plan.batch_id,
                    reason=result.reason,
                    key=quarantine_key(result, day),
                )
            )
            continue
        story, print_ = result.story, result.fingerprint
        known = (story.story_id in index.story_ids or story.story_id in old_ids) and story.story_id not in gone
        if known or story.story_id in batch_index.story_ids:
            summary.duplicates += 1
            entries.append(
                LedgerEntry(
                    story.source_uri,
                    story.source_sha256,
                    "duplicate",
                    plan.batch_id,
                    story_id=story.story_id,
                    duplicate_of=story.story_id,
                )
            )
            continue
        prints[story.story_id] = print_
        same_body = old_bodies.get(story.content_sha256) or index.by_content.get(story.content_sha256)
        story.duplicate_of = (
            (same_body if same_body not in gone else None)
            or batch_index.by_content.get(story.content_sha256)
            or near_duplicate_in(
                [
                    (index, gone | (tree.below(story.story_id) if tree else {story.story_id})),
                    (batch_index, {story.story_id}),
                ],
                print_,
            )
        )
        if story.duplicate_of:
            summary.near_duplicates += 1
            batch_index.add_copy(story.story_id, root_of(story.duplicate_of))
        if story.thread_id is None:  # no feed id, slug or keyword: the near-duplicate cluster's first story
            story.thread_id = root_of(story.duplicate_of) if story.duplicate_of else story.story_id
        story.ingested_at = planned_at
        story.pipeline_version = PIPELINE_VERSION
        batch_index.add_story(story.story_id, story.content_sha256, print_)
        stories.append(story)

    objects: dict[str, bytes] = {}
    story_key: dict[str, str] = {}
    for (agency, date), group in group_by_partition(stories, planned_at).items():
        pump_pools()
        key = partition_key(agency, date, plan.batch_id)
        objects[key] = encode_parquet(group, plan.batch_id, PIPELINE_VERSION)
        story_key.update({s.story_id: key for s in group})
    for item in quarantined:
        record = {
            **asdict(item),
            "batch_id": plan.batch_id,
            "quarantined_at": plan.planned_at,
            "pipeline_version": PIPELINE_VERSION,
        }
        objects[quarantine_key(item, day)] = json.dumps(record, indent=2).encode("utf-8")
    for story in stories:
        entries.append(
            LedgerEntry(
                story.source_uri,
                story.source_sha256,
                "story",
                plan.batch_id,
                story_id=story.story_id,
                content_sha256=story.content_sha256,
                simhash=story.simhash,
                duplicate_of=story.duplicate_of,
                key=story_key[story.story_id],
                paragraph_keys=list(prints[story.story_id].keys),
                minhash=prints[story.story_id].signature.hex() or None,
                day=prints[story.story_id].day,
            )
        )

    entries += kept.values()
    summary.unchanged = len(kept)
    if plan.revisions:  # what each input was listed at: a later rewrite is noticed
        listed = {source.full_uri(k): revision for k, revision in plan.revisions.items()}
        for entry in entries:
            entry.revision = listed.get(entry.source_uri)
    # A bundle read whole before (a mail now carrying attachments, a zip first read half
    # uploaded) whose row or quarantine entry this batch of its members takes out: its own
    # entry says so from now on (`BUNDLE`), or its old story, still "stored" by its entry,
    # made every later copy of that story an exact duplicate of a row that was gone.
    if superseded:
        inputs = {source.full_uri(key) for key in plan.inputs}
        entries += [
            _read_as_bundle(entry, plan.batch_id)
            for uri, entry in superseded.items()
            if uri not in inputs and entry.outcome != BUNDLE  # said so already: by the batch before, say
        ]
    lost = own_ids - {story.story_id for story in stories}
    if lost:  # rows taken out with no copy here to carry them: copies elsewhere are read again
        entries += _copies_to_read_again(dest, tree, lost, {entry.source_uri for entry in entries}, plan.batch_id)

    pump_pools()
    if not entries:  # every input left unread or gone: nothing to commit, the id comes again
        abandon(dest, plan, previous_keys)
        return summary
    counts = {
        "inputs": summary.inputs,
        "stories": len(stories),
        "duplicates": summary.duplicates,
        "near_duplicates": summary.near_duplicates,
        "quarantined": dict(reasons),
        "unchanged": summary.unchanged,
        **({"unread": summary.unread, "vanished": summary.vanished} if not_read else {}),
    }
    checksums = commit(
        dest,
        plan,
        objects,
        entries,
        counts,
        previous_keys=previous_keys,
        superseded=superseded,
        pipeline_version=PIPELINE_VERSION,
        check=lease.check if lease is not None else None,
    )
    pump_pools()
    summary.bytes_written = sum(len(data) for data in objects.values())
    summary.stories = len(stories)
    summary.quarantined = dict(reasons)
    summary.files = sorted(checksums)
    index.batches.add(plan.batch_id)
    index.merge(batch_index)  # the stories, as indexed for the batch's own lookups
    for entry in entries:
        index.add(entry, indexed=True)
    taken_out = own_ids - {story.story_id for story in stories}
    if taken_out:
        bodies = [e.content_sha256 for e in superseded.values() if e.story_id in taken_out and e.content_sha256]
        index.forget(taken_out, bodies)
    return summary


def _earlier_entries(plan: BatchPlan, source: Storage, index: LedgerIndex) -> dict[str, LedgerEntry]:
    """The ledger's entries for a reprocess's inputs, and for the bundles any batch's inputs
    are members of (none for inputs that are no members: no lookup)."""
    uris = [source.full_uri(k) for k in plan.inputs] if plan.reprocess else []
    inside = {source.full_uri(c) for k in plan.inputs for c in containers_of(k)}.difference(uris)
    wanted = uris + sorted(inside)
    return index.done.get_many(wanted) if wanted else {}


def _read_as_bundle(entry: LedgerEntry, batch_id: str) -> LedgerEntry:
    """The entry, in ``batch_id``, of a bundle whose members are inputs of their own now
    and whose earlier row or quarantine entry that batch takes out: outcome `BUNDLE`, no
    story, at revision `READ_AGAIN` (so that the next listing finds it rewritten and lists
    its members, as it did while the stale entry's revision was the old one)."""
    return replace(
        entry,
        outcome=BUNDLE,
        batch_id=batch_id,
        story_id=None,
        content_sha256=None,
        simhash=None,
        duplicate_of=None,
        reason=None,
        key=None,
        day=None,
        revision=READ_AGAIN,
        paragraph_keys=None,
        minhash=None,
    )


def _copies_to_read_again(
    dest: Storage, tree: CopyTree | None, lost: set[str], written: set[str], batch_id: str
) -> list[LedgerEntry]:
    """The entries, marked `READ_AGAIN` in ``batch_id``, of the copies of the ``lost``
    stories (whose rows the batch takes out, with no copy in it to carry them), and of their
    near copies' copies (``tree``, `CopyTree`), that got no entry of their own in the batch
    (``written``): a copy under another source root, which a run over this source cannot
    read, or one the store failed to read. Each is read again by the next run over its
    source: an exact duplicate's story then its row, a near copy's row written again with
    its ``duplicate_of`` and ``thread_id`` found anew (until then it starts its cluster:
    `table.ledger.LedgerIndex`; its entry keeps the fingerprint it has). Until the
    thirty-sixth session such a copy went on pointing at a row that was gone: ``b.txt``
    delivered by a second landing zone into the same root, a copy of ``a.txt``, lost its
    story when ``a.txt`` was overwritten with another; until the thirty-seventh a near
    copy's row went on naming the lost story in ``duplicate_of``."""
    if tree is None:
        return []
    again = [entry for uri, entry in tree.under(lost).items() if uri not in written]
    return [replace(entry, batch_id=batch_id, revision=READ_AGAIN) for entry in whole_entries(dest, again)]


def keep_unchanged(
    parsed: list[Prepared | Quarantined], superseded: dict[str, LedgerEntry], batch_id: str
) -> dict[str, LedgerEntry]:
    """Of the inputs ``superseded`` would replace, those read with the bytes their entry
    recorded (same ``source_sha256``): each one's entry again, now in ``batch_id``, still
    pointing at the row or quarantine entry it made (a story's fingerprint taken from this
    parse when it gave the same story, so the ledger keeps it whole)."""
    kept: dict[str, LedgerEntry] = {}
    for result in parsed:
        if isinstance(result, Prepared):
            uri, sha, story_id = result.story.source_uri, result.story.source_sha256, result.story.story_id
        else:
            uri, sha, story_id = result.source_uri, result.source_sha256, None
        old = superseded.get(uri)
        if old is None or not sha or old.source_sha256 != sha or old.revision == READ_AGAIN:
            continue  # READ_AGAIN: the story it pointed at has no row any more
        entry = replace(old, batch_id=batch_id, paragraph_keys=None, minhash=None)
        if isinstance(result, Prepared) and old.outcome == "story" and story_id == old.story_id:
            entry.paragraph_keys = list(result.fingerprint.keys)
            entry.minhash = result.fingerprint.signature.hex() or None
            entry.day = result.fingerprint.day
        kept[uri] = entry
    return kept


def recover_pending(
    source: Storage, dest: Storage, index: LedgerIndex, settings: IngestSettings, lease: Lease | None = None
) -> list[BatchSummary]:
    """Roll every uncommitted batch forward before new work is planned (under the lease:
    a batch still pending here was left by a run that is gone, never by a live one)."""
    summaries = []
    recover_compactions(dest)  # a merge a dead `compact` left half done: forward or back
    for plan in pending_plans(dest):
        if plan.batch_id in index.batches:
            # Crashed after the ledger commit: the data is complete, only the intent is left.
            dest.delete(f"{PENDING_PREFIX}{plan.batch_id}.json")
            continue
        batch_source = source if plan.source == source.uri else None
        if batch_source is None:
            from storage import open_storage

            batch_source = open_storage(plan.source)
        summaries.append(run_batch(plan, batch_source, dest, index, settings, recovered=True, lease=lease))
    return summaries


def remember_unread(
    log: UnreadLog,
    before: dict[str, dict[str, object]],
    plans: list[BatchPlan],
    committed: dict[str, BatchSummary],
    notes: PlanNotes,
    *,
    whole_listing: bool,
) -> None:
    """Keep in ``log`` the inputs this run's committed batches (``committed``, by batch id:
    a run that failed midway has not tried the rest of its ``plans``) could not read, for
    the next runs to plan after the rest; drop those they read or found gone, and (when the
    run listed the whole source: ``whole_listing``) those no longer waiting."""
    unread: dict[str, str] = {}
    for summary in committed.values():
        unread.update(summary.unread_keys)
    read = {key for plan in plans if plan.batch_id in committed for key in plan.inputs if key not in unread}
    keep = set(notes.retry_listed) if whole_listing else None
    log.save(before, read=read, unread=unread, now=datetime.now(UTC).isoformat(), keep=keep)


def run_without_prefect(
    source_uri: str,
    dest_uri: str,
    settings: IngestSettings,
    batch_size: int,
    *,
    wait_lock: float = 0.0,
    keys: list[str] | None = None,
    reprocess: bool = False,
) -> list[BatchSummary]:
    """One ingest run, stage for stage what ``flows.ingest.ingest_flow`` does, without
    Prefect: under the lease, clean the staging area, load the ledger, roll pending
    batches forward, plan, run each batch. For tools and the crash-point sweep of the tests
    (a process start per crash point is ~1 s here, ~4 s with Prefect)."""
    from storage import check_source_and_dest, open_storage
    from storage.lease import Lease

    check_source_and_dest(source_uri, dest_uri)
    if settings.dask_address:
        from flows.dask_parse import client_for

        client_for(settings.dask_address)
    source, dest = open_storage(source_uri), open_storage(dest_uri)
    summaries: list[BatchSummary] = []
    with Lease(dest, command="ingest") as lease:
        lease.acquire(wait=wait_lock)
        dest.clean_staging()
        index = load_ledger(dest)
        summaries += recover_pending(source, dest, index, settings, lease)
        known = BundleIndex(dest, settings.bundle_limits)
        log = UnreadLog(dest, source.uri)
        failed_before, notes = log.load(), PlanNotes()
        plans = plan_batches(
            source,
            index,
            batch_size,
            settings,
            keys=keys,
            reprocess=reprocess,
            bundles=known,
            notes=notes,
            retry_last=set(failed_before),
        )
        ran: dict[str, BatchSummary] = {}

        def done(plan: BatchPlan, summary: BatchSummary) -> None:
            ran[plan.batch_id] = summary

        try:
            run_plans(plans, source, dest, index, settings, lease=lease, on_commit=done)
        finally:  # what the committed batches could not read, even when a later one failed
            summaries += ran.values()
            remember_unread(log, failed_before, plans, ran, notes, whole_listing=keys is None)
        fold(dest, check=lease.check)
    return summaries


if __name__ == "__main__":  # python -m flows.batch SOURCE DEST BATCH_SIZE [--reprocess] [--ignore-rewrites] [--inline]
    import sys

    flags = sys.argv[4:]
    # --inline: parse in this process (one worker, no deadline), as `--workers 1 --parse-timeout
    # 0` does; the crash tests' runs are a few inputs each, and a worker pool's start was a
    # third of each such run.
    inline = "--inline" in flags
    settings = IngestSettings(
        detect_rewrites="--ignore-rewrites" not in flags,
        workers=1 if inline else 0,
        parse_timeout=0.0 if inline else DEFAULT_PARSE_TIMEOUT,
    )
    done = run_without_prefect(
        sys.argv[1],
        sys.argv[2],
        settings,
        int(sys.argv[3]),
        reprocess="--reprocess" in flags,
    )
    print(json.dumps({"batches": len(done), "inputs": sum(s.inputs for s in done)}))
