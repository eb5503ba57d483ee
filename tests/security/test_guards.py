"""The guards on their own (no server): token policy, rate limits, login guard, body limit,
CSP hashing, origins, private files."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import httpx
from starlette.types import Receive, Scope, Send

from ui.auth import private_files
from ui.sessions import LoginGuard, RateLimiter, TokenPolicy, token_metadata
from ui.storage import SINGLE_USER_IDENTIFIER
from ui.websec import BodyLimit, Origins, content_security_policy


class Versions:
    def __init__(self) -> None:
        self.versions: dict[str, int] = {}

    async def token_version(self, identifier: str) -> int:
        return self.versions.get(identifier, 0)

    async def bump_token_version(self, identifier: str) -> int:
        self.versions[identifier] = self.versions.get(identifier, 0) + 1
        return self.versions[identifier]


async def test_token_policy_with_logins_on() -> None:
    versions = Versions()
    policy = TokenPolicy(versions, logins_on=True, usernames=frozenset({"alice"}))
    assert await policy.accepts("alice", token_metadata("password", 0))
    assert not await policy.accepts("bob", token_metadata("password", 0))  # removed user
    assert not await policy.accepts(SINGLE_USER_IDENTIFIER, token_metadata("local", 0))
    assert not await policy.accepts(SINGLE_USER_IDENTIFIER, None)  # older single-user token
    assert not await policy.accepts(":widget-abc", token_metadata("widget", 0))
    assert await policy.accepts("site-user", None)  # minted by the embedding site
    await versions.bump_token_version("alice")  # alice signed out
    assert not await policy.accepts("alice", token_metadata("password", 0))
    assert await policy.accepts("alice", token_metadata("password", 1))


async def test_token_policy_in_single_user_mode() -> None:
    versions = Versions()
    policy = TokenPolicy(versions, logins_on=False, usernames=frozenset())
    assert await policy.accepts(SINGLE_USER_IDENTIFIER, token_metadata("local", 0))
    assert await policy.accepts(":widget-abc", token_metadata("widget", 0))
    assert not await policy.accepts("alice", token_metadata("password", 0))
    assert not await policy.accepts(":widget-abc", token_metadata("local", 0))


def test_rate_limiter_window() -> None:
    now = [0.0]
    limiter = RateLimiter(3, 60, clock=lambda: now[0])
    for _ in range(3):
        assert limiter.retry_after("k") == 0
        limiter.failed("k")
    assert limiter.retry_after("k") == 60
    now[0] = 59.5
    assert limiter.retry_after("k") == 0.5
    now[0] = 60.0
    assert limiter.retry_after("k") == 0
    limiter.failed("k")
    limiter.clear("k")
    assert limiter.retry_after("k") == 0


async def _login_app(scope: Scope, receive: Receive, send: Send) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    status = 200 if b"password=right" in body or b"right\r\n" in body else 401
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def test_login_guard_limits_per_user_and_address_and_refuses_foreign_pages() -> None:
    origins = Origins(["http://allowed.test"])
    guard = LoginGuard(
        _login_app,
        same_origin=origins.same_origin,
        per_user=RateLimiter(2, 60),
        per_address=RateLimiter(5, 60),
    )
    transport = httpx.ASGITransport(app=guard)
    async with httpx.AsyncClient(transport=transport, base_url="http://app.test") as http:
        foreign = await http.post(
            "/login", data={"username": "a"}, headers={"Origin": "http://evil.test"}
        )
        assert foreign.status_code == 403
        ok = await http.post(
            "/login", data={"username": "a"}, headers={"Origin": "http://allowed.test"}
        )
        assert ok.status_code == 401  # reached the app (wrong password)
        await http.post("/login", data={"username": "a", "password": "x"})
        blocked = await http.post("/login", data={"username": "a", "password": "right"})
        assert blocked.status_code == 429 and "for this user" in blocked.json()["detail"]
        multipart = await http.post("/login", files={"username": (None, "a")})
        assert multipart.status_code == 429  # the name is read from multipart forms too
        for name in ("b", "c", "d"):
            await http.post("/login", data={"username": name, "password": "x"})
        other = await http.post("/login", data={"username": "e", "password": "right"})
        assert other.status_code == 429 and "from your address" in other.json()["detail"]


async def _echo(scope: Scope, receive: Receive, send: Send) -> None:
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise RuntimeError("client went away")
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(size).encode()})


async def test_body_limit_by_length_and_by_stream() -> None:
    app = BodyLimit(_echo, lambda path: 1000 if path == "/small" else 10_000)
    transport = httpx.ASGITransport(app=app)

    async def chunks() -> object:
        for _ in range(5):
            yield b"x" * 300

    async with httpx.AsyncClient(transport=transport, base_url="http://app.test") as http:
        assert (await http.post("/small", content=b"x" * 1000)).text == "1000"
        assert (await http.post("/small", content=b"x" * 1001)).status_code == 413
        assert (await http.post("/big", content=b"x" * 5000)).status_code == 200
        streamed = await http.post("/small", content=chunks())  # type: ignore[arg-type]
        assert streamed.status_code == 413


def test_csp_allows_exactly_the_pages_inline_scripts() -> None:
    html = b"<html><script>const global = globalThis;</script><script src='/a.js'></script>"
    scope: Scope = {"type": "http", "path": "/", "headers": [(b"host", b"app.test:8000")]}
    policy = content_security_policy(html, scope, "'self'")
    digest = base64.b64encode(hashlib.sha256(b"const global = globalThis;").digest()).decode()
    directives = dict(d.split(" ", 1) for d in policy.split("; "))
    # The app page compiles its own custom elements (new Function); no foreign source.
    assert directives["script-src"] == f"'self' 'unsafe-eval' 'sha256-{digest}'"
    public = content_security_policy(html, {**scope, "path": "/public/embed.html"}, "'self'")
    assert dict(d.split(" ", 1) for d in public.split("; "))["script-src"] == (
        f"'self' 'sha256-{digest}'"
    )
    assert directives["img-src"] == "'self' data: blob:"
    assert directives["connect-src"] == "'self' ws://app.test:8000 wss://app.test:8000"
    assert directives["frame-ancestors"] == "'self'"


def test_origins() -> None:
    origins = Origins(["http://localhost:8080/"])
    own = "http://127.0.0.1:8000"
    assert origins.admits(None, own)  # not sent by a browser page
    assert origins.admits(own, own)
    assert origins.admits("http://localhost:8080", own)
    assert not origins.admits("http://127.0.0.1:8001", own)  # another port is another origin
    assert Origins(["*"]).admits("http://anything.test", own)


def test_private_files(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    for name in ("atelier.db", "atelier.db-wal", "auth_secret", "notes.txt"):
        (data / name).write_text("x")
        os.chmod(data / name, 0o644)
    changed = private_files(data)
    assert sorted(p.name for p in changed) == ["atelier.db", "atelier.db-wal", "auth_secret"]
    modes = {p.name: p.stat().st_mode & 0o777 for p in data.iterdir()}
    assert modes == {
        "atelier.db": 0o600,
        "atelier.db-wal": 0o600,
        "auth_secret": 0o600,
        "notes.txt": 0o644,
    }
    assert data.stat().st_mode & 0o777 == 0o700
