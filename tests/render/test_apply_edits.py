"""apply_edits: real changes to the given picture, masks respected, sizes and references."""

from __future__ import annotations

import pytest
from PIL import Image, ImageChops

from agent.engine.edits import _text_bands, aspect_size
from agent.engine.render import EditOp, apply_edits, edited_size, parse_edit_ops, render_scene
from tests.render.helpers import (
    brightness,
    changed_box,
    edge_energy,
    means,
    saturation,
    spread,
)


@pytest.fixture(scope="module")
def source() -> Image.Image:
    return render_scene('a lighthouse on the sea at sunset "Harbour Lights"', 512, 512)


def edit(image: Image.Image, text: str, **kwargs: object) -> Image.Image:
    ops = parse_edit_ops(text)
    assert ops, f"{text!r} should parse to edits"
    return apply_edits(image, ops, **kwargs)  # type: ignore[arg-type]


def test_source_is_never_modified(source: Image.Image) -> None:
    before = source.tobytes()
    edit(source, 'black and white, add a border, make it wider, add text "Hi"')
    assert source.tobytes() == before


def test_no_ops_returns_the_same_picture(source: Image.Image) -> None:
    assert changed_box(apply_edits(source, []), source) is None


def test_warmer_and_cooler(source: Image.Image) -> None:
    r, _, b = means(source)
    wr, _, wb = means(edit(source, "warmer"))
    cr, _, cb = means(edit(source, "cooler"))
    assert wr - wb > r - b + 10
    assert cr - cb < r - b - 10


def test_brighter_and_darker_scale_with_amount(source: Image.Image) -> None:
    base = brightness(source)
    bit = brightness(edit(source, "a bit brighter"))
    much = brightness(edit(source, "much brighter"))
    assert base < bit < much
    assert brightness(edit(source, "darker")) < base - 10


def test_black_and_white(source: Image.Image) -> None:
    result = edit(source, "black and white")
    r, g, b = result.split()
    assert ImageChops.difference(r, g).getbbox() is None
    assert ImageChops.difference(g, b).getbbox() is None


def test_contrast_and_flatter(source: Image.Image) -> None:
    assert spread(edit(source, "more contrast")) > spread(source) * 1.15
    assert spread(edit(source, "less contrast")) < spread(source) * 0.85


def test_soften_and_sharpen(source: Image.Image) -> None:
    assert edge_energy(edit(source, "softer")) < edge_energy(source) * 0.8
    assert edge_energy(edit(source, "sharpen")) > edge_energy(source) * 1.1


def test_saturation_up_and_down(source: Image.Image) -> None:
    assert saturation(edit(source, "more saturated")) > saturation(source) * 1.1
    assert saturation(edit(source, "muted")) < saturation(source) * 0.8


def test_vintage_is_sepia(source: Image.Image) -> None:
    r, g, b = means(edit(source, "vintage"))
    assert r > g > b


def test_border_frames_the_whole_picture(source: Image.Image) -> None:
    result = edit(source, "add a border")
    assert result.size == source.size
    edge_colours = {result.getpixel((x, 2)) for x in range(0, 512, 16)}
    edge_colours |= {result.getpixel((2, y)) for y in range(0, 512, 16)}
    assert len(edge_colours) == 1


def test_add_text_letters_the_lower_band_only(source: Image.Image) -> None:
    result = edit(source, 'add the tagline "Sail away tonight"')
    box = changed_box(result, source)
    assert box is not None and box[1] > 512 * 0.6
    assert any(b.top > 512 * 0.6 for b in _text_bands(result))


def test_remove_text_clears_the_title_and_nothing_else(source: Image.Image) -> None:
    assert _text_bands(source)
    result = edit(source, "remove the title")
    assert _text_bands(result) == []
    box = changed_box(result, source)
    assert box is not None and box[3] < 512 * 0.45


def test_mask_keeps_opaque_pixels_identical(source: Image.Image) -> None:
    mask = Image.new("RGBA", source.size, (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (100, 300, 400, 480))
    result = edit(source, 'much darker, black and white, add text "Here", vintage', mask=mask)
    assert changed_box(result, source) is not None
    box = changed_box(result, source)
    assert box is not None
    left, top, right, bottom = box
    assert left >= 100 and top >= 300 and right <= 400 and bottom <= 480


def test_mask_text_goes_inside_the_edit_area(source: Image.Image) -> None:
    mask = Image.new("RGBA", source.size, (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (50, 320, 460, 420))
    result = edit(source, 'add text "Inside"', mask=mask)
    box = changed_box(result, source)
    assert box is not None and box[1] >= 320 and box[3] <= 420


def test_mask_with_a_size_change_edits_first_then_resizes(source: Image.Image) -> None:
    mask = Image.new("RGBA", source.size, (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 256, 512))
    result = edit(source, "black and white, make it wider", mask=mask)
    assert result.width > result.height
    right_half = result.crop((result.width // 2 + 20, 100, result.width // 2 + 120, 400))
    r, g, b = means(right_half)
    assert max(r, g, b) - min(r, g, b) > 10  # the unmasked half kept its colour


def test_wider_extends_the_canvas_and_keeps_the_picture(source: Image.Image) -> None:
    result = edit(source, "make it wider")
    assert result.size == aspect_size(source.size, "wider") == (768, 512)
    middle = result.crop((128, 0, 640, 512))
    assert means(middle) == pytest.approx(means(source), abs=2)
    assert edge_energy(result.crop((0, 0, 100, 512))) < edge_energy(source)


def test_taller_and_square_and_explicit_resize(source: Image.Image) -> None:
    assert edit(source, "taller").size == (512, 768)
    wide = render_scene("sea", 768, 512)
    assert edit(wide, "make it square").size == (624, 624)
    assert edit(source, "resize to 640x480").size == (640, 480)


def test_size_argument_cover_crops_to_the_size(source: Image.Image) -> None:
    result = apply_edits(source, [EditOp("warmer")], size=(1024, 512))
    assert result.size == (1024, 512)


def test_edited_size_predicts_the_result(source: Image.Image) -> None:
    for text in ["wider", "much taller", "square", "resize to 800x608", "warmer"]:
        ops = parse_edit_ops(text)
        assert apply_edits(source, ops).size == edited_size(source.size, ops)


def test_references_move_the_palette_towards_them(source: Image.Image) -> None:
    red = Image.new("RGB", (64, 64), (220, 40, 30))
    r, _, b = means(source)
    rr, _, rb = means(apply_edits(source, [], references=[red]))
    assert rr - rb > r - b + 40


def test_alpha_survives_edits() -> None:
    sticker = render_scene("sticker of a rocket", 256, 256, transparent=True)
    result = edit(sticker, "warmer, more contrast")
    assert result.mode == "RGBA"
    assert ImageChops.difference(result.getchannel("A"), sticker.getchannel("A")).getbbox() is None
