"""Object storage behind one small protocol: a local folder or S3 (boto3)."""

from __future__ import annotations

from pathlib import Path

from storage.base import ObjectInfo, Storage
from storage.local import LocalStorage, escape_path, unescape_path


def open_storage(uri: str) -> Storage:
    """Open ``s3://bucket/prefix`` (boto3, any S3-compatible endpoint) or a local folder."""
    if uri.startswith("s3://"):
        from storage.s3 import S3Storage  # boto3 is only imported for S3 roots

        bucket, _, prefix = uri[5:].partition("/")
        return S3Storage(bucket, prefix)
    if "://" in uri and not uri.startswith("file://"):
        from schemas.errors import ConfigError

        raise ConfigError(f"unsupported storage URI {uri!r}: use a local folder or s3://bucket/prefix")
    return LocalStorage(uri.removeprefix("file://"))


def key_under(root_uri: str, uri: str) -> str | None:
    """The key of ``uri`` under the root whose `Storage.uri` is ``root_uri`` (the inverse of
    `Storage.full_uri`: a local key unescaped, `escape_path`); None for a URI outside it."""
    prefix = root_uri.rstrip("/") + "/"
    if not uri.startswith(prefix):
        return None
    key = uri[len(prefix) :]
    return key if root_uri.startswith("s3://") else unescape_path(key)


def check_root(uri: str, role: str, *, must_exist: bool) -> None:
    """Refuse, before anything is read or written, a ``uri`` that cannot be the ``role`` it
    is given ("source", "dest", "ROOT"): a scheme other than a local path, ``file://`` or
    ``s3://bucket``; a local file where a folder is needed; with ``must_exist``, a local path
    that is not there. A missing folder would otherwise pass as an empty one: a mistyped or
    unmounted landing zone would be "nothing new" at every run, and a dest that is a file
    would fail deep in the run. S3 prefixes are not looked up: an empty prefix is a landing
    zone with nothing in it yet, and a bucket that is not there fails the first listing
    with S3's reason."""
    from schemas.errors import ConfigError

    if uri.startswith("s3://"):
        if not uri[5:].partition("/")[0]:
            raise ConfigError(f"{role} {uri!r}: an S3 URI needs a bucket: s3://bucket/prefix")
        return
    if "://" in uri and not uri.startswith("file://"):
        raise ConfigError(f"{role} {uri!r}: unsupported storage URI; use a local folder or s3://bucket/prefix")
    path = Path(uri.removeprefix("file://")).expanduser()
    shown = escape_path(str(path))
    if path.exists() and not path.is_dir():
        if role == "source":
            raise ConfigError(
                f"source {shown} is a file: give the folder that holds the inputs (each file in it is one)"
            )
        raise ConfigError(f"{role} {shown} is a file, not a folder: give the dataset root's folder")
    if must_exist and not path.exists():
        if role == "source":
            raise ConfigError(
                f"source {shown} does not exist: check the path (a landing zone not mounted, or not created "
                "yet?); create the folder to ingest from it"
            )
        raise ConfigError(f"{role} {shown} does not exist: give the dataset root `wire-ingest ingest --dest` wrote")


def check_reachable(uri: str, role: str) -> None:
    """For an S3 ``uri``: its bucket is there and its endpoint answers (`S3Storage.check_bucket`),
    one HEAD request. For the commands, before Prefect loads: a misspelt bucket or a dead
    endpoint once surfaced only after Prefect's temporary server had started (10-25 s), as a
    failed flow run with Prefect's traceback above the message. Local roots: nothing to do."""
    if uri.startswith("s3://"):
        from storage.s3 import S3Storage

        store = open_storage(uri)
        if isinstance(store, S3Storage):
            store.check_bucket(role)


def _location(uri: str) -> str:
    """``uri`` as a comparable location ending in "/": ``s3://bucket/prefix/`` or a resolved path."""
    if uri.startswith("s3://"):
        return uri.rstrip("/") + "/"
    return str(Path(uri.removeprefix("file://")).expanduser().resolve()).rstrip("/") + "/"


def check_source_and_dest(source: str, dest: str) -> None:
    """``check_root`` for both, and refuse a dest inside the source (or the same place): the
    dataset's own files (``stories/``, ``quarantine/``) would be the next run's inputs."""
    from schemas.errors import ConfigError

    check_root(source, "source", must_exist=True)
    check_root(dest, "dest", must_exist=False)
    if _location(dest).startswith(_location(source)):
        raise ConfigError(
            f"dest {dest} is inside source {source}: the next run would take the dataset's own files as "
            "inputs; put the dataset root outside the landing zone"
        )


__all__ = [
    "LocalStorage",
    "ObjectInfo",
    "Storage",
    "check_root",
    "check_source_and_dest",
    "key_under",
    "open_storage",
]
