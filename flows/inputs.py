"""Discovering and reading inputs: which keys of a source are stories to ingest, and
their bytes, with every input that cannot be read turned into a quarantine reason.

Light on purpose (no pyarrow, no Prefect): ``wire-ingest parse`` uses it too.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import weakref

from flows.bundles import (
    MEMBER_SEPARATOR,
    MESSAGE_PEEK_BYTES,
    BundleLimits,
    OpenBundle,
    is_bundle,
    is_message_head,
    junk_name,
    list_members,
    list_members_and_revisions,
    may_be_message,
    split_member,
)
from flows.workers import Quarantined
from schemas.errors import InputError, MissingObjectError, StorageError
from storage import Storage
from storage.base import at_once

QUARANTINE_PREFIX = "quarantine/"
#: Prefixes of a dataset root; a source that is also a root never offers them as inputs.
RESERVED_PREFIXES = (
    "stories/",
    QUARANTINE_PREFIX,
    "_manifests/",
    "_ledger/",
    "_bundles/",
    "_unread/",
    "_lock/",
    "_staging/",
)


#: The default ``--batch-size``: the most inputs one batch holds (a run's first batches are
#: smaller: ``flows.batch.FIRST_BATCH``).
DEFAULT_BATCH_SIZE = 2000

#: The default ``--run-inputs``: the most new inputs one flow run takes. A run keeps every
#: story it ingests in its duplicate index (~2.8 KB each: ~500 MB at 100,000), so a larger
#: backlog is taken by several runs, one after another (``ingest``) or schedule by schedule
#: (``serve``).
DEFAULT_RUN_INPUTS = 100_000


def is_candidate(key: str, pattern: str) -> bool:
    """Inputs are visible files matching ``pattern``; hidden and reserved paths, and files
    named as transfers in progress or an operating system's (``flows.bundles.junk_name``),
    are skipped."""
    return bool(candidates([key], pattern)) and not junk_name(key)


def candidates(keys: list[str], pattern: str) -> list[str]:
    """Those of ``keys`` that are inputs: visible files matching ``pattern`` (hidden and
    reserved paths and S3 folder markers are skipped), tested in one comprehension (planning
    tests every listed key: a million a run over a large landing zone)."""
    reserved = RESERVED_PREFIXES
    kept = [
        key
        for key in keys
        if key
        and key[0] not in "._"
        and "/." not in key
        and "/_" not in key
        and key[-1] != "/"  # an S3 "folder" (the console's Create folder): a zero-byte key ending in /
        and not key.startswith(reserved)
    ]
    if pattern == "*":
        return kept
    match = fnmatch.fnmatch
    return [key for key in kept if match(key.rsplit("/", 1)[-1], pattern)]


#: Where planning keeps the member lists of the bundles it has read (``BundleIndex``). Not
#: under ``_ledger/``, which every run lists whole: one entry per bundle revision ever
#: seen would have grown that listing without end.
BUNDLE_INDEX_PREFIX = "_bundles/"
#: How bundles are listed, in the index's keys: "" until the twenty-ninth session, which
#: lists a message, feed or JSON-lines file inside an archive as its items
#: (`flows.bundles._nested_items`); "nested-1" until the thirtieth, which names a JSON-lines
#: file's lines and an mbox file's messages by their bytes or Message-ID, not their
#: position (`flows.bundles._keyed_parts`); "keyed-2" until the thirty-first, which names a
#: NewsML message's items by their ids (`flows.bundles._news_item_id`), each at its own
#: revision, and lists an archive inside an archive as its members; "keyed-3" until the
#: thirty-second, which lists an archive attached to an e-mail as its members. A bundle
#: listed before is listed again once.
LISTING_VERSION = "\nkeyed-4"


class BundleIndex:
    """The member lists of bundles planning has read, kept in the dataset root (one small
    object per bundle and limits, under ``_bundles/``, holding the revision it was listed
    at), so a run lists a bundle it has listed before at the same revision (size and
    modification time, or ETag) without reading it again: a 1 GB zip left in the landing
    zone was read whole on every run. A bundle listed at a new revision replaces its entry:
    until the thirty-sixth session the key held the revision too, and a feed a poller saves
    over every five minutes left ~290 entries a day that nothing read again. Only a cache:
    an entry that is missing, unreadable, or for another bundle or revision means the
    bundle is read; a bundle that could not be listed is not kept."""

    def __init__(self, store: Storage, limits: BundleLimits) -> None:
        self.store = store
        self.limits = limits
        self._read: dict[str, bytes | None] = {}  # by ``prefetch``: entries read ahead (None: none)

    def _key(self, uri: str, revision: str) -> str:
        """The entry's key: by bundle and limits, not by ``revision`` (its entry says which
        revision it lists: `entry` checks it), so a new revision's list replaces the last."""
        limits = f"{self.limits.max_members}:{self.limits.max_bytes}:{self.limits.max_ratio}"
        # LISTING_VERSION: lists kept before a change to how bundles are listed are not read.
        digest = hashlib.sha256(f"{uri}\n{limits}{LISTING_VERSION}\nby-bundle".encode()).hexdigest()[:32]
        return f"{BUNDLE_INDEX_PREFIX}{digest}.json"

    def prefetch(self, wanted: list[tuple[str, str]]) -> None:
        """Read the entries of these ``(uri, revision)`` pairs, several requests at once
        where the store takes that (``put_concurrency``: S3), for ``members`` to answer
        from: a run over a landing zone that keeps its bundles asks for every one of them,
        and one GET after another is ~20-50 ms each on S3 (a minute a run at 2,000
        bundles). Entries read ahead and not asked for are dropped at the next call."""
        keys = list(dict.fromkeys(self._key(uri, revision) for uri, revision in wanted))
        if int(getattr(self.store, "put_concurrency", 1)) <= 1:
            self._read = {}  # asked one at a time, when needed
            return

        def read(key: str) -> bytes | None:
            try:
                return self.store.get(key)
            except StorageError:
                return None

        self._read = dict(zip(keys, at_once(self.store, read, keys, "wire-ingest-bundle-index"), strict=True))

    def members(self, uri: str, revision: str) -> list[str] | None:
        """The members ``uri`` had at ``revision``, if a run listed them (None: read it)."""
        found = self.entry(uri, revision)
        return None if found is None else found[0]

    def entry(self, uri: str, revision: str) -> tuple[list[str], dict[str, str]] | None:
        """The members ``uri`` had at ``revision`` and their own revisions (a feed's items:
        `flows.bundles.member_revisions`), if a run listed them (None: read it)."""
        key = self._key(uri, revision)
        try:
            data = self._read.pop(key) if key in self._read else self.store.get(key)
            if data is None:
                return None
            found = json.loads(data)
        except (StorageError, ValueError):  # not kept (most), or not readable: read the bundle
            return None
        if not isinstance(found, dict) or found.get("uri") != uri or found.get("revision") != revision:
            return None
        members = found.get("members")
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            return None
        revisions = found.get("revisions") or {}
        if not isinstance(revisions, dict) or not all(isinstance(v, str) for v in revisions.values()):
            revisions = {}
        return members, revisions

    def remember(self, uri: str, revision: str, members: list[str], revisions: dict[str, str] | None = None) -> None:
        entry: dict[str, object] = {"uri": uri, "revision": revision, "members": members}
        if revisions:
            entry["revisions"] = revisions
        try:
            self.store.put(self._key(uri, revision), json.dumps(entry).encode("utf-8"), "application/json")
        except StorageError:  # the next run reads the bundle again; the run itself goes on
            pass


