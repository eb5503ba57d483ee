"""Read a Responses API event stream, decoding big events off the event loop.

The SDK's own stream reader splits lines with a regex over every byte and parses every event
on the loop: a 3840x2160 image arrives as several multi-megabyte events and stalls the loop
for 100 ms or more. This reader finds event boundaries with ``bytes.find`` and hands any
event over ``BIG_EVENT_BYTES`` to a worker thread; events are then built exactly as the SDK
builds them (``construct_type`` on the ``ResponseStreamEvent`` union).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import cast

from openai._models import construct_type
from openai.types.responses import ResponseStreamEvent

from agent.images import b64
from agent.images.pool import run_image_work

BIG_EVENT_BYTES = 256 * 1024
_BIG_FIELDS = ("partial_image_b64", "result")
_SEPARATORS = (b"\n\n", b"\r\n\r\n", b"\r\r")


def _boundary(buffer: bytes | bytearray, start: int) -> tuple[int, int] | None:
    """The earliest blank-line separator at or after ``start``: (position, length).

    Walks line ends with single-byte ``find`` (memchr): an image event is megabytes of
    base64 with two line ends, and a two-byte ``find`` per separator kind scanned all of it
    on the event loop (8 ms per 3.5 MB event, measured).
    """
    end = len(buffer)
    pos = start
    while True:
        newline = buffer.find(b"\n", pos)
        carriage = buffer.find(b"\r", pos, end if newline < 0 else newline)
        at = carriage if carriage >= 0 else newline
        if at < 0:
            return None
        for separator in _SEPARATORS:
            if buffer.startswith(separator, at):
                return at, len(separator)
        pos = at + 1


def parse_event(block: bytes | memoryview) -> ResponseStreamEvent | None:
    """One SSE block (without its blank line) as a typed event; None for comments/[DONE]."""
    data_lines: list[str] = []
    for raw_line in str(block, "utf-8").splitlines():
        if raw_line.startswith("data:"):
            value = raw_line[5:]
            data_lines.append(value[1:] if value.startswith(" ") else value)
    if not data_lines:
        return None
    data = "\n".join(data_lines)
    if data == "[DONE]":
        return None
    payload = b64.loads(data, _BIG_FIELDS)
    return cast(ResponseStreamEvent, construct_type(type_=ResponseStreamEvent, value=payload))


async def iter_events(chunks: AsyncIterator[bytes]) -> AsyncIterator[ResponseStreamEvent]:
    """Typed events from a byte stream of server-sent events.

    A chunk that arrives with no partial event pending is read in place (the in-process
    engine sends each event as one chunk): a multi-megabyte image event is then not copied
    on the event loop at all, only viewed.
    """
    buffer = bytearray()
    scan_from = 0
    async for chunk in chunks:
        data: bytes | bytearray
        if buffer:
            buffer += chunk
            data = buffer
        else:
            data, scan_from = chunk, 0
        start = 0
        while (found := _boundary(data, max(start, scan_from))) is not None:
            end, separator = found
            if data is buffer:
                with memoryview(buffer) as view:
                    block: bytes | memoryview = bytes(view[start:end])
            else:
                block = memoryview(data)[start:end]
            start = end + separator
            event = await _decode(block)
            if event is not None:
                yield event
        if data is buffer:
            del buffer[:start]
        elif start < len(data):
            buffer = bytearray(memoryview(data)[start:])  # only the unfinished tail
        scan_from = max(0, len(buffer) - 3)  # a separator may straddle two chunks
    if buffer.strip():
        event = await _decode(bytes(buffer))
        if event is not None:
            yield event


async def _decode(block: bytes | memoryview) -> ResponseStreamEvent | None:
    if len(block) > BIG_EVENT_BYTES:
        return await run_image_work(parse_event, block)  # base64 images: the image pool
    return parse_event(block)


_SAMPLES: tuple[dict[str, object], ...] = (
    {"type": "response.output_text.delta", "item_id": "m", "output_index": 0,
     "content_index": 0, "delta": "x", "logprobs": [], "sequence_number": 0},
    {"type": "response.image_generation_call.partial_image", "item_id": "ig", "output_index": 0,
     "partial_image_b64": "", "partial_image_index": 0, "sequence_number": 0},
    {"type": "response.output_item.added", "output_index": 0, "sequence_number": 0,
     "item": {"type": "image_generation_call", "id": "ig", "status": "in_progress"}},
    {"type": "response.output_item.done", "output_index": 0, "sequence_number": 0,
     "item": {"type": "reasoning", "id": "rs", "summary": []}},
    {"type": "response.completed", "sequence_number": 0, "response": {
        "id": "r", "object": "response", "created_at": 0, "model": "m", "output": [],
        "parallel_tool_calls": True, "tool_choice": "auto", "tools": [], "status": "completed"}},
)  # fmt: skip


def warm_up() -> None:
    """Build the SDK's event schemas now (blocking, ~1 s once), not during the first turn."""
    for sample in _SAMPLES:
        parse_event(b"data: " + json.dumps(sample).encode())
