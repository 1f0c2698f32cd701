"""A local folder as object storage (the embedded default)."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import itertools
import operator
import os
import stat
import tempfile
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path

from schemas.errors import InputError, MissingObjectError, StorageError
from storage.base import FILE_CHUNK, ObjectInfo, Revisions
from storage.crashpoint import crash_point
from storage.stathelpers import StatHelperError, StatHelpers, Stats, helper_count, stat_here

#: Where writes are staged before their rename: under the root (one filesystem, so the
#: rename is atomic), outside every prefix a reader globs (``stories/**/*.parquet``).
STAGING = "_staging"
#: Left by versions before the staging folder, next to the object being written.
_LEGACY_TEMP_PREFIX = ".tmp-"
_SWEPT_MARKER = "legacy-temp-files-swept"
_IS_LEGACY_TEMP = operator.methodcaller("startswith", _LEGACY_TEMP_PREFIX)
#: Files ``list`` stats in its own process before it hands the rest of a listing to helper
#: processes (``storage.stathelpers``): a landing zone smaller than this never starts one.
PARALLEL_STAT_FROM = 20_000
#: Paths per request to a helper, and requests in flight ahead of what ``list`` has yielded.
STAT_CHUNK = 1_000
STAT_WINDOW = 16


def escape_path(path: str) -> str:
    """``path`` as valid UTF-8 text: bytes that are not UTF-8 (carried by Python as lone
    surrogates) become ``%XX``, and ``%`` itself ``%25``, so two names never meet."""
    if "%" not in path and path.isascii():
        return path
    out = []
    for ch in path:
        if ch == "%":
            out.append("%25")
        elif "\udc80" <= ch <= "\udcff":  # os.fsdecode's surrogateescape for byte 0x80-0xff
            out.append(f"%{ord(ch) - 0xDC00:02X}")
        else:
            out.append(ch)
    return "".join(out)


#: What to do about a write the file system refused, by errno.
_WRITE_ADVICE = {
    errno.ENOSPC: "the file system is full: free space on it (or give --dest a larger one) and run again",
    errno.EDQUOT: "the disk quota is used up: free space (or raise the quota) and run again",
    errno.EROFS: "the file system is mounted read-only: give --dest a writable folder",
    errno.EACCES: "no permission to write there: run as a user who may, or give --dest another folder",
    errno.EPERM: "no permission to write there: run as a user who may, or give --dest another folder",
}


def _write_error(path: Path, exc: OSError) -> StorageError:
    """A refused write as a StorageError that says what to do; a run stopped by it leaves its
    batch to the next run, which finishes or undoes it (the commit protocol)."""
    advice = _WRITE_ADVICE.get(exc.errno or 0)
    what = f"cannot write {escape_path(str(path))}: {exc.strerror or exc}"
    if advice is None:
        return StorageError(what)
    return StorageError(f"{what}: {advice}; the next run finishes or undoes the batch this one left")


def unescape_path(text: str) -> str:
    """The inverse of `escape_path`: ``%XX`` back to the byte (as Python carries it)."""
    if "%" not in text:
        return text
    out, i = [], 0
    while i < len(text):
        if text[i] == "%" and i + 3 <= len(text):
            value = int(text[i + 1 : i + 3], 16)
            out.append("%" if value == 0x25 else chr(0xDC00 + value))
            i += 3
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


_HAS_PROC_FD = os.path.isdir("/proc/self/fd")


def _opened_path(fd: int, path: str) -> str:
    """Where an open file really is: the kernel's answer on Linux, else the path resolved."""
    if _HAS_PROC_FD:
        try:
            return os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            pass
    return os.path.realpath(path)


#: A run of files in one folder, in key order: the folder's path, its key prefix and the
#: files' names.
Run = tuple[str, str, list[str]]
#: A chunk of a run with its ``lstat`` answers: the key prefix, the names and the answers.
Statted = tuple[str, list[str], Stats]


def _sort_names(names: list[str]) -> None:
    """Sort a folder's names (folders with their ``/``) in the byte order of their UTF-8,
    as S3 lists keys. Names are unique in a folder: for ASCII, code point order is that."""
    if "".join(names).isascii():
        names.sort()
    else:
        names.sort(key=lambda name: name.encode("utf-8", "surrogateescape"))


