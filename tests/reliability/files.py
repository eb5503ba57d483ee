"""Hostile and awkward upload files, built in memory (cheaply: no bomb is ever decoded)."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def png(size: tuple[int, int], colour: tuple[int, ...] = (200, 40, 40), mode: str = "RGB") -> bytes:
    """A plain PNG of one colour."""
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    """``image`` saved in ``fmt``."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(width: int = 30000, height: int = 30000) -> bytes:
    """A valid PNG header claiming ``width`` x ``height`` RGB pixels, with a few bytes of data.

    Decoding it would need width*height*3 bytes (2.7 GB for the default); a safe reader
    refuses it from the header alone.
    """
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    row = b"\x00" + b"\x00" * (width * 3)
    idat = zlib.compress(row * 4, 9)  # a few rows only: the file stays tiny
    signature = b"\x89PNG\r\n\x1a\n"
    return signature + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def truncated_png() -> bytes:
    """A real noisy PNG cut off in the middle of its pixel data."""
    noisy = Image.effect_noise((256, 256), 64).convert("RGB")
    data = encoded(noisy, "PNG")
    return data[: len(data) // 2]


def oversized_png(limit: int) -> bytes:
    """A PNG signature followed by padding: one byte over ``limit``."""
    return b"\x89PNG\r\n\x1a\n" + b"\x00" * (limit + 1 - 8)


SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.cookie)</script><rect width='10' height='10'/></svg>"
)


def animated_gif() -> bytes:
    """A two-frame GIF."""
    frames = [Image.new("P", (32, 32), i) for i in (1, 2)]
    return encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)


def animated_png() -> bytes:
    """A two-frame APNG (a PNG signature, so only the frame count can refuse it)."""
    frames = [Image.new("RGB", (32, 32), c) for c in ((255, 0, 0), (0, 0, 255))]
    return encoded(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=100)


def animated_webp() -> bytes:
    """A two-frame WebP."""
    frames = [Image.new("RGB", (32, 32), c) for c in ((255, 0, 0), (0, 0, 255))]
    return encoded(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100)


def cmyk_jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    """A CMYK JPEG (as print workflows export them)."""
    return encoded(Image.new("CMYK", size, (0, 200, 200, 0)), "JPEG", quality=90)


def mask_png(size: tuple[int, int], *, hole: bool = True) -> bytes:
    """An RGBA mask: opaque black, with a fully transparent top-left quarter if ``hole``."""
    image = Image.new("RGBA", size, (0, 0, 0, 255))
    if hole:
        image.paste((0, 0, 0, 0), (0, 0, size[0] // 2, size[1] // 2))
    return encoded(image, "PNG")
