"""Request shapes real clients send (see tests/conformance), and the realism of the answer."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from openai.types.responses import Response

from agent.engine.usage_model import IMAGE_TOOL_TOKENS
from tests.engine.helpers import final_response, image_items, raw_events, tool

JsonDict = dict[str, Any]
GET_ANIMAL = {
    "type": "function",
    "name": "get_animal",
    "description": None,
    "parameters": {"type": "object", "properties": {}, "additionalProperties": False},
    "strict": False,
}
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city", "days"],
    },
}


async def _create(http: httpx.AsyncClient, **body: Any) -> JsonDict:
    answer = await http.post("/responses", json=body)
    assert answer.status_code == 200, answer.text
    payload: JsonDict = answer.json()
    Response.model_validate(payload)
    return payload


async def test_png_with_output_compression_and_null_input_fidelity(http: httpx.AsyncClient) -> None:
    """pydantic-ai always sends output_compression 100 and input_fidelity null."""
    sent = tool(output_format="png", output_compression=100, input_fidelity=None)
    payload = await _create(http, model="gpt-5", input="draw a fox", tools=[sent])
    assert payload["tools"][0]["output_compression"] == 100
    (image,) = image_items(payload)
    assert image["output_format"] == "png" and image["status"] == "completed"


async def test_resolved_values_integer_times_and_dated_model(http: httpx.AsyncClient) -> None:
    payload = await _create(
        http, model="gpt-5", input="draw a fox", tools=[tool(background="auto", quality="auto")]
    )
    assert payload["model"] == "gpt-5-2025-08-07"
    assert isinstance(payload["created_at"], int) and isinstance(payload["completed_at"], int)
    (image,) = image_items(payload)
    assert image["background"] == "opaque" and image["quality"] in ("low", "medium", "high")
    assert payload["tools"][0]["quality"] == "auto"  # the tool is echoed as sent


async def test_function_named_in_the_text_is_called_then_its_output_used(
    http: httpx.AsyncClient,
) -> None:
    """pydantic-ai's recorded flow: call get_animal, then draw what it returned."""
    ask = {"role": "user", "content": "Generate an image of the animal returned by get_animal."}
    first = await _create(
        http,
        model="gpt-5",
        input=[ask],
        tools=[tool(), GET_ANIMAL],
        tool_choice="required",
        include=["reasoning.encrypted_content"],
        store=False,
    )
    assert [o["type"] for o in first["output"]] == ["reasoning", "function_call"]
    reasoning, call = first["output"]
    assert call["name"] == "get_animal" and call["arguments"] == "{}"
    assert reasoning["encrypted_content"].startswith("gAAAAA")
    answer = {"type": "function_call_output", "call_id": call["call_id"], "output": "axolotl"}
    second = await _create(
        http,
        model="gpt-5",
        input=[ask, reasoning, call, answer],
        tools=[tool(), GET_ANIMAL],
        store=False,
    )
    (image,) = image_items(second)
    assert "axolotl" in image["revised_prompt"].lower()


@pytest.mark.parametrize(
    "choice",
    [
        {"type": "function", "name": "get_weather"},
        {"type": "allowed_tools", "mode": "required", "tools": [{"type": "function"}]},
        "required",
    ],
)
async def test_tool_choice_forms_call_the_function(http: httpx.AsyncClient, choice: Any) -> None:
    payload = await _create(
        http,
        model="gpt-4.1",
        input='What is it like in "Lisbon" for 3 days?',
        tools=[WEATHER],
        tool_choice=choice,
    )
    (call,) = [o for o in payload["output"] if o["type"] == "function_call"]
    assert json.loads(call["arguments"]) == {"city": "Lisbon", "days": 3}
    assert not [o for o in payload["output"] if o["type"] == "message"]


async def test_streamed_function_call_events(http: httpx.AsyncClient) -> None:
    events = await raw_events(
        http, {"model": "gpt-5.1", "input": "call get_weather for 'Oslo'", "tools": [WEATHER]}
    )
    types = [e["type"] for e in events]
    assert types[2:6] == [
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
    ]
    assert json.loads(events[4]["arguments"])["city"] == "Oslo"


async def test_reasoning_follows_effort_and_effort_none_has_no_item(
    http: httpx.AsyncClient,
) -> None:
    spent = {}
    for effort in ("low", "medium", "high"):
        payload = await _create(
            http, model="gpt-5", input="draw a fox", tools=[tool()], reasoning={"effort": effort}
        )
        assert payload["output"][0]["type"] == "reasoning"
        assert payload["reasoning"]["effort"] == effort
        spent[effort] = payload["usage"]["output_tokens_details"]["reasoning_tokens"]
    assert 0 < spent["low"] < spent["medium"] < spent["high"]
    for model in ("gpt-5.1", "gpt-5.2"):  # these default to effort "none"
        payload = await _create(http, model=model, input="draw a fox", tools=[tool()])
        assert payload["reasoning"]["effort"] == "none"
        assert [o["type"] for o in payload["output"]] == ["image_generation_call", "message"]
        assert payload["usage"]["output_tokens_details"]["reasoning_tokens"] == 0
    plain = await _create(http, model="gpt-4.1-mini", input="draw a fox", tools=[tool()])
    assert plain["reasoning"] == {"effort": None, "summary": None}


async def test_usage_magnitudes_match_the_recordings(http: httpx.AsyncClient) -> None:
    """A one-line prompt with the image tool: 1,800-2,900 input tokens and, at gpt-5's
    default effort, 600-2,000 output tokens; without an image only the tool definition."""
    image_turn = await _create(http, model="gpt-5", input="draw a fox at dawn", tools=[tool()])
    usage = image_turn["usage"]
    assert 1_800 <= usage["input_tokens"] <= 2_900
    assert 600 <= usage["output_tokens"] <= 2_000
    text_turn = await _create(http, model="gpt-5", input="hello", tools=[tool()])
    assert IMAGE_TOOL_TOKENS < text_turn["usage"]["input_tokens"] < 500


async def test_reasoning_effort_on_a_model_that_does_not_reason(http: httpx.AsyncClient) -> None:
    answer = await http.post(
        "/responses", json={"model": "gpt-4.1", "input": "hi", "reasoning": {"effort": "low"}}
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "reasoning.effort"


async def test_json_schema_text_format_is_echoed(http: httpx.AsyncClient) -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    fmt = {"type": "json_schema", "name": "Animal", "schema": schema, "strict": True}
    payload = await _create(http, model="gpt-5", input="hello", text={"format": fmt})
    assert payload["text"]["format"] == {**fmt, "description": None}
    final = final_response(
        await raw_events(http, {"model": "gpt-5", "input": "hello", "text": {"format": fmt}})
    )
    assert final["text"]["format"]["name"] == "Animal"


@pytest.mark.parametrize(
    ("tools", "param"),
    [
        ([{"type": "function", "parameters": {}}], "tools[0].name"),
        ([tool(), {"type": "web_search"}], "tools[1].type"),
        ([WEATHER, WEATHER], "tools[1].name"),
    ],
)
async def test_bad_tools_name_the_parameter(
    http: httpx.AsyncClient, tools: list[JsonDict], param: str
) -> None:
    answer = await http.post("/responses", json={"model": "gpt-5", "input": "hi", "tools": tools})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error"
