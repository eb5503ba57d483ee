"""Previews of images in progress, the image pool, and the server's allocator settings."""

from __future__ import annotations

import base64
import io
import os
import threading

from PIL import Image

from agent.images.pool import run_image_work
from agent.images.previews import PASS_THROUGH_BYTES, PREVIEW_EDGE, preview
from agent.ops.memory import tune_allocator


def _encoded(size: tuple[int, int], mode: str, fmt: str, *, noisy: bool = True) -> bytes:
    """An image of random pixels (incompressible: big files) or of one colour (tiny files)."""
    if noisy:
        image = Image.frombytes(mode, size, os.urandom(size[0] * size[1] * len(mode)))
    else:
        image = Image.new(mode, size, (10, 120, 200, 128) if mode == "RGBA" else (10, 120, 200))
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


async def test_a_big_partial_is_decoded_small_as_jpeg_with_the_same_shape() -> None:
    source = _encoded((3840, 2160), "RGB", "PNG")
    assert len(source) > PASS_THROUGH_BYTES
    shown = await preview(source)
    assert (shown.mime, shown.passed_through) == ("image/jpeg", False)
    with Image.open(io.BytesIO(shown.data)) as image:
        assert image.format == "JPEG"
        assert PREVIEW_EDGE / 2 < max(image.size) <= PREVIEW_EDGE
        assert abs(image.size[0] / image.size[1] - 3840 / 2160) < 0.02
    assert len(shown.data) < len(source) / 10


async def test_a_big_jpeg_partial_is_decoded_at_reduced_scale() -> None:
    source = _encoded((2048, 2048), "RGB", "JPEG")
    assert len(source) > PASS_THROUGH_BYTES
    shown = await preview(source)
    with Image.open(io.BytesIO(shown.data)) as image:
        assert max(image.size) <= PREVIEW_EDGE and shown.mime == "image/jpeg"


async def test_a_small_partial_passes_through_untouched() -> None:
    for fmt, mime in (("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")):
        source = _encoded((1024, 1024), "RGB", fmt, noisy=False)
        shown = await preview(source)
        assert (shown.data, shown.mime, shown.passed_through) == (source, mime, True)
        assert shown.data_url == f"data:{mime};base64," + base64.b64encode(source).decode()
    tiny = _encoded((400, 300), "RGB", "PNG")  # big in bytes, but already preview-sized
    assert (await preview(tiny)).data == tiny


async def test_a_preview_keeps_transparency() -> None:
    shown = await preview(_encoded((1024, 1024), "RGBA", "PNG"))
    assert shown.mime == "image/webp"
    with Image.open(io.BytesIO(shown.data)) as image:
        assert image.mode == "RGBA"


async def test_image_work_runs_on_its_own_threads() -> None:
    name = await run_image_work(lambda: threading.current_thread().name)
    assert name.startswith("atelier-image")


def test_the_allocator_is_tuned_on_glibc() -> None:
    assert tune_allocator() is True
