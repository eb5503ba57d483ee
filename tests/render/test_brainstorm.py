"""Brainstorm: distinct, on-brief variants described per number; follow-ups pick the right one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openai import AsyncOpenAI
from PIL import Image

from agent.engine import textgen
from agent.prompts import PromptBook
from agent.turn.variants import instructions_for
from tests.engine.helpers import decode, image_items, items, tool
from tests.render.helpers import boxes_of, changed_mask, changed_share, meta_of, text_of

PROMPTS = Path(__file__).resolve().parents[2] / "prompts"
BRIEF = "a logo for a coffee shop called Ember"


@pytest.fixture(scope="module")
def brainstorm() -> str:
    # As the app sends them: the profile's number of directions filled in (3 by default).
    raw = PromptBook.load(PROMPTS).for_profile("brainstorm")
    return instructions_for(raw, directions=3, planned=1)


async def _variants(
    client: AsyncOpenAI, instructions: str, brief: str = BRIEF
) -> tuple[str, list[dict[str, Any]], str]:
    response = await client.responses.create(
        model="gpt-4.1", instructions=instructions, input=brief, tools=[tool()]
    )
    return response.id, image_items(response.model_dump()), response.output_text


def _scene(item: dict[str, Any]) -> dict[str, Any]:
    scene: dict[str, Any] = meta_of(decode(item["result"]))["scene"]
    return scene


async def test_three_distinct_on_brief_variants_numbered(
    client: AsyncOpenAI, brainstorm: str
) -> None:
    _, variants, reply = await _variants(client, brainstorm)
    assert len(variants) == 3
    images = [decode(v["result"]) for v in variants]
    assert all(text_of(im)["title"]["text"] == "Ember" for im in images)
    scenes = [meta_of(im)["scene"] for im in images]
    assert len({(s["palette"], s["style"]) for s in scenes}) == 3
    for a in range(3):
        for b in range(a + 1, 3):
            assert changed_share(changed_mask(images[a], images[b])) > 0.5
    for number in ("1 \u00b7", "2 \u00b7", "3 \u00b7"):
        assert reply.count(number) == 1
    for scene in scenes:
        assert textgen.describe_palette(scene["palette"]) in reply
    assert reply.count("Ember") == 3
    assert "Make A Poster" not in reply and BRIEF not in reply


@pytest.mark.parametrize(
    ("follow_up", "index"),
    [
        ("let's go with 3", 2),
        ("go with 3", 2),
        ("the second one", 1),
        ("I like option 1", 0),
        ("#2", 1),
        ("the last one", 2),
    ],
)
async def test_a_pick_edits_that_variant(
    client: AsyncOpenAI, brainstorm: str, follow_up: str, index: int
) -> None:
    brainstorm_id, variants, _ = await _variants(client, brainstorm)
    response = await client.responses.create(
        model="gpt-4.1",
        instructions=brainstorm,
        input=follow_up,
        previous_response_id=brainstorm_id,
        tools=[tool()],
    )
    (item,) = image_items(response.model_dump())
    assert item["action"] == "edit"
    picked = _scene(variants[index])
    assert _scene(item) == picked
    assert response.output_text.startswith(f"Going with option {index + 1}: ")
    assert "Edited" not in response.output_text  # nothing was changed, so none is claimed
    assert textgen.FALLBACK not in response.output_text


async def test_a_pick_with_a_change_edits_the_picked_variant(
    client: AsyncOpenAI, brainstorm: str
) -> None:
    brainstorm_id, variants, _ = await _variants(
        client, brainstorm, "a poster of a lighthouse by the sea titled HARBOR"
    )
    response = await client.responses.create(
        model="gpt-4.1",
        instructions=brainstorm,
        input="go with 2 but make the background cream",
        previous_response_id=brainstorm_id,
        tools=[tool()],
    )
    (item,) = image_items(response.model_dump())
    scene, picked = _scene(item), _scene(variants[1])
    assert scene["seed"] == picked["seed"] and scene["palette"] == picked["palette"]
    assert scene["sky"] == "#f3ead3" and picked["sky"] is None
    assert "made the background cream" in response.output_text


async def test_mix_takes_composition_from_one_and_palette_from_the_other(
    client: AsyncOpenAI, brainstorm: str
) -> None:
    brainstorm_id, variants, _ = await _variants(
        client, brainstorm, "a poster of a lighthouse by the sea titled HARBOR"
    )
    response = await client.responses.create(
        model="gpt-4.1",
        instructions=brainstorm,
        input="mix 1 and 3",
        previous_response_id=brainstorm_id,
        tools=[tool()],
    )
    (item,) = image_items(response.model_dump())
    mixed, first, third = _scene(item), _scene(variants[0]), _scene(variants[2])
    assert [e["x"] for e in mixed["elements"]] == [e["x"] for e in first["elements"]]
    assert (mixed["palette"], mixed["style"]) == (third["palette"], third["style"])
    assert "mixed 1 and 3" in response.output_text
    image: Image.Image = decode(item["result"])
    assert "lighthouse" in boxes_of(image)


async def test_an_explicit_image_reference_wins_over_the_chain(
    client: AsyncOpenAI, brainstorm: str
) -> None:
    brainstorm_id, variants, _ = await _variants(client, brainstorm)
    response = await client.responses.create(
        model="gpt-4.1",
        instructions=brainstorm,
        previous_response_id=brainstorm_id,
        input=items(
            {"type": "image_generation_call", "id": variants[0]["id"]},
            {"role": "user", "content": "make the background cream"},
        ),
        tools=[tool()],
    )
    (item,) = image_items(response.model_dump())
    scene = _scene(item)
    assert scene["palette"] == _scene(variants[0])["palette"] and scene["sky"] == "#f3ead3"


async def test_a_pick_out_of_range_is_not_claimed(client: AsyncOpenAI, brainstorm: str) -> None:
    brainstorm_id, _, _ = await _variants(client, brainstorm)
    response = await client.responses.create(
        model="gpt-4.1",
        instructions=brainstorm,
        input="go with 4",
        previous_response_id=brainstorm_id,
        tools=[tool()],
    )
    assert image_items(response.model_dump()) == []
    assert "option 4" not in response.output_text


async def test_variations_reply_names_each_once(client: AsyncOpenAI) -> None:
    made = await client.responses.create(
        model="gpt-4.1", input="draw a lighthouse by the sea", tools=[tool()]
    )
    response = await client.responses.create(
        model="gpt-4.1",
        input="3 variations of this image",
        previous_response_id=made.id,
        tools=[tool()],
    )
    assert len(image_items(response.model_dump())) == 3
    text = response.output_text
    assert "variations of this image" not in text
    assert text.startswith("Here are 3 variations: 1 \u00b7")


async def test_a_new_brief_after_the_variants_is_drawn_not_refused(
    client: AsyncOpenAI, brainstorm: str
) -> None:
    brainstorm_id, _, _ = await _variants(client, brainstorm)
    response = await client.responses.create(
        model="gpt-4.1",
        instructions=brainstorm,
        input="now a poster for the same shop called Ember",
        previous_response_id=brainstorm_id,
        tools=[tool()],
    )
    made = image_items(response.model_dump())
    assert len(made) == 3 and all(i["action"] == "generate" for i in made)
    assert all(meta_of(decode(i["result"]))["scene"]["layout"] == "poster" for i in made)
