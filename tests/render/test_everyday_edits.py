"""Everyday edit phrasings, end to end through the SDK: each makes an image from the right
parent, and its pixels change where they should (and nowhere else, for local edits)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from openai import AsyncOpenAI
from PIL import Image, ImageStat

from agent.engine import textgen
from tests.engine.helpers import decode, image_items, items, tool
from tests.render.helpers import (
    Box,
    boxes_of,
    changed_mask,
    changed_outside,
    changed_share,
    grow,
    meta_of,
    text_of,
    union,
)

SEA = "draw a lighthouse by the sea with a boat at sunset"
NIGHT = "draw a lighthouse by the sea at night with a boat"
POSTER = "a poster of a harbor at dusk with the title HARBOR and the tagline Open late"
HILLS = "draw mountains with a cabin and trees"
SIZE = "1536x1024"


@dataclass(frozen=True)
class Case:
    base: str
    phrase: str
    check: str  # gone | added | local | moved-left | moved-right | bigger | smaller | taller |
    # global | background | text | text-bigger | text-smaller | text-gone | size | square | crop
    target: str = ""


CASES = [
    Case(SEA, "make the background cream", "background", "#f3ead3"),
    Case(SEA, "remove the sun", "gone", "sun"),
    Case(SEA, "get rid of the boat", "gone", "boat"),
    Case(SEA, "can you remove the boat?", "gone", "boat"),
    Case(SEA, "remove the lighthouse", "gone", "lighthouse"),
    Case(SEA, "put a seagull over the water", "added", "seagull"),
    Case(SEA, "add some clouds", "added", "clouds"),
    Case(SEA, "add a moon on the left", "added", "moon"),
    Case(SEA, "add birds in the sky", "added", "birds"),
    Case(SEA, "put a house on the right", "added", "house"),
    Case(SEA, "make the sun smaller", "smaller", "sun"),
    Case(SEA, "please make the sun a bit smaller", "smaller", "sun"),
    Case(SEA, "make the sun bigger", "bigger", "sun"),
    Case(SEA, "shrink the boat", "smaller", "boat"),
    Case(SEA, "make the lighthouse taller", "taller", "lighthouse"),
    Case(SEA, "move the boat to the left", "moved-left", "boat"),
    Case(SEA, "move the boat to the right", "moved-right", "boat"),
    Case(SEA, "paint the boat red", "local", "boat"),
    Case(SEA, "make the lighthouse blue", "local", "lighthouse"),
    Case(SEA, "make the sky pink", "background", "#ff70a6"),
    Case(SEA, "change the background to mint", "background", "#98f5e1"),
    Case(SEA, "at night", "global"),
    Case(SEA, "make it golden hour", "global"),
    Case(SEA, "make it daytime", "global"),
    Case(SEA, "in watercolor", "global"),
    Case(SEA, "make it an ink sketch", "global"),
    Case(SEA, "make it pixel art", "global"),
    Case(SEA, "more minimal", "global"),
    Case(SEA, "use a pastel palette", "global"),
    Case(SEA, "make it warmer", "warmer"),
    Case(SEA, "black and white", "global"),
    Case(SEA, "make it square", "square"),
    Case(SEA, "make it portrait", "size"),
    Case(SEA, "crop to the lighthouse", "crop", "lighthouse"),
    Case(SEA, "zoom in on the boat", "crop", "boat"),
    Case(SEA, "add the title HARBOR", "text", "title"),
    Case(SEA, "add the tagline 'Open late'", "text", "tagline"),
    Case(SEA, "swap the sun for a moon", "added", "moon"),
    Case(SEA, "raise the sun", "moved-up", "sun"),
    Case(SEA, "make the boat a little smaller and move it to the right", "moved-right", "boat"),
    Case(SEA, "replace the boat with a house", "gone", "boat"),
    Case(NIGHT, "remove the moon", "gone", "moon"),
    Case(NIGHT, "drop the stars", "gone", "stars"),
    Case(NIGHT, "no stars", "gone", "stars"),
    Case(NIGHT, "make the moon bigger", "bigger", "moon"),
    Case(NIGHT, "golden hour", "global"),
    Case(POSTER, "make the text bigger", "text-bigger", "title"),
    Case(POSTER, "make the text smaller", "text-smaller", "title"),
    Case(POSTER, "change the title to Harbour Lights", "text", "title"),
    Case(POSTER, "remove the tagline", "text-gone", "tagline"),
    Case(POSTER, "make the title say Harbour Lights", "text", "title"),
    Case(POSTER, "the text is too small", "text-bigger", "title"),
    Case(NIGHT, "make it look like evening", "global"),
    Case(HILLS, "add an orange cat on the left", "added", "cat"),
    Case(POSTER, "make the background cream", "background", "#f3ead3"),
    Case(HILLS, "remove the trees", "gone", "trees"),
    Case(HILLS, "move the cabin to the right", "moved-right", "house"),
    Case(HILLS, "make the mountains smaller", "smaller", "mountains"),
]


async def _draw(client: AsyncOpenAI, prompt: str) -> tuple[str, dict[str, Any], Image.Image]:
    made = (
        await client.responses.create(model="gpt-4.1", input=prompt, tools=[tool(size=SIZE)])
    ).model_dump()
    (item,) = image_items(made)
    return made["id"], item, decode(item["result"])


def _centre(box: Box) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def _allowed(kind: str, box: Box, size: tuple[int, int]) -> list[Box]:
    """Where an edit of ``kind`` may change pixels: around it, plus the light it casts."""
    w, h = size
    allowed = [grow(box, 0.6 if kind not in ("sun", "moon") else 3.2, size)]
    if kind in ("sun", "moon"):
        allowed.append((0, int(h * 0.5), w, h))  # its reflection on the water
    if kind == "lighthouse":  # and its beam, across the sky
        allowed.append((0, 0, w, box[1] + (box[3] - box[1]) * 9 // 20))
    return allowed


def _sky_colour(image: Image.Image) -> tuple[float, ...]:
    patch = image.convert("RGB").crop((0, 0, image.width // 12, image.height // 12))
    return tuple(ImageStat.Stat(patch).mean)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.phrase}" for c in CASES])
async def test_everyday_edit(client: AsyncOpenAI, case: Case) -> None:
    parent_id, _, before = await _draw(client, case.base)
    response = (
        await client.responses.create(
            model="gpt-4.1",
            input=case.phrase,
            previous_response_id=parent_id,
            tools=[tool(size="auto")],
        )
    ).model_dump()
    (item,) = image_items(response)
    after = decode(item["result"])
    reply = next(o for o in response["output"] if o["type"] == "message")["content"][0]["text"]
    assert item["action"] == "edit"
    assert reply.startswith("Edited the image:"), reply
    assert textgen.FALLBACK not in reply and "couldn't" not in reply, reply
    # From the right parent: the same scene (seed, layout) carried on.
    old, new = meta_of(before)["scene"], meta_of(after)["scene"]
    assert (new["seed"], new["layout"]) == (old["seed"], old["layout"])
    _check(case, before, after)


def _check(case: Case, before: Image.Image, after: Image.Image) -> None:
    old_boxes, new_boxes = boxes_of(before), boxes_of(after)
    kind = case.target
    if case.check in ("size", "square", "crop", "global", "warmer"):
        _check_whole(case, before, after, old_boxes, new_boxes)
        return
    assert after.size == before.size
    mask = changed_mask(before, after)
    if case.check.startswith("text") or case.check == "background":
        _check_text_or_background(case, before, after, mask)
        return
    if case.check == "gone":
        assert kind in old_boxes and kind not in new_boxes
    elif case.check == "added":
        assert kind not in old_boxes and kind in new_boxes
    else:
        assert kind in old_boxes and kind in new_boxes
    region = union(old_boxes.get(kind), new_boxes.get(kind))
    sparse = kind in ("stars", "birds", "seagull")
    assert changed_share(mask, region) > (0.003 if sparse else 0.03), "its area should change"
    assert changed_outside(mask, _allowed(kind, region, after.size)) < 0.004
    if case.check in ("moved-left", "moved-right"):
        dx = _centre(new_boxes[kind])[0] - _centre(old_boxes[kind])[0]
        assert dx < -after.width * 0.05 if case.check == "moved-left" else dx > after.width * 0.05
    if case.check == "moved-up":
        assert _centre(new_boxes[kind])[1] < _centre(old_boxes[kind])[1] - after.height * 0.05
    old_box, new_box = old_boxes.get(kind), new_boxes.get(kind)
    if case.check in ("bigger", "smaller", "taller") and old_box and new_box:
        old_area = (old_box[2] - old_box[0]) * (old_box[3] - old_box[1])
        new_area = (new_box[2] - new_box[0]) * (new_box[3] - new_box[1])
        if case.check == "bigger":
            assert new_area > old_area * 1.3
        elif case.check == "smaller":
            assert new_area < old_area * 0.85
        else:
            assert new_box[3] - new_box[1] > (old_box[3] - old_box[1]) * 1.2
            assert abs((new_box[2] - new_box[0]) - (old_box[2] - old_box[0])) < 8


def _check_whole(
    case: Case,
    before: Image.Image,
    after: Image.Image,
    old_boxes: dict[str, Box],
    new_boxes: dict[str, Box],
) -> None:
    if case.check == "square":
        assert after.width == after.height
    elif case.check == "size":
        assert after.height > after.width
    elif case.check == "crop":
        old, new = old_boxes[case.target], new_boxes[case.target]
        assert (new[2] - new[0]) > (old[2] - old[0]) * 1.5, "cropping in enlarges the element"
    elif case.check == "warmer":
        (r0, _, b0), (r1, _, b1) = (ImageStat.Stat(i.convert("RGB")).mean for i in (before, after))
        assert r1 - b1 > r0 - b0 + 8
    else:
        mask = changed_mask(before, after)
        assert changed_share(mask) > 0.3, "a whole-picture change touches most of it"


def _check_text_or_background(
    case: Case, before: Image.Image, after: Image.Image, mask: Image.Image
) -> None:
    if case.check == "background":
        want = tuple(int(case.target[i : i + 2], 16) for i in (1, 3, 5))
        got = _sky_colour(after)
        assert sum(abs(a - b) for a, b in zip(got, want, strict=True)) < 60, got
        assert sum(abs(a - b) for a, b in zip(_sky_colour(before), want, strict=True)) > 60
        return
    old_text, new_text = text_of(before), text_of(after)
    role = case.target
    if case.check == "text-gone":
        assert role in old_text and role not in new_text
        assert changed_share(mask, tuple(old_text[role]["box"])) > 0.05
        return
    assert role in new_text
    box: Box = tuple(new_text[role]["box"])  # type: ignore[assignment]
    assert changed_share(mask, box) > 0.05, "the lettering should be drawn"
    if case.check == "text-bigger":
        assert new_text[role]["size"] > old_text[role]["size"]
    elif case.check == "text-smaller":
        assert new_text[role]["size"] < old_text[role]["size"]
    else:
        assert new_text[role]["text"] in case.phrase


async def test_an_explicit_reference_edits_that_image_not_the_latest(client: AsyncOpenAI) -> None:
    first_id, first, first_image = await _draw(client, SEA)
    later = await client.responses.create(
        model="gpt-4.1", input=HILLS, previous_response_id=first_id, tools=[tool(size=SIZE)]
    )
    edited = (
        await client.responses.create(
            model="gpt-4.1",
            previous_response_id=later.id,
            input=items(
                {"type": "image_generation_call", "id": first["id"]},
                {"role": "user", "content": "remove the boat"},
            ),
            tools=[tool(size="auto")],
        )
    ).model_dump()
    (item,) = image_items(edited)
    after = decode(item["result"])
    assert meta_of(after)["scene"]["seed"] == meta_of(first_image)["scene"]["seed"]
    assert "boat" in boxes_of(first_image) and "boat" not in boxes_of(after)


@pytest.mark.parametrize(
    ("phrase", "said"),
    [
        ("add a dragon", "add a dragon"),
        ("make the cat wear a hat", "cat wear a hat"),
        ("remove the moon", "no moon"),
    ],
)
async def test_what_cannot_be_done_is_said_and_no_image_is_claimed(
    client: AsyncOpenAI, phrase: str, said: str
) -> None:
    parent_id, _, _ = await _draw(client, SEA)
    response = await client.responses.create(
        model="gpt-4.1", input=phrase, previous_response_id=parent_id, tools=[tool()]
    )
    assert image_items(response.model_dump()) == []
    text = response.output_text
    assert text.startswith("I didn't change the image"), text
    assert said in text
    assert "Edited" not in text and textgen.FALLBACK not in text


async def test_a_format_it_already_has_is_not_claimed(client: AsyncOpenAI) -> None:
    parent_id, _, before = await _draw(client, SEA)
    response = await client.responses.create(
        model="gpt-4.1",
        input="make it 16:9 and remove the boat",
        previous_response_id=parent_id,
        tools=[tool(size="auto")],
    )
    (item,) = image_items(response.model_dump())
    assert decode(item["result"]).size == before.size
    text = response.output_text
    assert "removed the boat" in text and "turn it to landscape (it already is)" in text
    assert "turned it" not in text


async def test_a_partly_possible_edit_says_both(client: AsyncOpenAI) -> None:
    parent_id, _, _ = await _draw(client, SEA)
    response = await client.responses.create(
        model="gpt-4.1",
        input="remove the sun and add a dragon",
        previous_response_id=parent_id,
        tools=[tool(size="auto")],
    )
    (item,) = image_items(response.model_dump())
    assert "sun" not in boxes_of(decode(item["result"]))
    text = response.output_text
    assert "removed the sun" in text and "couldn't add a dragon" in text
    assert "OPENAI_API_KEY" in text
    assert SEA not in text  # no echo of the prompt


async def test_questions_with_an_image_in_context_are_not_edits(client: AsyncOpenAI) -> None:
    parent_id, _, _ = await _draw(client, SEA)
    response = await client.responses.create(
        model="gpt-4.1",
        input="how do I refine an image?",
        previous_response_id=parent_id,
        tools=[tool()],
    )
    assert image_items(response.model_dump()) == []
    assert response.output_text == textgen.REFINE_HELP
