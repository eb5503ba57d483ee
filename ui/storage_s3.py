"""Chainlit element files in S3-compatible object storage, served through the same route.

``S3StorageClient`` is a ``LocalStorageClient`` whose source of truth is a bucket: uploads go
to the bucket (and this machine's folder), deletions remove both, and ``locate`` (what the
guarded file route of ``ui.storage`` calls) fetches an object another worker or machine
wrote into this machine's folder, which acts as a cache. URLs stay the authenticated route
(``/atelier/files/<key>``), so who may read a file is decided exactly as on one machine.

``storage_client(settings)`` picks S3 when ``ATELIER_STORAGE_URL=s3://bucket[/prefix]``,
local disk otherwise.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from agent.config import Settings
from agent.store.objects import S3Objects, open_object_store
from ui.storage import LocalStorageClient, validate_object_key

_ELEMENTS_PREFIX = "elements"


class S3StorageClient(LocalStorageClient):
    """Element bytes in a bucket, cached under ``cache_root`` on this machine."""

    def __init__(
        self, objects: S3Objects, cache_root: Path, url_prefix: str = "/atelier/files"
    ) -> None:
        """Store in ``objects``; cache files under ``cache_root``."""
        super().__init__(cache_root, url_prefix)
        self.objects = objects

    def _key(self, object_key: str) -> str:
        return f"{_ELEMENTS_PREFIX}/{validate_object_key(object_key)}"

    async def upload_file(
        self,
        object_key: str,
        data: bytes | str,
        mime: str = "application/octet-stream",
        overwrite: bool = True,
        content_disposition: str | None = None,
    ) -> dict[str, Any]:
        """Put ``data`` in the bucket (then in the local cache); return key and route URL."""
        payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        key = self._key(object_key)
        if not overwrite and await self.objects.get(key) is not None:
            raise FileExistsError(f"object {object_key!r} exists and overwrite is false")
        await self.objects.put(key, payload, mime or "application/octet-stream")
        return await super().upload_file(object_key, payload, mime, True, content_disposition)

    async def delete_file(self, object_key: str) -> bool:
        """Delete the object from the bucket and the cache; True if the bucket had it."""
        key = self._key(object_key)
        existed = await self.objects.client.exists(key)
        await self.objects.delete(key)
        await super().delete_file(object_key)
        return existed

    async def locate(self, object_key: str) -> tuple[Path, str]:
        """Path (in the cache) and mime type; fetched from the bucket when not cached.

        Raises ``FileNotFoundError`` if the bucket has no such object.
        """
        path = self.path_for(object_key)
        if not await asyncio.to_thread(path.is_file):
            found = await self.objects.client.get(self._key(object_key))
            if found is None:
                raise FileNotFoundError(object_key)
            data, mime = found
            await asyncio.to_thread(
                self._write, path, self._meta_path(object_key), data, {"mime": mime}, True
            )
        return await super().locate(object_key)

    async def close(self) -> None:
        """Close the bucket's HTTP client."""
        await self.objects.aclose()


def storage_client(settings: Settings, url_prefix: str = "/atelier/files") -> LocalStorageClient:
    """The element storage for these settings: S3 when a storage URL is set, else local disk.

    Both keep (or cache) files under ``<data_dir>/files`` and serve them at ``url_prefix``
    through ``ui.storage.install_file_route``.
    """
    root = settings.data_dir / "files"
    if settings.storage_url:
        return S3StorageClient(open_object_store(settings.storage_url), root, url_prefix)
    return LocalStorageClient(root, url_prefix)


def describe(client: LocalStorageClient) -> str:
    """One line for the startup log: where element files live."""
    if isinstance(client, S3StorageClient):
        config = client.objects.client.config
        return json.dumps({"storage": "s3", "bucket": config.bucket, "prefix": config.prefix})
    return json.dumps({"storage": "local", "root": str(client.root)})
