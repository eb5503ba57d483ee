"""The event-stream reader: boundaries, big events off the loop, SDK-identical events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from openai.types.responses import (
    ResponseCompletedEvent,
    ResponseImageGenCallPartialImageEvent,
    ResponseTextDeltaEvent,
)

from agent.turn.sse import BIG_EVENT_BYTES, iter_events, parse_event


def _sse(payload: dict[str, object], newline: bytes = b"\n") -> bytes:
    event = f"event: {payload['type']}".encode()
    return event + newline + b"data: " + json.dumps(payload).encode() + newline + newline


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


DELTA = {
    "type": "response.output_text.delta",
    "item_id": "msg_1",
    "output_index": 0,
    "content_index": 0,
    "delta": "hé",
    "logprobs": [],
    "sequence_number": 3,
}


async def test_events_split_across_chunks_of_any_size() -> None:
    partial = {
        "type": "response.image_generation_call.partial_image",
        "item_id": "ig_1",
        "output_index": 0,
        "partial_image_b64": "A" * (BIG_EVENT_BYTES + 10),
        "partial_image_index": 0,
        "sequence_number": 4,
    }
    stream = _sse(DELTA) + b": keep-alive comment\n\n" + _sse(partial, b"\r\n") + _sse(DELTA)
    for size in (1, 7, 4096, len(stream)):
        events = [e async for e in iter_events(_chunks(stream, size))]
        assert [type(e) for e in events] == [
            ResponseTextDeltaEvent,
            ResponseImageGenCallPartialImageEvent,
            ResponseTextDeltaEvent,
        ]
        assert isinstance(events[0], ResponseTextDeltaEvent) and events[0].delta == "hé"
        big = events[1]
        assert isinstance(big, ResponseImageGenCallPartialImageEvent)
        assert len(big.partial_image_b64) == BIG_EVENT_BYTES + 10


async def test_a_final_event_without_its_blank_line_is_still_read() -> None:
    stream = _sse(DELTA).rstrip(b"\n")
    events = [e async for e in iter_events(_chunks(stream, 5))]
    assert len(events) == 1


def test_done_and_comment_blocks_are_not_events() -> None:
    assert parse_event(b"data: [DONE]") is None
    assert parse_event(b": ping") is None


def test_events_are_built_like_the_sdk_builds_them() -> None:
    completed = {
        "type": "response.completed",
        "sequence_number": 9,
        "response": {
            "id": "resp_1",
            "object": "response",
            "created_at": 1,
            "model": "gpt-5.1",
            "output": [],
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "status": "completed",
            "future_field": {"kept": True},
        },
    }
    event = parse_event(_sse(completed).strip())
    assert isinstance(event, ResponseCompletedEvent)
    assert event.response.id == "resp_1"
    assert event.response.model_dump()["future_field"] == {"kept": True}  # nothing dropped
