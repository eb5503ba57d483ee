"""Stored responses: refinement by previous_response_id and by image id, store=false,
missing ids, the reasoning-item rule, restart survival, GET/DELETE, models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI
from PIL import Image, ImageChops, ImageStat

from agent.engine import Engine, EngineConfig
from agent.engine.transport import StreamingASGITransport
from tests.engine.helpers import BASE_URL, decode, image_items, items, sdk, tool


async def _image(
    client: AsyncOpenAI, text: str, model: str = "gpt-4.1", **kw: Any
) -> dict[str, Any]:
    response = await client.responses.create(model=model, input=text, tools=[tool()], **kw)
    payload: dict[str, Any] = response.model_dump()
    return payload


def _diff(a: Image.Image, b: Image.Image) -> float:
    stat = ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB")))
    return sum(stat.mean) / 3


async def test_refine_by_previous_response_id(client: AsyncOpenAI) -> None:
    first = await _image(client, "draw a mountain lake at noon")
    (src,) = image_items(first)
    second = await client.responses.create(
        model="gpt-4.1",
        input="make it warmer",
        tools=[tool(size="auto")],
        previous_response_id=first["id"],
    )
    (edited,) = image_items(second.model_dump())
    assert edited["action"] == "edit"
    assert edited["size"] == "1024x1024"  # auto on an edit keeps the source's size
    before, after = decode(src["result"]), decode(edited["result"])
    other = decode(
        image_items(await _image(client, "draw a neon city street at night"))[0]["result"]
    )
    assert 0 < _diff(before, after) < _diff(before, other)
    red_gain = (
        ImageStat.Stat(after.convert("RGB")).mean[0] - ImageStat.Stat(before.convert("RGB")).mean[0]
    )
    blue_gain = (
        ImageStat.Stat(after.convert("RGB")).mean[2] - ImageStat.Stat(before.convert("RGB")).mean[2]
    )
    assert red_gain > blue_gain
    assert second.previous_response_id == first["id"]


async def test_refine_by_image_id_survives_restart(tmp_path: Path) -> None:
    db = tmp_path / "engine.db"
    config = EngineConfig(db_path=db)

    async def run(engine: Engine, **kw: Any) -> dict[str, Any]:
        async with httpx.AsyncClient(transport=StreamingASGITransport(engine.asgi)) as http:
            client = sdk(http)
            response = await client.responses.create(model="gpt-4.1", tools=[tool()], **kw)
            payload: dict[str, Any] = response.model_dump()
            return payload

    first_engine = Engine(config)
    made = await run(first_engine, input="draw a cat on a windowsill")
    await first_engine.aclose()
    (src,) = image_items(made)

    second_engine = Engine(config)
    try:
        edited = await run(
            second_engine,
            input=items(
                {"type": "image_generation_call", "id": src["id"]},
                {"role": "user", "content": 'add a tagline "Nap time"'},
            ),
        )
        fetched = await run_get(second_engine, made["id"])
    finally:
        await second_engine.aclose()
    (out,) = image_items(edited)
    assert out["action"] == "edit" and out["status"] == "completed"
    assert decode(out["result"]).size == decode(src["result"]).size
    assert out["result"] != src["result"]
    assert "windowsill" in out["revised_prompt"].lower()
    assert image_items(fetched)[0]["result"] == src["result"]


async def run_get(engine: Engine, response_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient(transport=StreamingASGITransport(engine.asgi)) as http:
        response = await http.get(f"{BASE_URL}/responses/{response_id}")
        assert response.status_code == 200
        payload: dict[str, Any] = response.json()
        return payload


async def test_store_false_reference_fails_like_the_api(client: AsyncOpenAI) -> None:
    made = await _image(client, "draw a paper boat", store=False)
    (src,) = image_items(made)
    with pytest.raises(openai.BadRequestError) as info:
        await client.responses.create(
            model="gpt-4.1",
            tools=[tool()],
            input=items(
                {"type": "image_generation_call", "id": src["id"]},
                {"role": "user", "content": "make it brighter"},
            ),
        )
    error = info.value.body
    assert isinstance(error, dict)
    assert error["param"] == "input"
    assert error["type"] == "invalid_request_error"
    assert error["message"] == (
        f"Item with id '{src['id']}' not found. Items are not persisted when `store` is set to "
        "false. Try again with `store` set to true, or remove this item from your input."
    )
    with pytest.raises(openai.BadRequestError):
        await client.responses.create(
            model="gpt-4.1", input="again", previous_response_id=made["id"]
        )


async def test_unknown_previous_response_id(client: AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        await client.responses.create(
            model="gpt-4.1", input="hi", previous_response_id="resp_doesnotexist"
        )
    error = info.value.body
    assert isinstance(error, dict)
    assert error["param"] == "previous_response_id"
    assert error["message"] == "Previous response with id 'resp_doesnotexist' not found."


async def test_reasoning_item_required_for_image_reference(client: AsyncOpenAI) -> None:
    made = await _image(client, "draw a fox in the snow", model="gpt-5")
    reasoning, image = made["output"][0], image_items(made)[0]
    assert reasoning["type"] == "reasoning"
    reference: dict[str, Any] = {"type": "image_generation_call", "id": image["id"]}
    ask: dict[str, Any] = {"role": "user", "content": "make it cooler"}
    with pytest.raises(openai.BadRequestError) as info:
        await client.responses.create(model="gpt-5", tools=[tool()], input=items(reference, ask))
    error = info.value.body
    assert isinstance(error, dict) and error["param"] == "input"
    assert error["message"] == (
        f"Item '{image['id']}' of type 'image_generation_call' was provided without its "
        f"required 'reasoning' item: '{reasoning['id']}'."
    )
    replayed: dict[str, Any] = {"type": "reasoning", "id": reasoning["id"], "summary": []}
    ok = await client.responses.create(
        model="gpt-5", tools=[tool()], input=items(replayed, reference, ask)
    )
    assert image_items(ok.model_dump())[0]["action"] == "edit"
    chained = await client.responses.create(
        model="gpt-5",
        tools=[tool()],
        input=items(reference, ask),
        previous_response_id=made["id"],
    )
    assert image_items(chained.model_dump())[0]["status"] == "completed"


async def test_get_delete_and_models(client: AsyncOpenAI) -> None:
    made = await _image(client, "draw a teapot icon")
    fetched = await client.responses.retrieve(made["id"])
    assert fetched.id == made["id"]
    assert image_items(fetched.model_dump())[0]["result"] == image_items(made)[0]["result"]
    await client.responses.delete(made["id"])
    with pytest.raises(openai.NotFoundError):
        await client.responses.retrieve(made["id"])
    with pytest.raises(openai.NotFoundError):
        await client.responses.delete(made["id"])
    models = [m.id async for m in client.models.list()]
    assert "gpt-5.1" in models and "gpt-image-2" in models


async def test_cached_tokens_follow_the_chain(client: AsyncOpenAI) -> None:
    long_instructions = "You are a careful studio assistant. " * 150  # ~1,350 tokens
    first = await client.responses.create(
        model="gpt-4.1", instructions=long_instructions, input="hello"
    )
    assert first.usage is not None and first.usage.input_tokens_details.cached_tokens == 0
    second = await client.responses.create(
        model="gpt-4.1",
        instructions=long_instructions,
        input="what can you do?",
        previous_response_id=first.id,
    )
    assert second.usage is not None
    cached = second.usage.input_tokens_details.cached_tokens
    assert cached >= 1024 and cached % 128 == 0
    assert cached <= first.usage.input_tokens < second.usage.input_tokens
