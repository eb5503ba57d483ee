"""The engine's ASGI app (Starlette): the Responses API routes the OpenAI SDK calls.

Routes: ``POST /v1/responses`` (JSON or SSE with ``stream: true``),
``GET``/``DELETE /v1/responses/{id}`` and ``GET /v1/models``. Injected faults come from the
``x-atelier-fault`` header or the engine-wide default (see ``faults``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from agent.engine import wire
from agent.engine.faults import FaultBook, FaultPlan, FaultSpecError
from agent.engine.render_cache import RenderCache
from agent.engine.request import ApiError, parse_create
from agent.engine.runner import PreparedTurn, StreamCut, TurnRunner
from agent.engine.state import ResponseStore
from agent.images.spec import IMAGE_MODEL_NAMES

log = logging.getLogger(__name__)

FAULT_HEADER = "x-atelier-fault"
MAINLINE_MODELS = ("gpt-5.1", "gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-4.1", "gpt-4.1-mini", "o3")
_BIG_EVENTS = frozenset(
    {
        "response.image_generation_call.partial_image",
        "response.output_item.done",
        "response.completed",
    }
)


def create_app(
    store: ResponseStore,
    faults: FaultBook,
    blocklist: tuple[str, ...],
    renders: RenderCache | None = None,
) -> Starlette:
    """The Starlette app serving the Responses API over ``store``."""
    runner = TurnRunner(store, blocklist, renders)

    async def create_response(request: Request) -> Response:
        started = asyncio.get_running_loop().time()
        try:
            plan = faults.plan_for(request.headers.get(FAULT_HEADER))
        except FaultSpecError as exc:
            return _error(ApiError(400, f"Invalid {FAULT_HEADER} header: {exc}", param=None))
        if plan.timeout:
            return StallResponse()
        if plan.rate_limit is not None:
            seconds = plan.rate_limit.retry_after_s
            return _error(
                ApiError(
                    429,
                    f"Rate limit reached for requests. Please try again in {seconds:g}s.",
                    type_="requests",
                    code="rate_limit_exceeded",
                    headers={
                        "retry-after": f"{seconds:g}",
                        "retry-after-ms": str(round(seconds * 1000)),
                    },
                )
            )
        if plan.server_error:
            return _error(
                ApiError(
                    500,
                    "The server had an error while processing your request. Sorry about that!",
                    type_="server_error",
                )
            )
        try:
            raw = await request.body()
            body = await asyncio.to_thread(_parse_json, raw)
            create = parse_create(body)
            turn = await runner.prepare(create, started)
            if create.stream:
                return EventStreamResponse(runner.events(turn, plan), _headers())
            return await _complete(runner, turn, plan)
        except ApiError as exc:
            return _error(exc)
        except StreamCut:
            return AbortResponse()
        except Exception as exc:  # a bug: answer 500 like the API would, and log it
            log.exception("engine failed on POST /v1/responses")
            return _error(
                ApiError(
                    500, f"The engine failed: {type(exc).__name__}: {exc}", type_="server_error"
                )
            )

    async def get_response(request: Request) -> Response:
        response_id = request.path_params["response_id"]
        payload = await store.payload(response_id)
        if payload is None:
            return _error(_not_found(response_id))
        return Response(
            await asyncio.to_thread(wire.json_bytes, payload),
            200,
            _headers(),
            media_type="application/json",
        )

    async def delete_response(request: Request) -> Response:
        response_id = request.path_params["response_id"]
        if not await store.delete(response_id):
            return _error(_not_found(response_id))
        return _json({"id": response_id, "object": "response", "deleted": True})

    async def list_models(request: Request) -> Response:
        created = 1_767_225_600
        data = [
            {"id": name, "object": "model", "created": created, "owned_by": "atelier-engine"}
            for name in (*MAINLINE_MODELS, *IMAGE_MODEL_NAMES)
        ]
        return _json({"object": "list", "data": data})

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        message = (
            f"Invalid URL ({request.method} {request.url.path})."
            if status in (404, 405)
            else "The server had an error while processing your request."
        )
        return _error(ApiError(status, message))

    return Starlette(
        routes=[
            Route("/v1/responses", create_response, methods=["POST"]),
            Route("/v1/responses/{response_id}", get_response, methods=["GET"]),
            Route("/v1/responses/{response_id}", delete_response, methods=["DELETE"]),
            Route("/v1/models", list_models, methods=["GET"]),
        ],
        exception_handlers={HTTPException: http_error},
    )


async def _complete(runner: TurnRunner, turn: PreparedTurn, plan: FaultPlan) -> Response:
    """Run a non-streaming response to the end and answer with its JSON."""
    final: dict[str, Any] | None = None
    async with aclosing(runner.events(turn, plan)) as events:
        async for event in events:
            if event["type"] == "response.completed":
                final = event["response"]
    assert final is not None, "the event stream always ends with response.completed"
    body = await asyncio.to_thread(wire.json_bytes, final)
    return Response(body, 200, _headers(), media_type="application/json")


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ApiError(
            400,
            "We could not parse the JSON body of your request. The body must be a JSON object "
            f"({exc}).",
        ) from exc


def _headers() -> dict[str, str]:
    return {"x-request-id": f"req_{secrets.token_hex(16)}", "openai-version": "2020-10-01"}


def _json(payload: dict[str, Any], status: int = 200) -> Response:
    return Response(wire.json_bytes(payload), status, _headers(), media_type="application/json")


def _error(exc: ApiError) -> Response:
    body = wire.error_body(exc.message, type_=exc.type, param=exc.param, code=exc.code)
    response = _json(body, exc.status)
    response.headers.update(exc.headers)
    return response


def _not_found(response_id: str) -> ApiError:
    return ApiError(404, f"Response with id '{response_id}' not found.", param=None)


def _without_content_length(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Starlette renders a None body as b"" and declares content-length: 0; a stream must not."""
    return [(name, value) for name, value in headers if name != b"content-length"]


