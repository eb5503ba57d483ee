"""Small measurements on pictures, shared by the renderer tests."""

from __future__ import annotations

from PIL import Image, ImageChops, ImageFilter, ImageStat


def means(image: Image.Image) -> list[float]:
    """Mean of each RGB channel."""
    return list(ImageStat.Stat(image.convert("RGB")).mean)


def brightness(image: Image.Image) -> float:
    return float(ImageStat.Stat(image.convert("L")).mean[0])


def spread(image: Image.Image) -> float:
    return float(ImageStat.Stat(image.convert("L")).stddev[0])


def saturation(image: Image.Image) -> float:
    return float(ImageStat.Stat(image.convert("RGB").convert("HSV").getchannel("S")).mean[0])


def edge_energy(image: Image.Image) -> float:
    return float(ImageStat.Stat(image.convert("L").filter(ImageFilter.FIND_EDGES)).mean[0])


def changed_box(a: Image.Image, b: Image.Image) -> tuple[int, int, int, int] | None:
    """Bounding box of the pixels that differ (None when identical)."""
    return ImageChops.difference(a.convert("RGBA"), b.convert("RGBA")).getbbox(alpha_only=False)