UNREAD_PREFIX = "_unread/"
#: The most inputs an `UnreadLog` keeps. It is only an order: past it, inputs that still
#: fail are retried in listing order among the new ones.
UNREAD_LOG_MAX = 20_000


class UnreadLog:
    """The inputs of one source the store failed to read in earlier runs (key -> times
    tried, first and last failure, the last error), kept in the dataset root (one small
    object per source, under ``_unread/``). Planning takes them after every input that has
    not failed (`flows.batch.plan_batches`, ``retry_last``): with ``--run-inputs`` below
    their number, a landing zone whose first keys the store cannot serve (a folder of
    objects under a KMS key the run may not use, a mount's I/O errors) had every run plan
    those same inputs again, read none, and never reach the stories after them (until the
    thirty-sixth session). Only an order: a log that is missing or unreadable means listing
    order, and a log that cannot be written is left as it was."""

    def __init__(self, store: Storage, source_uri: str) -> None:
        self.store = store
        self.key = f"{UNREAD_PREFIX}{hashlib.sha256(source_uri.encode('utf-8')).hexdigest()[:32]}.json"
        self.source_uri = source_uri

    def load(self) -> dict[str, dict[str, object]]:
        """``{key: {"tries", "first", "last", "error"}}`` as the last run left it ({}: none)."""
        try:
            found = json.loads(self.store.get(self.key))
        except (StorageError, ValueError):  # none kept (most runs), or not readable: listing order
            return {}
        inputs = found.get("inputs") if isinstance(found, dict) and found.get("source") == self.source_uri else None
        if not isinstance(inputs, dict):
            return {}
        return {k: v for k, v in inputs.items() if isinstance(k, str) and isinstance(v, dict)}

    def save(
        self,
        before: dict[str, dict[str, object]],
        *,
        read: set[str],
        unread: dict[str, str],
        now: str,
        keep: set[str] | None = None,
    ) -> dict[str, dict[str, object]]:
        """Write the log a run leaves: ``before`` less the inputs it ``read`` (or found gone)
        and, with ``keep`` (a run that listed the whole source), less those not listed
        pending any more (ingested since, or deleted); plus the inputs it left ``unread``
        (key -> the store's error). Returns it; an empty log deletes the object."""
        after = {k: v for k, v in before.items() if k not in read and k not in unread and (keep is None or k in keep)}
        for key, error in unread.items():
            earlier = before.get(key, {})
            tries = earlier.get("tries", 0)
            after[key] = {
                "tries": (tries if isinstance(tries, int) else 0) + 1,
                "first": earlier.get("first") or now,
                "last": now,
                "error": error[:500],
            }
        if len(after) > UNREAD_LOG_MAX:  # the most recent failures kept
            after = dict(sorted(after.items(), key=lambda kv: str(kv[1].get("last")), reverse=True)[:UNREAD_LOG_MAX])
        if after == before:
            return after
        try:
            if after:
                body = {"source": self.source_uri, "inputs": after}
                self.store.put(self.key, json.dumps(body, sort_keys=True).encode("utf-8"), "application/json")
            elif before:
                self.store.delete(self.key)
        except StorageError:  # only an order: the next run retries them in listing order
            pass
        return after


