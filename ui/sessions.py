"""Revocable sign-ins and a guarded login form.

Chainlit's session is a JWT valid for ``user_session_timeout`` (15 days); on its own it
cannot be ended. Every token Atelier mints names how it was minted (``atelier_mode``:
password, local or widget) and the user's token version (``atelier_tv``); a token is
accepted only if its mode fits how the server runs now, its user is still configured and
its version is the user's current one. Signing out raises the version, ending every token
of that user. ``install_token_check`` puts the check in front of Chainlit's own
``authenticate_user``, which every protected route and the socket connect go through.

``LoginGuard`` (ASGI) limits failed sign-ins per user and per address (429 with a clear
message) and refuses a login form posted from a foreign page (login CSRF).
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Literal, Protocol
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent.billing.quotas import VISITOR_PREFIX
from ui.storage import SINGLE_USER_IDENTIFIER

logger = logging.getLogger("atelier.sessions")

Mode = Literal["password", "local", "widget", "visitor"]
MODE_KEY = "atelier_mode"
VERSION_KEY = "atelier_tv"
WIDGET_PREFIX = ":widget-"


class TokenVersions(Protocol):
    """Where users' token versions are kept (the data layer)."""

    async def token_version(self, identifier: str) -> int:
        """The user's current token version (0 if never raised)."""
        ...

    async def bump_token_version(self, identifier: str) -> int:
        """Raise the user's token version, ending every token minted before."""
        ...


def token_metadata(mode: Mode, version: int) -> dict[str, Any]:
    """The claims a token minted now carries (in the Chainlit user's metadata)."""
    return {MODE_KEY: mode, VERSION_KEY: version}


class TokenPolicy:
    """Decides whether a decoded token still stands."""

    def __init__(
        self,
        versions: TokenVersions,
        *,
        logins_on: bool,
        usernames: frozenset[str],
        visitors: bool = False,
    ) -> None:
        self.versions = versions
        self.logins_on = logins_on
        self.usernames = usernames
        self.visitors = visitors
        """Public widget mode: ``visitor:`` identities minted by /atelier/visitor count."""

    async def accepts(self, identifier: str, metadata: dict[str, Any] | None) -> bool:
        """True if a token for ``identifier`` with these claims may be used now."""
        claims = metadata or {}
        mode = claims.get(MODE_KEY)
        if identifier.startswith(VISITOR_PREFIX):
            # A public widget visitor (ui.visitors), in either login mode, while it is on.
            return self.visitors and mode == "visitor"
        if identifier.startswith(WIDGET_PREFIX):
            # A widget visitor: only the single-user mode hands these out.
            return not self.logins_on and mode == "widget"
        if self.logins_on:
            if identifier.startswith(":"):
                return False  # minted in single-user mode
            if mode is None:
                return True  # minted by the embedding site with the shared secret
            if mode != "password" or identifier not in self.usernames:
                return False
        elif identifier != SINGLE_USER_IDENTIFIER or mode not in (None, "local"):
            return False
        version = claims.get(VERSION_KEY, 0)
        return isinstance(version, int) and version == await self.versions.token_version(identifier)


def install_token_check(policy: TokenPolicy) -> None:
    """Refuse ended tokens on every request and socket connect that Chainlit authenticates."""
    import chainlit.auth as chainlit_auth
    from fastapi import HTTPException

    original = getattr(chainlit_auth, "_atelier_original_authenticate", None)
    if original is None:
        original = chainlit_auth.authenticate_user
        chainlit_auth._atelier_original_authenticate = original  # type: ignore[attr-defined]

    async def authenticate_user(token: str = "") -> Any:
        user = await user_for_token(policy, token)
        if user is None:
            raise HTTPException(status_code=401, detail="Your session has ended: sign in again.")
        return await original(token)

    # get_current_user looks this name up at call time: protected routes and the socket's
    # connect handler all come through here.
    chainlit_auth.authenticate_user = authenticate_user


