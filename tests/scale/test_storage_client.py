"""The Chainlit storage client on S3: a file uploaded by one worker is served by another."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from agent.config import Settings
from agent.store.objects import open_object_store
from ui.storage import LocalStorageClient
from ui.storage_s3 import S3StorageClient, storage_client


def _bucket(s3: Any) -> dict[str, str]:
    bucket = f"c-{uuid.uuid4().hex[:12]}"
    boto3.client(
        "s3",
        endpoint_url=s3.endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    ).create_bucket(Bucket=bucket)
    return dict(s3.env(bucket))


async def test_an_element_uploaded_on_one_worker_is_located_on_another(
    s3: Any, tmp_path: Path
) -> None:
    env = _bucket(s3)
    url = env["ATELIER_STORAGE_URL"]
    one = S3StorageClient(open_object_store(url, env), tmp_path / "w1")
    two = S3StorageClient(open_object_store(url, env), tmp_path / "w2")
    key = "threads/t1/files/e1"
    try:
        uploaded = await one.upload_file(key, b"\x89PNG fake", "image/png")
        assert uploaded == {"object_key": key, "url": f"/atelier/files/{key}"}
        path, mime = await two.locate(key)
        assert (path.read_bytes(), mime) == (b"\x89PNG fake", "image/png")
        assert path.is_relative_to(tmp_path / "w2")
        with pytest.raises(FileExistsError):
            await two.upload_file(key, b"other", "image/png", overwrite=False)
        assert await two.delete_file(key) is True
        (tmp_path / "w1" / key).unlink()  # drop worker one's cache: the bucket decides
        with pytest.raises(FileNotFoundError):
            await one.locate(key)
        assert await one.delete_file(key) is False
    finally:
        await one.close()
        await two.close()


async def test_the_factory_picks_local_disk_by_default_and_s3_when_configured(
    s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = storage_client(Settings(_env_file=None, data_dir=tmp_path))  # type: ignore[call-arg]
    assert type(local) is LocalStorageClient
    env = _bucket(s3)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    remote = storage_client(Settings(_env_file=None, data_dir=tmp_path))  # type: ignore[call-arg]
    try:
        assert isinstance(remote, S3StorageClient)
        assert remote.objects.client.config.bucket == env["ATELIER_STORAGE_URL"][5:]
    finally:
        await remote.close()
