"""Small previews of images in progress: what a browser needs to watch a picture sharpen.

A partial image arrives at full size. When its bytes are already fit to show (no bigger than
``PASS_THROUGH_BYTES``, or no wider than the preview), they go to the browser as they came:
no decode, no re-encode. Otherwise it is decoded at reduced scale (JPEG: ``draft`` decodes
at 1/2..1/8; other formats: one ``reduce`` box pass) to at most ``PREVIEW_EDGE`` pixels and
encoded as JPEG (WebP when it has transparency: a WebP encode costs several times more).
The work, and the ``data:`` URL that carries the bytes to the browser inside the element
event itself (no file to stage, no download to authenticate and serve), runs on the image
pool (``agent.images.pool``).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from PIL import Image

from agent.images.b64 import b64encode
from agent.images.pool import run_image_work

PREVIEW_EDGE = 512
PASS_THROUGH_BYTES = 512 * 1024
"""A partial this small is sent as it came (a 1024x1024 JPEG or WebP partial is 20-80 KB)."""

_MIMES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


@dataclass(frozen=True)
class Preview:
    """Bytes to show, their MIME type and ``data:`` URL; ``passed_through`` when they are
    the original bytes."""

    data: bytes
    mime: str
    data_url: str
    passed_through: bool = False


def _shown(data: bytes, mime: str, passed_through: bool = False) -> Preview:
    return Preview(data, mime, f"data:{mime};base64,{b64encode(data)}", passed_through)


def _preview_sync(data: bytes, max_edge: int) -> Preview:
    with Image.open(io.BytesIO(data)) as image:  # reads the header, decodes nothing yet
        mime = _MIMES.get(image.format or "")
        if mime is not None and (len(data) <= PASS_THROUGH_BYTES or max(image.size) <= max_edge):
            return _shown(data, mime, passed_through=True)
        if image.format == "JPEG":
            image.draft("RGB", (max_edge, max_edge))  # decodes at 1/2, 1/4 or 1/8 scale
        image.load()
        factor = math.ceil(max(image.size) / max_edge)
        small = image.reduce(factor) if factor > 1 else image.copy()
    keep_alpha = small.mode in ("RGBA", "LA", "PA") or "transparency" in small.info
    buffer = io.BytesIO()
    if keep_alpha:
        small.convert("RGBA").save(buffer, format="WEBP", quality=72, method=0)
        return _shown(buffer.getvalue(), "image/webp")
    small.convert("RGB").save(buffer, format="JPEG", quality=75)
    return _shown(buffer.getvalue(), "image/jpeg")


async def preview(data: bytes, max_edge: int = PREVIEW_EDGE) -> Preview:
    """What to show for image ``data`` while it sharpens: its own bytes when they are small
    enough, else a copy whose longest edge is at most ``max_edge``."""
    return await run_image_work(_preview_sync, data, max_edge)
