"""The storage protocol: the few verbs the pipeline needs from a local folder or a bucket."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from typing import NamedTuple, Protocol, TypeVar

_Item = TypeVar("_Item")
_Result = TypeVar("_Result")

#: Bytes of a revision's code (``revision_code``).
CODE_BYTES = 8


def revision_code(revision: str) -> bytes:
    """A revision's 8-byte code: what the ledger snapshot keeps of it (its ``.revs`` file;
    the stat helpers compute the same in their own process, which a test holds equal)."""
    return hashlib.blake2b(revision.encode("utf-8", "surrogateescape"), digest_size=CODE_BYTES).digest()


class ObjectInfo(NamedTuple):
    """One stored object: its key relative to the root, size in bytes, modification time,
    and a token that changes whenever its bytes may have changed (``revision``: size and
    modification time in nanoseconds for a file, the ETag for an S3 object). A named tuple:
    planning lists millions, and a frozen dataclass took twice as long to make."""

    key: str
    size: int
    modified: float
    revision: str = ""


class Revisions(NamedTuple):
    """Listed objects as planning checks them (``Storage.list_revisions``): their keys, the
    revision each is at (as ``ObjectInfo.revision``; "" for none) and the revisions' codes
    end to end (``revision_code``; zeros for none), in key order."""

    keys: list[str]
    revisions: list[str]
    codes: bytes

    def take(self, at: Sequence[int]) -> Revisions:
        """The objects at these positions."""
        codes = self.codes
        return Revisions(
            [self.keys[i] for i in at],
            [self.revisions[i] for i in at],
            b"".join(codes[i * CODE_BYTES : (i + 1) * CODE_BYTES] for i in at),
        )

    @classmethod
    def of(cls, infos: Sequence[ObjectInfo]) -> Revisions:
        """Listed objects' revisions, coded here (a listing whose store does not code them)."""
        none = bytes(CODE_BYTES)
        return cls(
            [info.key for info in infos],
            [info.revision for info in infos],
            b"".join(revision_code(info.revision) if info.revision else none for info in infos),
        )


class Storage(Protocol):
    """A root (local folder or ``s3://bucket/prefix``) holding objects under relative keys.

    Writes are atomic per object: a reader sees the old object, the new one, or none,
    never a partial one. Keys use ``/`` whatever the platform.
    """

    uri: str

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        """Store ``data`` at ``key`` with an integrity check; return its sha256 hex digest."""
        ...

    def get(self, key: str, limit: int | None = None) -> bytes:
        """The object's bytes (with ``limit``, at most ``limit`` + 1 of them); raises
        MissingObjectError (a StorageError) if it is not there, StorageError if it cannot be
        read, InputError if it is no story file."""
        ...

    def get_file(self, key: str, path: str) -> None:
        """Write the object at ``key`` to the local file ``path`` without holding it in
        memory (a ledger snapshot's entries: ~200 bytes a done input); StorageError if it
        is missing or unreadable."""
        ...

    def local_path(self, key: str) -> str | None:
        """Where the object at ``key`` is a file on this machine (a local root), to be read
        in place; None where it is not (S3: ``get_file`` it)."""
        ...

    def put_file(self, key: str, path: str, content_type: str = "application/octet-stream") -> str:
        """``put`` of the local file ``path``'s bytes, read in pieces (atomic, as ``put``);
        their sha256 hex digest. ``path`` is left as it was."""
        ...

    def exists(self, key: str) -> bool:
        """True if an object is stored at ``key``."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing key is not an error."""
        ...

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Objects whose key starts with ``prefix``, in key order."""
        ...

    def keys(self, prefix: str = "") -> Iterator[str]:
        """The keys ``list`` yields, without their size and time (cheaper on a local root)."""
        ...

    def list_revisions(self, prefix: str = "") -> Iterator[Revisions]:
        """``list``'s objects in chunks, with their revisions coded, as planning checks them."""
        ...

    def full_uri(self, key: str) -> str:
        """The absolute URI of ``key`` (for lineage columns and messages)."""
        ...

    def settling(self, keys: Sequence[str], seconds: float, now: float) -> set[str]:
        """Those of ``keys`` that may still be being written: changed within ``seconds`` of
        ``now`` (a Unix time). A file written in place is visible while it grows; an object
        store shows an object only once its upload is complete, so it names none."""
        ...

    # Conditional writes, for the store lease (storage.lease). A token names one version
    # of an object (its ETag on S3, its content hash locally).

    def put_if_absent(self, key: str, data: bytes) -> str | None:
        """Create ``key`` only if no object is there; its token, or None if one was."""
        ...

    def get_with_token(self, key: str) -> tuple[bytes, str] | None:
        """The object's bytes and token, or None if there is none."""
        ...

    def replace_if(self, key: str, data: bytes, token: str) -> str | None:
        """Overwrite ``key`` only if it is still the version ``token``; the new token, or None."""
        ...

    def delete_if(self, key: str, token: str) -> bool:
        """Delete ``key`` only if it is still the version ``token``."""
        ...

    def clean_staging(self) -> int:
        """Remove what interrupted writes left behind; how many objects. Call only while
        holding the store's lease (a running writer's staged files would go too)."""
        ...


def at_once(store: Storage, work: Callable[[_Item], _Result], items: Sequence[_Item], name: str) -> list[_Result]:
    """``work`` over ``items``, results in order, several requests at a time where ``store``
    takes that (its ``put_concurrency``: 8 for S3, whose client is thread-safe; a local
    folder has none: one after another). An exception is raised once the others end."""
    workers = min(len(items), int(getattr(store, "put_concurrency", 1)))
    if workers <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name) as pool:
        return list(pool.map(work, items))


def read_each(store: Storage, keys: Iterable[str], name: str, chunk: int = 1000) -> Iterator[tuple[str, bytes]]:
    """Each key with its object's bytes, in the order given, read ``chunk`` keys at a time
    through ``at_once`` (so only one chunk's objects are held at a time)."""
    keys = iter(keys)
    while part := list(islice(keys, chunk)):
        yield from zip(part, at_once(store, store.get, part, name), strict=True)


#: Bytes read at a time from a file being hashed or copied.
FILE_CHUNK = 1 << 20


def file_sha256(path: str) -> str:
    """The sha256 hex digest of the file at ``path``, read a piece at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(FILE_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
