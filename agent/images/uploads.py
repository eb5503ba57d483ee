"""Checking files users upload (reference images and masks) before anything else touches them.

Bytes are sniffed, never the extension trusted; dimensions are read from the header before
any pixel is decoded; every accepted image is fully decoded once (so truncated files are
caught here) and normalised to 8-bit RGB or RGBA. No global Pillow setting is changed.
"""

from __future__ import annotations

import asyncio
import base64
import io
import re
import unicodedata
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from agent.errors import UploadRejected

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_UPLOAD_PIXELS = 36_000_000
MAX_NAME_CHARS = 120
ACCEPTED = "PNG, JPEG or WebP"

_PIL_FORMAT = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}
_UNSAFE_NAME_CHARS = re.compile(r"[\x00-\x1f\x7f<>:\"|?*]")
_DAMAGED = (OSError, SyntaxError, EOFError, ValueError, UnidentifiedImageError)
_BOMB = (Image.DecompressionBombError, Image.DecompressionBombWarning)


@dataclass(frozen=True)
class Attachment:
    """An accepted upload: a safe display name and the (possibly normalised) image bytes."""

    name: str
    mime: str
    data: bytes
    width: int
    height: int

    def data_url(self) -> str:
        """The image as a data URL, as the Responses API takes an input_image."""
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


def sanitise_name(name: str) -> str:
    """A display-only base name: no directories, `..`, NUL or control characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = unicodedata.normalize("NFC", base)
    # Control/format characters, and line/paragraph separators (Zl, Zp), never reach a name.
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = "".join(ch for ch in base if unicodedata.category(ch) not in ("Zl", "Zp"))
    base = _UNSAFE_NAME_CHARS.sub("", base).replace("..", ".").strip(" .")
    if len(base) > MAX_NAME_CHARS:
        stem, dot, ext = base.rpartition(".")
        keep = MAX_NAME_CHARS - len(ext) - 1 if dot and len(ext) <= 8 else MAX_NAME_CHARS
        base = stem[:keep] + "." + ext if dot and len(ext) <= 8 else base[:MAX_NAME_CHARS]
    return base or "upload"


def sniff_mime(data: bytes) -> str:
    """The image type from the leading bytes; UploadRejected for anything we do not accept."""
    head = data[:1024]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        raise UploadRejected(
            f"GIF images are not supported (animations cannot be edited): export the frame "
            f"you want as a {ACCEPTED} file."
        )
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<?xml", b"<svg", b"<!doctype svg")) or b"<svg" in text:
        raise UploadRejected("SVG is not supported: export a PNG and upload that instead.")
    raise UploadRejected(
        f"This file is not an image we can use. Upload a {ACCEPTED} image "
        "(the file's contents decide, not its name)."
    )


def _size_text(count: int) -> str:
    return f"{count / (1024 * 1024):.1f} MB"


def _check_bytes(data: bytes) -> None:
    if not data:
        raise UploadRejected(f"The file is empty. Upload a {ACCEPTED} image.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadRejected(
            f"The file is {_size_text(len(data))}; the limit is "
            f"{MAX_UPLOAD_BYTES // (1024 * 1024)} MB. Export a smaller image and try again."
        )


def _check_header(data: bytes, fmt: str) -> tuple[int, int]:
    """Width and height from the header, refusing huge or animated images before decoding."""
    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as probe:
            width, height = probe.size
            frames = int(getattr(probe, "n_frames", 1))
    except _BOMB as exc:
        raise _too_many_pixels_error() from exc
    except _DAMAGED as exc:
        raise _damaged_error() from exc
    if width * height > MAX_UPLOAD_PIXELS:
        raise _too_many_pixels_error(width, height)
    if frames > 1:
        raise UploadRejected(
            f"Animated images are not supported: upload a single still {ACCEPTED} image."
        )
    return width, height


def _too_many_pixels_error(width: int | None = None, height: int | None = None) -> UploadRejected:
    size = f" ({width}x{height})" if width and height else ""
    return UploadRejected(
        f"The image is too large{size}: at most {MAX_UPLOAD_PIXELS // 1_000_000} million pixels "
        "are accepted. Scale it down (e.g. to 4096x4096 or smaller) and try again."
    )


def _damaged_error() -> UploadRejected:
    return UploadRejected(
        f"The image is damaged or incomplete and cannot be read. Re-export it as a {ACCEPTED} "
        "file and upload it again."
    )


def _decode(data: bytes, fmt: str) -> Image.Image:
    """Verify the file structure, then decode every pixel."""
    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as checked:
            checked.verify()
        with Image.open(io.BytesIO(data), formats=[fmt]) as image:
            image.load()
            return image.copy()
    except _BOMB as exc:
        raise _too_many_pixels_error() from exc
    except _DAMAGED as exc:
        raise _damaged_error() from exc


_EXIF_ORIENTATION = 0x0112


def _upright(image: Image.Image) -> Image.Image:
    """Apply the camera's EXIF orientation so the pixels are the way the user sees them."""
    if image.getexif().get(_EXIF_ORIENTATION, 1) in (0, 1):
        return image
    turned = ImageOps.exif_transpose(image)
    return turned if turned is not None else image


