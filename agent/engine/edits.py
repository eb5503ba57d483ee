"""Applying edit operations to an existing picture with real Pillow operations."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from PIL import Image, ImageChops, ImageDraw, ImageEnhance, ImageFilter, ImageOps, ImageStat

from agent.engine.edit_ops import EditOp
from agent.engine.lettering import Box, draw_text
from agent.engine.palette import RGB
from agent.engine.scene import add_grain

MAX_EDGE = 3840
MAX_PIXELS = 8_294_400
MAX_RATIO = 3.0
_GEOMETRY = frozenset({"wider", "taller", "square", "resize", "border", "portrait", "landscape"})


# --------------------------------------------------------------------------- helpers


def _rgb_and_alpha(image: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    if image.mode == "RGBA":
        return image.convert("RGB"), image.getchannel("A")
    if image.mode in ("LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        return rgba.convert("RGB"), rgba.getchannel("A")
    return (image if image.mode == "RGB" else image.convert("RGB")), None


def _with_alpha(rgb: Image.Image, alpha: Image.Image | None) -> Image.Image:
    if alpha is None:
        return rgb
    out = rgb.copy()
    out.putalpha(alpha.resize(rgb.size) if alpha.size != rgb.size else alpha)
    return out


def _curve(image: Image.Image, curves: Sequence[Callable[[int], float]]) -> Image.Image:
    """Apply one tone curve per RGB channel through a lookup table."""
    table: list[int] = []
    for curve in curves:
        table.extend(max(0, min(255, round(curve(v)))) for v in range(256))
    return image.point(table)


def round16(value: float) -> int:
    """Nearest multiple of 16, at least 16."""
    return max(16, round(value / 16) * 16)


def _fit_limits(width: float, height: float) -> tuple[int, int]:
    """Scale a size down into the gpt-image-2 limits (edge, pixels), multiples of 16."""
    scale = min(1.0, MAX_EDGE / max(width, height), math.sqrt(MAX_PIXELS / (width * height)))
    w, h = round16(width * scale), round16(height * scale)
    while w * h > MAX_PIXELS or max(w, h) > MAX_EDGE:
        w, h = (w - 16, h) if w >= h else (w, h - 16)
    return w, h


def aspect_size(size: tuple[int, int], kind: str, amount: float = 1.0) -> tuple[int, int]:
    """The new size for a "wider", "taller" or "square" request on a picture of ``size``."""
    w, h = size
    if kind == "portrait":
        return _fit_limits(min(w, h), max(w, h) * (1.5 if w == h else 1.0))
    if kind == "landscape":
        return _fit_limits(max(w, h) * (1.5 if w == h else 1.0), min(w, h))
    if kind == "square":
        side = math.sqrt(w * h)
        return _fit_limits(side, side)
    factor = 1.0 + 0.5 * amount
    ratio = (w / h) * factor if kind == "wider" else (w / h) / factor
    ratio = max(1 / MAX_RATIO, min(MAX_RATIO, ratio))
    if kind == "wider":
        return _fit_limits(h * ratio, h)
    return _fit_limits(w, w / ratio)


def edited_size(size: tuple[int, int], ops: Sequence[EditOp]) -> tuple[int, int]:
    """The size ``apply_edits`` produces for a source of ``size`` (before any size override)."""
    for op in ops:
        if op.kind == "resize" and op.size is not None:
            size = op.size
        elif op.kind in ("wider", "taller", "square", "portrait", "landscape"):
            size = aspect_size(size, op.kind, op.amount)
    return size


def cover_resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Scale to cover ``size`` then crop the centre: nothing is stretched."""
    return ImageOps.fit(image, size, Image.Resampling.LANCZOS, centering=(0.5, 0.5))


