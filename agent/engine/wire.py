"""Payload dicts in the exact OpenAI Responses API wire format.

Everything here returns plain JSON-ready dicts shaped like ``openai.types.responses``
(``Response``, output items, stream events, error bodies); tests validate them with the SDK's
own pydantic types.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent.images import b64

if TYPE_CHECKING:
    from agent.engine.functions import FunctionCall

JsonDict = dict[str, Any]


def new_id(prefix: str) -> str:
    """A fresh id like the API's: ``resp_``, ``msg_``, ``ig_``, ``rs_`` plus random hex."""
    return f"{prefix}_{secrets.token_hex(24)}"


def error_body(
    message: str,
    *,
    type_: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
) -> JsonDict:
    """The API's error body: ``{"error": {"message", "type", "param", "code"}}``."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def message_item(item_id: str, text: str | None, *, status: str) -> JsonDict:
    """An assistant ``message`` output item; ``text=None`` means no content part yet."""
    content = [] if text is None else [output_text_part(text)]
    return {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": content,
    }


def output_text_part(text: str) -> JsonDict:
    """An ``output_text`` content part."""
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def reasoning_item(item_id: str, *, encrypted: bool = False) -> JsonDict:
    """A ``reasoning`` output item with an empty summary (none was requested).

    With ``encrypted`` (``include: ["reasoning.encrypted_content"]``) it carries an opaque
    ``encrypted_content`` token, as the API does, for stateless clients to replay.
    """
    item: JsonDict = {"id": item_id, "type": "reasoning", "summary": []}
    if encrypted:
        digest = hashlib.sha256(item_id.encode()).digest() * 4
        item["encrypted_content"] = "gAAAAA" + base64.urlsafe_b64encode(digest).decode()
    return item


def function_call_item(item_id: str, call: FunctionCall, *, status: str) -> JsonDict:
    """A ``function_call`` output item; in progress it has no arguments yet."""
    return {
        "id": item_id,
        "type": "function_call",
        "status": status,
        "arguments": call.arguments if status == "completed" else "",
        "call_id": f"call_{secrets.token_urlsafe(18)[:24]}",
        "name": call.name,
    }


async def function_call_events(
    seq: EventSequence, call: FunctionCall, index: int, output: list[JsonDict]
) -> AsyncGenerator[JsonDict, None]:
    """The stream events of one function call (appended to ``output`` when done)."""
    item_id = new_id("fc")
    started = function_call_item(item_id, call, status="in_progress")
    yield seq.event("response.output_item.added", output_index=index, item=started)
    ids = {"item_id": item_id, "output_index": index}
    yield seq.event("response.function_call_arguments.delta", **ids, delta=call.arguments)
    yield seq.event("response.function_call_arguments.done", **ids, arguments=call.arguments)
    done = {**started, "status": "completed", "arguments": call.arguments}
    yield seq.event("response.output_item.done", output_index=index, item=done)
    output.append(done)


@dataclass(frozen=True)
class ImageCallFields:
    """The resolved settings an ``image_generation_call`` item reports."""

    size: str
    quality: str
    output_format: str
    background: str
    action: str


def image_call_item(
    item_id: str,
    *,
    status: str,
    fields: ImageCallFields | None = None,
    result: str | None = None,
    revised_prompt: str | None = None,
    error: JsonDict | None = None,
) -> JsonDict:
    """An ``image_generation_call`` output item (in progress, completed or failed)."""
    item: JsonDict = {"id": item_id, "type": "image_generation_call", "status": status}
    item["result"] = result
    if fields is not None:
        item.update(
            size=fields.size,
            quality=fields.quality,
            output_format=fields.output_format,
            background=fields.background,
            action=fields.action,
        )
    if revised_prompt is not None:
        item["revised_prompt"] = revised_prompt
    if error is not None:
        item["error"] = error
    return item


def moderation_error(categories: list[str]) -> JsonDict:
    """The error an image call reports when input moderation blocks it."""
    return {
        "code": "moderation_blocked",
        "message": (
            "Your request was rejected as a result of our safety system. Your request may "
            "contain content that is not allowed by our safety system."
        ),
        "type": "image_generation_user_error",
        "param": None,
        "moderation_details": {"categories": categories, "moderation_stage": "input"},
    }


def usage_payload(
    *, input_tokens: int, cached_tokens: int, output_tokens: int, reasoning_tokens: int
) -> JsonDict:
    """``response.usage`` for the mainline model."""
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached_tokens, "cache_write_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
        "total_tokens": input_tokens + output_tokens,
    }


def tool_usage_payload(
    *, text_tokens: int, image_tokens: int, output_image_tokens: int
) -> JsonDict:
    """``response.tool_usage``: the image model's tokens summed over the response's calls."""
    input_tokens = text_tokens + image_tokens
    return {
        "image_gen": {
            "input_tokens": input_tokens,
            "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": image_tokens},
            "output_tokens": output_image_tokens,
            "output_tokens_details": {"image_tokens": output_image_tokens, "text_tokens": 0},
            "total_tokens": input_tokens + output_image_tokens,
            "cached_tokens": 0,
            "cached_tokens_details": {"cached_image_tokens": 0, "cached_text_tokens": 0},
        },
        "web_search": {"num_requests": 0},
    }


def response_payload(
    *,
    response_id: str,
    created_at: int,
    model: str,
    status: str,
    output: list[JsonDict],
    request: JsonDict,
    usage: JsonDict | None = None,
    tool_usage: JsonDict | None = None,
    completed_at: int | None = None,
) -> JsonDict:
    """A whole ``Response`` object. ``request`` holds the echoed request fields."""
    return {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "background": False,
        "completed_at": completed_at,
        "error": None,
        "incomplete_details": None,
        "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"),
        "max_tool_calls": request.get("max_tool_calls"),
        "model": model,
        "output": output,
        "parallel_tool_calls": request.get("parallel_tool_calls", True),
        "previous_response_id": request.get("previous_response_id"),
        "reasoning": request.get("reasoning") or {"effort": None, "summary": None},
        "service_tier": "default",
        "store": request.get("store", True),
        "temperature": request.get("temperature", 1.0),
        "text": request.get("text") or {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": request.get("tool_choice", "auto"),
        "tools": request.get("tools", []),
        "top_p": request.get("top_p", 1.0),
        "truncation": request.get("truncation", "disabled"),
        "usage": usage,
        "tool_usage": tool_usage,
        "user": request.get("user"),
        "safety_identifier": request.get("safety_identifier"),
        "prompt_cache_key": request.get("prompt_cache_key"),
        "top_logprobs": 0,
        "metadata": request.get("metadata") or {},
    }


class EventSequence:
    """Builds stream events with ``sequence_number`` strictly increasing from 0."""

    def __init__(self) -> None:
        self._next = 0

    def event(self, type_: str, **fields: Any) -> JsonDict:
        """One event dict of ``type_`` carrying ``fields`` and the next sequence number."""
        payload: JsonDict = {"type": type_, "sequence_number": self._next, **fields}
        self._next += 1
        return payload


def sse_bytes(event: JsonDict) -> bytes:
    """One server-sent event: ``event: <type>\\ndata: <json>\\n\\n``.

    Blocking for big payloads (an image's base64): call it off the event loop.
    """
    data = b64.dumps(event)
    return f"event: {event['type']}\ndata: {data}\n\n".encode()


def json_bytes(payload: JsonDict) -> bytes:
    """A JSON body. Blocking for big payloads: call it off the event loop."""
    return b64.dumps(payload).encode()
