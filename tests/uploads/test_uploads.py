"""Upload validation: every rejection says what was wrong; odd-but-valid images are normalised."""

from __future__ import annotations

import base64
import io
import struct
import zlib

import pytest
from PIL import Image

from agent.errors import UploadRejected
from agent.images.uploads import (
    MAX_UPLOAD_BYTES,
    MAX_UPLOAD_PIXELS,
    Attachment,
    sanitise_name,
    validate_mask,
    validate_mask_async,
    validate_upload,
    validate_upload_async,
)


def encoded(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` but holds (almost) no pixel data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def rejection(name: str, data: bytes) -> str:
    with pytest.raises(UploadRejected) as caught:
        validate_upload(name, data)
    return caught.value.user_message


# --------------------------------------------------------------------------- accepted


def test_plain_png_is_accepted_unchanged() -> None:
    data = encoded(Image.new("RGB", (64, 48), (200, 30, 30)), "PNG")
    attachment = validate_upload("red.png", data)
    assert attachment == Attachment("red.png", "image/png", data, 64, 48)


def test_type_comes_from_the_bytes_not_the_extension() -> None:
    data = encoded(Image.new("RGB", (20, 20), (0, 90, 200)), "JPEG")
    attachment = validate_upload("holiday.png", data)
    assert attachment.mime == "image/jpeg"


def test_webp_is_accepted() -> None:
    data = encoded(Image.new("RGBA", (30, 30), (0, 90, 200, 128)), "WEBP")
    attachment = validate_upload("a.webp", data)
    assert (attachment.mime, attachment.width, attachment.height) == ("image/webp", 30, 30)


def test_cmyk_jpeg_is_converted_to_rgb() -> None:
    data = encoded(Image.new("CMYK", (32, 16), (0, 255, 255, 0)), "JPEG", quality=95)
    attachment = validate_upload("print.jpg", data)
    with Image.open(io.BytesIO(attachment.data)) as image:
        assert image.mode == "RGB"
        red, green, blue = image.getpixel((16, 8))  # type: ignore[misc]
    assert attachment.mime == "image/jpeg"
    assert red > 200 and green < 60 and blue < 60


def test_16_bit_greyscale_is_scaled_to_8_bit() -> None:
    wide = Image.new("I;16", (16, 16), 40000)
    attachment = validate_upload("scan.png", encoded(wide, "PNG"))
    with Image.open(io.BytesIO(attachment.data)) as image:
        assert image.mode == "RGB"
        assert image.getpixel((3, 3)) == (156, 156, 156)  # 40000 / 256, not clipped to 255


def test_palette_png_with_transparency_becomes_rgba() -> None:
    image = Image.new("P", (10, 10), 1)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    attachment = validate_upload("icon.png", encoded(image, "PNG", transparency=0))
    with Image.open(io.BytesIO(attachment.data)) as result:
        assert result.mode == "RGBA"
        assert result.getpixel((0, 0)) == (255, 0, 0, 255)


def test_greyscale_with_alpha_becomes_rgba() -> None:
    attachment = validate_upload("la.png", encoded(Image.new("LA", (8, 8), (90, 40)), "PNG"))
    with Image.open(io.BytesIO(attachment.data)) as result:
        assert result.getpixel((1, 1)) == (90, 90, 90, 40)


def test_exif_orientation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    data = encoded(Image.new("RGB", (40, 20), "white"), "JPEG", exif=exif.tobytes())
    attachment = validate_upload("phone.jpg", data)
    assert (attachment.width, attachment.height) == (20, 40)


def test_data_url_round_trips() -> None:
    data = encoded(Image.new("RGB", (4, 4)), "PNG")
    url = validate_upload("x.png", data).data_url()
    prefix, _, payload = url.partition(",")
    assert prefix == "data:image/png;base64"
    assert base64.b64decode(payload) == data


async def test_async_wrappers_run_the_same_checks() -> None:
    data = encoded(Image.new("RGBA", (8, 8), (0, 0, 0, 0)), "PNG")
    assert (await validate_upload_async("a.png", data)).width == 8
    assert (await validate_mask_async("m.png", data, for_size=(8, 8))).height == 8
    with pytest.raises(UploadRejected):
        await validate_upload_async("a.png", b"")


# --------------------------------------------------------------------------- rejected


def test_empty_file() -> None:
    assert "empty" in rejection("a.png", b"")


def test_too_many_bytes_names_the_limit() -> None:
    data = png_header_only(100, 100) + b"\x00" * MAX_UPLOAD_BYTES
    message = rejection("big.png", data)
    assert "20 MB" in message and "20.0 MB" in message


def test_not_an_image() -> None:
    message = rejection("notes.png", b"hello, this is plain text pretending to be a png")
    assert "not an image" in message and "PNG, JPEG or WebP" in message


def test_svg_is_refused_with_the_export_hint() -> None:
    svg = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10"/>'
    assert "SVG is not supported: export a PNG" in rejection("logo.svg", svg)
    assert "SVG" in rejection("logo.png", b"  <svg width='1' height='1'></svg>")


def test_gif_is_refused() -> None:
    frames = [Image.new("P", (8, 8), i) for i in range(3)]
    data = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert "GIF" in rejection("anim.gif", data)
    assert "GIF" in rejection("still.gif", encoded(Image.new("P", (8, 8)), "GIF"))


def test_animated_png_is_refused() -> None:
    frames = [Image.new("RGB", (8, 8), c) for c in ("red", "blue")]
    data = encoded(frames[0], "PNG", save_all=True, append_images=frames[1:])
    assert "Animated" in rejection("anim.png", data)


def test_truncated_png_is_refused() -> None:
    noisy = Image.effect_noise((200, 200), 60).convert("RGB")
    data = encoded(noisy, "PNG")
    assert "damaged or incomplete" in rejection("cut.png", data[: len(data) // 2])


def test_corrupt_jpeg_is_refused() -> None:
    noisy = Image.effect_noise((200, 200), 60).convert("RGB")
    data = encoded(noisy, "JPEG")
    assert "damaged or incomplete" in rejection("cut.jpg", data[: len(data) // 3])


def test_png_with_a_broken_checksum_is_refused() -> None:
    data = bytearray(encoded(Image.new("RGB", (16, 16), "green"), "PNG"))
    data[29] ^= 0xFF  # inside the IHDR CRC
    assert "damaged or incomplete" in rejection("crc.png", bytes(data))


def test_decompression_bomb_is_refused_from_the_header() -> None:
    # 30000 x 30000 = 900 MP: Pillow's own bomb check fires while reading the header.
    assert "too large" in rejection("bomb.png", png_header_only(30_000, 30_000))


def test_image_over_our_pixel_limit_is_refused_before_decoding() -> None:
    width, height = 7000, MAX_UPLOAD_PIXELS // 7000 + 1
    message = rejection("huge.png", png_header_only(width, height))
    assert f"{width}x{height}" in message and "36 million pixels" in message


# --------------------------------------------------------------------------- masks


def mask_png(size: tuple[int, int] = (16, 16), hole: bool = True) -> bytes:
    mask = Image.new("RGBA", size, (0, 0, 0, 255))
    if hole:
        mask.paste((0, 0, 0, 0), (0, 0, size[0] // 2, size[1] // 2))
    return encoded(mask, "PNG")


def mask_rejection(data: bytes, for_size: tuple[int, int] | None = None) -> str:
    with pytest.raises(UploadRejected) as caught:
        validate_mask("mask.png", data, for_size=for_size)
    return caught.value.user_message


def test_good_mask_is_accepted() -> None:
    attachment = validate_mask("mask.png", mask_png(), for_size=(16, 16))
    assert (attachment.mime, attachment.width, attachment.height) == ("image/png", 16, 16)


def test_mask_must_be_png() -> None:
    data = encoded(Image.new("RGBA", (16, 16), (0, 0, 0, 0)), "WEBP", lossless=True)
    assert "must be a PNG" in mask_rejection(data)


def test_mask_needs_an_alpha_channel() -> None:
    assert "no alpha channel" in mask_rejection(encoded(Image.new("RGB", (16, 16)), "PNG"))


def test_mask_needs_a_transparent_pixel() -> None:
    assert "no fully transparent pixels" in mask_rejection(mask_png(hole=False))


def test_mask_size_must_match_and_the_message_gives_both() -> None:
    message = mask_rejection(mask_png((32, 16)), for_size=(1024, 1024))
    assert "32x16" in message and "1024x1024" in message


def test_mask_still_gets_the_upload_checks() -> None:
    assert "empty" in mask_rejection(b"")
    assert "too large" in mask_rejection(png_header_only(30_000, 30_000))


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("../../etc/passwd.png", "passwd.png"),
        ("C:\\Users\\me\\Desktop\\cat.png", "cat.png"),
        ("evil\x00name.png", "evilname.png"),
        ("line\nbreak\r\t.png", "linebreak.png"),
        ("..", "upload"),
        ("", "upload"),
        ("a..b.png", "a.b.png"),
        ("  spaced .png ", "spaced .png"),
    ],
)
def test_names_are_sanitised(raw: str, safe: str) -> None:
    assert sanitise_name(raw) == safe


def test_long_names_keep_their_extension() -> None:
    name = sanitise_name("x" * 500 + ".jpeg")
    assert len(name) == 120 and name.endswith(".jpeg")


def test_upload_carries_the_sanitised_name() -> None:
    data = encoded(Image.new("RGB", (4, 4)), "PNG")
    assert validate_upload("/tmp/../secret/photo.png", data).name == "photo.png"
