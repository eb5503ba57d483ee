"""Image files on disk: content-addressed, verified with Pillow, written atomically.

A file lives at ``images_dir/<sha[:2]>/<sha>.<ext>`` where ``sha`` is the SHA-256 of its bytes
and ``ext`` comes from the format Pillow found in them (png, jpg, webp), so the same bytes
are stored once. All blocking work (base64, Pillow, hashing, writing) for one image runs in
one ``asyncio.to_thread`` call.

Past one machine, ``ImageFiles`` adds an object store (S3) behind the same layout: every
saved image is also put at ``images/<sha[:2]>/<sha>.<ext>``, and a worker that lacks a file
locally (another machine wrote it) fetches it into its local folder, which then acts as a
cache. Thumbnails are derived locally and never uploaded.
"""

from __future__ import annotations

import asyncio
import binascii
import hashlib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from agent.images.b64 import b64decode
from agent.ops.files import atomic_write
from agent.store.objects import ObjectStore

# Pillow format name -> (our format name, file extension)
_FORMATS: dict[str, tuple[str, str]] = {
    "PNG": ("png", "png"),
    "JPEG": ("jpeg", "jpg"),
    "WEBP": ("webp", "webp"),
}
_EXTENSIONS = frozenset(ext for _, ext in _FORMATS.values())
_THUMB_MARK = ".thumb"
_CONTENT_NAME = re.compile(r"[0-9a-f]{64}\.(png|jpg|webp)")


@dataclass(frozen=True)
class StoredFile:
    """An image file as stored: where, its hash, real pixel size, format and byte count.

    ``format`` is the API's output_format name ("png", "jpeg" or "webp").
    """

    path: Path
    sha256: str
    width: int
    height: int
    format: str
    bytes: int


async def save_b64_image(b64: str, images_dir: Path) -> StoredFile:
    """Decode base64 image data (plain or a ``data:`` URL), verify it and store it.

    Raises ValueError when the text is not base64 or not a PNG/JPEG/WebP image.
    """
    return await asyncio.to_thread(_save_sync, b64, images_dir)


async def save_image_bytes(data: bytes, images_dir: Path) -> StoredFile:
    """Verify image bytes and store them. Raises ValueError for anything but PNG/JPEG/WebP."""
    return await asyncio.to_thread(_save_sync, data, images_dir)


async def read_image_bytes(path: Path, images_dir: Path) -> bytes:
    """Read a stored image. Refuses (ValueError) any path outside ``images_dir``."""
    return await asyncio.to_thread(_read_sync, path, images_dir)


async def thumbnail(path: Path, images_dir: Path, max_edge: int = 256) -> Path:
    """A WebP thumbnail (longest edge at most ``max_edge``) cached next to the image.

    Refuses (ValueError) any path outside ``images_dir``.
    """
    if max_edge < 1:
        raise ValueError(f"max_edge must be a positive number of pixels, not {max_edge}.")
    return await asyncio.to_thread(_thumbnail_sync, path, images_dir, max_edge)


async def delete_image_files(paths: Iterable[Path], images_dir: Path) -> int:
    """Remove image files (and their cached thumbnails) inside ``images_dir``; count removed."""
    return await asyncio.to_thread(_delete_sync, list(paths), images_dir)


_MIME = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}


class ImageFiles:
    """Image files in ``images_dir``, mirrored to an object store when one is given."""

    def __init__(self, images_dir: Path, remote: ObjectStore | None = None) -> None:
        """Keep files under ``images_dir``; with ``remote``, also there (the source of truth)."""
        self.images_dir = images_dir
        self.remote = remote

    def local(self, path: Path) -> Path:
        """Where ``path`` lives on this machine.

        A path another machine recorded (its own images folder) is the same content-addressed
        file here: ``<sha[:2]>/<sha>.<ext>`` under this ``images_dir``. Anything else outside
        ``images_dir`` raises ValueError.
        """
        if not path.resolve().is_relative_to(self.images_dir.resolve()):
            name, parent = path.name, path.parent.name
            if _CONTENT_NAME.fullmatch(name) and parent == name[:2]:
                return self.images_dir.resolve() / parent / name
        return _inside(path, self.images_dir)

    def key(self, path: Path) -> str:
        """The object key of a stored image file (ValueError outside ``images_dir``)."""
        relative = self.local(path).relative_to(self.images_dir.resolve())
        return f"images/{relative.as_posix()}"

    async def save_b64(self, b64: str) -> StoredFile:
        """``save_b64_image``, then uploaded to the object store."""
        return await self._upload(await save_b64_image(b64, self.images_dir))

    async def save_bytes(self, data: bytes) -> StoredFile:
        """``save_image_bytes``, then uploaded to the object store."""
        return await self._upload(await save_image_bytes(data, self.images_dir))

    async def _upload(self, stored: StoredFile) -> StoredFile:
        if self.remote is not None:
            data = await read_image_bytes(stored.path, self.images_dir)
            ext = stored.path.suffix.lstrip(".")
            await self.remote.put(self.key(stored.path), data, _MIME.get(ext, "image/png"))
        return stored

    async def ensure_local(self, path: Path) -> Path:
        """``path``, fetched from the object store first when this machine lacks it.

        Raises FileNotFoundError when neither has it, ValueError outside ``images_dir``.
        """
        target = self.local(path)
        if await asyncio.to_thread(target.is_file):
            return target
        data = None if self.remote is None else await self.remote.get(self.key(path))
        if data is None:
            raise FileNotFoundError(f"Image file {path} is neither here nor in object storage.")
        await asyncio.to_thread(atomic_write, target, data)
        return target

    async def read(self, path: Path) -> bytes:
        """The image's bytes (from the object store when not on this machine)."""
        return await read_image_bytes(await self.ensure_local(path), self.images_dir)

    async def thumbnail(self, path: Path, max_edge: int = 256) -> Path:
        """``thumbnail`` of an image that may live only in the object store."""
        return await thumbnail(await self.ensure_local(path), self.images_dir, max_edge)

    async def delete(self, paths: Iterable[Path]) -> int:
        """Remove image files here and in the object store; count local files removed."""
        listed = [self.local(path) for path in paths]
        removed = await delete_image_files(listed, self.images_dir)
        if self.remote is not None:
            for path in listed:
                await self.remote.delete(self.key(path))
        return removed


