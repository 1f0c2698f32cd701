"""Object storage behind one small protocol: a local folder or S3 (boto3)."""

from __future__ import annotations

from storage.base import ObjectInfo, Storage
from storage.local import LocalStorage


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


__all__ = ["LocalStorage", "ObjectInfo", "Storage", "open_storage"]
