"""Serve recorded Responses-API exchanges over loopback HTTP, as the API served them.

``ReplayServer`` is an ASGI app: each ``POST /v1/responses`` gets the next recorded exchange
(SSE events when the request streams, else the JSON body, with the recorded HTTP status) and
keeps the request body it received. ``serving`` runs it under uvicorn on a free loopback port,
so the app reaches it through its real client path (``build_client`` with
``OPENAI_BASE_URL``), the OpenAI SDK, our SSE reader and the turn loop.

A recording made without streaming (pydantic-ai's cassettes) is served to a streaming client
as the smallest event stream that carries the recorded output items verbatim: created, in
progress, each item added and done, completed. That is the only thing invented here.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn

RECORDINGS = Path(__file__).parent / "recordings"
JsonDict = dict[str, Any]


def load(name: str) -> JsonDict:
    """One recording file (``recordings/<name>.json``)."""
    data: JsonDict = json.loads((RECORDINGS / f"{name}.json").read_text())
    return data


def all_names() -> list[str]:
    """Every recording in the corpus."""
    return sorted(p.stem for p in RECORDINGS.glob("*.json"))


def final_response(exchange: JsonDict) -> JsonDict | None:
    """The recorded final Response of an exchange (body, or the terminal event's response)."""
    if "body" in exchange:
        return exchange["body"] if exchange["status"] == 200 else None
    for event in reversed(exchange["events"]):
        if event["type"] in ("response.completed", "response.incomplete", "response.failed"):
            response: JsonDict = event["response"]
            return response
    return None


def as_events(exchange: JsonDict) -> list[JsonDict]:
    """The exchange as stream events: recorded ones, or the minimal stream around a body."""
    if "events" in exchange:
        events: list[JsonDict] = exchange["events"]
        return events
    body = exchange["body"]
    started = {**body, "status": "in_progress", "output": [], "usage": None}
    events = [
        {"type": "response.created", "response": started},
        {"type": "response.in_progress", "response": started},
    ]
    for index, item in enumerate(body["output"]):
        added = {"id": item["id"], "type": item["type"], "status": "in_progress"}
        if item["type"] == "reasoning":
            added = {"id": item["id"], "type": "reasoning", "summary": []}
        events.append({"type": "response.output_item.added", "output_index": index, "item": added})
        events.append({"type": "response.output_item.done", "output_index": index, "item": item})
    events.append({"type": "response.completed", "response": body})
    return [{**event, "sequence_number": n} for n, event in enumerate(events)]


class ReplayServer:
    """An ASGI app answering each POST /v1/responses with the next recorded exchange."""

    def __init__(self, exchanges: list[JsonDict]) -> None:
        self._queue = list(exchanges)
        self.requests: list[JsonDict] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["method"] != "POST" or not scope["path"].endswith("/responses"):
            await _send_json(send, 404, {"error": {"message": "not recorded", "type": "x"}})
            return
        request = json.loads(body)
        self.requests.append(request)
        if not self._queue:
            error = {"error": {"message": "no recorded exchange left", "type": "server_error"}}
            await _send_json(send, 500, error)
            return
        exchange = self._queue.pop(0)
        if exchange["status"] != 200 or not request.get("stream"):
            await _send_json(send, exchange["status"], final_response(exchange) or exchange["body"])
            return
        headers = [(b"content-type", b"text/event-stream; charset=utf-8")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for event in as_events(exchange):
            frame = f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()
            await send({"type": "http.response.body", "body": frame, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _send_json(send: Any, status: int, payload: JsonDict) -> None:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """Serve ``app`` on a free loopback port; yields its ``/v1`` base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)  # connections wait in the backlog until uvicorn accepts them
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, lifespan="off", log_level="warning", ws="none", http="h11", access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        await task
        sock.close()
