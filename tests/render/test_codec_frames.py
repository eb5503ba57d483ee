"""encode_image / decode_image and partial_frames."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops, ImageStat

from agent.engine.codec import lossy_quality
from agent.engine.render import decode_image, encode_image, partial_frames, render_scene


@pytest.fixture(scope="module")
def picture() -> Image.Image:
    return render_scene("an autumn forest with a cabin", 512, 384)


@pytest.fixture(scope="module")
def sticker() -> Image.Image:
    return render_scene("sticker of a cat", 256, 256, transparent=True)


def opened(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.copy()


@pytest.mark.parametrize(
    ("fmt", "magic"), [("png", b"\x89PNG"), ("jpeg", b"\xff\xd8"), ("webp", b"RIFF")]
)
def test_formats(picture: Image.Image, fmt: str, magic: bytes) -> None:
    data = encode_image(picture, fmt, None)
    assert data.startswith(magic)
    assert decode_image(data).size == picture.size


def test_png_is_lossless_and_keeps_alpha(sticker: Image.Image) -> None:
    decoded = decode_image(encode_image(sticker, "png", None))
    assert decoded.mode == "RGBA"
    assert ImageChops.difference(decoded, sticker).getbbox() is None


def test_webp_keeps_alpha(sticker: Image.Image) -> None:
    decoded = decode_image(encode_image(sticker, "webp", 20))
    assert decoded.mode == "RGBA"
    assert decoded.getpixel((0, 0))[3] == 0  # type: ignore[index]


def test_jpeg_lays_transparency_onto_white(sticker: Image.Image) -> None:
    decoded = decode_image(encode_image(sticker, "jpeg", 0))
    assert decoded.mode == "RGB"
    assert all(v > 245 for v in decoded.getpixel((2, 2)))  # type: ignore[union-attr]


def test_more_compression_means_smaller_files(picture: Image.Image) -> None:
    for fmt in ("jpeg", "webp"):
        small = encode_image(picture, fmt, 90)
        large = encode_image(picture, fmt, 5)
        assert len(small) < len(large) * 0.6


def test_compression_to_quality_mapping() -> None:
    assert lossy_quality(0) == 95
    assert lossy_quality(30) == 70
    assert lossy_quality(100) == 1
    assert 1 <= lossy_quality(None) <= 95
    with pytest.raises(ValueError, match="0-100"):
        lossy_quality(101)


def test_unknown_format_is_refused(picture: Image.Image) -> None:
    with pytest.raises(ValueError, match="png, jpeg or webp"):
        encode_image(picture, "gif", None)


def test_decode_refuses_garbage_and_truncation(picture: Image.Image) -> None:
    with pytest.raises(ValueError):
        decode_image(b"")
    with pytest.raises(ValueError):
        decode_image(b"definitely not an image")
    data = encode_image(picture, "png", None)
    with pytest.raises(ValueError):
        decode_image(data[: len(data) // 2])


def test_decode_loads_everything(picture: Image.Image) -> None:
    decoded = decode_image(encode_image(picture, "png", None))
    assert ImageChops.difference(decoded, picture).getbbox() is None
    assert opened(encode_image(decoded, "png", None)).size == picture.size


def distance(a: Image.Image, b: Image.Image) -> float:
    return float(sum(ImageStat.Stat(ImageChops.difference(a, b)).mean))


def test_partial_frames_go_from_coarse_to_fine(picture: Image.Image) -> None:
    frames = partial_frames(picture, 3)
    assert len(frames) == 3
    assert all(f.size == picture.size and f.mode == picture.mode for f in frames)
    distances = [distance(f, picture) for f in frames]
    assert distances[0] > distances[1] > distances[2] > 0


def test_partial_frames_are_the_same_picture(picture: Image.Image) -> None:
    # The coarsest frame still has the final picture's overall colour.
    coarse = partial_frames(picture, 1)[0]
    final_mean = ImageStat.Stat(picture).mean
    assert ImageStat.Stat(coarse).mean == pytest.approx(final_mean, abs=25)


def test_partial_frames_keep_alpha_and_handle_zero(sticker: Image.Image) -> None:
    assert partial_frames(sticker, 0) == []
    frames = partial_frames(sticker, 2)
    assert [f.mode for f in frames] == ["RGBA", "RGBA"]
