"""Drawing a ``Scene``: sky, ground, named elements, style, tone, then the lettering.

Each element is drawn on its own transparent layer, so its real pixel box is known (and
reported), a recolour tints only it, and a removed element leaves exactly the picture
behind it. Every random choice is seeded from the scene and the element, never shared: an
edit to one element leaves the others' pixels alone.

The finished image carries its scene and measured boxes as JSON in ``image.info``
(``SCENE_KEY``); ``codec.encode_image`` writes that into the file.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, replace

from PIL import Image, ImageChops, ImageDraw, ImageEnhance, ImageFilter, ImageOps, ImageStat

from agent.engine import scene as art
from agent.engine.edit_ops import EditOp
from agent.engine.edits import apply_edits
from agent.engine.lettering import Box, Lettered, layout_text, letter
from agent.engine.palette import PALETTES, RGB, Palette, luminance, mix, rgb_of
from agent.engine.scene_model import KINDS, SCENE_KEY, Element, Scene

WORK_EDGE_LIMIT = 2400
_PAPER: RGB = (248, 244, 234)


@dataclass(frozen=True)
class Drawn:
    """A finished picture, the pixel boxes of its elements and its laid-out text."""

    image: Image.Image
    boxes: dict[str, Box]
    text: dict[str, Lettered]


def palette_of(scene: Scene) -> Palette:
    """The scene's palette with the user's sky and accent colours applied."""
    pal = PALETTES[scene.palette]
    if scene.accent:
        pal = replace(pal, accent=rgb_of(scene.accent))
    return pal


def min_font(height: int) -> int:
    """The smallest lettering the renderer will use on a picture ``height`` pixels tall."""
    return max(12, round(height * 0.022))


def draw(scene: Scene, width: int, height: int, *, transparent: bool = False) -> Drawn:
    """Draw ``scene`` at exactly ``width`` x ``height`` (RGBA when ``transparent``)."""
    if width < 1 or height < 1:
        raise ValueError(f"Image size must be positive, got {width}x{height}.")
    pal = palette_of(scene)
    boxes: dict[str, Box] = {}
    if scene.layout == "diagram":
        image, text_area = _diagram(scene, width, height, boxes)
    elif scene.layout == "poster" and not transparent:
        image, text_area = _poster(scene, pal, width, height, boxes)
    elif scene.layout == "logo" or transparent:
        image, text_area = _card(scene, pal, width, height, boxes, transparent)
    else:
        image = _picture(scene, pal, width, height, boxes)
        text_area = Box(int(width * 0.08), int(height * 0.05), int(width * 0.92), height)
    image = _tone(image, scene)
    text = _letter(image, scene, text_area, pal)
    meta = {
        "scene": asdict(scene),
        "boxes": {k: [b.left, b.top, b.right, b.bottom] for k, b in boxes.items()},
        "text": {
            role: {
                "text": t.text,
                "size": t.size,
                "box": [t.ink.left, t.ink.top, t.ink.right, t.ink.bottom],
            }
            for role, t in text.items()
        },
    }
    image.info[SCENE_KEY] = json.dumps(meta, separators=(",", ":"))
    return Drawn(image, boxes, text)


# --------------------------------------------------------------------------- layouts


def _picture(
    scene: Scene, pal: Palette, width: int, height: int, boxes: dict[str, Box]
) -> Image.Image:
    """The landscape: drawn on a work canvas covering the whole scene, cropped to the view."""
    vx0, vy0, vx1, vy1 = scene.view
    full_w, full_h = width / max(0.05, vx1 - vx0), height / max(0.05, vy1 - vy0)
    ww, wh = art.work_size(round(full_w), round(full_h))
    grow = min(1 / max(0.05, vx1 - vx0), WORK_EDGE_LIMIT / max(ww, wh))
    if grow > 1:
        ww, wh = round(ww * grow), round(wh * grow)
    work_boxes: dict[str, Box] = {}
    canvas = _landscape(scene, pal, (ww, wh), work_boxes)
    crop = (round(vx0 * ww), round(vy0 * wh), round(vx1 * ww), round(vy1 * wh))
    view = canvas.crop(crop).resize((width, height), Image.Resampling.LANCZOS)
    sx, sy = width / max(1, crop[2] - crop[0]), height / max(1, crop[3] - crop[1])
    for name, b in work_boxes.items():
        moved = Box(
            max(0, round((b.left - crop[0]) * sx)),
            max(0, round((b.top - crop[1]) * sy)),
            min(width, round((b.right - crop[0]) * sx)),
            min(height, round((b.bottom - crop[1]) * sy)),
        )
        if moved.width > 0 and moved.height > 0:
            boxes[name] = moved
    return _finish(view, scene)


def _landscape(
    scene: Scene, pal: Palette, size: tuple[int, int], boxes: dict[str, Box]
) -> Image.Image:
    w, h = size
    horizon = scene.horizon * h
    canvas = _sky(scene, pal, size)
    light: tuple[float, float] | None = None
    ground_done = False
    for element in scene.elements:
        if KINDS[element.kind].layer >= 5 and not ground_done:
            _ground(canvas, scene, pal, horizon, light)
            ground_done = True
        box = element_box(element, w, h, horizon)
        if element.kind in ("sun", "moon"):
            light = ((box.left + box.right) / 2, (box.top + box.bottom) / 2)
            if scene.style not in ("minimal", "flat"):
                art.glow(canvas, light, box.width * 1.6, pal.sun)
        if element.kind == "lighthouse" and scene.style not in ("minimal", "flat"):
            art.lighthouse_beam(canvas, box)
        _composite(canvas, element, box, scene, pal, boxes)
    if not ground_done:
        _ground(canvas, scene, pal, horizon, light)
    return canvas


def _poster(
    scene: Scene, pal: Palette, width: int, height: int, boxes: dict[str, Box]
) -> tuple[Image.Image, Box]:
    margin = max(8, int(min(width, height) * 0.05))
    band = int(height * (0.27 if scene.tagline else 0.2) * min(1.3, max(0.8, scene.text_scale)))
    inner_w, inner_h = width - 2 * margin, max(16, height - margin - band)
    inner_boxes: dict[str, Box] = {}
    picture = _picture(replace(scene, filters=()), pal, inner_w, inner_h, inner_boxes)
    if scene.sky:
        mat = rgb_of(scene.sky)
    else:
        mat = (245, 239, 228) if luminance(pal.sky_bottom) > 90 else (22, 20, 28)
    canvas = Image.new("RGB", (width, height), mat)
    canvas.paste(picture, (margin, margin))
    line = max(1, margin // 8)
    ImageDraw.Draw(canvas).rectangle(
        (
            margin - 2 * line,
            margin - 2 * line,
            width - margin + 2 * line - 1,
            margin + inner_h + 2 * line - 1,
        ),
        outline=pal.accent,
        width=line,
    )
    for name, b in inner_boxes.items():
        boxes[name] = Box(b.left + margin, b.top + margin, b.right + margin, b.bottom + margin)
    text_area = Box(margin, margin + inner_h + band // 10, width - margin, height - band // 12)
    return canvas, text_area


def _card(
    scene: Scene, pal: Palette, width: int, height: int, boxes: dict[str, Box], transparent: bool
) -> tuple[Image.Image, Box]:
    ww, wh = art.work_size(width, height)
    if transparent:
        canvas = Image.new("RGBA", (ww, wh), (0, 0, 0, 0))
    else:
        top = rgb_of(scene.sky) if scene.sky else pal.sky_top
        canvas = art.vertical_gradient((ww, wh), [mix(top, (255, 255, 255), 0.08), top]).convert(
            "RGBA"
        )
        if scene.style not in ("minimal", "flat"):
            art.glow(canvas, (ww / 2, wh * 0.45), min(ww, wh) * 0.6, pal.sky_bottom)
    work_boxes: dict[str, Box] = {}
    texted = bool(scene.title or scene.tagline)
    for element in scene.elements:
        box = element_box(element, ww, wh, wh * scene.horizon)
        if texted and KINDS[element.kind].layer >= 4 and not KINDS[element.kind].span:
            box = _above_text(box, ww, wh)
        _composite(canvas, element, box, scene, pal, work_boxes)
    image = canvas.resize((width, height), Image.Resampling.LANCZOS)
    sx, sy = width / ww, height / wh
    for name, b in work_boxes.items():
        boxes[name] = Box(
            round(b.left * sx), round(b.top * sy), round(b.right * sx), round(b.bottom * sy)
        )
    image = image if transparent else image.convert("RGB")
    if not transparent:
        image = _finish(image, scene)
    text_area = Box(int(width * 0.08), int(height * 0.74), int(width * 0.92), height)
    return image, text_area


_BUTTONS = (("Bill", "Export", "Settings"), ("Refine", "Variations", "Download", "Lineage"))


def _diagram(
    scene: Scene, width: int, height: int, boxes: dict[str, Box]
) -> tuple[Image.Image, Box]:
    """A plain sketch of Atelier's screen pointing out one thing (Support's pictures)."""
    w, h = width, height
    image = Image.new("RGB", (w, h), (236, 240, 245))
    d = ImageDraw.Draw(image)
    u = min(w, h)
    win = Box(int(w * 0.06), int(h * 0.05), int(w * 0.94), int(h * 0.72))
    d.rounded_rectangle(
        (win.left, win.top, win.right, win.bottom),
        radius=u // 40,
        fill=(255, 255, 255),
        outline=(170, 178, 190),
        width=max(1, u // 300),
    )
    bar = int(h * 0.06)
    d.rectangle((win.left, win.top, win.right, win.top + bar), fill=(48, 56, 72))
    topic = (scene.title or "").lower()
    font = max(10, int(bar * 0.42))
    label = Box(0, 0, 0, 0)
    x = win.right - int(w * 0.02)
    for name in reversed(_BUTTONS[0]):
        bw = int(w * 0.12)
        box = Box(x - bw, win.top + bar // 5, x, win.top + bar - bar // 5)
        label = _button(image, box, name, font, topic, boxes) or label
        x -= bw + int(w * 0.015)
    card = Box(int(w * 0.3), win.top + bar + int(h * 0.04), int(w * 0.7), int(h * 0.52))
    card_image = art.vertical_gradient((card.width, card.height), [(46, 58, 110), (242, 164, 136)])
    image.paste(card_image, (card.left, card.top))
    if not any(topic.startswith(n.lower()) for row in _BUTTONS for n in row):
        checker = Image.new("RGB", (card.width // 2, card.height // 2), (255, 255, 255))
        cd = ImageDraw.Draw(checker)
        step = max(4, u // 64)
        for cy in range(0, checker.height, step):
            for cx in range((cy // step) % 2 * step, checker.width, 2 * step):
                cd.rectangle((cx, cy, cx + step - 1, cy + step - 1), fill=(204, 208, 214))
        spot = (card.left + card.width // 4, card.top + card.height // 4)
        image.paste(checker, spot)
        boxes[topic or "area"] = Box(
            spot[0], spot[1], spot[0] + checker.width, spot[1] + checker.height
        )
        d.rectangle(
            (spot[0], spot[1], spot[0] + checker.width, spot[1] + checker.height),
            outline=(230, 60, 60),
            width=max(2, u // 200),
        )
    x = card.left
    for name in _BUTTONS[1]:
        bw = int(card.width / 4.3)
        box = Box(x, card.bottom + int(h * 0.03), x + bw, card.bottom + int(h * 0.03) + bar)
        label = _button(image, box, name, font, topic, boxes) or label
        x += bw + int(card.width * 0.03)
    return image, Box(int(w * 0.08), int(h * 0.76), int(w * 0.92), h)


def _button(
    image: Image.Image, box: Box, name: str, font: int, topic: str, boxes: dict[str, Box]
) -> Box | None:
    d = ImageDraw.Draw(image)
    hit = bool(topic) and topic.startswith(name.lower()[:4])
    fill = (255, 209, 102) if hit else (222, 227, 235)
    d.rounded_rectangle(
        (box.left, box.top, box.right, box.bottom), radius=box.height // 4, fill=fill
    )
    fitted = layout_text(name, box, 8)
    letter(image, fitted, (26, 24, 32))
    if not hit:
        return None
    ring = max(3, box.height // 8)
    d.rounded_rectangle(
        (box.left - 2 * ring, box.top - 2 * ring, box.right + 2 * ring, box.bottom + 2 * ring),
        radius=box.height // 3,
        outline=(230, 60, 60),
        width=ring,
    )
    boxes[name.lower()] = box
    return box


def _above_text(box: Box, w: int, h: int) -> Box:
    """Shrink a logo's subject so it sits above the lettering band (top 70%)."""
    limit = int(h * 0.7)
    if box.bottom <= limit:
        return box
    scale = max(0.3, (limit - h * 0.05) / max(1, box.height))
    cx = (box.left + box.right) / 2
    nw, nh = box.width * scale, box.height * scale
    return Box(int(cx - nw / 2), int(limit - nh), int(cx + nw / 2), limit)