def _infos(key_prefix: str, names: list[str], stats: Stats) -> Iterator[ObjectInfo]:
    """``list``'s answer for a chunk of files, built by ``map`` and ``tuple.__new__``: no
    Python frame a file."""
    keys = [key_prefix + name for name in names] if key_prefix else names
    infos: Iterator[ObjectInfo] = map(
        tuple.__new__, itertools.repeat(ObjectInfo), zip(keys, stats.sizes, stats.times, stats.revisions, strict=True)
    )
    if -1 in stats.sizes:  # removed while listing
        infos = (info for info in infos if info.size >= 0)
    yield from infos


def _answer(folder: str, key_prefix: str, names: list[str], future: Future[Stats]) -> Statted:
    try:
        return key_prefix, names, future.result()
    except StatHelperError:
        return key_prefix, names, stat_here(folder, names)


class LocalStorage:
    """Objects are files under ``root``; writes are staged in ``_staging/`` and renamed."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()
        self._root_text = str(self.root).rstrip("/") + "/"
        self.uri = escape_path(str(self.root))

    def _path(self, key: str) -> Path:
        try:
            path = (self.root / key).resolve()
        except (RuntimeError, OSError) as exc:  # Python < 3.13 raises RuntimeError for a loop
            # Links that lead to each other: no file at the end. It raised past the batch's
            # handlers, so the batch failed at every retry and every run stopped at it.
            raise InputError("not_a_file", f"{escape_path(key)} is a link in a loop of links: {exc}") from exc
        self._check_inside(key, str(path))
        return path

    def _check_inside(self, key: str, real: str) -> None:
        """Refuse ``key`` when where it really is (``real``, links followed) is outside the root."""
        if real != str(self.root) and not real.startswith(self._root_text):
            where = f"{escape_path(key)} resolves to {escape_path(real)}, outside {self.uri}"
            raise InputError("link_outside_root", where)

    def _stage(self, data: bytes, suffix: str = "") -> Path:
        """Write ``data`` to a fresh file in the staging folder, synced to disk."""
        staging = self.root / STAGING
        staging.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=staging, prefix="put-", suffix=suffix)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return Path(tmp)

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._stage(data, ".part")
            crash_point(f"staged {key}")
            try:
                os.replace(tmp, path)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise _write_error(path, exc) from exc
        crash_point(f"put {key}")
        return hashlib.sha256(data).hexdigest()

    def put_file(self, key: str, path: str, content_type: str = "application/octet-stream") -> str:
        """``put`` of a local file: copied into the staging folder (synced), then renamed."""
        target = self._path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = self.root / STAGING
            staging.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=staging, prefix="put-", suffix=".part")
            try:
                digest = hashlib.sha256()
                with os.fdopen(fd, "wb") as handle, open(path, "rb") as source:
                    while chunk := source.read(FILE_CHUNK):
                        digest.update(chunk)
                        handle.write(chunk)
                    handle.flush()
                    os.fsync(handle.fileno())
                crash_point(f"staged {key}")
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise _write_error(target, exc) from exc
        crash_point(f"put {key}")
        return digest.hexdigest()

    def local_path(self, key: str) -> str | None:
        return str(self._path(key))

    def get_file(self, key: str, path: str) -> None:
        source = self._path(key)
        try:
            with open(source, "rb") as handle, open(path, "wb") as out:
                while chunk := handle.read(FILE_CHUNK):
                    out.write(chunk)
        except OSError as exc:
            raise StorageError(f"cannot read {escape_path(str(source))}: {exc.strerror or exc}") from exc

    def get(self, key: str, limit: int | None = None) -> bytes:
        """The file's bytes (at most ``limit`` + 1 of them); links leaving the root and
        anything that is not a regular file (a device, a FIFO) raise InputError.

        The file is opened first and where it really is asked of the open descriptor (one
        readlink of /proc/self/fd on Linux): resolving the path component by component
        first (pathlib's resolve) cost a tenth of an ingest's time on small files."""
        full = self._root_text + key
        try:
            fd = os.open(full, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            path = self._path(key)  # a link leaving the root is refused as such, even a dangling one
            error = MissingObjectError if exc.errno == errno.ENOENT else StorageError
            raise error(f"cannot read {escape_path(str(path))}: {exc.strerror or exc}") from exc
        try:
            self._check_inside(key, _opened_path(fd, full))
            info = os.fstat(fd)
            if stat.S_ISDIR(info.st_mode):
                raise InputError("not_a_file", f"{escape_path(key)} is a folder (through a link)")
            if not stat.S_ISREG(info.st_mode):
                raise InputError("not_a_file", f"{escape_path(key)} is not a regular file (a device or a pipe)")
            with open(fd, "rb", buffering=0, closefd=False) as handle:
                if limit is None:
                    return handle.read()
                # read(n) allocates n bytes before reading: asking for the limit (20 MB by
                # default) cost ~25 µs a small file in allocation alone. Read what fstat
                # said plus one byte; only a file that grew since reads on, up to the limit.
                data = handle.read(min(limit, info.st_size) + 1)
                if info.st_size < len(data) <= limit:
                    data += handle.read(limit + 1 - len(data))
                return data
        except OSError as exc:
            raise StorageError(f"cannot read {escape_path(full)}: {exc.strerror or exc}") from exc
        finally:
            os.close(fd)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
        crash_point(f"delete {key}")

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Files under the root whose key starts with ``prefix``, streamed in key order
        (byte order of the whole key, as S3 lists): a folder's entries are sorted with a
        ``/`` after folder names, so ``a.txt`` comes before ``a/b.txt``. Nothing is held
        but the folders being walked, so a listing of millions of files stays small.
        Each file is ``lstat``-ed (a link: itself; reading it says why it is refused)."""
        for key_prefix, names, stats in self._statted(prefix):
            yield from _infos(key_prefix, names, stats)

    def list_revisions(self, prefix: str = "") -> Iterator[Revisions]:
        """``list``'s files as planning checks them against the ledger: chunks of keys
        with their revisions and the revisions' codes (``Revisions``), no object a file."""
        for key_prefix, names, stats in self._statted(prefix):
            keys = [key_prefix + name for name in names] if key_prefix else names
            run = Revisions(keys, stats.revisions, stats.codes)
            if -1 in stats.sizes:  # removed while listing
                run = run.take([at for at, size in enumerate(stats.sizes) if size >= 0])
            yield run

    def _statted(self, prefix: str) -> Iterator[Statted]:
        """The files ``list`` yields, ``STAT_CHUNK`` at a time, each chunk with its key
        prefix, names and ``lstat`` answers. Past ``PARALLEL_STAT_FROM`` files the
        ``lstat`` calls go to helper processes (``storage.stathelpers``) while this one
        walks on."""
        chunks = (
            (folder, key_prefix, names[at : at + STAT_CHUNK])
            for folder, key_prefix, names in self._runs(prefix)
            for at in range(0, len(names), STAT_CHUNK)
        )
        listed = 0
        for folder, key_prefix, names in chunks:
            if listed >= PARALLEL_STAT_FROM:
                yield from self._statted_by_helpers(itertools.chain(((folder, key_prefix, names),), chunks))
                return
            yield key_prefix, names, stat_here(folder, names)
            listed += len(names)

    def _statted_by_helpers(self, chunks: Iterator[Run]) -> Iterator[Statted]:
        """``_statted`` for the rest of ``chunks``: helpers ``lstat`` up to ``STAT_WINDOW``
        chunks ahead of what is yielded; answers are yielded in listing order. A helper
        lost, or none to start: this process stats those chunks itself."""
        helpers: StatHelpers | None = None
        if (count := helper_count()) > 0:
            try:
                helpers = StatHelpers(count)
            except (OSError, ValueError):
                helpers = None  # no process to start (limits, no interpreter): stat here
        pending: deque[tuple[str, str, list[str], Future[Stats]]] = deque()
        try:
            for folder, key_prefix, names in chunks:
                if helpers is None:
                    yield key_prefix, names, stat_here(folder, names)
                    continue
                pending.append((folder, key_prefix, names, helpers.submit(folder, names)))
                if len(pending) > STAT_WINDOW:
                    yield _answer(*pending.popleft())
            while pending:
                yield _answer(*pending.popleft())
        finally:
            if helpers is not None:
                helpers.close()

    def keys(self, prefix: str = "") -> Iterator[str]:
        """The keys ``list`` yields, without a stat per file (planning lists millions)."""
        for _, key_prefix, names in self._runs(prefix):
            yield from ([key_prefix + name for name in names] if key_prefix else names)

    def settling(self, keys: Sequence[str], seconds: float, now: float) -> set[str]:
        """Files modified less than ``seconds`` before ``now`` (or up to ``seconds`` after
        it: a writer's clock a little ahead). A file dated further ahead is not being
        written now, only dated wrongly, and is taken: held back, it would wait for its
        date. One stat a key; planning asks only about keys the ledger does not hold."""
        young: set[str] = set()
        if seconds <= 0:
            return young
        for key in keys:
            try:
                modified = os.stat(self.root / key).st_mtime
            except (OSError, ValueError):
                continue  # gone, or no file: reading it says why
            if now - seconds < modified <= now + seconds:
                young.add(key)
        return young

    def _runs(self, prefix: str) -> Iterator[Run]:
        """The files whose key starts with ``prefix``, in key order, as runs of files in
        one folder (planning lists millions: work a folder at a time, not a file)."""
        if not self.root.is_dir():
            return
        # Walk only the folder the prefix names, then filter by the rest of it.
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = self.root / folder if folder else self.root
        if start.is_dir():
            yield from self._walk(str(start), folder + "/" if folder else "", prefix)

    def _walk(self, folder: str, key_prefix: str, prefix: str) -> Iterator[Run]:
        try:
            with os.scandir(folder) as scan:
                entries = list(scan)
        except OSError:
            return  # removed while listing
        # A linked folder is not walked into; it is listed, so that reading it quarantines
        # it with a reason instead of skipping it without a word.
        folders = {entry.name for entry in entries if entry.is_dir(follow_symlinks=False)}
        names = [entry.name for entry in entries]
        del entries
        if not key_prefix:
            names = [name for name in names if name != STAGING]
        if any(map(_IS_LEGACY_TEMP, names)):
            names = [name for name in names if not name.startswith(_LEGACY_TEMP_PREFIX)]
        if folders:
            names = [name + "/" if name in folders else name for name in names]
        _sort_names(names)
        inside = key_prefix.startswith(prefix)  # every key here matches: no test a file
        if not folders:  # the common leaf folder: one run, no test a file
            if not inside:
                names = [name for name in names if (key_prefix + name).startswith(prefix)]
            if names:
                yield folder, key_prefix, names
            return
        run: list[str] = []
        for name in names:
            if name.endswith("/"):
                key = key_prefix + name
                if inside or key.startswith(prefix) or prefix.startswith(key):
                    if run:
                        yield folder, key_prefix, run
                        run = []
                    yield from self._walk(f"{folder}/{name[:-1]}", key, prefix)
                continue
            if inside or (key_prefix + name).startswith(prefix):
                run.append(name)
        if run:
            yield folder, key_prefix, run

    def full_uri(self, key: str) -> str:
        # String joining, not Path: planning calls this once per listed file (millions).
        return escape_path(f"{self._root_text}{key}")

    # --- conditional writes (the lease) ------------------------------------------------

    def _cas_lock(self) -> int:
        staging = self.root / STAGING
        staging.mkdir(parents=True, exist_ok=True)
        fd = os.open(staging / "cas.lock", os.O_CREAT | os.O_RDWR, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        return fd

    def put_if_absent(self, key: str, data: bytes) -> str | None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._stage(data)
        try:
            os.link(tmp, path)  # O_EXCL semantics, and the file is complete when it appears
        except FileExistsError:
            return None
        finally:
            tmp.unlink(missing_ok=True)
        return hashlib.sha256(data).hexdigest()

    def get_with_token(self, key: str) -> tuple[bytes, str] | None:
        try:
            data = self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        return data, hashlib.sha256(data).hexdigest()

    def replace_if(self, key: str, data: bytes, token: str) -> str | None:
        fd = self._cas_lock()
        try:
            current = self.get_with_token(key)
            if current is None or current[1] != token:
                return None
            return self.put(key, data)
        finally:
            os.close(fd)

    def delete_if(self, key: str, token: str) -> bool:
        fd = self._cas_lock()
        try:
            current = self.get_with_token(key)
            if current is None or current[1] != token:
                return False
            self.delete(key)
            return True
        finally:
            os.close(fd)

    def clean_staging(self) -> int:
        removed = 0
        staging = self.root / STAGING
        if staging.is_dir():
            for path in staging.iterdir():
                if path.name not in ("cas.lock", _SWEPT_MARKER) and path.is_file():
                    path.unlink(missing_ok=True)
                    removed += 1
        # Versions before the staging folder left ".tmp-*" files beside their targets:
        # swept once per store (the marker keeps later runs from walking every partition).
        marker = staging / _SWEPT_MARKER
        if marker.exists():
            return removed
        for prefix in ("stories", "quarantine", "_manifests", "_ledger"):
            folder = self.root / prefix
            if folder.is_dir():
                for dirpath, _dirs, files in os.walk(folder):
                    for name in files:
                        if name.startswith(_LEGACY_TEMP_PREFIX):
                            (Path(dirpath) / name).unlink(missing_ok=True)
                            removed += 1
        staging.mkdir(parents=True, exist_ok=True)
        marker.touch()
        return removed