def orphaned_files(images_dir: Path, known: Iterable[Path]) -> list[Path]:
    """Files under ``images_dir`` that no known image accounts for, sorted.

    A thumbnail belongs to its image: it is an orphan only when its image is. Leftover temp
    files from interrupted writes are orphans. Blocking (walks the directory).
    """
    if not images_dir.is_dir():
        return []
    known_resolved = {Path(p).resolve() for p in known}
    orphans: list[Path] = []
    for file in images_dir.rglob("*"):
        if not file.is_file():
            continue
        owner = _thumbnail_owner(file)
        if owner is not None:
            if not any(candidate in known_resolved for candidate in owner):
                orphans.append(file)
        elif file.resolve() not in known_resolved:
            orphans.append(file)
    return sorted(orphans)


# --------------------------------------------------------------------- blocking helpers


def _decode_b64(text: str) -> bytes:
    payload = text.strip()
    if payload.startswith("data:"):
        head, sep, rest = payload.partition(",")
        if not sep or not head.endswith(";base64"):
            raise ValueError("Image data URL is not base64 encoded (expected 'data:...;base64,').")
        payload = rest
    try:
        return b64decode(payload, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"Image data is not valid base64: {exc}.") from exc


def _inspect(data: bytes) -> tuple[int, int, str, str]:
    """(width, height, format name, extension) of verified, fully decodable image bytes."""
    if not data:
        raise ValueError("Image data is empty.")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()
            pil_format = probe.format or ""
            width, height = probe.size
        if pil_format != "PNG":
            # verify() checks a PNG's every chunk and CRC through IEND; for JPEG and WebP it
            # checks nothing, so those are decoded in full. (A full PNG decode was 7% of the
            # server's CPU under load, for images that had just passed their CRCs.)
            with Image.open(io.BytesIO(data)) as image:
                image.load()
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError(f"Image data is corrupt or not an image: {exc}.") from exc
    if pil_format not in _FORMATS:
        raise ValueError(
            f"Unsupported image format {pil_format or 'unknown'}; expected PNG, JPEG or WebP."
        )
    name, ext = _FORMATS[pil_format]
    return width, height, name, ext


def _save_sync(source: str | bytes, images_dir: Path) -> StoredFile:
    data = _decode_b64(source) if isinstance(source, str) else source
    width, height, name, ext = _inspect(data)
    sha = hashlib.sha256(data).hexdigest()
    target = images_dir / sha[:2] / f"{sha}.{ext}"
    if not (target.is_file() and target.stat().st_size == len(data)):
        atomic_write(target, data)
    return StoredFile(
        path=target, sha256=sha, width=width, height=height, format=name, bytes=len(data)
    )


def _inside(path: Path, images_dir: Path) -> Path:
    resolved = path.resolve()
    root = images_dir.resolve()
    if not resolved.is_relative_to(root):
        raise ValueError(f"Refusing to read {path}: it is outside the images folder {root}.")
    return resolved


def _read_sync(path: Path, images_dir: Path) -> bytes:
    return _inside(path, images_dir).read_bytes()


def _thumbnail_sync(path: Path, images_dir: Path, max_edge: int) -> Path:
    source = _inside(path, images_dir)
    target = source.with_name(f"{source.stem}{_THUMB_MARK}{max_edge}.webp")
    if target.is_file():
        return target
    try:
        with Image.open(source) as image:
            image.thumbnail((max_edge, max_edge))
            has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            converted = image.convert("RGBA" if has_alpha else "RGB")
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError(f"Cannot make a thumbnail of {path}: {exc}.") from exc
    buffer = io.BytesIO()
    converted.save(buffer, format="WEBP", quality=80)
    atomic_write(target, buffer.getvalue())
    return target


def _delete_sync(paths: list[Path], images_dir: Path) -> int:
    removed = 0
    for path in paths:
        source = _inside(path, images_dir)
        for file in (source, *source.parent.glob(f"{source.stem}{_THUMB_MARK}*.webp")):
            try:
                file.unlink()
                removed += 1
            except FileNotFoundError:
                continue
    return removed


def _thumbnail_owner(file: Path) -> tuple[Path, ...] | None:
    """The image files a thumbnail could belong to, or None when ``file`` is no thumbnail."""
    stem, mark, rest = file.name.partition(_THUMB_MARK)
    if not mark or not rest.endswith(".webp") or not rest[: -len(".webp")].isdigit():
        return None
    return tuple((file.parent / f"{stem}.{ext}").resolve() for ext in _EXTENSIONS)