async def user_for_token(policy: TokenPolicy, token: str | None) -> Any:
    """The Chainlit user of a valid, unrevoked token, or None."""
    if not token:
        return None
    from chainlit.auth.jwt import decode_jwt

    try:
        user = decode_jwt(token)
    except Exception:  # expired, forged or garbled: no user
        return None
    if not await policy.accepts(str(user.identifier), user.metadata):
        return None
    return user


async def end_sessions(versions: TokenVersions, token: str | None) -> str | None:
    """Sign-out: end every token of the token's user. Returns who was signed out."""
    if not token:
        return None
    from chainlit.auth.jwt import decode_jwt

    try:
        user = decode_jwt(token)
    except Exception:
        return None
    await versions.bump_token_version(str(user.identifier))
    return str(user.identifier)


class RateLimiter:
    """Failed attempts per key in a sliding window."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, key: str) -> float:
        """Seconds until ``key`` may try again (0 if it may now)."""
        now = self._clock()
        failures = self._failures.get(key)
        if not failures:
            return 0.0
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return 0.0
        if len(failures) < self.limit:
            return 0.0
        return failures[0] + self.window_s - now

    def failed(self, key: str) -> None:
        """Count one failed attempt for ``key``."""
        self._failures.setdefault(key, deque()).append(self._clock())

    def clear(self, key: str) -> None:
        """Forget ``key``'s failures (after a success)."""
        self._failures.pop(key, None)


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _username(body: bytes, content_type: str) -> str:
    if content_type.startswith("application/x-www-form-urlencoded"):
        values = parse_qs(body.decode("utf-8", "replace")).get("username", [""])
        return values[0]
    if content_type.startswith("multipart/form-data") and "boundary=" in content_type:
        boundary = content_type.split("boundary=", 1)[1].split(";")[0].strip('"').encode()
        for part in body.split(b"--" + boundary):
            head, _, value = part.partition(b"\r\n\r\n")
            if b'name="username"' in head:
                return value.rstrip(b"\r\n").decode("utf-8", "replace")
    return ""


async def _json(send: Send, status: int, detail: str, headers: dict[str, str]) -> None:
    body = json.dumps({"detail": detail}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class LoginGuard:
    """ASGI middleware in front of ``POST /login``: same-origin form, rate limits."""

    MAX_FORM_BYTES = 16 * 1024

    def __init__(
        self,
        app: ASGIApp,
        *,
        same_origin: Callable[[Scope], bool],
        per_user: RateLimiter,
        per_address: RateLimiter,
    ) -> None:
        self.app = app
        self.same_origin = same_origin
        self.per_user = per_user
        self.per_address = per_address

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != "/login":
            await self.app(scope, receive, send)
            return
        if not self.same_origin(scope):
            await _json(send, 403, "Sign in from this site's own login page.", {})
            return
        address = f"addr:{scope['client'][0] if scope.get('client') else '?'}"
        if wait := self.per_address.retry_after(address):
            await self._too_many(send, "from your address", wait)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        body = await _read_body(receive, self.MAX_FORM_BYTES)
        if body is None:
            await _json(send, 413, "The login form is too large.", {})
            return
        user = f"user:{_username(body, headers.get('content-type', ''))}"
        if wait := self.per_user.retry_after(user):
            await self._too_many(send, "for this user", wait)
            return
        status = await self._forward(scope, body, send)
        if status == 401:
            self.per_user.failed(user)
            self.per_address.failed(address)
        elif status == 200:
            self.per_user.clear(user)

    async def _forward(self, scope: Scope, body: bytes, send: Send) -> int:
        status = 0
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return {"type": "http.disconnect"}

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        await self.app(scope, replay, watch)
        return status

    @staticmethod
    async def _too_many(send: Send, scope_text: str, wait: float) -> None:
        seconds = max(1, int(wait + 0.999))
        await _json(
            send,
            429,
            f"Too many failed sign-ins {scope_text}: try again in {seconds} s.",
            {"retry-after": str(seconds)},
        )


__all__ = [
    "LoginGuard",
    "RateLimiter",
    "TokenPolicy",
    "TokenVersions",
    "end_sessions",
    "install_token_check",
    "token_metadata",
    "user_for_token",
]
