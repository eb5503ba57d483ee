"""A scripted model for tests: real ``openai.types.responses`` events from a short script.

Each request takes the next reply; a reply is a list of steps::

    model = ScriptedModel(
        [Text("Here it is."), Image(partials=2), Usage(1800, 700), ToolUsage(output=1956)],
        [HttpError(429, headers={"retry-after-ms": "10"})],
        [Text("A second try"), Image(), Incomplete("max_output_tokens")],
    )

Events are built exactly as the SSE reader builds them (``construct_type`` on the stream event
union), so the loop sees what it sees from the SDK. A reply may also be a function of the
request (``ScriptedModel(lambda request: [Text("hi")])`` answers every request).
"""

from __future__ import annotations

import asyncio
import base64
import io
import itertools
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import httpx2
import openai
from openai._models import construct_type
from openai.types.responses import ResponseStreamEvent
from PIL import Image as PILImage

from agent.errors import mapped_errors


@dataclass(frozen=True)
class Text:
    """Assistant text, sent as one delta per word."""

    text: str


@dataclass(frozen=True)
class Image:
    """One image_generation call: ``partials`` partial images, then its result.

    ``status`` is the label on the finished item ("completed"; Azure sends "generating"),
    ``completed_event`` whether ``image_generation_call.completed`` is sent, ``result``
    overrides the image's base64 (e.g. invalid text), ``size`` defaults to the request's.
    """

    partials: int = 0
    status: str = "completed"
    completed_event: bool = True
    result: str | None = None
    size: str | None = None
    output_format: str | None = None
    action: str | None = None
    revised_prompt: str = "a revised prompt"
    reasoning: bool = False


@dataclass(frozen=True)
class FailedImage:
    """An image call that fails (moderation by default)."""

    code: str = "moderation_blocked"
    message: str = "Your request was rejected by the safety system."
    categories: tuple[str, ...] = ("violence",)


@dataclass(frozen=True)
class Usage:
    """``response.usage`` of the mainline model."""

    input_tokens: int = 1800
    output_tokens: int = 700
    cached_tokens: int = 0
    reasoning_tokens: int = 300


@dataclass(frozen=True)
class ToolUsage:
    """``response.tool_usage.image_gen`` (leave it out to send no tool_usage at all)."""

    text_input: int = 60
    image_input: int = 0
    output: int = 1956
    output_text: int = 0
    cached: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Incomplete:
    """End with ``response.incomplete`` (keeps what was made)."""

    reason: str = "max_output_tokens"


@dataclass(frozen=True)
class Failed:
    """End with ``response.failed``."""

    message: str = "The model failed."
    code: str = "server_error"


@dataclass(frozen=True)
class ErrorEvent:
    """An ``error`` event in the stream."""

    message: str = "Something went wrong."
    code: str | None = None


