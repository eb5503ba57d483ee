"""The web server's guards: settings, origins, request-size limits, CSP, who is writing.

ASGI middlewares, installed on Chainlit's app before it serves (``install_middlewares``):
- ``BodyLimit`` refuses a request body over the limit by its Content-Length before reading
  it, and stops a streamed body the moment it passes the limit (uploads included, before
  Chainlit's auth or multipart parser spools anything to disk);
- ``ForeignOrigin`` refuses a state-changing request (POST/PUT/PATCH/DELETE) sent by a page
  on another origin than the app's own or the configured ``allow_origins`` (CSRF);
- ``Writer`` attributes each HTTP request's data-layer writes to its signed-in caller;
- ``SecurityHeaders`` gives every HTML page a strict Content-Security-Policy (inline scripts
  allowed only by their exact hash) and ``nosniff``.
The socket.io server accepts only the same origins (``restrict_socket_origins``).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ui.datalayer import Writer, acting_as


class WebSettings(BaseSettings):
    """Settings of the web front end's guards (``ATELIER_*``), read once."""

    model_config = SettingsConfigDict(
        env_prefix="ATELIER_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    admins: str = ""
    """Users (comma separated) who may read metrics and API docs from another machine."""
    allow_remote_single_user: bool = False
    """Let single-user mode (no logins) listen on a non-loopback address."""
    max_request_kb: int = 1024
    """Largest request body outside uploads."""
    frame_ancestors: str = "'self'"
    """Who may frame the app's pages (CSP frame-ancestors)."""
    login_failures_per_user: int = 5
    login_failures_per_address: int = 20
    login_window_s: int = 300

    @property
    def admin_set(self) -> frozenset[str]:
        """The configured admin usernames."""
        return frozenset(name.strip() for name in self.admins.split(",") if name.strip())


_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_SOCKET_PREFIX = "/ws/"


def is_loopback_host(host: str) -> bool:
    """True for localhost and loopback addresses."""
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def remote_single_user_refusal(host: str, logins_on: bool, web: WebSettings) -> str | None:
    """Why the server must not start (single-user mode on a non-loopback host), or None."""
    if logins_on or is_loopback_host(host) or web.allow_remote_single_user:
        return None
    return (
        f"Atelier refuses to start: single-user mode (no ATELIER_USERS or ATELIER_USERS_FILE) "
        f"on {host}, a non-loopback address, would give everyone who can reach this port the "
        "owner's chats, images and budget. Set ATELIER_USERS to turn logins on, listen on "
        "127.0.0.1, or set ATELIER_ALLOW_REMOTE_SINGLE_USER=true if that is what you want."
    )


def headers_of(scope: Scope) -> dict[str, str]:
    """The request's headers, lower-cased names (last one wins)."""
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def from_this_machine(scope: Scope) -> bool:
    """The request comes from loopback and was not forwarded by a proxy for someone else."""
    client = scope.get("client")
    headers = headers_of(scope)
    if "x-forwarded-for" in headers or "forwarded" in headers:
        return False
    return client is not None and is_loopback_host(str(client[0]))


def own_origin(scope: Scope) -> str:
    """The app's origin as the browser addressed it (scheme and Host header)."""
    raw = str(scope.get("scheme") or "http")
    scheme = {"ws": "http", "wss": "https"}.get(raw, raw)
    return f"{scheme}://{headers_of(scope).get('host', '')}"


class Origins:
    """The origins allowed to call the app from a browser: its own, plus ``allow_origins``."""

    def __init__(self, allowed: Iterable[str]) -> None:
        listed = [origin.rstrip("/") for origin in allowed]
        self.any = "*" in listed
        self.allowed = frozenset(listed)

    def admits(self, origin: str | None, own: str) -> bool:
        """True if a request carrying ``origin`` may act (no Origin: not from a browser page)."""
        if origin is None:
            return True
        return self.any or origin == own or origin in self.allowed

    def same_origin(self, scope: Scope) -> bool:
        """The scope's Origin header, if any, is admitted."""
        return self.admits(headers_of(scope).get("origin"), own_origin(scope))


def restrict_socket_origins(sio: Any, origins: Origins) -> None:
    """Make python-engineio refuse socket.io connections from foreign origins.

    Chainlit creates its server with ``cors_allowed_origins=[]``, which turns engineio's
    origin check off: any page could open a socket with the victim's cookie.
    """

    def allowed(origin: str | None, environ: dict[str, Any]) -> bool:
        scheme = environ.get("wsgi.url_scheme", "http")
        own = f"{scheme}://{environ.get('HTTP_HOST', '')}"
        return origins.admits(origin, own)

    sio.eio.cors_allowed_origins = allowed


async def _reply(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Refuse request bodies over a path's limit, before (and while) they are read."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        length = headers_of(scope).get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await _reply(send, 413, f"Request body over the {limit // 1024} KB limit.")
            return
        seen = 0
        over = False
        started = False

        async def counted() -> Message:
            nonlocal seen, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                over = True
                return {"type": "http.disconnect"}
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if over and not started:
                return  # the app's answer to a cut-off body is replaced by the 413
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except Exception:
            if not over:
                raise
        if over and not started:
            await _reply(send, 413, f"Request body over the {limit // 1024} KB limit.")


class ForeignOrigin:
    """Refuse state-changing requests from pages on foreign origins (CSRF)."""

    def __init__(self, app: ASGIApp, origins: Origins) -> None:
        self.app = app
        self.origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in _UNSAFE_METHODS
            and not scope["path"].startswith(_SOCKET_PREFIX)  # engineio checks its own
            and not self.origins.same_origin(scope)
        ):
            await _reply(send, 403, "This request came from another site.")
            return
        await self.app(scope, receive, send)


class WriterMiddleware:
    """Attribute every data-layer write made while serving a request to its caller."""

    def __init__(self, app: ASGIApp, identify: Callable[[Scope], Awaitable[str | None]]) -> None:
        self.app = app
        self.identify = identify

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(_SOCKET_PREFIX):
            await self.app(scope, receive, send)
            return
        identifier = await self.identify(scope) if scope["method"] in _UNSAFE_METHODS else None
        with acting_as(Writer(identifier, path=scope["path"])):
            await self.app(scope, receive, send)


_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL)


