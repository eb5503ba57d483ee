"""400s like the real API: each image tool rule, unknown fields, bad input."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from openai import AsyncOpenAI

from tests.engine.helpers import tool


async def _bad(client: AsyncOpenAI, **kw: Any) -> dict[str, Any]:
    with pytest.raises(openai.BadRequestError) as info:
        await client.responses.create(**{"model": "gpt-4.1", "input": "draw a cat", **kw})
    body = info.value.body
    assert isinstance(body, dict)
    assert body["type"] == "invalid_request_error"
    return body


@pytest.mark.parametrize(
    ("options", "param", "words"),
    [
        ({"size": "1000x1000"}, "tools[0].size", "multiples of 16"),
        ({"size": "3840x1024"}, "tools[0].size", "3:1"),
        ({"size": "4096x2048"}, "tools[0].size", "longest edge"),
        ({"size": "512x512"}, "tools[0].size", "total pixels"),
        ({"quality": "ultra"}, "tools[0].quality", "quality"),
        ({"output_format": "gif"}, "tools[0].output_format", "png, jpeg or webp"),
        ({"partial_images": 4}, "tools[0].partial_images", "0 to 3"),
        ({"background": "transparent", "output_format": "jpeg"}, "tools[0].background", "jpeg"),
        ({"input_fidelity": "high"}, "tools[0].input_fidelity", "omit it"),
        ({"style": "vivid"}, "tools[0].style", "Unknown parameter"),
    ],
)
async def test_image_tool_rules(
    client: AsyncOpenAI, options: dict[str, Any], param: str, words: str
) -> None:
    body = await _bad(client, tools=[tool(**options)])
    assert body["param"] == param
    assert words in body["message"]


async def test_unknown_top_level_field(client: AsyncOpenAI) -> None:
    body = await _bad(client, extra_body={"colour": "blue"})
    assert body["param"] == "colour"
    assert body["code"] == "unknown_parameter"


async def test_bad_input_items(client: AsyncOpenAI) -> None:
    body = await _bad(client, input=[{"type": "computer_call_output", "call_id": "x"}])
    assert body["param"] == "input[0].type"
    body = await _bad(client, input=[{"type": "function_call_output", "call_id": "x"}])
    assert body["param"] == "input[0].output"
    body = await _bad(
        client,
        input=[
            {
                "role": "user",
                "content": [{"type": "input_image", "image_url": "https://example.com/a.png"}],
            }
        ],
    )
    assert body["param"] == "input[0].content[0].image_url"
    assert "data URL" in body["message"]
    body = await _bad(
        client,
        input=[
            {
                "role": "user",
                "content": [{"type": "input_image", "image_url": "data:image/png;base64,AAAA"}],
            }
        ],
    )
    assert body["code"] == "invalid_image"


async def test_tool_choice_rules(client: AsyncOpenAI) -> None:
    body = await _bad(client, tool_choice="required")
    assert body["param"] == "tool_choice"
    body = await _bad(client, tool_choice={"type": "image_generation"})
    assert "not found in 'tools'" in body["message"]
    body = await _bad(client, tools=[tool(action="edit")])
    assert body["param"] == "tools[0].action"


async def test_tool_choice_is_honoured(client: AsyncOpenAI) -> None:
    never = await client.responses.create(
        model="gpt-4.1", input="draw a cat", tools=[tool()], tool_choice="none"
    )
    assert [o.type for o in never.output] == ["message"]
    no_tool = await client.responses.create(model="gpt-4.1", input="draw a cat")
    assert [o.type for o in no_tool.output] == ["message"]
    assert "switched off" in no_tool.output_text
    forced = await client.responses.create(
        model="gpt-4.1",
        input="hello",
        tools=[tool()],
        tool_choice={"type": "image_generation"},
    )
    assert [o.type for o in forced.output] == ["image_generation_call", "message"]
    help_text = await client.responses.create(
        model="gpt-4.1", input="how much does an image cost?", tools=[tool()]
    )
    assert [o.type for o in help_text.output] == ["message"]
    assert "tokens" in help_text.output_text