# --------------------------------------------------------------------------- pieces


def element_box(element: Element, w: int, h: int, horizon: float) -> Box:
    """The box an element is drawn into on a ``w`` x ``h`` canvas."""
    unit = min(w, h)
    spec = KINDS[element.kind]
    bottom = element.y * h
    if element.kind == "stars":
        return Box(0, 0, w, int(horizon))
    height = element.h * unit
    if spec.span:
        half = w * element.w / 2
        cx = element.x * w
        return Box(int(cx - half), int(bottom - height), int(cx + half), int(bottom))
    half = element.w * unit / 2
    cx = element.x * w
    return Box(int(cx - half), int(bottom - height), int(cx + half), int(bottom))


def _sky(scene: Scene, pal: Palette, size: tuple[int, int]) -> Image.Image:
    if scene.sky:
        colour = rgb_of(scene.sky)
        stops = [mix(colour, (0, 0, 0), 0.08), colour, mix(colour, (255, 255, 255), 0.25)]
    elif scene.style in ("minimal", "flat"):
        stops = [pal.sky_top, mix(pal.sky_top, pal.sky_bottom, 0.5)]
    else:
        stops = [pal.sky_top, mix(pal.sky_top, pal.sky_bottom, 0.6), pal.sky_bottom]
    return art.vertical_gradient(size, stops)


