"""S3 (or any S3-compatible endpoint) as object storage. The only module importing boto3.

The endpoint comes from ``AWS_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL_S3``) and credentials
from the standard AWS chain, so MinIO, R2 and AWS work unchanged. Throttling, 5xx and
dropped connections are retried by botocore with exponential backoff.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
import queue
import re
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import boto3
from boto3.exceptions import S3UploadFailedError
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from schemas.errors import MissingObjectError, StorageError
from storage.base import ObjectInfo, Revisions, file_sha256
from storage.crashpoint import crash_point

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def client_config() -> Config:
    """Retries for throttling (503 SlowDown), 5xx and connection errors, with backoff, and the
    timeouts, read from the environment when a client is built (once read at import, so a
    setting made after `storage.s3` was imported, as `bench/chaos.py` makes its 1 s read
    timeout, was silently not used)."""
    return Config(
        retries={"max_attempts": int(os.environ.get("WIRE_INGEST_S3_MAX_ATTEMPTS", "8")), "mode": "standard"},
        connect_timeout=10,
        read_timeout=float(os.environ.get("WIRE_INGEST_S3_READ_TIMEOUT", "60")),
        tcp_keepalive=True,
    )


#: A URL's user:password@ and its query string (where a presigned request keeps its signature).
_URL_SECRETS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s\"']*@|(?P<query>\?[^\s\"']*)", re.IGNORECASE)


def _redact(text: str) -> str:
    return _URL_SECRETS.sub(lambda m: f"{m.group('scheme')}***@" if m.group("scheme") else "?...", text)


def _describe(exc: Exception) -> str:
    """An error message without request signatures or credentials: S3's code and message, or
    botocore's, its URLs without user:password@ or query string (a proxy URL may hold a
    password). Once botocore's bare template, which left the operator "Could not connect to
    the endpoint URL: "{endpoint_url}"" and no endpoint to check."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".strip()
    if not isinstance(exc, BotoCoreError):
        return f"{type(exc).__name__}: {_redact(str(exc))}"
    fmt = getattr(exc, "fmt", "")
    try:
        message = fmt.format(**{k: _redact(str(v)) for k, v in getattr(exc, "kwargs", {}).items()})
    except (KeyError, IndexError, ValueError):
        message = fmt
    return f"{type(exc).__name__}: {message}"


#: Objects of one batch uploaded at once (its partitions' files and quarantine entries):
#: each PUT waits a round trip, which a batch's ~10 would otherwise pay one after another.
PUT_CONCURRENCY = max(1, int(os.environ.get("WIRE_INGEST_S3_PUT_CONCURRENCY", "8")))
#: Folders of a listing listed at once (``S3Storage.list``); 1 (the default) lists page after
#: page. Opt-in: against moto here (bench/s3_listing.py) 8 at once was 0.66-0.96x as fast,
#: moto's own CPU per page (~0.5 s) outweighing any round trip; on a store whose page costs
#: a round trip (S3's ~50-200 ms) and folders of thousands of objects, it lists ~concurrency
#: times as many pages a second (not measured here).
LIST_CONCURRENCY = max(1, int(os.environ.get("WIRE_INGEST_S3_LIST_CONCURRENCY", "1")))
#: Listing pages a folder listed ahead of the one being read may hold (1,000 keys each).
LIST_PAGES_AHEAD = 2
#: Folder levels looked into for folders to list at once (``landing/2026/11/27/``: three).
LIST_DEPTH = 4
#: Keys a listing request asks for (S3's most).
LIST_PAGE = 1000


#: What a boto3 client is built from: a store's client is reused while these stay the same.
_CLIENT_ENV = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "WIRE_INGEST_S3_MAX_ATTEMPTS",
    "WIRE_INGEST_S3_READ_TIMEOUT",
)
#: Clients kept, the most recently used last: a process seldom opens more than a source and a
#: dest, and one that opens many (a test session) does not keep a client for each.
_CLIENTS_KEPT = 4
_clients: dict[tuple[str, str], Any] = {}
_clients_lock = threading.Lock()