def extend_canvas(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Grow to a new aspect keeping the picture centred and whole. The new margins continue
    the picture's edges (edge strips stretched outwards, then blurred), so horizons and sky
    gradients run on without duplicating any subject; the seam is feathered."""
    tw, th = size
    scale = min(tw / image.width, th / image.height)
    inner = image.resize(
        (max(1, round(image.width * scale)), max(1, round(image.height * scale))),
        Image.Resampling.LANCZOS,
    )
    if inner.size == size:
        return inner
    iw, ih = inner.size
    x, y = (tw - iw) // 2, (th - ih) // 2
    canvas = Image.new(inner.mode, size)
    canvas.paste(inner, (x, y))
    if x > 0 or tw > x + iw:
        strip = max(2, iw // 40)
        left = inner.crop((0, 0, strip, ih)).resize((max(1, x), ih), Image.Resampling.BILINEAR)
        right_w = tw - x - iw
        right = inner.crop((iw - strip, 0, iw, ih)).resize(
            (max(1, right_w), ih), Image.Resampling.BILINEAR
        )
        canvas.paste(ImageOps.mirror(left), (0, y))
        canvas.paste(ImageOps.mirror(right), (x + iw, y))
    if y > 0 or th > y + ih:
        strip = max(2, ih // 40)
        top = canvas.crop((0, y, tw, y + strip)).resize((tw, max(1, y)), Image.Resampling.BILINEAR)
        bottom_h = th - y - ih
        bottom = canvas.crop((0, y + ih - strip, tw, y + ih)).resize(
            (tw, max(1, bottom_h)), Image.Resampling.BILINEAR
        )
        canvas.paste(ImageOps.flip(top), (0, 0))
        canvas.paste(ImageOps.flip(bottom), (0, y + ih))
    small = canvas.reduce(4) if min(canvas.size) >= 64 else canvas
    blurred = small.filter(ImageFilter.GaussianBlur(max(2.0, min(small.size) / 60)))
    background = blurred.resize(size, Image.Resampling.BILINEAR)
    background = add_grain(background, tw * 31 + th)
    seam = max(2, min(iw, ih) // 24)
    fade = Image.new("L", inner.size, 255)
    draw = ImageDraw.Draw(fade)
    for k in range(seam):
        value = round(255 * (k + 1) / (seam + 1))
        box = (
            k if x > 0 else -1,
            k if y > 0 else -1,
            iw - 1 - k if x > 0 else iw,
            ih - 1 - k if y > 0 else ih,
        )
        draw.rectangle(box, outline=value)
    background.paste(inner, (x, y), fade)
    return background


# --------------------------------------------------------------------------- tone


def _warmer(image: Image.Image, amount: float) -> Image.Image:
    k = 0.1 * amount
    return _curve(
        image,
        (lambda v: v * (1 + k) + 6 * amount, lambda v: v * (1 + k / 4), lambda v: v * (1 - k)),
    )


def _cooler(image: Image.Image, amount: float) -> Image.Image:
    k = 0.1 * amount
    return _curve(
        image,
        (lambda v: v * (1 - k), lambda v: v * (1 + k / 6), lambda v: v * (1 + k) + 6 * amount),
    )


def _gamma(image: Image.Image, gamma: float) -> Image.Image:
    def curve(v: int) -> float:
        return 255 * float((v / 255) ** gamma)

    return _curve(image, (curve, curve, curve))


def _grayscale(image: Image.Image, amount: float) -> Image.Image:
    gray = ImageOps.grayscale(image).convert("RGB")
    return gray if amount >= 1 else Image.blend(image, gray, amount)


def _vintage(image: Image.Image, amount: float) -> Image.Image:
    strength = min(1.0, 0.55 * amount + 0.2)
    sepia = ImageOps.colorize(
        ImageOps.grayscale(image), (46, 30, 16), (250, 236, 204), (166, 128, 92)
    )
    toned = Image.blend(image, sepia, strength)
    toned = ImageEnhance.Contrast(toned).enhance(1 - 0.12 * amount)
    vignette = Image.radial_gradient("L").resize(image.size, Image.Resampling.BILINEAR)
    vignette = vignette.point(lambda v: int(max(0, v - 90) * 0.9 * min(1.0, amount)))
    toned.paste(Image.new("RGB", image.size, (30, 20, 12)), (0, 0), vignette)
    return toned


def _soften(image: Image.Image, amount: float) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(0.5 + amount * max(image.size) / 500))


def _sharpen(image: Image.Image, amount: float) -> Image.Image:
    radius = max(1.0, max(image.size) / 800)
    return image.filter(ImageFilter.UnsharpMask(radius, int(40 + 90 * amount), 2))


_TONE: dict[str, Callable[[Image.Image, float], Image.Image]] = {
    "warmer": _warmer,
    "cooler": _cooler,
    "brighter": lambda im, a: _gamma(im, 1 / (1 + 0.35 * a)),
    "darker": lambda im, a: _gamma(im, 1 + 0.35 * a),
    "grayscale": _grayscale,
    "contrast": lambda im, a: ImageEnhance.Contrast(im).enhance(1 + 0.35 * a),
    "flatten": lambda im, a: ImageEnhance.Contrast(im).enhance(max(0.2, 1 - 0.3 * a)),
    "saturate": lambda im, a: ImageEnhance.Color(im).enhance(1 + 0.45 * a),
    "mute": lambda im, a: ImageEnhance.Color(im).enhance(max(0.0, 1 - 0.4 * a)),
    "soften": _soften,
    "sharpen": _sharpen,
    "vintage": _vintage,
}


# --------------------------------------------------------------------------- text


def _ink_for(image: Image.Image, box: Box) -> RGB:
    region = image.crop((box.left, box.top, box.right, box.bottom))
    mean = ImageStat.Stat(region.convert("L")).mean[0]
    return (250, 247, 240) if mean < 150 else (26, 24, 32)


def _add_text(image: Image.Image, text: str, area: Box | None) -> Image.Image:
    w, h = image.size
    box = area or Box(int(w * 0.1), int(h * 0.76), int(w * 0.9), int(h * 0.92))
    out = image.copy()
    draw_text(out, text, box, _ink_for(image, box))
    return out


def _text_bands(image: Image.Image) -> list[Box]:
    """Boxes around lettering: runs of rows, in the top or bottom 40%, crossed by many sharp
    left-right changes (text strokes) — many more than the picture's typical row."""
    w, h = image.size
    factor = max(1, min(w, h) // 256)
    gray = ImageOps.grayscale(image).reduce(factor)  # box filter: film grain averages out
    sw, sh = gray.size
    shifted = gray.transform(gray.size, Image.Transform.AFFINE, (1, 0, 1, 0, 1, 0))
    strokes = ImageChops.difference(gray, shifted).point(lambda v: 255 if v > 28 else 0)
    strokes = strokes.crop((0, 0, sw - 1, sh))
    data = strokes.tobytes()
    row_width = sw - 1
    rows = [data[y * row_width : (y + 1) * row_width].count(255) for y in range(sh)]
    typical = sorted(rows)[len(rows) // 2]
    threshold = max(row_width * 0.06, typical * 4, 6)
    hot = [r > threshold and not 0.4 * sh <= y <= 0.6 * sh for y, r in enumerate(rows)]
    boxes: list[Box] = []
    y = 0
    while y < sh:
        if not hot[y]:
            y += 1
            continue
        start = y
        while y < sh and (hot[y] or any(hot[y : y + 3])):
            y += 1
        if y - start < 3:
            continue
        bbox = strokes.crop((0, start, row_width, y)).getbbox()
        if bbox is None:
            continue
        margin = (y - start) * 0.5 + 3
        boxes.append(
            Box(
                max(0, int((bbox[0] - margin) * factor)),
                max(0, int((start - margin) * factor)),
                min(w, int((bbox[2] + margin) * factor)),
                min(h, int((y + margin) * factor)),
            )
        )
    return boxes


def _fill_box(image: Image.Image, box: Box) -> None:
    """Paint over ``box`` (in place) with a smooth blend of the rows just above and below it;
    the fill covers the whole box and fades out over a margin around it."""
    w, h = image.size
    edge = max(2, min(box.width, box.height) // 6)
    outer = Box(
        max(0, box.left - edge),
        max(0, box.top - edge),
        min(w, box.right + edge),
        min(h, box.bottom + edge),
    )
    strip = Image.new("RGB", (outer.width, 2))
    band = 4  # average a few rows so a single star or lamp does not streak the fill
    for row, y in ((0, max(0, outer.top - band)), (1, min(h - band, outer.bottom))):
        line = image.crop((outer.left, max(0, y), outer.right, max(0, y) + band))
        line = line.resize((max(1, outer.width // 24), 1), Image.Resampling.BOX)
        strip.paste(line.resize((outer.width, 1), Image.Resampling.BILINEAR), (0, row))
    fill = strip.resize((outer.width, outer.height), Image.Resampling.BILINEAR)
    fill = add_grain(fill, box.top)
    feather = Image.new("L", (outer.width, outer.height), 0)
    ImageDraw.Draw(feather).rectangle(
        (
            box.left - outer.left,
            box.top - outer.top,
            box.right - outer.left,
            box.bottom - outer.top,
        ),
        fill=255,
    )
    feather = feather.filter(ImageFilter.BoxBlur(edge / 2))
    # The box itself is always fully covered; only the margin blends.
    feather.paste(
        255,
        (
            box.left - outer.left,
            box.top - outer.top,
            box.right - outer.left,
            box.bottom - outer.top,
        ),
    )
    image.paste(fill, (outer.left, outer.top), feather)


def _remove_text(image: Image.Image, area: Box | None) -> Image.Image:
    out = image.copy()
    boxes = [area] if area is not None else _text_bands(image)
    for box in boxes:
        if box.width > 0 and box.height > 0:
            _fill_box(out, box)
    return out


# --------------------------------------------------------------------------- geometry


def _border(image: Image.Image, amount: float) -> Image.Image:
    w, h = image.size
    t = max(4, round(min(w, h) * 0.045 * amount))
    rgb, _ = _rgb_and_alpha(image)
    light = ImageStat.Stat(rgb.convert("L")).mean[0] < 170
    mat: RGB = (246, 242, 234) if light else (28, 26, 32)
    frame = Image.new(image.mode, (w, h), (*mat, 255) if image.mode == "RGBA" else mat)
    inner = image.resize((max(1, w - 2 * t), max(1, h - 2 * t)), Image.Resampling.LANCZOS)
    frame.paste(inner, (t, t))
    line = max(1, t // 6)
    rule: RGB = (120, 112, 100) if light else (150, 146, 140)
    ImageDraw.Draw(frame).rectangle(
        (t - 2 * line, t - 2 * line, w - t + 2 * line - 1, h - t + 2 * line - 1),
        outline=(*rule, 255) if image.mode == "RGBA" else rule,
        width=line,
    )
    return frame


def _geometry(image: Image.Image, op: EditOp) -> Image.Image:
    if op.kind == "border":
        return _border(image, op.amount)
    if op.kind == "resize" and op.size is not None:
        return cover_resize(image, op.size) if op.size != image.size else image
    if op.kind in ("wider", "taller", "portrait", "landscape"):
        return extend_canvas(image, aspect_size(image.size, op.kind, op.amount))
    if op.kind == "square":
        return cover_resize(image, aspect_size(image.size, "square"))
    return image


# --------------------------------------------------------------------------- palette transfer


def palette_transfer(
    image: Image.Image, references: Sequence[Image.Image], strength: float = 0.6
) -> Image.Image:
    """Move the colour mean and spread of ``image`` towards the references', per channel."""
    if not references:
        return image
    stats = [ImageStat.Stat(_thumb(ref)) for ref in references]
    target_mean = [sum(s.mean[c] for s in stats) / len(stats) for c in range(3)]
    target_sd = [sum(s.stddev[c] for s in stats) / len(stats) for c in range(3)]
    own = ImageStat.Stat(_thumb(image))
    curves = []
    for c in range(3):
        ratio = max(0.5, min(2.0, (target_sd[c] + 1) / (own.stddev[c] + 1)))
        mean_s, mean_t = own.mean[c], target_mean[c]

        def curve(
            v: int, ratio: float = ratio, mean_s: float = mean_s, mean_t: float = mean_t
        ) -> float:
            return v + strength * ((v - mean_s) * ratio + mean_t - v)

        curves.append(curve)
    return _curve(image, curves)


def _thumb(image: Image.Image) -> Image.Image:
    rgb, _ = _rgb_and_alpha(image)
    small = rgb.copy()
    small.thumbnail((96, 96), Image.Resampling.BILINEAR)
    return small


# --------------------------------------------------------------------------- entry point


def _edit_area(mask: Image.Image | None, size: tuple[int, int]) -> Image.Image | None:
    """The weight of the edit per pixel (255 = edit) from an OpenAI-style mask, or None."""
    if mask is None:
        return None
    alpha = mask.getchannel("A") if "A" in mask.getbands() else mask.convert("L")
    if alpha.size != size:
        alpha = alpha.resize(size, Image.Resampling.NEAREST)
    return ImageOps.invert(alpha)


def apply_edits(
    source: Image.Image,
    ops: Sequence[EditOp],
    *,
    mask: Image.Image | None = None,
    size: tuple[int, int] | None = None,
    references: Sequence[Image.Image] = (),
) -> Image.Image:
    """Change ``source`` by ``ops`` in order; returns a new image (the source is untouched).

    With ``mask`` (transparent = edit), pixels where the mask is opaque stay identical for
    the tone, text and reference steps; size changes come after those. ``references`` move the
    palette towards the uploaded pictures; ``size`` ends with a cover-resize to that size.
    """
    rgb, alpha = _rgb_and_alpha(source)
    area = _edit_area(mask, rgb.size)
    area_box: Box | None = None
    if area is not None:
        bbox = area.getbbox()
        if bbox is not None:
            area_box = Box(*bbox)
    untouched = rgb
    pending_geometry: list[EditOp] = []
    image = rgb
    for op in ops:
        if op.kind in _GEOMETRY:
            if area is not None:
                pending_geometry.append(op)
                continue
            image, alpha = _split_geometry(image, alpha, op)
            untouched = image
            continue
        image = _tone_or_text(image, op, area_box)
    image = palette_transfer(image, references)
    if area is not None:
        image = Image.composite(image, untouched, area)
    for op in pending_geometry:
        image, alpha = _split_geometry(image, alpha, op)
    out = _with_alpha(image, alpha)
    if size is not None and out.size != size:
        out = cover_resize(out, size)
    return out


def _split_geometry(
    image: Image.Image, alpha: Image.Image | None, op: EditOp
) -> tuple[Image.Image, Image.Image | None]:
    changed = _geometry(_with_alpha(image, alpha), op)
    return _rgb_and_alpha(changed)


def _tone_or_text(image: Image.Image, op: EditOp, area_box: Box | None) -> Image.Image:
    if op.kind in _TONE:
        return _TONE[op.kind](image, op.amount)
    if op.kind == "add_text" and op.text:
        return _add_text(image, op.text, area_box)
    if op.kind == "remove_text":
        return _remove_text(image, area_box)
    return image