def expand_bundles(
    source: Storage,
    keys: list[str],
    limits: BundleLimits | None = None,
    *,
    known: BundleIndex | None = None,
    revisions: dict[str, str | None] | None = None,
    member_revisions: dict[str, str] | None = None,
) -> list[str]:
    """``keys`` with every bundle replaced by its members (``bundle.zip#a/b.xml``, in the
    bundle's order). A bundle that cannot be listed (corrupt, past a bomb limit, unreadable)
    stays as itself, so reading it quarantines it with that reason: nothing is skipped.

    An XML file is a bundle when its head opens a NewsML-G2 ``newsMessage`` or package with
    two or more items (``msg.xml#newsItem[<id>]``); telling costs a read of its first 4 KB, so
    planning passes only keys the ledger does not already hold as themselves. With
    ``known`` and the keys' ``revisions``, a bundle listed before at its revision is not
    read again, and one read here is kept there. ``member_revisions``, when given, gets the
    members that have revisions of their own (a feed's items), by member key."""
    limits = limits or BundleLimits()
    expanded: list[str] = []
    if known is not None and revisions:
        known.prefetch(
            [
                (source.full_uri(key), revision)
                for key in keys
                if (is_bundle(key) or may_be_message(key)) and (revision := revisions.get(key))
            ]
        )
    heads: dict[str, bytes | None] = {}
    for number, key in enumerate(keys):
        message, bundle = may_be_message(key), is_bundle(key)
        if not message and not bundle:
            expanded.append(key)
            continue
        revision = revisions.get(key) if known is not None and revisions else None
        uri = source.full_uri(key)
        found = known.entry(uri, revision) if known is not None and revision else None
        members, own = found if found is not None else (None, {})
        if members is None and message and key not in heads:
            heads = _peek_ahead(source, keys[number : number + PEEK_AHEAD], known, revisions)
        if members is None:
            members, own = _members(source, key, limits, message, heads.get(key))
            # Kept for bundles and multi-item messages; a one-item XML file is in the
            # ledger as itself once ingested, never peeked at again.
            if members is not None and (members or bundle) and known is not None and revision:
                known.remember(uri, revision, members, own)
        if members:
            expanded.extend(f"{key}{MEMBER_SEPARATOR}{member}" for member in members)
            if member_revisions is not None:
                member_revisions.update((f"{key}{MEMBER_SEPARATOR}{m}", r) for m, r in own.items())
        elif members is None or message:
            expanded.append(key)  # unlistable (quarantined with the reason), or a one-item XML file
    return expanded