def content_security_policy(html: bytes, scope: Scope, frame_ancestors: str) -> str:
    """The CSP of one HTML page: own-origin scripts plus the page's own inline scripts."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    )
    host = headers_of(scope).get("host", "")
    sockets = f"ws://{host} wss://{host}" if host else ""
    # Chainlit compiles custom elements (public/elements/*.jsx, served from this origin only)
    # with ``new Function``: the app page needs 'unsafe-eval', never a foreign script source.
    evaluate = "'unsafe-eval'" if not str(scope.get("path", "")).startswith("/public/") else ""
    return "; ".join(
        [
            "default-src 'self'",
            " ".join(part for part in ("script-src 'self'", evaluate, hashes) if part),
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "media-src 'self' data: blob:",
            f"connect-src 'self' {sockets}".strip(),
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            f"frame-ancestors {frame_ancestors}",
        ]
    )


class SecurityHeaders:
    """A strict CSP on every HTML page; ``nosniff`` on every response."""

    MAX_HTML = 4 * 1024 * 1024

    def __init__(self, app: ASGIApp, frame_ancestors: str) -> None:
        self.app = app
        self.frame_ancestors = frame_ancestors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def wrapped(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() != b"x-content-type-options"
                ]
                headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
                if not _is_html(headers):
                    await send(message)
                    return
                start = message
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            await self._send_html(start, b"".join(chunks), scope, send)

        await self.app(scope, receive, wrapped)

    async def _send_html(self, start: Message, body: bytes, scope: Scope, send: Send) -> None:
        policy = content_security_policy(body, scope, self.frame_ancestors)
        headers = [
            (k, v)
            for k, v in start.get("headers", [])
            if k.lower() not in (b"content-security-policy", b"content-length")
        ]
        headers += [
            (b"content-security-policy", policy.encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _is_html(headers: list[tuple[bytes, bytes]]) -> bool:
    for key, value in headers:
        if key.lower() == b"content-type":
            return value.lower().startswith(b"text/html")
    return False