def _has_alpha(image: Image.Image) -> bool:
    return (
        image.mode in ("RGBA", "LA", "PA", "RGBa", "La")
        or (image.mode == "P" and "transparency" in image.info)
        or (image.mode in ("RGB", "L") and "transparency" in image.info)
    )


def _to_8bit_colour(image: Image.Image) -> Image.Image:
    """RGB or RGBA, 8 bits per channel (16-bit and exotic modes scaled, not clipped)."""
    if image.mode in ("RGB", "RGBA"):
        return image
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        wide = image.convert("I") if image.mode != "F" else image
        peak = wide.getextrema()[1]
        scale = 1 / 256 if isinstance(peak, int | float) and peak > 255 else 1.0
        return wide.point(lambda v: v * scale).convert("L").convert("RGB")
    if _has_alpha(image):
        return image.convert("RGBA")
    return image.convert("RGB")


def _encode(image: Image.Image, mime: str) -> bytes:
    out = io.BytesIO()
    if mime == "image/jpeg":
        image.convert("RGB").save(out, "JPEG", quality=95)
    elif mime == "image/webp":
        image.save(out, "WEBP", lossless=True)
    else:
        image.save(out, "PNG", compress_level=6)
    return out.getvalue()


def _load(name: str, data: bytes) -> tuple[Image.Image, Attachment]:
    _check_bytes(data)
    mime = sniff_mime(data)
    fmt = _PIL_FORMAT[mime]
    _check_header(data, fmt)
    image = _decode(data, fmt)
    normal = _to_8bit_colour(_upright(image))
    if normal is not image:
        if mime == "image/jpeg" and normal.mode == "RGBA":
            mime = "image/png"
        data = _encode(normal, mime)
    attachment = Attachment(sanitise_name(name), mime, data, normal.width, normal.height)
    return normal, attachment


def validate_upload(name: str, data: bytes) -> Attachment:
    """Accept a reference image (PNG, JPEG or WebP) or raise UploadRejected saying why."""
    return _load(name, data)[1]


def validate_mask(name: str, data: bytes, *, for_size: tuple[int, int] | None = None) -> Attachment:
    """Accept an edit mask: a PNG whose transparent pixels mark the area to change."""
    _check_bytes(data)
    if sniff_mime(data) != "image/png":
        raise UploadRejected(
            "A mask must be a PNG with transparency (transparent = the area to change). "
            "This file is not a PNG."
        )
    image, attachment = _load(name, data)
    if image.mode != "RGBA":
        raise UploadRejected(
            "The mask has no alpha channel. Save it as a PNG with transparency, with the area "
            "to change erased to fully transparent."
        )
    lowest, _ = image.getchannel("A").getextrema()
    if lowest != 0:
        raise UploadRejected(
            "The mask has no fully transparent pixels, so it marks nothing to change. Erase "
            "the area to edit to full transparency and upload it again."
        )
    if for_size is not None and (attachment.width, attachment.height) != tuple(for_size):
        raise UploadRejected(
            f"The mask is {attachment.width}x{attachment.height} but the image is "
            f"{for_size[0]}x{for_size[1]}: they must be the same size."
        )
    return attachment


async def validate_upload_async(name: str, data: bytes) -> Attachment:
    """``validate_upload`` in a worker thread (decoding is blocking work)."""
    return await asyncio.to_thread(validate_upload, name, data)


async def validate_mask_async(
    name: str, data: bytes, *, for_size: tuple[int, int] | None = None
) -> Attachment:
    """``validate_mask`` in a worker thread."""
    return await asyncio.to_thread(validate_mask, name, data, for_size=for_size)
