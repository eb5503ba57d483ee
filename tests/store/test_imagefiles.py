"""Image files: content addressing, verification, atomic idempotent writes, safe reads."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from PIL import Image

from agent.store.imagefiles import (
    orphaned_files,
    read_image_bytes,
    save_b64_image,
    save_image_bytes,
    thumbnail,
)

T = TypeVar("T")


def encode(fmt: str, size: tuple[int, int] = (64, 48), mode: str = "RGB") -> bytes:
    """A small real image in ``fmt``."""
    buffer = io.BytesIO()
    Image.new(mode, size, (200, 30, 30, 128) if mode == "RGBA" else (200, 30, 30)).save(
        buffer, format=fmt
    )
    return buffer.getvalue()


def files_under(folder: Path, pattern: str = "*") -> list[Path]:
    """Files matching ``pattern`` anywhere under ``folder`` (none when it does not exist)."""
    return [p for p in folder.rglob(pattern) if p.is_file()] if folder.is_dir() else []


@pytest.fixture
def images_dir(tmp_path: Path) -> Path:
    return tmp_path / "images"


@pytest.mark.parametrize(
    ("fmt", "name", "ext"),
    [("PNG", "png", "png"), ("JPEG", "jpeg", "jpg"), ("WEBP", "webp", "webp")],
)
async def test_files_are_content_addressed_by_verified_format(
    images_dir: Path, fmt: str, name: str, ext: str
) -> None:
    data = encode(fmt, (96, 64))
    stored = await save_image_bytes(data, images_dir)
    sha = hashlib.sha256(data).hexdigest()
    assert stored.path == images_dir / sha[:2] / f"{sha}.{ext}"
    assert (stored.sha256, stored.width, stored.height) == (sha, 96, 64)
    assert (stored.format, stored.bytes) == (name, len(data))
    assert stored.path.read_bytes() == data


async def test_base64_and_data_urls_decode_to_the_same_file(images_dir: Path) -> None:
    data = encode("PNG")
    b64 = base64.b64encode(data).decode()
    plain = await save_b64_image(b64, images_dir)
    url = await save_b64_image(f"data:image/png;base64,{b64}", images_dir)
    raw = await save_image_bytes(data, images_dir)
    assert plain == url == raw


async def test_saving_the_same_bytes_twice_is_a_no_op(images_dir: Path) -> None:
    data = encode("PNG")
    first = await save_image_bytes(data, images_dir)
    before = first.path.stat()
    second = await save_image_bytes(data, images_dir)
    after = second.path.stat()
    assert first == second
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)
    assert [p.name for p in first.path.parent.iterdir()] == [first.path.name]  # no temp left


async def test_concurrent_saves_of_many_images(images_dir: Path) -> None:
    blobs = [encode("PNG", (16 + i, 16)) for i in range(12)]
    stored = await asyncio.gather(*(save_image_bytes(b, images_dir) for b in blobs + blobs))
    assert len({s.path for s in stored}) == 12
    assert all(s.path.read_bytes() == b for s, b in zip(stored, blobs + blobs, strict=True))
    assert files_under(images_dir, ".tmp-*") == []


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("not base64 at all!!", "not valid base64"),
        ("data:image/png,abcd", "not base64 encoded"),
        (base64.b64encode(b"hello, not an image").decode(), "corrupt or not an image"),
        (base64.b64encode(encode("PNG")[:60]).decode(), "corrupt or not an image"),
        (base64.b64encode(encode("GIF")).decode(), "Unsupported image format GIF"),
        ("", "empty"),
    ],
)
async def test_corrupt_data_is_refused_clearly(
    images_dir: Path, payload: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await save_b64_image(payload, images_dir)
    assert files_under(images_dir) == []


async def test_truncated_jpeg_is_refused(images_dir: Path) -> None:
    data = encode("JPEG", (256, 256))
    with pytest.raises(ValueError, match="corrupt"):
        await save_image_bytes(data[: len(data) // 2], images_dir)


async def test_all_blocking_work_is_one_thread_hop(
    images_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hops: list[str] = []
    real = asyncio.to_thread

    async def counting(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        def run() -> T:
            hops.append(threading.current_thread().name)
            return fn(*args, **kwargs)

        return await real(run)

    monkeypatch.setattr(asyncio, "to_thread", counting)
    await save_b64_image(base64.b64encode(encode("PNG")).decode(), images_dir)
    assert len(hops) == 1
    assert hops[0] != threading.main_thread().name


async def test_reads_stay_inside_the_images_dir(images_dir: Path, tmp_path: Path) -> None:
    stored = await save_image_bytes(encode("PNG"), images_dir)
    assert await read_image_bytes(stored.path, images_dir) == stored.path.read_bytes()

    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    traversal = images_dir / ".." / "secret.txt"
    link = images_dir / "ab" / "link.png"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(secret)
    for outside in (secret, traversal, link, Path("/etc/passwd")):
        with pytest.raises(ValueError, match="outside the images folder"):
            await read_image_bytes(outside, images_dir)
        with pytest.raises(ValueError, match="outside the images folder"):
            await thumbnail(outside, images_dir)


async def test_thumbnail_is_a_cached_webp_next_to_the_image(images_dir: Path) -> None:
    stored = await save_image_bytes(encode("PNG", (1536, 1024), "RGBA"), images_dir)
    thumb = await thumbnail(stored.path, images_dir)
    assert thumb.parent == stored.path.parent
    assert thumb.suffix == ".webp"
    with Image.open(thumb) as img:
        assert (img.format, img.size, img.mode) == ("WEBP", (256, 171), "RGBA")
    mtime = thumb.stat().st_mtime_ns
    assert await thumbnail(stored.path, images_dir) == thumb
    assert thumb.stat().st_mtime_ns == mtime  # served from the cache

    small = await thumbnail(stored.path, images_dir, max_edge=64)
    with Image.open(small) as img:
        assert img.size == (64, 43)
    with pytest.raises(ValueError, match="max_edge"):
        await thumbnail(stored.path, images_dir, max_edge=0)


async def test_orphaned_files_are_the_unknown_ones_and_their_thumbnails(images_dir: Path) -> None:
    assert orphaned_files(images_dir, []) == []  # no folder yet
    kept = await save_image_bytes(encode("PNG", (40, 40)), images_dir)
    lost = await save_image_bytes(encode("JPEG", (50, 40)), images_dir)
    kept_thumb = await thumbnail(kept.path, images_dir)
    lost_thumb = await thumbnail(lost.path, images_dir)
    leftover = kept.path.parent / ".tmp-crashed"
    leftover.write_bytes(b"partial")

    orphans = orphaned_files(images_dir, [kept.path])
    assert sorted(orphans) == sorted([lost.path, lost_thumb, leftover])
    assert kept_thumb not in orphans
