"""The turn loop with ATELIER_STORAGE_URL on moto's S3: images land in the bucket.

One "machine" runs a turn; a second one (its own empty data folder, the same database and
bucket) reads the image, refines it (the image goes inline, read from the bucket) and makes
its thumbnail; deleting the session removes the object from the bucket.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from agent.config import Settings
from agent.runtime import Atelier
from agent.turn import events as ev
from agent.turn.testing import Image, ScriptedModel, Text, Usage


def _bucket(s3: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Any]:
    bucket = f"turns-{uuid.uuid4().hex[:10]}"
    for name, value in s3.env(bucket, "site").items():
        monkeypatch.setenv(name, value)
    boto = boto3.client(
        "s3",
        endpoint_url=s3.endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    boto.create_bucket(Bucket=bucket)
    return bucket, boto


def _keys(boto: Any, bucket: str) -> list[str]:
    listed = boto.list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listed.get("Contents", []))


def _machine(tmp_path: Path, name: str, database: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=tmp_path / name,
        database_url=str(database),
        storage_url=None,  # set below from the environment the test points at moto
    )


async def test_turn_images_live_in_the_bucket_across_machines(
    s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket, boto = _bucket(s3, monkeypatch)
    url = f"s3://{bucket}/site"
    database = tmp_path / "shared" / "atelier.db"
    first = _machine(tmp_path, "one", database).model_copy(update={"storage_url": url})
    second = _machine(tmp_path, "two", database).model_copy(update={"storage_url": url})
    model = ScriptedModel([Text("Here."), Image(), Usage(100, 50)])

    async with await Atelier.open(first, model=model) as one:
        session = await one.new_session(user_id="ann")
        events = [event async for event in session.start_turn("a red kite")]
        ready = [e for e in events if isinstance(e, ev.ImageReady)]
        assert len(ready) == 1, events
        image = ready[0].image
        key = f"site/images/{image.path.parent.name}/{image.path.name}"
        assert _keys(boto, bucket) == [key]
        made = boto.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert made == image.path.read_bytes()
        session_id = session.id

    async with await Atelier.open(second, model=model) as two:
        assert not (second.images_dir / image.path.parent.name).exists()
        elsewhere = await two.resume_session(session_id, user_id="ann")
        stored = await elsewhere.image(image.id)
        # The inline form of a refinement (no stored responses) reads it from the bucket.
        inline = await elsewhere.data_url(stored)
        assert inline.startswith("data:image/png;base64,")
        assert (second.images_dir / image.path.parent.name / image.path.name).is_file()
        assert await two.files.read(stored.path) == made
        thumb = await elsewhere.thumbnail(stored)
        assert thumb.is_relative_to(second.images_dir.resolve())
        await two.delete_session(session_id, user_id="ann")
        assert _keys(boto, bucket) == []
        assert not (second.images_dir / image.path.parent.name / image.path.name).exists()