def _ground(
    canvas: Image.Image,
    scene: Scene,
    pal: Palette,
    horizon: float,
    light: tuple[float, float] | None,
) -> None:
    if scene.ground == "water":
        art.water(canvas, scene.seed, pal, horizon, light)
    elif scene.ground == "hills":
        art.hills(canvas, scene.seed, pal, horizon)


def _composite(
    canvas: Image.Image,
    element: Element,
    box: Box,
    scene: Scene,
    pal: Palette,
    boxes: dict[str, Box],
) -> None:
    layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    rng = random.Random(f"{scene.seed}:{element.kind}:{element.seed}")
    alone = len(scene.elements) == 1  # a badge behind a subject carries no letters
    words = [w for w in (scene.title or "").split() if w[:1].isalnum()]
    words = [w for w in words if w[0].isupper() or w[0].isdigit()] or words
    initials = "".join(w[0] for w in words)[:2]
    art.draw_element(layer, element.kind, rng, pal, box, initials.upper() if alone else "")
    if element.colour:
        layer = _tint(layer, rgb_of(element.colour))
    bbox = layer.getchannel("A").getbbox()
    if bbox is None:
        return
    name = element.kind
    n = 2
    while name in boxes:
        name, n = f"{element.kind} {n}", n + 1
    boxes[name] = Box(*bbox)
    if canvas.mode == "RGBA":
        canvas.alpha_composite(layer)
    else:
        canvas.paste(layer, (0, 0), layer)