#: Files whose heads planning reads at once, ahead of the one it is at (`_peek_ahead`).
PEEK_AHEAD = 256


def _peek_ahead(
    source: Storage, keys: list[str], known: BundleIndex | None, revisions: dict[str, str | None] | None
) -> dict[str, bytes | None]:
    """The first MESSAGE_PEEK_BYTES of each of ``keys`` that may be a message, feed or list
    of items and is not listed in ``known`` already, read several at a time (`at_once`: 8
    for S3); None for one that could not be read (`_members` reads it again and says why).
    One after another, 500 new ``.json`` files behind a 20 ms round trip took 19.2 s of
    planning, 5.0 s at once (`bench/s3_planning_peeks.py`); XML files (NITF) paid the same."""
    wanted = [
        key
        for key in keys
        if may_be_message(key)
        and not (
            known is not None
            and revisions
            and (revision := revisions.get(key))
            and known.entry(source.full_uri(key), revision) is not None
        )
    ]

    def head(key: str) -> bytes | None:
        try:
            return source.get(key, limit=MESSAGE_PEEK_BYTES)
        except StorageError:
            return None

    return dict(zip(wanted, at_once(source, head, wanted, "wire-ingest-peek"), strict=True))


def _members(
    source: Storage, key: str, limits: BundleLimits, message: bool, head: bytes | None = None
) -> tuple[list[str] | None, dict[str, str]]:
    """The members of a bundle, or of an XML file that may be a multi-item message or a
    feed ([] for one that is not); None for one that cannot be listed (corrupt, past a bomb
    limit, unreadable). With them, the members' own revisions (a feed's items). ``head``:
    the file's first bytes when they were read already (`_peek_ahead`)."""
    try:
        if message and not is_message_head(head if head is not None else source.get(key, limit=MESSAGE_PEEK_BYTES)):
            return [], {}
        members, own = list_members_and_revisions(key, source.get(key, limit=BUNDLE_READ_LIMIT), limits)
        return members, own
    except StorageError:  # InputError too
        return None, {}


