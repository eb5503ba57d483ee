"""Public widget mode: an anonymous identity per browser, signed by Atelier, for allowed origins.

The widget page calls ``POST /atelier/visitor`` (from an allowed origin) with the visitor
token it kept from last time, if any: a valid one keeps its identity, anything else gets a
new one. The answer carries the visitor token (the page keeps it, e.g. in localStorage) and
a Chainlit access token for ``mountChainlitWidget({accessToken})`` whose user is
``visitor:<id>``. So each browser has its own threads (the data layer lists a user's own
threads only; the studio's user never lists a visitor's), and its own quotas
(``agent.billing.quotas``). Requests from other origins are refused (403), and the route is
absent unless ``ATELIER_PUBLIC_WIDGET`` is on.

A visitor token is ``<id>.<issued unix time>.<HMAC-SHA256>`` keyed from the app's auth secret:
it cannot be forged or moved to another id, and it is not a login (it grants only the
visitor's own anonymous identity).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agent.billing.quotas import VISITOR_PREFIX
from agent.config import Settings

ROUTE = "/atelier/visitor"
_CONTEXT = b"atelier-visitor-v1"


def allowed_origins(settings: Settings) -> frozenset[str]:
    """The origins widget visitors may come from (``ATELIER_WIDGET_ORIGINS``)."""
    return frozenset(
        origin.strip().rstrip("/") for origin in settings.widget_origins.split(",") if origin
    )


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode("utf-8"), _CONTEXT, hashlib.sha256).digest()


def _mac(secret: str, body: str) -> str:
    digest = hmac.new(_key(secret), body.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def issue_visitor(secret: str, now: float | None = None) -> tuple[str, str]:
    """A new visitor: (visitor user id, signed visitor token)."""
    visitor = f"v_{secrets.token_urlsafe(16)}"
    body = f"{visitor}.{int(now if now is not None else time.time())}"
    return VISITOR_PREFIX + visitor, f"{body}.{_mac(secret, body)}"


def verify_visitor(secret: str, token: str) -> str | None:
    """The visitor user id a token names, or None when it is not one we signed."""
    body, _, mac = token.rpartition(".")
    visitor, _, issued = body.partition(".")
    if not (visitor.startswith("v_") and issued.isdigit() and mac):
        return None
    if not hmac.compare_digest(mac, _mac(secret, body)):
        return None
    return VISITOR_PREFIX + visitor


def _cors(origin: str) -> dict[str, str]:
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type",
        "Vary": "Origin",
        "Cache-Control": "no-store",
    }


def visitor_route(
    settings: Settings, secret: Callable[[], str], mint: Callable[[str], str]
) -> Route:
    """``POST /atelier/visitor``: a visitor identity and a widget token for allowed origins.

    ``secret`` returns the app's auth secret; ``mint`` turns a visitor user id into a
    Chainlit access token (the app passes ``chainlit.auth.create_jwt`` of a cl.User).
    """
    origins = allowed_origins(settings)

    async def handle(request: Request) -> Response:
        origin = request.headers.get("origin", "").rstrip("/")
        if origin not in origins:
            return JSONResponse({"detail": "This site may not embed the assistant."}, 403)
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=_cors(origin))
        try:
            body: Any = await request.json()
        except ValueError:
            body = {}
        kept = body.get("visitor") if isinstance(body, dict) else None
        visitor = verify_visitor(secret(), kept) if isinstance(kept, str) else None
        token = kept if visitor is not None else None
        if visitor is None or token is None:
            visitor, token = issue_visitor(secret())
        return JSONResponse(
            {"visitor": token, "user": visitor, "accessToken": mint(visitor)},
            headers=_cors(origin),
        )

    return Route(ROUTE, handle, methods=["POST", "OPTIONS"], name="atelier_visitor")
