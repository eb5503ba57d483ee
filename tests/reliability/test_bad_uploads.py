"""Bad uploads through ``agent.images.uploads``: each refused with a clear message, nothing written.

The hostile files are built in ``files.py``. Each refusal must be an ``UploadRejected`` whose
message says what to do; the few awkward-but-fine files must come out normalised.
"""

from __future__ import annotations

import io
import os
import random
import tracemalloc
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from PIL import Image

from agent.errors import UploadRejected
from agent.images.uploads import (
    MAX_UPLOAD_BYTES,
    sanitise_name,
    validate_mask,
    validate_mask_async,
    validate_upload,
    validate_upload_async,
)

from . import files

REFUSED: list[tuple[str, str, Callable[[], bytes], str]] = [
    ("text-as-png", "notes.png", lambda: b"Dear team, the Q3 plan is...\n" * 20, "not an image"),
    ("html-as-jpg", "x.jpg", lambda: b"<html><script>alert(1)</script></html>", "not an image"),
    ("empty", "empty.png", lambda: b"", "empty"),
    ("truncated-png", "cut.png", files.truncated_png, "damaged"),
    ("png-bomb", "bomb.png", files.png_bomb, "too large"),
    ("oversized", "big.png", lambda: files.oversized_png(MAX_UPLOAD_BYTES), "limit is 20 MB"),
    ("svg", "logo.svg", lambda: files.SVG, "SVG"),
    ("svg-as-png", "logo.png", lambda: files.SVG, "SVG"),
    ("animated-gif", "anim.gif", files.animated_gif, "GIF"),
    ("animated-png", "anim.png", files.animated_png, "Animated"),
    ("animated-webp", "anim.webp", files.animated_webp, "Animated"),
]


