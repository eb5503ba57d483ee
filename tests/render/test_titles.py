"""Titles and taglines: read with or without quotes, drawn, never overlapping, readable."""

from __future__ import annotations

import pytest
from openai import AsyncOpenAI
from PIL import Image, ImageStat

from agent.engine.stage import min_font
from agent.engine.wording import lettering_of
from tests.engine.helpers import decode, image_items, tool
from tests.render.helpers import Box, intersects, text_of


@pytest.mark.parametrize(
    ("request_text", "title", "tagline"),
    [
        ("a poster for the harbor festival with the title HARBOR", "HARBOR", None),
        ("a logo for a coffee shop called Ember", "Ember", None),
        ("a logo for a bakery named Crumb & Co", "Crumb & Co", None),
        (
            'a poster titled "Night Market" with the tagline "Open late"',
            "Night Market",
            "Open late",
        ),
        ("a poster titled Night Market with the tagline Open late", "Night Market", "Open late"),
        ("a banner that says SUMMER SALE in watercolor", "SUMMER SALE", None),
        ("a card with the words Salt and Pepper, on cream", "Salt and Pepper", None),
        ("a poster reading happy birthday", "Happy Birthday", None),
        ('a quiet lake at dawn "Morning Calm"', "Morning Calm", None),
        (
            "a flyer with the headline Jazz Night and the caption Doors at 8",
            "Jazz Night",
            "Doors at 8",
        ),
        ("draw a lighthouse at dusk", None, None),
        ("put a seagull over the water", None, None),
    ],
)
def test_titles_are_read_with_or_without_quotes(
    request_text: str, title: str | None, tagline: str | None
) -> None:
    found = lettering_of(request_text)
    assert (found.title, found.tagline) == (title, tagline)


def _ink_contrast(image: Image.Image, box: Box) -> float:
    """Spread of brightness inside the text box: lettering on a ground is far from flat."""
    return float(ImageStat.Stat(image.convert("L").crop(box)).stddev[0])


async def _poster(client: AsyncOpenAI, prompt: str, size: str = "1024x1536") -> Image.Image:
    response = await client.responses.create(model="gpt-4.1", input=prompt, tools=[tool(size=size)])
    (item,) = image_items(response.model_dump())
    assert "Make A Poster" not in response.output_text
    return decode(item["result"])


@pytest.mark.parametrize(
    ("prompt", "size"),
    [
        ("a poster of a harbor with the title HARBOR and the tagline Open late", "1024x1536"),
        ("a poster of a harbor with the title HARBOR and the tagline Open late", "1536x1024"),
        (
            'a poster titled "The Grand Midsummer Harbour Lights Festival" with the tagline '
            '"Music, food and boats on the water every evening from seven until very late"',
            "1024x1024",
        ),
        ("a lighthouse at night titled HARBOR with the caption Open late", "1536x1024"),
        ("a logo for a coffee shop called Ember with the slogan Roasted daily", "1024x1024"),
    ],
)
async def test_title_and_tagline_are_drawn_apart_and_readable(
    client: AsyncOpenAI, prompt: str, size: str
) -> None:
    image = await _poster(client, prompt, size)
    text = text_of(image)
    assert set(text) == {"title", "tagline"}
    title: Box = tuple(text["title"]["box"])  # type: ignore[assignment]
    tagline: Box = tuple(text["tagline"]["box"])  # type: ignore[assignment]
    assert not intersects(title, tagline), (title, tagline)
    assert title[3] <= tagline[1], "the tagline sits under the title"
    for box in (title, tagline):
        assert 0 <= box[0] < box[2] <= image.width and 0 <= box[1] < box[3] <= image.height
        assert _ink_contrast(image, box) > 25, "the lettering should stand out from its ground"
    floor = min_font(image.height)
    assert text["title"]["size"] >= floor and text["tagline"]["size"] >= floor
    assert text["title"]["size"] > text["tagline"]["size"]


async def test_the_title_without_quotes_is_what_gets_drawn(client: AsyncOpenAI) -> None:
    image = await _poster(client, "make a poster of the old port with the title HARBOR")
    assert text_of(image)["title"]["text"] == "HARBOR"
    logo = await _poster(client, "a logo for a coffee shop called Ember", "1024x1024")
    assert text_of(logo)["title"]["text"] == "Ember"


async def test_bigger_text_grows_until_the_layout_is_full(client: AsyncOpenAI) -> None:
    response = await client.responses.create(
        model="gpt-4.1",
        input="a poster of a harbor with the title HARBOR and the tagline Open late",
        tools=[tool(size="1024x1536")],
    )
    sizes = [text_of(decode(image_items(response.model_dump())[0]["result"]))["title"]["size"]]
    last = response.id
    replies = []
    for _ in range(4):
        response = await client.responses.create(
            model="gpt-4.1",
            input="make the text bigger",
            previous_response_id=last,
            tools=[tool(size="auto")],
        )
        replies.append(response.output_text)
        found = image_items(response.model_dump())
        if not found:
            break
        image = decode(found[0]["result"])
        text = text_of(image)
        assert not intersects(tuple(text["title"]["box"]), tuple(text["tagline"]["box"]))
        sizes.append(text["title"]["size"])
        last = response.id
    assert sizes[1] > sizes[0]
    assert sizes == sorted(sizes)
    assert "already as big" in replies[-1], replies  # said plainly, no image claimed
