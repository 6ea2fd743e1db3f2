"""A static site's files in its S3 bucket (the operator console behind CloudFront): put every file of a
directory with its content type, and the site's `config.json`; remove them all when the site goes away.

Putting is idempotent (same key, same bytes), so a retried or repeated deploy converges; files that a new
version no longer has are deleted after the new ones are in place, so the site is never missing a file
that a page still being loaded asks for.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

CONFIG_KEY = "config.json"
_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".yaml": "application/yaml",
}


@cache
def s3_client() -> S3Client:
    import boto3  # imported here so that module import stays light (cold start)

    return boto3.client("s3")


def content_type(path: Path) -> str:
    # ES modules must be served as JavaScript, whatever the runtime's mimetypes table says.
    guessed = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"{guessed}; charset=utf-8" if guessed.startswith("text/") or guessed.endswith("json") else guessed


def site_files(root: Path) -> dict[str, Path]:
    """Every file under `root` by its key (a POSIX path relative to `root`); links are followed."""
    return {path.relative_to(root).as_posix(): path for path in sorted(root.rglob("*")) if path.is_file()}


class S3StaticSite:
    def __init__(self, bucket: str, client: S3Client | None = None) -> None:
        self.bucket = bucket
        self._client = client

    @property
    def client(self) -> S3Client:
        return self._client or s3_client()

    def publish(self, root: Path, config: Mapping[str, Any]) -> int:
        """Put the files of `root` and `config.json`; delete what the bucket held beyond them. Files put."""
        files = site_files(root)
        for key, path in files.items():
            self.client.put_object(Bucket=self.bucket, Key=key, Body=path.read_bytes(), ContentType=content_type(path))
        self.client.put_object(
            Bucket=self.bucket,
            Key=CONFIG_KEY,
            Body=json.dumps(dict(config), indent=2).encode(),
            ContentType="application/json; charset=utf-8",
            CacheControl="no-store",
        )
        stale = [key for key in self.keys() if key not in files and key != CONFIG_KEY]
        self._delete(stale)
        return len(files) + 1

    def remove(self) -> None:
        self._delete(self.keys())

    def keys(self) -> list[str]:
        found: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            found += [item["Key"] for item in page.get("Contents", [])]
        return found

    def _delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            batch: Any = [{"Key": key} for key in keys[start : start + 1000]]
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})


def site_checksum(root: Path) -> str:
    """One short fingerprint of every file's key and bytes: the custom resource's trigger property."""
    digest = hashlib.sha256()
    for key, path in site_files(root).items():
        digest.update(f"{key}\x00{hashlib.sha256(path.read_bytes()).hexdigest()}\n".encode())
    return digest.hexdigest()[:16]