def _tree(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


@pytest.mark.parametrize(("case", "name", "build", "says"), REFUSED, ids=[r[0] for r in REFUSED])
def test_bad_upload_is_refused_clearly(
    case: str, name: str, build: Callable[[], bytes], says: str, tmp_path: Path
) -> None:
    data = build()
    before = _tree(tmp_path)
    with pytest.raises(UploadRejected) as caught:
        validate_upload(name, data)
    message = caught.value.user_message
    assert says.lower() in message.lower(), message
    # Every refusal says what to do next, not only what went wrong.
    assert any(word in message.lower() for word in ("upload", "export", "scale", "re-export")), (
        message
    )
    assert caught.value.code == "upload_rejected"
    assert _tree(tmp_path) == before


def test_bomb_is_refused_from_the_header_without_decoding() -> None:
    """900 million claimed pixels: refused fast and without allocating the image."""
    bomb = files.png_bomb(30000, 30000)
    assert len(bomb) < 1_000_000
    tracemalloc.start()
    try:
        with pytest.raises(UploadRejected, match="too large"):
            validate_upload("bomb.png", bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 1024 * 1024, f"peak {peak / 1e6:.0f} MB: the bomb was decoded"


def test_a_just_legal_size_passes_the_header_check_but_a_narrow_bomb_does_not() -> None:
    """The pixel limit is on width*height, so a thin 200000x200 strip is refused too."""
    with pytest.raises(UploadRejected, match="too large"):
        validate_upload("strip.png", files.png_bomb(200_000, 200))


def test_cmyk_jpeg_is_accepted_and_normalised_to_rgb() -> None:
    accepted = validate_upload("print.jpg", files.cmyk_jpeg((64, 48)))
    assert accepted.mime == "image/jpeg"
    assert (accepted.width, accepted.height) == (64, 48)
    with Image.open(io.BytesIO(accepted.data)) as image:
        assert image.mode == "RGB"
        r, g, b = image.getpixel((10, 10))  # type: ignore[misc]
        assert r > 200 and g < 120 and b < 120  # CMYK (0,200,200,0) is a red: not inverted
    assert accepted.data_url().startswith("data:image/jpeg;base64,")


def test_sixteen_bit_png_is_scaled_not_clipped() -> None:
    wide = Image.new("I;16", (32, 32), 40000)
    accepted = validate_upload("deep.png", files.encoded(wide, "PNG"))
    with Image.open(io.BytesIO(accepted.data)) as image:
        assert image.mode == "RGB"
        value = image.getpixel((0, 0))
        assert isinstance(value, tuple) and 140 <= value[0] <= 170  # 40000/65535*255 ≈ 156


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../../../etc/passwd.png", "passwd.png"),
        ("..\\..\\Windows\\System32\\evil.png", "evil.png"),
        ("/abs/path/shot.png", "shot.png"),
        ("dir/..", "upload"),
        ("..", "upload"),
        ("a\x00b\n.png", "ab.png"),
        ("", "upload"),
        ("<img src=x onerror=alert(1)>.png", "img src=x onerror=alert(1).png"),
        ("<script>alert(1)</script>.png", "script.png"),  # "/" ends the directory part
    ],
)
def test_file_names_lose_their_directories_and_control_characters(
    name: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    accepted = validate_upload(name, files.png((16, 16)))
    assert accepted.name == expected
    assert "/" not in accepted.name and "\\" not in accepted.name
    assert os.listdir(tmp_path) == []  # validation writes nothing, anywhere


@settings(max_examples=200, deadline=None)
@given(name=st.text(max_size=300))
@example(name="before\u2028after.png")
@example(name="\u202egnp.exe")
def test_any_name_sanitises_to_a_safe_base_name(name: str) -> None:
    safe = sanitise_name(name)
    assert safe and len(safe) <= 120
    assert "/" not in safe and "\\" not in safe and "\x00" not in safe
    assert safe not in (".", "..") and not safe.startswith(".")
    # No control, format or line/paragraph-separator characters: the name is shown in
    # one-line captions and messages.
    assert not any(unicodedata.category(ch)[0] == "C" for ch in safe), ascii(safe)
    assert not any(unicodedata.category(ch) in ("Zl", "Zp") for ch in safe), ascii(safe)


# --------------------------------------------------------------------------- masks


def test_mask_of_the_wrong_size_is_refused() -> None:
    with pytest.raises(UploadRejected, match="must be the same size") as caught:
        validate_mask("mask.png", files.mask_png((512, 512)), for_size=(1024, 1024))
    assert "512x512" in caught.value.user_message and "1024x1024" in caught.value.user_message


def test_mask_without_alpha_is_refused() -> None:
    with pytest.raises(UploadRejected, match="no alpha channel"):
        validate_mask("mask.png", files.png((64, 64), (0, 0, 0)), for_size=(64, 64))


def test_mask_with_nothing_transparent_is_refused() -> None:
    with pytest.raises(UploadRejected, match="no fully transparent pixels"):
        validate_mask("mask.png", files.mask_png((64, 64), hole=False), for_size=(64, 64))


def test_mask_must_be_a_png() -> None:
    jpeg = files.encoded(Image.new("RGB", (64, 64)), "JPEG")
    with pytest.raises(UploadRejected, match="must be a PNG"):
        validate_mask("mask.jpg", jpeg)


def test_a_good_mask_is_accepted() -> None:
    mask = validate_mask("mask.png", files.mask_png((64, 64)), for_size=(64, 64))
    assert (mask.width, mask.height, mask.mime) == (64, 64, "image/png")


async def test_async_variants_refuse_the_same_way() -> None:
    with pytest.raises(UploadRejected, match="SVG"):
        await validate_upload_async("x.svg", files.SVG)
    with pytest.raises(UploadRejected, match="no alpha"):
        await validate_mask_async("m.png", files.png((8, 8)))


# --------------------------------------------------------------------------- fuzzing


def _seed_images() -> list[bytes]:
    picture = Image.effect_noise((48, 40), 50).convert("RGB")
    return [files.encoded(picture, fmt) for fmt in ("PNG", "JPEG", "WEBP")]


SEEDS = _seed_images()


@settings(max_examples=300, deadline=None)
@given(
    seed=st.sampled_from(SEEDS),
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=8),
    cut=st.one_of(st.none(), st.integers(0, 10**6)),
)
def test_corrupted_images_are_refused_or_accepted_never_crash(
    seed: bytes, flips: list[tuple[int, int]], cut: int | None
) -> None:
    """Random byte flips and truncations of real images: only UploadRejected may escape."""
    data = bytearray(seed)
    for position, value in flips:
        data[position % len(data)] = value
    if cut is not None:
        data = data[: cut % len(data)]
    try:
        accepted = validate_upload("fuzz.png", bytes(data))
    except UploadRejected as error:
        assert len(error.user_message) > 20
        return
    with Image.open(io.BytesIO(accepted.data)) as image:  # what we accept decodes cleanly
        image.load()
        assert image.size == (accepted.width, accepted.height)


def test_random_bytes_behind_image_signatures_are_refused() -> None:
    rng = random.Random(7)
    signatures = [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"RIFF\x00\x00\x00\x00WEBPVP8 "]
    for _ in range(300):
        data = rng.choice(signatures) + rng.randbytes(rng.randrange(0, 400))
        with pytest.raises(UploadRejected):
            validate_upload("noise.png", data)