#: Results of `read_payloads` that are no outcome of the input: the store failed to read it
#: (an I/O error, a permission, S3 still failing after the client's retries), or it was
#: deleted or moved after it was listed. A batch commits neither; the first is read again
#: by the next run (until the thirty-fifth session both were quarantined `unreadable`, and
#: a story that one failed read met was never ingested unless replayed by hand).
UNREADABLE, VANISHED = "unreadable", "vanished"
NOT_READ = frozenset((UNREADABLE, VANISHED))


#: Bytes of a bundle file read at most (a bigger one is quarantined 'bundle_too_large').
BUNDLE_READ_LIMIT = 1024**3


#: The bundles some caller's ``cache`` holds open, by URI: a batch whose members continue
#: a bundle the batch before it holds (read ahead while that one finishes) takes that copy
#: instead of reading the bundle again. A bundle of 100,000 members was read once per
#: batch of 2,000: 50 times (50 GB from S3 for a 1 GB zip), and two copies of it were in
#: memory while one batch's parse overlapped the next. Entries go when no cache holds them.
_OPEN_BUNDLES: weakref.WeakValueDictionary[str, OpenBundle] = weakref.WeakValueDictionary()


def read_input(
    source: Storage, key: str, max_bytes: int | None, limits: BundleLimits, cache: dict[str, OpenBundle]
) -> bytes:
    """An input's bytes: a file or object, or a member of a bundle (read and opened once
    per call site through ``cache``, and shared with any other cache holding it open).
    Raises InputError with the quarantine reason, or StorageError."""
    member = split_member(key)
    if member is None and not is_bundle(key):
        return source.get(key, limit=max_bytes)
    base = member[0] if member else key
    if base not in cache:
        cache.clear()  # one bundle at a time: members of a bundle are listed together
        uri = source.full_uri(base)
        opened = _OPEN_BUNDLES.get(uri)
        if opened is None:
            opened = _OPEN_BUNDLES[uri] = OpenBundle(base, source.get(base, limit=BUNDLE_READ_LIMIT))
        cache[base] = opened
    bundle = cache[base]
    if len(bundle.data) > BUNDLE_READ_LIMIT:
        raise InputError("bundle_too_large", f"{base} is over {BUNDLE_READ_LIMIT // 1024**2} MB")
    if member is None:  # a bundle that could not be listed: say why
        list_members(base, bundle.data, limits)
        raise InputError("bad_bundle", f"{base} lists no members")
    return bundle.read(member[1], limits, max_bytes)


def read_payloads(
    source: Storage,
    keys: list[str],
    max_bytes: int | None = None,
    limits: BundleLimits | None = None,
    cache: dict[str, OpenBundle] | None = None,
) -> tuple[list[tuple[str, bytes]], list[Quarantined]]:
    """Read the batch's inputs (at most ``max_bytes`` + 1 bytes each: the parser quarantines
    anything longer as ``too_large`` without the rest being read). One that cannot be read
    is quarantined with its reason (``link_outside_root``, ``not_a_file``, ``bad_bundle``,
    ``bundle_too_large``, ``bundle_bomb``, ``bad_bundle_member``); one the store failed to
    read is marked ``UNREADABLE`` and one gone since it was listed ``VANISHED``: the batch
    commits neither (`NOT_READ`), the next run reads the first again. ``cache`` holds the
    last bundle read, for a caller reading a batch's inputs in slices."""
    limits = limits or BundleLimits()
    payloads: list[tuple[str, bytes]] = []
    unreadable: list[Quarantined] = []
    cache = {} if cache is None else cache
    for key in keys:
        uri = source.full_uri(key)
        try:
            payloads.append((uri, read_input(source, key, max_bytes, limits, cache)))
        except InputError as exc:
            unreadable.append(Quarantined(uri, "", 0, exc.reason, exc.detail))
        except MissingObjectError as exc:
            unreadable.append(Quarantined(uri, "", 0, VANISHED, str(exc)))
        except StorageError as exc:
            unreadable.append(Quarantined(uri, "", 0, UNREADABLE, str(exc)))
    return payloads, unreadable
