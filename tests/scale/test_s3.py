"""Object storage: our SigV4 against botocore's signer, and the whole path against moto's S3.

moto does not check signatures, so the signer is checked byte for byte against botocore's
(same request, same clock); the object protocol (PUT/GET/HEAD/DELETE, 404s, presigned GETs,
prefixes) is checked against moto's server over real HTTP, with boto3 as a second client.
"""

from __future__ import annotations

import base64
import io
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import botocore.auth
import httpx
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from PIL import Image

from agent.store.imagefiles import ImageFiles
from agent.store.objects import LocalObjects, open_object_store
from agent.store.s3 import S3Client, S3Config, presign_get, sign_headers

WHEN = datetime(2026, 11, 30, 12, 34, 56, tzinfo=UTC)
CONFIG = S3Config(
    bucket="art",
    prefix="team/a",
    access_key="AKIDEXAMPLE",
    secret_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    region="eu-west-3",
    endpoint="http://127.0.0.1:9000",
)


@pytest.fixture
def frozen_botocore(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's signer on our fixed clock."""
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: WHEN.replace(tzinfo=None))


def _creds() -> Credentials:
    return Credentials(CONFIG.access_key, CONFIG.secret_key)


@pytest.mark.parametrize("method", ["PUT", "GET", "DELETE"])
def test_header_signature_matches_botocore(frozen_botocore: None, method: str) -> None:
    key = "images/ab/some file+name.png"
    url = CONFIG.object_url(key)
    body = b"\x89PNG..." if method == "PUT" else b""
    ours = sign_headers(CONFIG, method, url, body, when=WHEN)
    request = AWSRequest(method=method, url=url, data=body)
    botocore.auth.S3SigV4Auth(_creds(), "s3", CONFIG.region).add_auth(request)
    assert ours["Authorization"] == request.headers["Authorization"]
    assert ours["x-amz-date"] == request.headers["X-Amz-Date"]


def test_presigned_url_matches_botocore(frozen_botocore: None) -> None:
    key = "elements/threads/t1/files/e1"
    ours = presign_get(CONFIG, key, 300, when=WHEN)
    request = AWSRequest(method="GET", url=CONFIG.object_url(key))
    botocore.auth.S3SigV4QueryAuth(_creds(), "s3", CONFIG.region, expires=300).add_auth(request)
    theirs = dict(httpx.URL(request.url).params)
    mine = dict(httpx.URL(ours).params)
    assert mine == theirs
    assert ours.startswith("http://127.0.0.1:9000/art/team/a/elements/threads/t1/files/e1?")


def test_config_comes_from_the_url_and_the_aws_variables() -> None:
    env = {"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "AWS_REGION": "eu-north-1"}
    config = S3Config.from_url("s3://bucket/some/prefix/", env)
    assert (config.bucket, config.prefix, config.region, config.endpoint) == (
        "bucket",
        "some/prefix",
        "eu-north-1",
        None,
    )
    assert config.object_url("k") == "https://bucket.s3.eu-north-1.amazonaws.com/some/prefix/k"
    with pytest.raises(ValueError, match="AWS_ACCESS_KEY_ID"):
        S3Config.from_url("s3://bucket", {})
    with pytest.raises(ValueError, match="s3://bucket"):
        S3Config.from_url("https://bucket", env)


def _bucket(s3: Any) -> tuple[str, dict[str, str], Any]:
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    env = s3.env(bucket, "atelier")
    client = boto3.client(
        "s3",
        endpoint_url=s3.endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=bucket)
    return bucket, env, client


async def test_objects_round_trip_through_a_real_s3_server(s3: Any) -> None:
    bucket, env, boto = _bucket(s3)
    store = open_object_store(env["ATELIER_STORAGE_URL"], env)
    try:
        assert await store.get("images/ab/x.png") is None
        await store.put("images/ab/x.png", b"bytes one", "image/png")
        assert await store.get("images/ab/x.png") == b"bytes one"
        assert await store.client.exists("images/ab/x.png")
        # boto3, a second client, sees it under the prefix with its content type.
        seen = boto.get_object(Bucket=bucket, Key="atelier/images/ab/x.png")
        assert (seen["Body"].read(), seen["ContentType"]) == (b"bytes one", "image/png")
        url = store.url("images/ab/x.png", 60)
        assert url is not None and "X-Amz-Signature=" in url
        async with httpx.AsyncClient() as http:
            assert (await http.get(url)).content == b"bytes one"
        await store.delete("images/ab/x.png")
        await store.delete("images/ab/x.png")  # already gone: fine
        assert await store.get("images/ab/x.png") is None
        with pytest.raises(ValueError, match="Bad object key"):
            await store.put("../escape", b"x", "text/plain")
    finally:
        await store.aclose()


async def test_s3_errors_keep_their_status(s3: Any) -> None:
    env = s3.env("no-such-bucket")
    client = S3Client(S3Config.from_url(env["ATELIER_STORAGE_URL"], env))
    try:
        with pytest.raises(Exception, match="HTTP 404") as failed:
            await client.put("k", b"x", "text/plain")
        assert getattr(failed.value, "status", None) == 404
    finally:
        await client.aclose()


def _png(color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buffer, format="PNG")
    return buffer.getvalue()


async def test_image_files_written_on_one_machine_are_read_on_another(
    s3: Any, tmp_path: Path
) -> None:
    _, env, _ = _bucket(s3)
    first = ImageFiles(tmp_path / "machine-a", open_object_store(env["ATELIER_STORAGE_URL"], env))
    second = ImageFiles(tmp_path / "machine-b", open_object_store(env["ATELIER_STORAGE_URL"], env))
    try:
        stored = await first.save_b64(base64.b64encode(_png((200, 30, 30))).decode())
        # Machine B records the same relative path under its own folder (the store keeps
        # the path; each machine's images_dir is its cache).
        elsewhere = second.images_dir / stored.path.relative_to(first.images_dir)
        assert not elsewhere.exists()
        assert await second.read(elsewhere) == stored.path.read_bytes()
        thumb = await second.thumbnail(elsewhere, 32)
        assert thumb.is_file()
        assert await first.delete([stored.path]) >= 1
        elsewhere.unlink()
        with pytest.raises(FileNotFoundError):
            await second.read(elsewhere)
    finally:
        assert first.remote is not None and second.remote is not None
        await first.remote.aclose()
        await second.remote.aclose()


async def test_local_objects_refuse_keys_that_escape(tmp_path: Path) -> None:
    store = LocalObjects(tmp_path)
    await store.put("a/b.txt", b"hi", "text/plain")
    assert await store.get("a/b.txt") == b"hi"
    for bad in ("../x", "/etc/passwd", ".hidden", "a//b"):
        with pytest.raises(ValueError):
            await store.get(bad)
