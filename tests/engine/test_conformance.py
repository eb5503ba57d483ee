"""Wire conformance: every event and Response validates against the SDK's own types."""

from __future__ import annotations

import httpx
from openai import AsyncOpenAI
from openai.types.responses import Response

from agent.engine.usage_model import PREAMBLE_TOKENS
from agent.images.spec import PARTIAL_IMAGE_TOKENS, image_output_tokens
from tests.engine.helpers import decode, final_response, image_items, raw_events, tool

TEXT_SEQUENCE = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
]
IMAGE_SEQUENCE = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",  # reasoning
    "response.output_item.done",
    "response.output_item.added",  # image_generation_call, in_progress
    "response.image_generation_call.in_progress",
    "response.image_generation_call.generating",
    "response.image_generation_call.partial_image",
    "response.image_generation_call.partial_image",
    "response.image_generation_call.completed",
    "response.output_item.done",
    "response.output_item.added",  # message
    "response.content_part.added",
]


async def test_text_turn_streams_valid_events(http: httpx.AsyncClient) -> None:
    events = await raw_events(http, {"model": "gpt-4.1", "input": "hello there"})
    types = [e["type"] for e in events]
    assert types[:4] == TEXT_SEQUENCE
    assert types[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    deltas = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    payload = final_response(events)
    response = Response.model_validate(payload)
    assert response.output_text == deltas
    assert "image studio" in deltas
    assert response.usage is not None and response.usage.output_tokens > 0
    assert response.usage.input_tokens == PREAMBLE_TOKENS + 3  # ceil(len("hello there") / 4)
    assert payload["tool_usage"]["image_gen"]["output_tokens"] == 0
    assert payload["tool_usage"]["web_search"] == {"num_requests": 0}
    assert payload["id"].startswith("resp_")
    assert events[0]["response"]["status"] == "in_progress"


async def test_image_turn_with_two_partials(http: httpx.AsyncClient) -> None:
    events = await raw_events(
        http,
        {
            "model": "gpt-5",
            "input": "draw a lighthouse at dusk",
            "tools": [tool(partial_images=2, quality="medium")],
        },
    )
    types = [e["type"] for e in events]
    assert types[: len(IMAGE_SEQUENCE)] == IMAGE_SEQUENCE
    added = events[4]["item"]
    assert added["type"] == "image_generation_call" and added["status"] == "in_progress"
    assert added["id"].startswith("ig_")
    partials = [e for e in events if e["type"].endswith("partial_image")]
    assert [p["partial_image_index"] for p in partials] == [0, 1]
    assert {p["item_id"] for p in partials} == {added["id"]}
    assert all(p["output_index"] == 1 for p in partials)
    payload = final_response(events)
    reasoning, image, message = payload["output"]
    assert reasoning["type"] == "reasoning" and reasoning["id"].startswith("rs_")
    assert message["type"] == "message" and message["id"].startswith("msg_")
    assert image["status"] == "completed" and image["action"] == "generate"
    assert (image["size"], image["quality"], image["output_format"]) == (
        "1024x1024",
        "medium",
        "png",
    )
    assert (
        image["revised_prompt"].startswith("A lighthouse at dusk")
        or "lighthouse" in image["revised_prompt"].lower()
    )
    assert len(image["revised_prompt"]) > len("draw a lighthouse at dusk")
    assert decode(image["result"]).size == (1024, 1024)
    assert decode(partials[0]["partial_image_b64"]).size == (1024, 1024)
    usage = payload["usage"]
    assert usage["output_tokens_details"]["reasoning_tokens"] > 0
    assert usage["output_tokens"] > usage["output_tokens_details"]["reasoning_tokens"]
    gen = payload["tool_usage"]["image_gen"]
    expected = image_output_tokens("gpt-image-2", 1024, 1024, "medium") + 2 * PARTIAL_IMAGE_TOKENS
    assert gen["output_tokens"] == expected == 1956
    assert gen["output_tokens_details"] == {"image_tokens": expected, "text_tokens": 0}
    assert gen["input_tokens_details"]["text_tokens"] > 0
    assert gen["total_tokens"] == gen["input_tokens"] + gen["output_tokens"]


async def test_moderation_blocks_the_image_but_completes(http: httpx.AsyncClient) -> None:
    events = await raw_events(
        http,
        {"model": "gpt-4.1", "input": "draw a gore scene", "tools": [tool(partial_images=1)]},
    )
    assert not [e for e in events if e["type"].endswith("partial_image")]
    payload = final_response(events)
    assert payload["status"] == "completed"
    (image,) = image_items(payload)
    assert image["status"] == "failed" and image["result"] is None
    assert image["error"]["code"] == "moderation_blocked"
    assert image["error"]["type"] == "image_generation_user_error"
    assert image["error"]["moderation_details"] == {
        "categories": ["violence"],
        "moderation_stage": "input",
    }
    text = Response.model_validate(payload).output_text
    assert "blocked" in text and "violence" in text
    assert payload["tool_usage"]["image_gen"]["output_tokens"] == 0


async def test_sdk_stream_helper_and_create_stream(client: AsyncOpenAI) -> None:
    async with client.responses.stream(
        model="gpt-4.1", input="draw a red kite", tools=[tool(partial_images=1)]
    ) as stream:
        kinds = [event.type async for event in stream]
        final = await stream.get_final_response()
    assert "response.image_generation_call.partial_image" in kinds
    assert final.status == "completed"
    assert [o.type for o in final.output] == ["image_generation_call", "message"]
    assert final.tool_usage is not None and final.tool_usage.image_gen.output_tokens == 296

    stream2 = await client.responses.create(
        model="gpt-4.1", input="what can you do?", tools=[tool()], stream=True
    )
    async with stream2:
        seen = [event async for event in stream2]
    last = seen[-1]
    assert last.type == "response.completed"
    assert not [o for o in last.response.output if o.type == "image_generation_call"]


async def test_non_streaming_create_returns_a_valid_response(client: AsyncOpenAI) -> None:
    raw = await client.responses.with_raw_response.create(
        model="gpt-4.1",
        input="design a logo for a bakery",
        tools=[tool()],
        metadata={"session": "s1"},
    )
    assert raw.headers["x-request-id"].startswith("req_")
    payload = raw.http_response.json()
    response = Response.model_validate(payload)
    assert response.metadata == {"session": "s1"}
    assert response.tools[0].type == "image_generation"
    (image,) = image_items(payload)
    assert decode(image["result"]).size == (1024, 1024)
    assert "bakery" in response.output_text
