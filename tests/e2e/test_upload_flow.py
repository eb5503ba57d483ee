"""Uploads over the real wire: a fake image is refused clearly and nothing is sent; a real
photo is edited."""

from __future__ import annotations

import io
from pathlib import Path
from types import ModuleType

import pytest
from PIL import Image

pytestmark = pytest.mark.e2e


def _png(size: tuple[int, int] = (1024, 1024)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (40, 90, 160)).save(buffer, format="PNG")
    return buffer.getvalue()


async def test_refused_upload_sends_nothing_and_a_real_photo_is_edited(
    harness: ModuleType, data_dir: Path
) -> None:
    async with harness.run_server(data_dir) as server:
        client = harness.Client(server)
        try:
            await client.connect(profile="Studio")
            await client.event("chat_settings", since=0)

            fake = await client.upload("photo.png", b"this is not an image at all", "image/png")
            await client.send("Make this photo warmer", (fake,))
            refused = await client.message("Upload not accepted")
            assert "not sent" in refused["output"]

            real = await client.upload("photo.png", _png(), "image/png")
            await client.send("Make this photo warmer", (real,))
            await client.message("This turn $")
            await client.action("refine")

            await client.send("/bill")
            bill = await client.message("Session bill")
            assert "1 turn(s)" in bill["output"]
        finally:
            await client.close()
