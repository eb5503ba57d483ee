"""render_scene: exact size, deterministic, palette and subject words matter, titles, alpha."""

from __future__ import annotations

import pytest
from PIL import Image, ImageChops

from agent.engine.codec import scene_meta
from agent.engine.edits import _text_bands
from agent.engine.render import (
    decode_image,
    draw_scene,
    encode_image,
    render_scene,
    scene_for_prompt,
    scene_of,
)
from agent.engine.scene import quoted_texts
from agent.engine.scene_model import SCENE_KEY, scene_from_json, scene_words
from tests.render.helpers import means, spread


@pytest.mark.parametrize(
    "size", [(1024, 1024), (1536, 1024), (1024, 1536), (1000, 600), (64, 48), (3840, 2160)]
)
def test_exact_size_and_mode(size: tuple[int, int]) -> None:
    image = render_scene("a lighthouse at dusk", *size)
    assert image.size == size
    assert image.mode == "RGB"


def test_same_prompt_same_picture_and_different_prompt_differs() -> None:
    first = render_scene("misty forest with a cabin", 512, 512)
    again = render_scene("misty forest with a cabin", 512, 512)
    other = render_scene("misty forest with a cat", 512, 512)
    assert first.tobytes() == again.tobytes()
    assert first.tobytes() != other.tobytes()


def test_palette_follows_mood_words() -> None:
    red, _, blue = means(render_scene("a warm sunset over hills", 512, 512))
    assert red > blue + 30
    red, _, blue = means(render_scene("a teal ocean bay", 512, 512))
    assert blue > red + 30
    assert sum(means(render_scene("noir alley", 512, 512))) < sum(
        means(render_scene("pastel garden", 512, 512))
    )


def test_a_scene_is_a_picture_not_a_flat_fill() -> None:
    image = render_scene("mountains at sunrise", 768, 512)
    small = image.resize((64, 48))
    assert len(set(small.get_flattened_data())) > 500
    assert spread(image) > 20


def test_subject_words_are_found_in_order() -> None:
    assert scene_words("A cat watching a rocket over the city skyline") == ["cat", "rocket", "city"]
    assert scene_words("just colours") == []


def test_lighthouse_is_drawn_with_its_red_stripes() -> None:
    image = render_scene("a lighthouse on the coast", 512, 512)
    red, green, blue = (band.point(lambda v: 255 if v > 150 else 0) for band in image.split())
    dark_green = green.point(lambda v: 255 if v < 90 else 0)
    dark_blue = blue.point(lambda v: 255 if v < 90 else 0)
    stripes = ImageChops.multiply(ImageChops.multiply(red, dark_green), dark_blue)
    striped = stripes.histogram()[255]
    assert striped > 200


def test_quoted_text_becomes_a_title() -> None:
    assert quoted_texts('a poster "Night Market" and “Second” line') == ["Night Market", "Second"]
    titled = render_scene('a quiet lake at dawn "Morning Calm"', 1024, 1024)
    plain = render_scene("a quiet lake at dawn", 1024, 1024)
    bands = _text_bands(titled)
    assert bands, "the title should be found as lettering"
    assert bands[0].top < 1024 * 0.3 and bands[0].width > 300
    assert _text_bands(plain) == []


def test_long_titles_fit_inside_the_picture() -> None:
    title = "An Unreasonably Long Title For A Small Square Picture Indeed"
    image = render_scene(f'a city "{title}"', 640, 640)
    assert image.size == (640, 640)
    bands = _text_bands(image)
    assert bands and all(b.left >= 0 and b.right <= 640 for b in bands)


def test_transparent_background_around_the_subject() -> None:
    image = render_scene("a sticker of a cat", 512, 512, transparent=True)
    assert image.mode == "RGBA"
    alpha = image.getchannel("A")
    for corner in [(0, 0), (511, 0), (0, 511), (511, 511)]:
        assert alpha.getpixel(corner) == 0
    opaque = sum(1 for a in alpha.get_flattened_data() if a == 255)
    assert 0.05 * 512 * 512 < opaque < 0.8 * 512 * 512


def test_logo_without_a_named_subject_is_an_emblem() -> None:
    image = render_scene('logo for "Blue Fox"', 512, 512, transparent=True)
    box = image.getchannel("A").getbbox()
    assert box is not None
    left, top, right, bottom = box
    assert abs((left + right) / 2 - 256) < 40
    assert abs((top + bottom) / 2 - 256) < 60


def test_bad_size_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        render_scene("anything", 0, 100)


def test_output_is_a_fresh_image() -> None:
    image = render_scene("sea", 128, 128)
    assert isinstance(image, Image.Image)
    image.putpixel((0, 0), (1, 2, 3))
    assert render_scene("sea", 128, 128).getpixel((0, 0)) != (1, 2, 3)


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_the_scene_travels_inside_the_file(fmt: str) -> None:
    scene = scene_for_prompt("a lighthouse by the sea titled HARBOR")
    image = draw_scene(scene, (512, 512))
    assert scene_of(decode_image(encode_image(image, fmt, None))) == scene


def test_pictures_without_a_scene_have_none() -> None:
    plain = Image.new("RGB", (64, 64))
    assert scene_of(plain) is None and scene_meta(plain) is None
    plain.info[SCENE_KEY] = "{not json"
    assert scene_of(plain) is None
    assert scene_from_json('{"layout": "scene", "palette": "no-such-palette"}') is None
    assert (
        scene_from_json('{"layout": "scene", "palette": "dusk", "elements": [{"kind": "x"}]}')
        is None
    )
