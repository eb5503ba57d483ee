"""Small measurements on pictures, shared by the renderer tests."""

from __future__ import annotations

from typing import Any

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


Box = tuple[int, int, int, int]


def meta_of(image: Image.Image) -> dict[str, Any]:
    """The scene metadata an engine picture carries (fails the test when it has none)."""
    from agent.engine.codec import scene_meta

    meta = scene_meta(image)
    assert meta is not None, "the engine's picture should carry its scene"
    return meta


def boxes_of(image: Image.Image) -> dict[str, Box]:
    """Element boxes (left, top, right, bottom) from the picture's metadata."""
    return {k: (v[0], v[1], v[2], v[3]) for k, v in meta_of(image)["boxes"].items()}


def text_of(image: Image.Image) -> dict[str, dict[str, Any]]:
    """Laid-out text (role -> text, size, box) from the picture's metadata."""
    found: dict[str, dict[str, Any]] = meta_of(image)["text"]
    return found


def union(a: Box | None, b: Box | None) -> Box:
    boxes = [x for x in (a, b) if x is not None]
    assert boxes, "no box to compare"
    return (
        min(x[0] for x in boxes),
        min(x[1] for x in boxes),
        max(x[2] for x in boxes),
        max(x[3] for x in boxes),
    )


def grow(box: Box, by: float, size: tuple[int, int]) -> Box:
    """``box`` grown on every side by ``by`` times its own size, clipped to ``size``."""
    dx, dy = (box[2] - box[0]) * by, (box[3] - box[1]) * by
    return (
        max(0, int(box[0] - dx)),
        max(0, int(box[1] - dy)),
        min(size[0], int(box[2] + dx)),
        min(size[1], int(box[3] + dy)),
    )


def changed_mask(a: Image.Image, b: Image.Image, threshold: int = 10) -> Image.Image:
    """An L mask: 255 where the two pictures differ visibly."""
    diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB")).convert("L")
    return diff.point(lambda v: 255 if v > threshold else 0)


def changed_share(mask: Image.Image, box: Box | None = None) -> float:
    """The share of changed pixels (in ``box`` when given)."""
    region = mask.crop(box) if box else mask
    hist = region.histogram()
    total = sum(hist)
    return hist[255] / total if total else 0.0


def changed_outside(mask: Image.Image, allowed: list[Box]) -> float:
    """The share of all pixels that changed outside every ``allowed`` box."""
    outside = mask.copy()
    for box in allowed:
        outside.paste(0, box)
    return changed_share(outside)


def intersects(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
