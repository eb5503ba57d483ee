"""Helpers that read raw SSE so every event can be validated with the SDK's own types."""

from __future__ import annotations

import base64
import io
import json
from typing import Any, cast

import httpx
from openai import AsyncOpenAI
from openai.types.responses import Response, ResponseStreamEvent
from PIL import Image
from pydantic import TypeAdapter

BASE_URL = "http://atelier-engine/v1"
EVENT_ADAPTER: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
BLOCKLIST = ("gore", "beheading")


def tool(**options: Any) -> Any:
    """An image_generation tool with test-friendly defaults (small, fast)."""
    return {"type": "image_generation", "size": "1024x1024", "quality": "low", **options}


async def raw_events(
    http: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """POST a streaming request and return every SSE event, validated with the SDK's types."""
    events: list[dict[str, Any]] = []
    async with http.stream(
        "POST", "/responses", json={**body, "stream": True}, headers=headers or {}
    ) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        name = None
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                event = json.loads(line[len("data: ") :])
                assert event["type"] == name
                EVENT_ADAPTER.validate_python(event)
                events.append(event)
    for index, event in enumerate(events):
        assert event["sequence_number"] == index
    return events


def final_response(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The validated Response carried by response.completed."""
    assert events[-1]["type"] == "response.completed"
    payload: dict[str, Any] = events[-1]["response"]
    Response.model_validate(payload)
    return payload


def decode(b64: str) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(b64)))
    image.load()
    return image


def image_items(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in payload["output"] if i["type"] == "image_generation_call"]


def sdk(http: httpx.AsyncClient) -> AsyncOpenAI:
    """The real SDK on a classic httpx client (accepted at runtime; its stubs say httpx2)."""
    return AsyncOpenAI(
        api_key="test", base_url=BASE_URL, http_client=cast(Any, http), max_retries=0
    )


def items(*entries: dict[str, Any]) -> Any:
    """An input item list (typed loosely: the SDK's TypedDict union is too narrow for refs)."""
    return list(entries)