@dataclass(frozen=True)
class HttpError:
    """Refuse the request before any event: HTTP ``status`` with an API error body."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    code: str | None = None
    message: str = "Request failed."
    param: str | None = None


@dataclass(frozen=True)
class Cut:
    """The connection drops here (no final response event)."""


@dataclass(frozen=True)
class Hold:
    """Pause here until ``ScriptedModel.release`` is set (sets ``ScriptedModel.holding``)."""


Step = (
    Text | Image | FailedImage | Usage | ToolUsage | Incomplete | Failed | ErrorEvent | HttpError
    | Cut | Hold
)  # fmt: skip
Reply = Sequence[Step] | Callable[[dict[str, Any]], Sequence[Step]]

_STATUS_ERRORS: dict[int, type[openai.APIStatusError]] = {
    400: openai.BadRequestError,
    401: openai.AuthenticationError,
    404: openai.NotFoundError,
    422: openai.UnprocessableEntityError,
    429: openai.RateLimitError,
    500: openai.InternalServerError,
}


def png_b64(size: str, seed: int) -> str:
    """A small-to-encode PNG of ``size`` ("WxH") in a colour picked by ``seed``, as base64."""
    width, height = (int(edge) for edge in size.split("x"))
    colour = ((seed * 67) % 256, (seed * 131) % 256, (seed * 29 + 90) % 256)
    buffer = io.BytesIO()
    PILImage.new("RGB", (width, height), colour).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


class ScriptedModel:
    """A ``Model`` that answers each request with the next scripted reply."""

    def __init__(self, *replies: Reply) -> None:
        self._replies = list(replies)
        self.requests: list[dict[str, Any]] = []
        self.holding = asyncio.Event()
        self.release = asyncio.Event()
        self._ids = itertools.count(1)

    async def stream(self, request: dict[str, Any]) -> AsyncGenerator[ResponseStreamEvent, None]:
        """The scripted events for ``request`` (errors leave as AtelierError)."""
        self.requests.append(request)
        steps = self._next(request)
        with mapped_errors():
            for payload in self._payloads(request, steps):
                if isinstance(payload, Hold):
                    self.holding.set()
                    await self.release.wait()
                    continue
                await asyncio.sleep(0)  # a real stream yields to the loop between events
                yield cast(
                    ResponseStreamEvent, construct_type(type_=ResponseStreamEvent, value=payload)
                )

    def _next(self, request: dict[str, Any]) -> Sequence[Step]:
        if not self._replies:
            raise RuntimeError(f"ScriptedModel has no reply left for request {len(self.requests)}.")
        reply = self._replies[0] if callable(self._replies[0]) else self._replies.pop(0)
        return reply(request) if callable(reply) else reply

    def _payloads(self, request: dict[str, Any], steps: Sequence[Step]) -> Any:
        n = next(self._ids)
        response_id = f"resp_{n:04d}"
        seq = itertools.count()
        output: list[dict[str, Any]] = []
        for step in steps:
            if isinstance(step, HttpError):
                raise _status_error(step)
        base = {"id": response_id, "object": "response", "created_at": 1_764_000_000,
                "model": request.get("model", "gpt-5.1"), "output": output,
                "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
                "status": "in_progress"}  # fmt: skip
        yield {"type": "response.created", "sequence_number": next(seq), "response": base}
        usage: Usage = Usage()
        tool_usage: ToolUsage | None = None
        ending: Incomplete | Failed | None = None
        tool: Mapping[str, Any] = next(
            (t for t in request.get("tools", []) if t.get("type") == "image_generation"), {}
        )
        for step in steps:
            match step:
                case Usage():
                    usage = step
                case ToolUsage():
                    tool_usage = step
                case Incomplete() | Failed():
                    ending = step
                case Hold():
                    yield step
                case Cut():
                    raise httpx2.RemoteProtocolError("peer closed connection (scripted cut)")
                case ErrorEvent():
                    yield {"type": "error", "sequence_number": next(seq), "message": step.message,
                           "code": step.code, "param": None}  # fmt: skip
                case Text():
                    item_id = f"msg_{n:04d}_{len(output)}"
                    for word in step.text.split(" "):
                        yield {"type": "response.output_text.delta", "item_id": item_id,
                               "output_index": len(output), "content_index": 0, "delta": word + " ",
                               "logprobs": [], "sequence_number": next(seq)}  # fmt: skip
                    output.append({"type": "message", "id": item_id, "role": "assistant",
                                   "status": "completed", "content": [
                                       {"type": "output_text", "text": step.text,
                                        "annotations": []}]})  # fmt: skip
                case Image() | FailedImage():
                    events, item = self._image(step, n, len(output), tool, seq)
                    yield from events
                    output.append(item)
                case _:
                    raise TypeError(f"not a script step: {step!r}")
        final = {**base, "output": output, "usage": _usage(usage)}
        if tool_usage is not None:
            final["tool_usage"] = _tool_usage(tool_usage)
        if isinstance(ending, Failed):
            final |= {"status": "failed", "error": {"code": ending.code, "message": ending.message}}
            yield {"type": "response.failed", "sequence_number": next(seq), "response": final}
        elif isinstance(ending, Incomplete):
            final |= {"status": "incomplete", "incomplete_details": {"reason": ending.reason}}
            yield {"type": "response.incomplete", "sequence_number": next(seq), "response": final}
        else:
            final["status"] = "completed"
            yield {"type": "response.completed", "sequence_number": next(seq), "response": final}

    def _image(
        self,
        step: Image | FailedImage,
        n: int,
        index: int,
        tool: Mapping[str, Any],
        seq: itertools.count[int],
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        call_id = f"ig_{n:04d}_{index}"
        events: list[dict[str, Any]] = []
        added = {"type": "image_generation_call", "id": call_id, "status": "in_progress"}
        if isinstance(step, Image) and step.reasoning:
            rs = {"type": "reasoning", "id": f"rs_{n:04d}_{index}", "summary": []}
            events.append({"type": "response.output_item.added", "output_index": index,
                           "sequence_number": next(seq), "item": rs})  # fmt: skip
        events.append({"type": "response.output_item.added", "output_index": index,
                       "sequence_number": next(seq), "item": added})  # fmt: skip
        if isinstance(step, FailedImage):
            item = {**added, "status": "failed", "error": {
                "code": step.code, "message": step.message, "type": "image_generation_user_error",
                "moderation_details": {"categories": list(step.categories)}}}  # fmt: skip
            events.append({"type": "response.output_item.done", "output_index": index,
                           "sequence_number": next(seq), "item": item})  # fmt: skip
            return events, item
        size = step.size or str(tool.get("size", "1024x1024"))
        size = "1024x1024" if size == "auto" else size
        fmt = step.output_format or str(tool.get("output_format", "png"))
        result = step.result if step.result is not None else png_b64(size, n * 10 + index)
        for k in range(step.partials):
            events.append({"type": "response.image_generation_call.partial_image",
                           "item_id": call_id, "output_index": index, "partial_image_b64": result,
                           "partial_image_index": k, "sequence_number": next(seq),
                           "output_format": fmt, "size": size})  # fmt: skip
        if step.completed_event:
            events.append({"type": "response.image_generation_call.completed",
                           "item_id": call_id, "output_index": index,
                           "sequence_number": next(seq)})  # fmt: skip
        item = {**added, "status": step.status, "result": result, "size": size,
                "output_format": fmt, "quality": tool.get("quality", "medium"),
                "background": "opaque", "revised_prompt": step.revised_prompt}  # fmt: skip
        if step.action:
            item["action"] = step.action
        events.append({"type": "response.output_item.done", "output_index": index,
                       "sequence_number": next(seq), "item": item})  # fmt: skip
        return events, item


def _usage(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {"cached_tokens": usage.cached_tokens},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.input_tokens + usage.output_tokens,
    }


def _tool_usage(usage: ToolUsage) -> dict[str, Any]:
    gen: dict[str, Any] = {
        "input_tokens": usage.text_input + usage.image_input,
        "input_tokens_details": {
            "text_tokens": usage.text_input,
            "image_tokens": usage.image_input,
        },
        "output_tokens": usage.output + usage.output_text,
        "output_tokens_details": {"image_tokens": usage.output, "text_tokens": usage.output_text},
        "total_tokens": usage.text_input + usage.image_input + usage.output + usage.output_text,
        **usage.extra,
    }
    if usage.cached is not None:
        gen["cached_tokens"] = usage.cached
    return {"image_gen": gen, "web_search": {"num_requests": 0}}


def _status_error(step: HttpError) -> openai.APIStatusError:
    body = {"error": {"message": step.message, "type": "invalid_request_error",
                      "param": step.param, "code": step.code}}  # fmt: skip
    request = httpx2.Request("POST", "https://api.openai.com/v1/responses")
    response = httpx2.Response(step.status, headers=dict(step.headers), json=body, request=request)
    cls = _STATUS_ERRORS.get(step.status, openai.APIStatusError)
    return cls(step.message, response=response, body=body)