class EventStreamResponse(Response):
    """Server-sent events from an async iterator of event dicts.

    Stops (and closes the iterator) when the client disconnects. A ``StreamCut`` from the
    iterator ends the ASGI call without finishing the body, which drops the connection.
    """

    def __init__(
        self, events: AsyncGenerator[dict[str, Any], None], headers: dict[str, str]
    ) -> None:
        super().__init__(
            None, 200, {**headers, "cache-control": "no-cache"}, media_type="text/event-stream"
        )
        self.raw_headers = _without_content_length(self.raw_headers)
        self._events = events

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        pump = asyncio.ensure_future(self._pump(send))
        watch = asyncio.ensure_future(_wait_disconnect(receive))
        try:
            await asyncio.wait({pump, watch}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (pump, watch):
                task.cancel()
            await asyncio.gather(pump, watch, return_exceptions=True)
        if pump.done() and not pump.cancelled() and pump.exception() is not None:
            raise pump.exception()  # type: ignore[misc]

    async def _pump(self, send: Send) -> None:
        async with aclosing(self._events) as events:
            try:
                async for event in events:
                    if event["type"] in _BIG_EVENTS:
                        chunk = await asyncio.to_thread(wire.sse_bytes, event)
                    else:
                        chunk = wire.sse_bytes(event)
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            except StreamCut:
                return
        await send({"type": "http.response.body", "body": b"", "more_body": False})


class StallResponse(Response):
    """The ``timeout`` fault: send nothing at all until the client gives up."""

    def __init__(self) -> None:
        super().__init__(None, 200)
        self.raw_headers = _without_content_length(self.raw_headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _wait_disconnect(receive)


class AbortResponse(Response):
    """Start a response and drop the connection before its body (``cut_stream``)."""

    def __init__(self) -> None:
        super().__init__(None, 200, _headers(), media_type="application/json")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})


async def _wait_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