def _tint(layer: Image.Image, colour: RGB) -> Image.Image:
    """Recolour a layer towards ``colour``, keeping its shading and its alpha."""
    gray = ImageOps.grayscale(layer.convert("RGB"))
    toned = ImageOps.colorize(
        gray, mix(colour, (0, 0, 0), 0.55), mix(colour, (255, 255, 255), 0.6), colour
    ).convert("RGBA")
    toned.putalpha(layer.getchannel("A"))
    return toned


# --------------------------------------------------------------------------- style, tone, text


def _finish(image: Image.Image, scene: Scene) -> Image.Image:
    """The drawing style, then film grain where the style has it."""
    style = scene.style
    if style == "watercolor":
        # Pigment pools: a few flat washes from a reduced copy (cheap), scaled back up softly.
        factor = max(1, min(image.size) // 340)
        small = image.reduce(factor) if factor > 1 else image
        washes = small.filter(ImageFilter.GaussianBlur(1.5)).quantize(20).convert("RGB")
        soft = washes.resize(image.size, Image.Resampling.BICUBIC)
        soft = soft.filter(ImageFilter.GaussianBlur(1.2))
        soft = ImageEnhance.Color(soft).enhance(1.2)
        soft = Image.blend(soft, Image.new("RGB", image.size, _PAPER), 0.3)
        edges = ImageOps.invert(image.convert("L").filter(ImageFilter.FIND_EDGES))
        edges = edges.filter(ImageFilter.GaussianBlur(1.0)).point(lambda v: 255 - (255 - v) // 2)
        wash = ImageChops.multiply(soft, edges.convert("RGB"))
        return art.add_grain(wash, scene.seed, 16)
    if style == "ink":
        lines = ImageOps.invert(image.convert("L").filter(ImageFilter.FIND_EDGES))
        lines = ImageOps.autocontrast(lines.point(lambda v: 255 if v > 215 else v // 2))
        wash = Image.blend(image, Image.new("RGB", image.size, _PAPER), 0.72)
        return art.add_grain(ImageChops.multiply(wash, lines.convert("RGB")), scene.seed, 5)
    if style in ("flat", "minimal"):
        return image  # flat colour: no grain, no texture
    if style == "pixel":
        small = image.resize(
            (max(1, image.width // 16), max(1, image.height // 16)), Image.Resampling.BOX
        )
        return ImageOps.posterize(small, 4).resize(image.size, Image.Resampling.NEAREST)
    if style == "vintage":
        image = apply_edits(image, [EditOp("vintage", amount=1.0)])
    return art.add_grain(image, scene.seed)


def _tone(image: Image.Image, scene: Scene) -> Image.Image:
    if not scene.filters:
        return image
    return apply_edits(image, [EditOp(kind, amount=amount) for kind, amount in scene.filters])


def _letter(image: Image.Image, scene: Scene, area: Box, pal: Palette) -> dict[str, Lettered]:
    """Lay the title, then the tagline under it, inside ``area``: measured, never overlapping."""
    out: dict[str, Lettered] = {}
    _w, h = image.size
    scale = min(1.8, max(0.6, scene.text_scale))
    smallest = min_font(h)
    top = area.top
    if scene.title:
        share = 0.62 if scene.tagline else 0.85
        title_h = min(area.height * share, h * (0.14 if scene.layout == "scene" else 0.2) * scale)
        fitted = layout_text(
            scene.title, Box(area.left, top, area.right, top + int(title_h)), smallest
        )
        out["title"] = fitted
        top = fitted.ink.bottom + max(4, int(h * 0.015))
    if scene.tagline:
        tag_h = min(max(smallest * 1.6, area.bottom - top), h * 0.06 * scale)
        box = Box(area.left, top, area.right, top + max(int(tag_h), smallest * 2))
        out["tagline"] = layout_text(scene.tagline, box, smallest)
    for fitted in out.values():
        letter(image, fitted, _ink_for(image, fitted.ink, pal))
    return out


def _ink_for(image: Image.Image, box: Box, pal: Palette) -> RGB:
    region = image.convert("RGB").crop(
        (box.left, box.top, max(box.left + 1, box.right), max(box.top + 1, box.bottom))
    )
    mean = ImageStat.Stat(region.convert("L")).mean[0]
    return (250, 247, 240) if mean < 140 else (26, 24, 32)
