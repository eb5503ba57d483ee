"""Small previews of images in progress: what a browser needs to watch a picture sharpen.

A partial image arrives at full size (1.3 MB at 1024x1024, about 10 MB at 3840x2160); the
preview is at most ``PREVIEW_EDGE`` pixels, WebP (keeps transparency), made in a thread.
"""

from __future__ import annotations

import asyncio
import io

from PIL import Image

PREVIEW_EDGE = 512
PREVIEW_MIME = "image/webp"


def _preview_sync(data: bytes, max_edge: int) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        image.draft("RGB", (max_edge, max_edge))  # JPEG decodes at reduced scale
        # reducing_gap=1.0: shrink by whole factors with reduce() (a box filter, several
        # times cheaper than a full bilinear pass) first; good enough for a preview.
        image.thumbnail((max_edge, max_edge), Image.Resampling.BILINEAR, reducing_gap=1.0)
        keep_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        small = image.convert("RGBA" if keep_alpha else "RGB")
    buffer = io.BytesIO()
    small.save(buffer, format="WEBP", quality=72, method=0)  # fastest encoder effort
    return buffer.getvalue()


async def preview(data: bytes, max_edge: int = PREVIEW_EDGE) -> bytes:
    """A WebP preview of ``data`` whose longest edge is at most ``max_edge``."""
    return await asyncio.to_thread(_preview_sync, data, max_edge)
