"""Title and caption lettering: Pillow's built-in scalable font, fitted to a box, with a shadow."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

from agent.engine.palette import RGB, luminance

_MIN_FONT = 10


@dataclass(frozen=True)
class Box:
    """A rectangle in pixels: left, top, right, bottom."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top


def _font(size: int) -> ImageFont.FreeTypeFont:
    font = ImageFont.load_default(size=max(_MIN_FONT, size))
    if not isinstance(font, ImageFont.FreeTypeFont):  # Pillow built without FreeType
        raise RuntimeError("Pillow's scalable default font needs FreeType support.")
    return font


def _line_width(text: str, font: ImageFont.FreeTypeFont) -> float:
    return font.getlength(text)


def _split_lines(words: list[str], count: int) -> list[str]:
    """Greedy split of ``words`` into ``count`` lines of similar length."""
    target = sum(len(w) + 1 for w in words) / count
    lines: list[str] = []
    current: list[str] = []
    for word in words:
        if current and len(" ".join([*current, word])) > target and len(lines) < count - 1:
            lines.append(" ".join(current))
            current = []
        current.append(word)
    lines.append(" ".join(current))
    return lines


def fit_text(
    text: str, box: Box, min_size: int = _MIN_FONT, max_lines: int = 3
) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """The largest font (and line split) that fits ``text`` inside ``box``.

    Up to ``max_lines`` lines; when even that would need a font under ``min_size`` the text
    wraps onto more lines at ``min_size`` (it may then run past the box's bottom: callers
    measure the result with ``text_extent``).
    """
    words = text.split() or [text]
    best: tuple[ImageFont.FreeTypeFont, list[str]] | None = None
    best_size = 0
    for count in range(1, min(max_lines, len(words)) + 1):
        lines = _split_lines(words, count)
        # Size from height, then shrink to the widest line.
        size = int(box.height / (count * 1.25))
        probe = _font(size)
        widest = max(_line_width(line, probe) for line in lines)
        if widest > box.width:
            size = int(size * box.width / widest)
        if size > best_size:
            best_size = size
            best = (_font(size), lines)
    if best is None:
        raise ValueError("Nothing to letter: the text is empty.")
    if best_size < min_size:
        font = _font(min_size)
        return font, _wrap(words, font, box.width)
    return best


def _wrap(words: list[str], font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines: list[str] = []
    current: list[str] = []
    for word in words:
        if current and _line_width(" ".join([*current, word]), font) > width:
            lines.append(" ".join(current))
            current = []
        current.append(word)
    lines.append(" ".join(current))
    return lines


@dataclass(frozen=True)
class Lettered:
    """Text as laid out: its font size, lines and the box its letters occupy."""

    text: str
    size: int
    lines: tuple[str, ...]
    ink: Box


def layout_text(text: str, box: Box, min_size: int = _MIN_FONT) -> Lettered:
    """Where ``text`` lands when lettered centred in ``box`` (no drawing)."""
    text = " ".join(text.split())
    font, lines = fit_text(text, box, min_size)
    size = int(font.size)
    line_height = int(size * 1.2)
    block = line_height * len(lines)
    top = box.top + max(0, (box.height - block) // 2)
    widest = max(_line_width(line, font) for line in lines)
    left = box.left + (box.width - widest) / 2
    ink = Box(int(left), top, int(left + widest + 0.5), top + block)
    return Lettered(text, size, tuple(lines), ink)


def letter(image: Image.Image, lettered: Lettered, ink: RGB) -> None:
    """Draw laid-out text on ``image`` (in place), with a soft shadow or glow."""
    if not lettered.text:
        return
    _draw_lines(image, lettered, ink)


def draw_text(image: Image.Image, text: str, box: Box, ink: RGB) -> None:
    """Letter ``text`` centred in ``box`` on ``image`` (in place), with a soft shadow or glow."""
    text = " ".join(text.split())
    if not text or box.width < 4 or box.height < 4:
        return
    _draw_lines(image, layout_text(text, box), ink)


def _draw_lines(image: Image.Image, lettered: Lettered, ink: RGB) -> None:
    size = lettered.size
    font = _font(size)
    lines = lettered.lines
    box = lettered.ink
    line_height = int(size * 1.2)
    shadow_colour: RGB = (12, 10, 20) if luminance(ink) > 110 else (255, 255, 255)
    pad = max(4, size // 3)
    # Draw in a local RGBA patch so the blur costs O(text), not O(image).
    patch_box = Box(
        max(0, box.left - pad),
        max(0, box.top - pad),
        min(image.width, box.right + pad),
        min(image.height, box.bottom + pad),
    )
    if patch_box.width <= 0 or patch_box.height <= 0:
        return
    mask = Image.new("L", (patch_box.width, patch_box.height), 0)
    draw = ImageDraw.Draw(mask)
    y = box.top - patch_box.top
    for line in lines:
        width = _line_width(line, font)
        x = box.left - patch_box.left + (box.width - width) / 2
        draw.text((x, y + line_height * 0.1), line, font=font, fill=255)
        y += line_height
    offset = max(1, size // 18)
    shadow = mask.filter(ImageFilter.GaussianBlur(max(1.0, size / 10)))
    shadow = shadow.point(lambda v: min(255, int(v * 1.6)))
    shadow = shadow.transform(shadow.size, Image.Transform.AFFINE, (1, 0, -offset, 0, 1, -offset))
    region = image.crop((patch_box.left, patch_box.top, patch_box.right, patch_box.bottom))
    mode = region.mode
    work = region.convert("RGBA")
    work.paste(Image.new("RGBA", work.size, (*shadow_colour, 255)), (0, 0), shadow)
    work.paste(Image.new("RGBA", work.size, (*ink, 255)), (0, 0), mask)
    if mode == "RGBA":
        # Keep transparent surroundings transparent; the text and its shadow become opaque.
        alpha = region.getchannel("A")
        work.putalpha(ImageChops.lighter(alpha, ImageChops.lighter(shadow, mask)))
    image.paste(work.convert(mode), (patch_box.left, patch_box.top))
