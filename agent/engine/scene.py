"""Scene composition: a deterministic, pleasant picture from the words of a prompt.

Shapes are drawn on a reduced "work" canvas (cheap, and the upscale softens polygon edges),
then the picture is resized to the requested size; grain and lettering are added at full
resolution so they stay crisp.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections.abc import Callable, Sequence

from PIL import Image, ImageChops, ImageDraw, ImageFilter

from agent.engine.lettering import Box, fit_text
from agent.engine.palette import RGB, Palette, mix

WORK_EDGE_MIN = 768
WORK_EDGE_MAX = 1280
_GRAIN_TILE = 256
_GRAIN_AMPLITUDE = 7

_QUOTE_RE = re.compile(r"\"([^\"]+)\"|“([^”]+)”|'([^']{2,})'(?![a-z])")


def quoted_texts(prompt: str) -> list[str]:
    """Text the prompt puts in quotes ("..." or “...” or '...'), stripped, in order."""
    found = []
    for match in _QUOTE_RE.finditer(prompt):
        text = next(g for g in match.groups() if g is not None).strip()
        if text:
            found.append(text)
    return found


def seed_for(prompt: str) -> int:
    """A stable seed from the prompt text (not Python's per-process salted hash)."""
    normal = " ".join(prompt.lower().split())
    return int.from_bytes(hashlib.sha256(normal.encode()).digest()[:8], "big")


def work_size(width: int, height: int) -> tuple[int, int]:
    """The reduced canvas size shapes are drawn at, keeping the aspect ratio."""
    long_edge = max(width, height)
    target = min(WORK_EDGE_MAX, max(WORK_EDGE_MIN, long_edge // 2))
    scale = target / long_edge
    return max(8, round(width * scale)), max(8, round(height * scale))


# --------------------------------------------------------------------------- backgrounds


def vertical_gradient(size: tuple[int, int], stops: Sequence[RGB]) -> Image.Image:
    """An RGB image whose colour runs top to bottom through ``stops`` evenly."""
    strip = Image.new("RGB", (1, 256))
    segments = len(stops) - 1
    pixels = []
    for y in range(256):
        t = y / 255 * segments
        index = min(int(t), segments - 1)
        pixels.append(mix(stops[index], stops[index + 1], t - index))
    strip.putdata(pixels)
    return strip.resize(size, Image.Resampling.BILINEAR)


def _glow(
    canvas: Image.Image, centre: tuple[float, float], radius: float, colour: RGB, strength: float
) -> None:
    """Add a soft circular glow (in place) by blurring a disc on a small mask."""
    w, h = canvas.size
    mask = Image.new("L", (w // 4 + 1, h // 4 + 1), 0)
    cx, cy, r = centre[0] / 4, centre[1] / 4, radius / 4
    ImageDraw.Draw(mask).ellipse((cx - r, cy - r, cx + r, cy + r), fill=int(255 * strength))
    mask = mask.filter(ImageFilter.GaussianBlur(r * 0.9)).resize((w, h), Image.Resampling.BILINEAR)
    canvas.paste(Image.new(canvas.mode, (w, h), colour), (0, 0), mask)


def _stars(draw: ImageDraw.ImageDraw, rng: random.Random, w: int, h: int, limit_y: float) -> None:
    for _ in range(int(w * h / 2500)):
        x, y = rng.uniform(0, w), rng.uniform(0, limit_y) ** 1.15 / max(1.0, limit_y) ** 0.15
        r = rng.choice((0.6, 0.8, 1.0, 1.4))
        shade = rng.randint(170, 255)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(shade, shade, min(255, shade + 20)))


def _ridge(
    rng: random.Random, w: int, base: float, amplitude: float, roughness: int
) -> list[tuple[float, float]]:
    """Points of a rolling ridgeline across the width (sum of a few seeded sines)."""
    waves = [
        (rng.uniform(0.6, 1.6) * (k + 1), rng.uniform(0, math.tau), amplitude / (k + 1) ** 1.2)
        for k in range(roughness)
    ]
    step = max(4, w // 96)
    points = []
    for x in range(-step, w + 2 * step, step):
        u = x / w * math.tau
        y = base - sum(a * (0.5 + 0.5 * math.sin(f * u + p)) for f, p, a in waves)
        points.append((float(x), y))
    return points


def _hills(
    draw: ImageDraw.ImageDraw,
    rng: random.Random,
    pal: Palette,
    w: int,
    h: int,
    horizon: float,
    layers: int = 3,
) -> list[list[tuple[float, float]]]:
    ridges = []
    for i in range(layers):
        t = i / max(1, layers - 1)
        base = horizon + (h - horizon) * (0.05 + 0.28 * t)
        ridge = _ridge(rng, w, base, h * (0.16 - 0.05 * t), 3)
        draw.polygon([*ridge, (w + 10, h + 10), (-10, h + 10)], fill=mix(pal.far, pal.near, t))
        ridges.append(ridge)
    return ridges


def _water(
    canvas: Image.Image,
    rng: random.Random,
    pal: Palette,
    horizon: float,
    sun: tuple[float, float] | None,
) -> None:
    w, h = canvas.size
    top = int(horizon)
    sea = vertical_gradient((w, h - top), [mix(pal.far, pal.sky_bottom, 0.4), pal.near])
    canvas.paste(sea, (0, top))
    draw = ImageDraw.Draw(canvas)
    highlight = mix(pal.sky_bottom, pal.sun, 0.5)
    for _ in range(int(h * 0.35)):
        y = rng.uniform(top + 2, h)
        depth = (y - top) / (h - top)
        length = w * rng.uniform(0.02, 0.07) * (0.4 + depth)
        x = rng.uniform(-length, w)
        colour = mix(highlight, pal.near, min(1.0, depth * 1.2))
        draw.line((x, y, x + length, y), fill=colour, width=max(1, int(depth * 3)))
    if sun is not None:
        for _ in range(int(h * 0.25)):
            y = rng.uniform(top + 1, h)
            depth = (y - top) / (h - top)
            spread = w * (0.02 + 0.08 * depth)
            x = sun[0] + rng.gauss(0, spread)
            length = w * rng.uniform(0.01, 0.05)
            draw.line(
                (x - length / 2, y, x + length / 2, y),
                fill=mix(pal.sun, highlight, depth),
                width=max(1, int(1 + depth * 2)),
            )


# --------------------------------------------------------------------------- subjects

Draw = ImageDraw.ImageDraw


def _lighthouse(draw: Draw, rng: random.Random, pal: Palette, box: Box) -> None:
    cx = (box.left + box.right) / 2
    rock = mix(pal.near, (20, 20, 28), 0.3)
    draw.polygon(
        [
            (box.left - box.width * 0.4, box.bottom),
            (box.left, box.bottom - box.height * 0.12),
            (box.right, box.bottom - box.height * 0.14),
            (box.right + box.width * 0.5, box.bottom),
        ],
        fill=rock,
    )
    base_y = box.bottom - box.height * 0.12
    top_y = box.top + box.height * 0.2
    bw, tw = box.width * 0.22, box.width * 0.14
    body = [(cx - bw, base_y), (cx - tw, top_y), (cx + tw, top_y), (cx + bw, base_y)]
    draw.polygon(body, fill=(244, 241, 232))
    stripes = 4
    for i in range(stripes):
        if i % 2 == 0:
            continue
        y0 = top_y + (base_y - top_y) * i / stripes
        y1 = top_y + (base_y - top_y) * (i + 1) / stripes
        w0 = tw + (bw - tw) * i / stripes
        w1 = tw + (bw - tw) * (i + 1) / stripes
        draw.polygon(
            [(cx - w0, y0), (cx + w0, y0), (cx + w1, y1), (cx - w1, y1)], fill=(196, 48, 43)
        )
    lamp_h = box.height * 0.1
    draw.rectangle((cx - tw * 1.25, top_y - 4, cx + tw * 1.25, top_y), fill=(40, 40, 46))
    draw.rectangle((cx - tw * 0.8, top_y - lamp_h, cx + tw * 0.8, top_y - 4), fill=(255, 226, 140))
    draw.polygon(
        [(cx - tw, top_y - lamp_h), (cx, top_y - lamp_h * 1.8), (cx + tw, top_y - lamp_h)],
        fill=(40, 40, 46),
    )


def _lighthouse_beam(canvas: Image.Image, rng: random.Random, box: Box) -> None:
    cx = (box.left + box.right) / 2
    y = box.top + box.height * 0.2 - box.height * 0.05
    w, h = canvas.size
    mask = Image.new("L", canvas.size, 0)
    side = 1 if cx < w / 2 else -1
    far_x = cx + side * w * 0.9
    ImageDraw.Draw(mask).polygon([(cx, y), (far_x, y - h * 0.16), (far_x, y + h * 0.06)], fill=70)
    mask = mask.filter(ImageFilter.GaussianBlur(max(2, w // 120)))
    canvas.paste(Image.new("RGB", canvas.size, (255, 236, 170)), (0, 0), mask)
    _glow(canvas, (cx, y), box.width * 0.5, (255, 230, 150), 0.8)


def _city(draw: Draw, rng: random.Random, pal: Palette, box: Box) -> None:
    x = float(box.left)
    body = mix(pal.near, pal.far, 0.25)
    lit = mix(pal.accent, (255, 240, 200), 0.4)
    while x < box.right:
        bw = box.width * rng.uniform(0.035, 0.08)
        bh = (
            box.height
            * rng.uniform(0.25, 1.0)
            * (1.0 - 0.5 * abs((x - box.left) / box.width - 0.5))
        )
        top = box.bottom - bh
        draw.rectangle((x, top, x + bw, box.bottom), fill=body)
        if rng.random() < 0.3:
            draw.rectangle((x + bw * 0.4, top - bh * 0.12, x + bw * 0.5, top), fill=body)
        win = max(2.0, bw / 7)
        wy = top + win
        while wy < box.bottom - win:
            wx = x + win * 0.8
            while wx < x + bw - win:
                if rng.random() < 0.38:
                    draw.rectangle((wx, wy, wx + win * 0.7, wy + win * 0.9), fill=lit)
                wx += win * 1.6
            wy += win * 2
        x += bw + box.width * rng.uniform(0.0, 0.012)


def _pine(draw: Draw, x: float, base: float, height: float, colour: RGB, trunk: RGB) -> None:
    width = height * 0.42
    draw.rectangle((x - width * 0.06, base - height * 0.15, x + width * 0.06, base), fill=trunk)
    for k in range(3):
        top = base - height + k * height * 0.22
        bottom = base - height * 0.12 - (2 - k) * height * 0.16
        half = width * (0.32 + 0.2 * k)
        draw.polygon([(x, top), (x + half, bottom), (x - half, bottom)], fill=colour)


def _trees(draw: Draw, rng: random.Random, pal: Palette, box: Box) -> None:
    count = rng.randint(5, 9)
    dark = mix(pal.near, (10, 20, 14), 0.3)
    for i in range(count):
        side = i % 2
        x = box.left + box.width * (rng.uniform(0.0, 0.28) if side == 0 else rng.uniform(0.72, 1.0))
        height = box.height * rng.uniform(0.45, 1.0)
        _pine(
            draw,
            x,
            box.bottom + box.height * 0.05,
            height,
            mix(dark, pal.far, rng.uniform(0, 0.3)),
            dark,
        )


def _cat(draw: Draw, rng: random.Random, pal: Palette, box: Box) -> None:
    """A sitting cat seen from behind, with a thin rim of light so it reads on dark ground."""
    rim = mix(pal.sun, pal.sky_bottom, 0.3)
    grow = max(2, box.width // 40)
    grown = Box(box.left - grow, box.top - grow, box.right + grow, box.bottom)
    _cat_shape(draw, grown, rim, tail_box=box, tail_extra=grow)
    _cat_shape(draw, box, mix(pal.near, (8, 8, 12), 0.55))


def _cat_shape(
    draw: Draw, box: Box, colour: RGB, tail_box: Box | None = None, tail_extra: int = 0
) -> None:
    cx = (box.left + box.right) / 2
    bw, bh = box.width, box.height
    draw.ellipse((cx - bw * 0.3, box.top + bh * 0.38, cx + bw * 0.3, box.bottom), fill=colour)
    head_r = bw * 0.2
    hy = box.top + bh * 0.3
    draw.ellipse((cx - head_r, hy - head_r, cx + head_r, hy + head_r), fill=colour)
    for s in (-1, 1):
        draw.polygon(
            [
                (cx + s * head_r * 0.95, hy - head_r * 0.1),
                (cx + s * head_r * 0.85, hy - head_r * 1.55),
                (cx + s * head_r * 0.2, hy - head_r * 0.8),
            ],
            fill=colour,
        )
    # A rim's tail follows the body's tail curve (tail_box), only thicker.
    tb = tail_box or box
    tail = [
        (
            cx + tb.width * 0.25 + tb.width * 0.3 * math.sin(t / 10 * math.pi / 1.3),
            tb.bottom - tb.height * 0.05 - tb.height * 0.35 * (t / 10) ** 1.5,
        )
        for t in range(11)
    ]
    bw = tb.width
    draw.line(tail, fill=colour, width=max(2, int(bw * 0.07)) + 2 * tail_extra, joint="curve")


def _rocket(canvas: Image.Image, rng: random.Random, pal: Palette, box: Box) -> None:
    w, h = box.width, box.height
    layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    cx = w / 2
    bw = w * 0.13
    top, bottom = h * 0.08, h * 0.62
    hull = (236, 236, 242, 255)
    trim = (*pal.accent, 255)
    # Flame first, tucked under the hull, so the body sits on top of its glow.
    for colour, spread, start, end in (
        ((255, 150, 60), 0.9, bottom - h * 0.06, h * 0.99),
        ((255, 236, 170), 0.45, bottom - h * 0.04, h * 0.8),
    ):
        flame = Image.new("L", (w, h), 0)
        ImageDraw.Draw(flame).ellipse((cx - bw * spread, start, cx + bw * spread, end), fill=255)
        glow = Image.new("RGBA", (w, h), (*colour, 0))
        glow.putalpha(flame.filter(ImageFilter.GaussianBlur(bw * 0.3)))
        layer.alpha_composite(glow)
    draw.polygon([(cx - bw, h * 0.3), (cx, top), (cx + bw, h * 0.3)], fill=trim)
    draw.rectangle((cx - bw, h * 0.3, cx + bw, bottom), fill=hull)
    for s in (-1, 1):
        draw.polygon(
            [
                (cx + s * bw, bottom - h * 0.14),
                (cx + s * bw * 2.1, bottom + h * 0.04),
                (cx + s * bw, bottom),
            ],
            fill=trim,
        )
    r = bw * 0.5
    draw.ellipse(
        (cx - r, h * 0.36 - r, cx + r, h * 0.36 + r),
        fill=(70, 120, 170, 255),
        outline=(200, 200, 210, 255),
        width=max(1, int(r / 4)),
    )
    angle = rng.uniform(-25, -10)
    # Rotate premultiplied so transparent pixels do not bleed black into the edges.
    turned = layer.convert("RGBa").rotate(angle, resample=Image.Resampling.BICUBIC).convert("RGBA")
    canvas.paste(turned, (box.left, box.top), turned)


def _cup(draw: Draw, rng: random.Random, pal: Palette, box: Box, table: bool) -> None:
    w, h = box.width, box.height
    cx = (box.left + box.right) / 2
    if table:
        wood = mix(pal.near, (110, 70, 40), 0.6)
        draw.rectangle((0, box.bottom - h * 0.12, 100_000, 100_000), fill=wood)
    ceramic = mix((246, 242, 234), pal.accent, 0.15)
    shade = mix(ceramic, pal.near, 0.3)
    saucer_y = box.bottom - h * 0.14
    draw.ellipse(
        (cx - w * 0.46, saucer_y - h * 0.07, cx + w * 0.46, saucer_y + h * 0.07), fill=shade
    )
    cup_top, cup_bottom = box.top + h * 0.3, saucer_y
    cw = w * 0.3
    draw.ellipse(
        (cx + cw * 0.7, cup_top + h * 0.08, cx + cw * 1.45, cup_top + h * 0.36),
        outline=ceramic,
        width=max(3, int(w * 0.05)),
    )
    draw.rounded_rectangle(
        (cx - cw, cup_top, cx + cw, cup_bottom), radius=int(cw * 0.45), fill=ceramic
    )
    draw.rectangle((cx - cw, cup_top, cx + cw, cup_top + cw * 0.3), fill=ceramic)
    draw.ellipse((cx - cw, cup_top - h * 0.04, cx + cw, cup_top + h * 0.04), fill=shade)
    draw.ellipse(
        (cx - cw * 0.86, cup_top - h * 0.028, cx + cw * 0.86, cup_top + h * 0.028),
        fill=(92, 54, 32),
    )
    draw.rectangle((cx - cw, cup_top + h * 0.22, cx + cw, cup_top + h * 0.27), fill=pal.accent)
    steam = mix((255, 255, 255), pal.sky_bottom, 0.3)
    for k in (-1, 0, 1):
        points = [
            (
                cx + k * cw * 0.45 + cw * 0.12 * math.sin(t * 0.9 + k),
                cup_top - h * 0.06 - t * h * 0.025,
            )
            for t in range(9)
        ]
        draw.line(points, fill=steam, width=max(2, int(w * 0.02)), joint="curve")


def _boat(draw: Draw, rng: random.Random, pal: Palette, box: Box) -> None:
    w, h = box.width, box.height
    hull = mix(pal.near, (20, 20, 30), 0.4)
    sail = mix((250, 246, 236), pal.sun, 0.25)
    draw.polygon(
        [
            (box.left, box.bottom - h * 0.2),
            (box.right, box.bottom - h * 0.2),
            (box.right - w * 0.15, box.bottom),
            (box.left + w * 0.12, box.bottom),
        ],
        fill=hull,
    )
    mast = box.left + w * 0.48
    draw.line((mast, box.bottom - h * 0.2, mast, box.top), fill=hull, width=max(1, w // 40))
    draw.polygon(
        [
            (mast + w * 0.03, box.top + h * 0.04),
            (mast + w * 0.03, box.bottom - h * 0.26),
            (box.right - w * 0.06, box.bottom - h * 0.26),
        ],
        fill=sail,
    )
    draw.polygon(
        [
            (mast - w * 0.03, box.top + h * 0.15),
            (mast - w * 0.03, box.bottom - h * 0.26),
            (box.left + w * 0.1, box.bottom - h * 0.26),
        ],
        fill=mix(sail, pal.accent, 0.35),
    )


def _house(draw: Draw, rng: random.Random, pal: Palette, box: Box) -> None:
    w, h = box.width, box.height
    wall = mix(pal.near, pal.far, 0.2)
    roof = mix(pal.near, (10, 10, 14), 0.35)
    draw.rectangle(
        (box.left + w * 0.1, box.top + h * 0.45, box.right - w * 0.1, box.bottom), fill=wall
    )
    draw.polygon(
        [
            (box.left, box.top + h * 0.48),
            ((box.left + box.right) / 2, box.top),
            (box.right, box.top + h * 0.48),
        ],
        fill=roof,
    )
    draw.rectangle(
        (box.right - w * 0.35, box.top + h * 0.08, box.right - w * 0.24, box.top + h * 0.3),
        fill=roof,
    )
    lamp = mix(pal.accent, (255, 226, 150), 0.5)
    draw.rectangle(
        (box.left + w * 0.25, box.top + h * 0.58, box.left + w * 0.42, box.top + h * 0.75),
        fill=lamp,
    )
    draw.rectangle(
        (box.left + w * 0.56, box.top + h * 0.6, box.left + w * 0.7, box.bottom), fill=roof
    )


def _birds(draw: Draw, rng: random.Random, pal: Palette, box: Box) -> None:
    colour = mix(pal.near, (0, 0, 0), 0.3)
    for _ in range(rng.randint(4, 8)):
        x = rng.uniform(box.left, box.right)
        y = rng.uniform(box.top, box.bottom)
        s = rng.uniform(0.012, 0.024) * box.width * 2
        draw.line(
            [
                (x - s, y - s * 0.35),
                (x - s * 0.45, y - s * 0.45),
                (x, y),
                (x + s * 0.45, y - s * 0.45),
                (x + s, y - s * 0.35),
            ],
            fill=colour,
            width=max(1, int(s / 6)),
            joint="curve",
        )


def _flowers(draw: Draw, rng: random.Random, pal: Palette, box: Box) -> None:
    petals = [pal.accent, mix(pal.accent, (255, 255, 255), 0.5), mix(pal.sun, pal.accent, 0.4)]
    stem = mix(pal.near, (40, 90, 50), 0.5)
    for _ in range(int(box.width / 14)):
        x = rng.uniform(box.left, box.right)
        y = rng.uniform(box.top, box.bottom)
        r = box.height * rng.uniform(0.04, 0.09) * (0.5 + (y - box.top) / box.height)
        draw.line((x, y, x + rng.uniform(-r, r), y + r * 4), fill=stem, width=max(1, int(r / 4)))
        colour = rng.choice(petals)
        for k in range(5):
            a = k / 5 * math.tau
            px, py = x + math.cos(a) * r * 0.7, y + math.sin(a) * r * 0.7
            draw.ellipse((px - r * 0.55, py - r * 0.55, px + r * 0.55, py + r * 0.55), fill=colour)
        draw.ellipse((x - r * 0.35, y - r * 0.35, x + r * 0.35, y + r * 0.35), fill=pal.sun)


def _emblem(draw: Draw, rng: random.Random, pal: Palette, box: Box, initials: str) -> None:
    cx, cy = (box.left + box.right) / 2, (box.top + box.bottom) / 2
    r = min(box.width, box.height) / 2
    ring = mix(pal.accent, (255, 255, 255), 0.1)
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=mix(pal.sky_top, pal.near, 0.4))
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=ring, width=max(2, int(r * 0.07)))
    sides = rng.choice((3, 4, 6, 8))
    turn = rng.uniform(0, math.tau / sides)
    inner = r * 0.62
    shape = [
        (
            cx + inner * math.cos(turn + k * math.tau / sides - math.pi / 2),
            cy + inner * math.sin(turn + k * math.tau / sides - math.pi / 2),
        )
        for k in range(sides)
    ]
    draw.polygon(shape, fill=mix(pal.accent, pal.sun, 0.3))
    dot = r * 0.24
    draw.ellipse((cx - dot, cy - dot, cx + dot, cy + dot), fill=mix(pal.sky_top, pal.near, 0.5))
    if initials:
        font, _ = fit_text(
            initials, Box(int(cx - dot), int(cy - dot), int(cx + dot), int(cy + dot))
        )
        draw.text((cx, cy), initials, font=font, fill=pal.sun, anchor="mm")


# --------------------------------------------------------------------------- composition


def add_grain(image: Image.Image, seed: int, amplitude: int = _GRAIN_AMPLITUDE) -> Image.Image:
    """Film grain from a seeded tile (deterministic), added to the colour channels."""
    rng = random.Random(seed)
    tile = Image.frombytes("L", (_GRAIN_TILE, _GRAIN_TILE), rng.randbytes(_GRAIN_TILE**2))
    tile = tile.point(lambda v: 128 + (v - 128) * amplitude // 128)
    noise = Image.new("L", image.size)
    for y in range(0, image.height, _GRAIN_TILE):
        for x in range(0, image.width, _GRAIN_TILE):
            noise.paste(tile, (x, y))
    bands = image.split()
    grained = [ImageChops.add(band, noise, 1.0, -128) for band in bands[:3]]
    return Image.merge(image.mode, [*grained, *bands[3:]])


def _seagull(draw: Draw, rng: random.Random, pal: Palette, box: Box) -> None:
    """One gull in flight, wings spread across the box."""
    colour = mix(pal.near, (0, 0, 0), 0.35)
    x, y, s = (box.left + box.right) / 2, box.top + box.height * 0.7, box.width / 2
    draw.line(
        [
            (x - s, y - s * 0.3),
            (x - s * 0.45, y - s * 0.5),
            (x, y),
            (x + s * 0.45, y - s * 0.5),
            (x + s, y - s * 0.3),
        ],
        fill=colour,
        width=max(2, int(s / 7)),
        joint="curve",
    )


def _clouds(draw: Draw, rng: random.Random, pal: Palette, box: Box) -> None:
    """A soft bank of cloud puffs filling the box."""
    colour = mix((255, 255, 255), pal.sky_bottom, 0.25)
    w, h = box.width, box.height
    for k in range(5):
        cx = box.left + w * (0.15 + 0.7 * k / 4) + rng.uniform(-0.05, 0.05) * w
        r = h * rng.uniform(0.35, 0.55) * (1.2 if k in (1, 2, 3) else 0.9)
        cy = box.bottom - r
        draw.ellipse((cx - r * 1.3, cy - r, cx + r * 1.3, cy + r), fill=colour)
    draw.rectangle(
        (box.left + w * 0.08, box.bottom - h * 0.35, box.right - w * 0.08, box.bottom), fill=colour
    )


def _sun(draw: Draw, rng: random.Random, pal: Palette, box: Box) -> None:
    draw.ellipse((box.left, box.top, box.right, box.bottom), fill=pal.sun)


def _moon(draw: Draw, rng: random.Random, pal: Palette, box: Box) -> None:
    draw.ellipse((box.left, box.top, box.right, box.bottom), fill=pal.sun)
    r = box.width / 2
    cx, cy = box.left + r, box.top + r
    crater = mix(pal.sun, pal.sky_top, 0.14)
    for _ in range(4):
        x, y = cx + rng.uniform(-0.5, 0.5) * r, cy + rng.uniform(-0.5, 0.5) * r
        cr = r * rng.uniform(0.1, 0.22)
        draw.ellipse((x - cr, y - cr, x + cr, y + cr), fill=crater)


def _mountain_range(draw: Draw, rng: random.Random, pal: Palette, box: Box) -> None:
    w = box.width
    count = rng.randint(3, 5)
    light = mix(pal.far, pal.sky_bottom, 0.35)
    shade = mix(pal.far, pal.near, 0.35)
    snow = mix((250, 250, 255), pal.sky_bottom, 0.15)
    base = box.bottom
    for i in range(count):
        cx = box.left + w * (i + rng.uniform(0.2, 0.8)) / count
        peak = box.top + box.height * rng.uniform(0.0, 0.45)
        half = w * rng.uniform(0.16, 0.28)
        draw.polygon([(cx - half, base), (cx, peak), (cx, base)], fill=light)
        draw.polygon([(cx, peak), (cx + half, base), (cx, base)], fill=shade)
        cap = 0.24
        left = (cx - half * cap, peak + (base - peak) * cap)
        right = (cx + half * cap, peak + (base - peak) * cap)
        draw.polygon([left, (cx, peak), right], fill=snow)


def _stars_in(draw: Draw, rng: random.Random, pal: Palette, box: Box) -> None:
    _stars(draw, rng, box.width, box.height, box.bottom)


def _cup_alone(draw: Draw, rng: random.Random, pal: Palette, box: Box) -> None:
    _cup(draw, rng, pal, box, table=False)


def _emblem_plain(draw: Draw, rng: random.Random, pal: Palette, box: Box) -> None:
    _emblem(draw, rng, pal, box, "")


_BY_DRAW: dict[str, Callable[[Draw, random.Random, Palette, Box], None]] = {
    "stars": _stars_in,
    "sun": _sun,
    "moon": _moon,
    "clouds": _clouds,
    "mountains": _mountain_range,
    "city": _city,
    "lighthouse": _lighthouse,
    "house": _house,
    "boat": _boat,
    "trees": _trees,
    "cat": _cat,
    "cup": _cup_alone,
    "flowers": _flowers,
    "birds": _birds,
    "seagull": _seagull,
    "emblem": _emblem_plain,
}


def draw_element(
    layer: Image.Image, kind: str, rng: random.Random, pal: Palette, box: Box, initials: str = ""
) -> None:
    """Draw one element of ``kind`` into ``box`` on ``layer`` (an RGBA layer of its own);
    an emblem carries ``initials``."""
    if kind == "emblem" and initials:
        _emblem(ImageDraw.Draw(layer), rng, pal, box, initials)
    elif kind == "rocket":
        _rocket(layer, rng, pal, box)
    else:
        _BY_DRAW[kind](ImageDraw.Draw(layer), rng, pal, box)


def glow(canvas: Image.Image, centre: tuple[float, float], radius: float, colour: RGB) -> None:
    """A soft light around ``centre`` (sun, moon, lamps), painted on ``canvas`` in place."""
    _glow(canvas, centre, radius, colour, 0.55)


def lighthouse_beam(canvas: Image.Image, box: Box) -> None:
    """The lighthouse's beam and lamp glow, painted on ``canvas`` behind the tower."""
    _lighthouse_beam(canvas, random.Random(0), box)


def hills(canvas: Image.Image, seed: int, pal: Palette, horizon: float) -> None:
    """Rolling hills from ``horizon`` (pixels) down, painted on ``canvas`` in place."""
    w, h = canvas.size
    _hills(ImageDraw.Draw(canvas), random.Random(seed), pal, w, h, horizon)


def water(
    canvas: Image.Image, seed: int, pal: Palette, horizon: float, light: tuple[float, float] | None
) -> None:
    """Sea from ``horizon`` (pixels) down, with the light's reflection, on ``canvas``."""
    _water(canvas, random.Random(seed), pal, horizon, light)


"""How to draw each element kind into its box (on the element's own RGBA layer)."""
