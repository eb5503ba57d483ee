"""Where file bytes live: a small object-storage interface, on local disk or S3.

``ObjectStore`` is put/get/delete by key plus an optional short-lived URL. ``LocalObjects``
keeps keys as files under a root folder (the embedded default); ``S3Objects`` keeps them in
a bucket (``ATELIER_STORAGE_URL=s3://bucket[/prefix]``). Image files (``ImageFiles`` in
``agent.store.imagefiles``) and the Chainlit storage client (``ui/storage_s3.py``) use it.
"""

from __future__ import annotations

import asyncio
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path

from agent.ops.files import atomic_write
from agent.store.s3 import S3Client, S3Config

_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*)*")


def check_key(key: str) -> str:
    """``key`` if it is a safe relative key (no ``..``, no leading dot or slash).

    Raises ValueError otherwise.
    """
    if not key or len(key) > 1024 or not _KEY.fullmatch(key):
        raise ValueError(f"Bad object key {key!r}.")
    return key


class ObjectStore(ABC):
    """Bytes by key."""

    @abstractmethod
    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` at ``key``, replacing what was there."""

    @abstractmethod
    async def get(self, key: str) -> bytes | None:
        """The bytes at ``key``, or None."""

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Remove ``key`` (no error when absent)."""

    def url(self, key: str, expires_s: int = 900) -> str | None:
        """A short-lived URL a browser can fetch ``key`` from, or None (serve it yourself)."""
        return None

    async def aclose(self) -> None:  # noqa: B027 - most stores hold nothing to release
        """Release connections."""


class LocalObjects(ObjectStore):
    """Keys as files under ``root``, written atomically."""

    def __init__(self, root: Path) -> None:
        """Keep objects under ``root`` (created on first write)."""
        self.root = root.resolve()

    def path(self, key: str) -> Path:
        """The file of ``key``."""
        return self.root / check_key(key)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(atomic_write, self.path(key), data)

    async def get(self, key: str) -> bytes | None:
        path = self.path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path(key).unlink, missing_ok=True)


class S3Objects(ObjectStore):
    """Keys as objects in an S3-compatible bucket (under the URL's prefix)."""

    def __init__(self, client: S3Client) -> None:
        """Use ``client`` (closed by ``aclose``)."""
        self.client = client

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await self.client.put(check_key(key), data, content_type)

    async def get(self, key: str) -> bytes | None:
        found = await self.client.get(check_key(key))
        return None if found is None else found[0]

    async def delete(self, key: str) -> None:
        await self.client.delete(check_key(key))

    def url(self, key: str, expires_s: int = 900) -> str | None:
        return self.client.presigned_url(check_key(key), expires_s)

    async def aclose(self) -> None:
        await self.client.aclose()


def open_object_store(storage_url: str | None, env: Mapping[str, str] | None = None) -> S3Objects:
    """The S3 store for ``s3://bucket[/prefix]`` (credentials from the AWS_* variables)."""
    if not storage_url:
        raise ValueError("No storage URL: set ATELIER_STORAGE_URL=s3://bucket[/prefix].")
    return S3Objects(S3Client(S3Config.from_url(storage_url, os.environ if env is None else env)))
