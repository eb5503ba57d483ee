"""An httpx transport that runs an ASGI app in-process and streams its body as it is sent.

``httpx.ASGITransport`` buffers the whole response before returning it, which breaks
server-sent events, partial images, cancellation and timeouts. ``StreamingASGITransport``
runs the app in a task and hands body chunks to the client through a queue:

- the request's read timeout (``request.extensions["timeout"]["read"]``) applies to the
  response start and to every chunk: exceeding it raises ``httpx.ReadTimeout``;
- an app that stops mid-body (or fails) raises ``httpx.RemoteProtocolError``, like a dropped
  connection;
- closing the response early sends ``http.disconnect`` to the app and cancels it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote

import httpx
from starlette.types import ASGIApp, Message

log = logging.getLogger(__name__)

_DONE: Message = {"type": "atelier.app_returned"}


class _AppRun:
    """One ASGI call running in a task, with its message queue and disconnect signal."""

    def __init__(self, app: ASGIApp, scope: dict[str, Any], body: bytes) -> None:
        self.queue: asyncio.Queue[Message] = asyncio.Queue()
        self.disconnected = asyncio.Event()
        self.error: BaseException | None = None
        self.finished_body = False
        self._body: bytes | None = body
        self.task = asyncio.create_task(self._run(app, scope))

    async def _run(self, app: ASGIApp, scope: dict[str, Any]) -> None:
        try:
            await app(scope, self._receive, self._send)
        except Exception as exc:  # the app failed: the client sees a dropped connection
            log.warning("in-process ASGI app raised %s: %s", type(exc).__name__, exc)
            self.error = exc
        finally:
            self.queue.put_nowait(_DONE)

    async def _receive(self) -> Message:
        if self._body is not None:
            body, self._body = self._body, None
            return {"type": "http.request", "body": body, "more_body": False}
        await self.disconnected.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: Message) -> None:
        await self.queue.put(message)

    async def next_message(self, wait_s: float | None, request: httpx.Request) -> Message:
        """The app's next message, or ReadTimeout after ``wait_s`` seconds."""
        try:
            return await asyncio.wait_for(self.queue.get(), wait_s)
        except TimeoutError:
            raise httpx.ReadTimeout("Timed out waiting for the engine", request=request) from None

    async def shutdown(self) -> None:
        """Tell the app the client left, cancel it if still running, and wait for it."""
        self.disconnected.set()
        if not self.task.done() and not self.finished_body:
            self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


class _StreamingBody(httpx.AsyncByteStream):
    def __init__(self, run: _AppRun, timeout: float | None, request: httpx.Request) -> None:
        self._run = run
        self._timeout = timeout
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while not self._run.finished_body:
            message = await self._run.next_message(self._timeout, self._request)
            if message is _DONE:
                raise httpx.RemoteProtocolError(
                    "peer closed connection without sending complete message body",
                    request=self._request,
                ) from self._run.error
            if message["type"] != "http.response.body":
                continue
            chunk = message.get("body", b"")
            if not message.get("more_body", False):
                self._run.finished_body = True
            if chunk:
                yield chunk

    async def aclose(self) -> None:
        await self._run.shutdown()


class StreamingASGITransport(httpx.AsyncBaseTransport):
    """Serve httpx requests from an in-process ASGI app, streaming the response body."""

    def __init__(self, app: ASGIApp, client: tuple[str, int] = ("127.0.0.1", 40123)) -> None:
        self._app = app
        self._client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Start the app on ``request`` and return as soon as it starts its response."""
        body = await request.aread()
        timeouts = request.extensions.get("timeout") or {}
        read_timeout: float | None = timeouts.get("read")
        run = _AppRun(self._app, self._scope(request), body)
        try:
            start = await run.next_message(read_timeout, request)
            while start is not _DONE and start["type"] != "http.response.start":
                start = await run.next_message(read_timeout, request)
        except BaseException:
            await run.shutdown()
            raise
        if start is _DONE:
            await run.shutdown()
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from run.error
        headers = [(bytes(k), bytes(v)) for k, v in start.get("headers", [])]
        return httpx.Response(
            status_code=int(start["status"]),
            headers=headers,
            stream=_StreamingBody(run, read_timeout, request),
            extensions={"http_version": b"HTTP/1.1"},
        )

    def _scope(self, request: httpx.Request) -> dict[str, Any]:
        url = request.url
        port = url.port or (443 if url.scheme == "https" else 80)
        return {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "scheme": url.scheme,
            "path": unquote(url.path),
            "raw_path": url.raw_path.split(b"?")[0],
            "query_string": url.query,
            "server": (url.host, port),
            "client": self._client,
            "root_path": "",
        }
