"""Previews of images in progress, and the server's allocator settings."""

from __future__ import annotations

import io

from PIL import Image

from agent.images.previews import PREVIEW_EDGE, PREVIEW_MIME, preview
from agent.ops.memory import tune_allocator


def _png(size: tuple[int, int], mode: str) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, (10, 120, 200, 128) if mode == "RGBA" else (10, 120, 200)).save(
        buffer, "PNG"
    )
    return buffer.getvalue()


async def test_a_preview_is_small_webp_with_the_same_shape() -> None:
    source = _png((3840, 2160), "RGB")
    small = await preview(source)
    assert PREVIEW_MIME == "image/webp"
    with Image.open(io.BytesIO(small)) as image:
        assert image.format == "WEBP"
        assert max(image.size) == PREVIEW_EDGE
        assert abs(image.size[0] / image.size[1] - 3840 / 2160) < 0.01
    assert len(small) < len(source)


async def test_a_preview_keeps_transparency() -> None:
    with Image.open(io.BytesIO(await preview(_png((1024, 1024), "RGBA")))) as image:
        assert image.mode == "RGBA"
        assert image.getpixel((10, 10))[3] == 128


def test_the_allocator_is_tuned_on_glibc() -> None:
    assert tune_allocator() is True
