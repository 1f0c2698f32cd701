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
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from schemas.errors import StorageError
from storage.base import ObjectInfo, Revisions
from storage.crashpoint import crash_point

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

#: Retries for throttling (503 SlowDown), 5xx and connection errors, with backoff.
RETRY_CONFIG = Config(
    retries={"max_attempts": int(os.environ.get("WIRE_INGEST_S3_MAX_ATTEMPTS", "8")), "mode": "standard"},
    connect_timeout=10,
    read_timeout=float(os.environ.get("WIRE_INGEST_S3_READ_TIMEOUT", "60")),
    tcp_keepalive=True,
)


def _describe(exc: Exception) -> str:
    """An error message without request signatures or credentials."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".strip()
    return type(exc).__name__ + (
        f": {exc}" if not isinstance(exc, BotoCoreError) else f": {exc.fmt if hasattr(exc, 'fmt') else ''}"
    )


#: Objects of one batch uploaded at once (its partitions' files and quarantine entries):
#: each PUT waits a round trip, which a batch's ~10 would otherwise pay one after another.
PUT_CONCURRENCY = max(1, int(os.environ.get("WIRE_INGEST_S3_PUT_CONCURRENCY", "8")))


class S3Storage:
    """Objects under ``s3://bucket/prefix``."""

    put_concurrency = PUT_CONCURRENCY  # the client is thread-safe; its pool holds 10 connections

    def __init__(self, bucket: str, prefix: str = "", client: Any = None) -> None:
        if not bucket:
            raise StorageError("an S3 URI needs a bucket: s3://bucket/prefix")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.uri = f"s3://{bucket}/{self.prefix}".rstrip("/")
        self._client: S3Client = client or boto3.session.Session().client("s3", config=RETRY_CONFIG)

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

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

    def get(self, key: str, limit: int | None = None) -> bytes:
        """The object's bytes (at most ``limit`` + 1 of them: a ranged GET)."""
        try:
            if limit is None:
                response = self._client.get_object(Bucket=self.bucket, Key=self._key(key))
            else:
                response = self._client.get_object(Bucket=self.bucket, Key=self._key(key), Range=f"bytes=0-{limit}")
            return response["Body"].read()
        except (ClientError, BotoCoreError) as exc:
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
        full_prefix = self._key(prefix) if prefix else (f"{self.prefix}/" if self.prefix else "")
        strip = len(self.prefix) + 1 if self.prefix else 0
        try:
            paginator = self._client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full_prefix):
                for item in page.get("Contents", []):
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