def _store_client(uri: str) -> Any:
    """One boto3 client per store URI and process (while the environment it was built from is
    unchanged): building one took 130-280 ms here, and a command made one for its check
    before Prefect loaded (`S3Storage.check_bucket`), then the flow another for the same
    store. Per store, not per process, so that a source and a dest keep a connection pool
    each, as before. The key holds a digest of the environment, not its secrets."""
    settings = "\0".join(os.environ.get(name, "\x01") for name in _CLIENT_ENV)
    key = (uri, hashlib.sha256(settings.encode()).hexdigest())
    with _clients_lock:
        client = _clients.pop(key, None)
        if client is None:
            client = boto3.session.Session().client("s3", config=client_config())
        _clients[key] = client
        while len(_clients) > _CLIENTS_KEPT:
            del _clients[next(iter(_clients))]
    return client


class S3Storage:
    """Objects under ``s3://bucket/prefix``."""

    put_concurrency = PUT_CONCURRENCY  # the client is thread-safe; its pool holds 10 connections
    list_concurrency = LIST_CONCURRENCY

    def __init__(self, bucket: str, prefix: str = "", client: Any = None) -> None:
        if not bucket:
            raise StorageError("an S3 URI needs a bucket: s3://bucket/prefix")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.uri = f"s3://{bucket}/{self.prefix}".rstrip("/")
        self._client: S3Client = client or _store_client(self.uri)

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def check_bucket(self, role: str) -> None:
        """Refuse a bucket the endpoint says is not there, or an endpoint that does not answer
        (after the client's retries), naming both; anything else (a 403, say: a policy may
        grant a prefix but not HeadBucket) is left to the run's own requests to meet."""
        from schemas.errors import ConfigError

        endpoint = _redact(str(self._client.meta.endpoint_url))
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchBucket", "NotFound"):
                raise ConfigError(
                    f"{role} {self.uri}: bucket {self.bucket!r} does not exist at {endpoint}: create it, or check "
                    "the URI and AWS_ENDPOINT_URL"
                ) from None
        except (BotoConnectionError, HTTPClientError) as exc:
            raise StorageError(
                f"{role} {self.uri}: the S3 endpoint {endpoint} did not answer ({_describe(exc)}): check "
                "AWS_ENDPOINT_URL and the network, then run again"
            ) from None
        except (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError) as exc:
            raise ConfigError(
                f"{role} {self.uri}: no usable S3 credentials ({_describe(exc)}): set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
            ) from None
        except BotoCoreError as exc:
            raise StorageError(f"{role} {self.uri}: {_describe(exc)}") from None

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        digest = hashlib.sha256(data)
        try:
            self._client.put_object(
                Bucket=self.bucket,
                Key=self._key(key),
                Body=data,
                ContentType=content_type,
                ChecksumSHA256=base64.b64encode(digest.digest()).decode("ascii"),
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"cannot write {self.full_uri(key)}: {_describe(exc)}") from exc
        crash_point(f"put {key}")
        return digest.hexdigest()

    def put_file(self, key: str, path: str, content_type: str = "application/octet-stream") -> str:
        """``put`` of a local file, by boto3's managed upload (a multipart upload past 8
        MB, its parts checksummed; the object appears whole when the upload completes)."""
        digest = file_sha256(path)
        try:
            self._client.upload_file(
                path,
                self.bucket,
                self._key(key),
                ExtraArgs={"ContentType": content_type, "ChecksumAlgorithm": "SHA256"},
            )
        except (ClientError, BotoCoreError, S3UploadFailedError) as exc:
            raise StorageError(f"cannot write {self.full_uri(key)}: {_describe(exc)}") from exc
        crash_point(f"put {key}")
        return digest

    def local_path(self, key: str) -> str | None:
        return None

    def get_file(self, key: str, path: str) -> None:
        try:
            self._client.download_file(self.bucket, self._key(key), path)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"cannot read {self.full_uri(key)}: {_describe(exc)}") from exc

    def get(self, key: str, limit: int | None = None) -> bytes:
        """The object's bytes (at most ``limit`` + 1 of them: a ranged GET). An object that
        is not there raises MissingObjectError."""
        try:
            if limit is None:
                response = self._client.get_object(Bucket=self.bucket, Key=self._key(key))
            else:
                response = self._client.get_object(Bucket=self.bucket, Key=self._key(key), Range=f"bytes=0-{limit}")
            return response["Body"].read()
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code == "InvalidRange" and limit is not None:
                # S3 answers a range from byte 0 with 416 only when the object has no byte: an
                # empty object (read as `unreadable` until the thirty-fifth session, not `empty`).
                return b""
            error = MissingObjectError if code in ("NoSuchKey", "404", "NotFound") else StorageError
            raise error(f"cannot read {self.full_uri(key)}: {_describe(exc)}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"cannot read {self.full_uri(key)}: {_describe(exc)}") from exc

    def exists(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise StorageError(f"cannot check {self.full_uri(key)}: {_describe(exc)}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"cannot check {self.full_uri(key)}: {_describe(exc)}") from exc

    def delete(self, key: str) -> None:
        try:
            self._client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"cannot delete {self.full_uri(key)}: {_describe(exc)}") from exc
        crash_point(f"delete {key}")

    def keys(self, prefix: str = "") -> Iterator[str]:
        return (info.key for info in self.list(prefix))

    def settling(self, keys: Sequence[str], seconds: float, now: float) -> set[str]:
        """None: S3 lists an object only once its upload (single or multipart) completed."""
        return set()

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object under ``prefix``, in key order (S3's: by UTF-8 bytes). With
        ``LIST_CONCURRENCY`` > 1, a prefix with folders (``2026/11/27/``) is listed that many
        folders at once: a listing page is one round trip for 1,000 keys, so a million
        objects listed page after page wait ~1,000 round trips."""
        full_prefix = self._key(prefix) if prefix else (f"{self.prefix}/" if self.prefix else "")
        strip = len(self.prefix) + 1 if self.prefix else 0
        try:
            for item in _listing(self._client, self.bucket, full_prefix, self.list_concurrency):
                yield ObjectInfo(
                    item["Key"][strip:],
                    item["Size"],
                    item["LastModified"].timestamp(),
                    str(item.get("ETag", "")).strip('"'),
                )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"cannot list {self.full_uri(prefix)}: {_describe(exc)}") from exc

    def list_revisions(self, prefix: str = "") -> Iterator[Revisions]:
        """``list``, a thousand objects (a listing page) at a time, the ETags coded."""
        infos = self.list(prefix)
        while page := list(itertools.islice(infos, 1000)):
            yield Revisions.of(page)

    def full_uri(self, key: str) -> str:
        return f"{self.uri}/{key}"

    # --- conditional writes (the lease): S3's If-None-Match / If-Match ------------------

    def put_if_absent(self, key: str, data: bytes) -> str | None:
        try:
            response = self._client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, IfNoneMatch="*")
        except ClientError as exc:
            if _precondition_failed(exc):
                return None
            raise StorageError(f"cannot create {self.full_uri(key)}: {_describe(exc)}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"cannot create {self.full_uri(key)}: {_describe(exc)}") from exc
        return str(response["ETag"])

    def get_with_token(self, key: str) -> tuple[bytes, str] | None:
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=self._key(key))
            return response["Body"].read(), str(response["ETag"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise StorageError(f"cannot read {self.full_uri(key)}: {_describe(exc)}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"cannot read {self.full_uri(key)}: {_describe(exc)}") from exc

    def replace_if(self, key: str, data: bytes, token: str) -> str | None:
        try:
            response = self._client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, IfMatch=token)
        except ClientError as exc:
            if _precondition_failed(exc) or exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                return None
            raise StorageError(f"cannot replace {self.full_uri(key)}: {_describe(exc)}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"cannot replace {self.full_uri(key)}: {_describe(exc)}") from exc
        return str(response["ETag"])

    def delete_if(self, key: str, token: str) -> bool:
        try:
            self._client.delete_object(Bucket=self.bucket, Key=self._key(key), IfMatch=token)
        except ClientError as exc:
            if _precondition_failed(exc) or exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                return False
            raise StorageError(f"cannot delete {self.full_uri(key)}: {_describe(exc)}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"cannot delete {self.full_uri(key)}: {_describe(exc)}") from exc
        return True

    def clean_staging(self) -> int:
        return 0  # a PUT is atomic on S3: an interrupted upload leaves no object


def _precondition_failed(exc: ClientError) -> bool:
    """412 (the condition failed) or 409 (a concurrent conditional write won the race)."""
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status in (409, 412) or error.get("Code") in ("PreconditionFailed", "ConditionalRequestConflict")


def _pages(client: Any, bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
    pages = client.get_paginator("list_objects_v2")
    yield from pages.paginate(Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": LIST_PAGE})


#: One entry of a listing being opened up: ("object", key, item) or ("folder", prefix, None).
_Entry = tuple[str, str, dict[str, Any] | None]


def _folder(client: Any, bucket: str, prefix: str) -> list[_Entry] | None:
    """The objects directly under ``prefix`` and its folders, if one listing page holds
    them all; None for a folder with more (it is listed flat: its objects are not held)."""
    page = client.list_objects_v2(Bucket=bucket, Prefix=prefix, Delimiter="/", MaxKeys=LIST_PAGE)
    if page.get("IsTruncated"):
        return None
    found: list[_Entry] = [("object", o["Key"], o) for o in page.get("Contents", [])]
    return found + [("folder", p["Prefix"], None) for p in page.get("CommonPrefixes", [])]


def _listing(client: Any, bucket: str, prefix: str, concurrency: int) -> Iterator[dict[str, Any]]:
    """The objects under ``prefix`` as one flat listing gives them, in key order.

    With ``concurrency`` > 1 the prefix is opened up a folder level at a time (a page of
    delimited listing per folder, at once) until there are ``concurrency`` folders or
    ``LIST_DEPTH`` levels have been read (a folder whose level does not fit one page is
    not opened); then each folder is listed flat on a thread, ``concurrency`` at a time, at
    most ``LIST_PAGES_AHEAD`` pages ahead of the reader, and read in key order. A folder's
    keys sort together (all of ``a/b/`` after ``a/b-c`` and before ``a/b0``, as ``a/b/``
    itself does), so the objects met on the way and the folders, merged by key, give the
    flat listing's order."""
    if concurrency <= 1:
        for page in _pages(client, bucket, prefix):
            yield from page.get("Contents", [])
        return
    entries: list[_Entry] = [("folder", prefix, None)]
    flat: set[str] = set()  # folders too big to open
    pool = ThreadPoolExecutor(concurrency, thread_name_prefix="wire-ingest-s3-list")
    try:
        for _ in range(LIST_DEPTH):
            folders = [name for kind, name, _ in entries if kind == "folder"]
            closed = [name for name in folders if name not in flat]
            if not closed or len(folders) >= concurrency:
                break
            opened = dict(zip(closed, pool.map(lambda name: _folder(client, bucket, name), closed), strict=True))
            entries = [e for e in entries if e[1] not in opened]
            for name, found in opened.items():
                if found is None:
                    flat.add(name)
                    entries.append(("folder", name, None))
                else:
                    entries += found
            entries.sort(key=lambda e: e[1])
        yield from _read_folders(client, bucket, entries, pool)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _read_folders(
    client: Any, bucket: str, entries: list[_Entry], pool: ThreadPoolExecutor
) -> Iterator[dict[str, Any]]:
    """``entries``' objects, and each folder's listed flat on ``pool``, in their order."""
    stop = threading.Event()
    Pages = queue.Queue[list[dict[str, Any]] | BaseException | None]

    def hand(pages: Pages, what: list[dict[str, Any]] | BaseException | None) -> bool:
        while not stop.is_set():  # never blocked for good on a reader that stopped early
            try:
                pages.put(what, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def fetch(prefix: str, pages: Pages) -> None:
        try:
            for page in _pages(client, bucket, prefix):
                if not hand(pages, page.get("Contents", [])):
                    return
            hand(pages, None)
        except BaseException as exc:  # raised by the reader, in order
            hand(pages, exc)

    queues: list[Pages] = []
    try:
        for kind, name, _ in entries:  # submitted in key order: the pool starts them in that order
            if kind == "folder":
                queues.append(queue.Queue(LIST_PAGES_AHEAD))
                pool.submit(fetch, name, queues[-1])
        folders = iter(queues)
        for _kind, _, item in entries:
            if item is not None:
                yield item
                continue
            pages = next(folders)
            while (page := pages.get()) is not None:
                if isinstance(page, BaseException):
                    raise page
                yield from page
    finally:
        stop.set()  # a reader that stopped early: the fetches still running end
