"""Atelier's own HTTP surface on Chainlit's app: routes, guards and who is asking.

Routes: ``/atelier/metrics`` (and ``/reset``), ``/atelier/copilot-token``, the element
file route and, in public widget mode, ``/atelier/visitor`` (its origins join the allowed
ones). Metrics and FastAPI's ``/docs``, ``/redoc`` and ``/openapi.json`` answer only
requests from this machine (not forwarded by a proxy) or signed-in admins (``ATELIER_ADMINS``,
or the single local user); anyone else gets 404. A thread one may not see answers 404
whether it exists or not. ``install_middlewares`` runs when the app module loads (before
the server serves); ``install_routes`` at startup.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from agent.billing.quotas import VISITOR_PREFIX
from agent.config import Settings
from agent.ops.lagprobe import LagProbe
from ui.datalayer import SQLiteDataLayer
from ui.sessions import (
    WIDGET_PREFIX,
    LoginGuard,
    RateLimiter,
    TokenPolicy,
    install_token_check,
    token_metadata,
    user_for_token,
)
from ui.storage import SINGLE_USER_IDENTIFIER, LocalStorageClient, install_file_route, token_from
from ui.visitors import allowed_origins, visitor_route
from ui.websec import (
    BodyLimit,
    ForeignOrigin,
    Origins,
    SecurityHeaders,
    WebSettings,
    WriterMiddleware,
    from_this_machine,
    headers_of,
    own_origin,
    restrict_socket_origins,
)

ADMIN_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
UPLOAD_PATH = "/project/file"
_NOT_FOUND = {"detail": "Not found"}


class HttpSurface:
    """What the routes and guards need: the data layer, storage, probe and policies."""

    def __init__(
        self,
        web: WebSettings,
        layer: SQLiteDataLayer,
        storage: LocalStorageClient,
        probe: Callable[[], LagProbe | None],
        *,
        logins_on: bool,
        usernames: frozenset[str],
        engine_requests: Callable[[], int | None] = lambda: None,
        widget: Settings | None = None,
    ) -> None:
        self.engine_requests = engine_requests  # requests the embedded engine received
        self.web = web
        self.layer = layer
        self.storage = storage
        self.probe = probe
        self.logins_on = logins_on
        self.widget = widget
        """Public widget mode's settings (None when it is off)."""
        self.policy = TokenPolicy(
            layer, logins_on=logins_on, usernames=usernames, visitors=widget is not None
        )

    # ------------------------------------------------------------------ who is asking

    async def identify(self, request: Request) -> str | None:
        """The signed-in caller of a request (valid, unrevoked token), or None."""
        user = await user_for_token(self.policy, token_from(request))
        return None if user is None else str(user.identifier)

    async def identify_scope(self, scope: Scope) -> str | None:
        """``identify`` for a raw ASGI scope (middlewares)."""
        return await self.identify(Request(scope))

    async def is_admin(self, scope: Scope) -> bool:
        """From this machine, or a signed-in admin (the single local user without logins)."""
        if from_this_machine(scope):
            return True
        identifier = await self.identify_scope(scope)
        if identifier is None:
            return False
        if not self.logins_on:
            return identifier == SINGLE_USER_IDENTIFIER
        return identifier in self.web.admin_set

    # ------------------------------------------------------------------ routes

    async def metrics(self, request: Request) -> Response:
        """Loop lag, memory and live sessions, for the perf benchmark and operators."""
        if not await self.is_admin(request.scope):
            return JSONResponse(_NOT_FOUND, status_code=404)
        from chainlit.session import ws_sessions_id

        probe = self.probe()
        snapshot: dict[str, Any] = probe.snapshot() if probe is not None else {}
        return JSONResponse(
            {
                "loop_lag_max_ms": snapshot.get("max_ms"),
                "loop_lag_p99_ms": snapshot.get("p99_ms"),
                "lag_samples": snapshot.get("samples"),
                "rss_mb": snapshot.get("rss_mb"),
                "peak_rss_mb": snapshot.get("peak_rss_mb"),
                "sessions": len(ws_sessions_id),
                "engine_requests": self.engine_requests(),
            },
            headers={"Cache-Control": "no-store"},
        )

    async def metrics_reset(self, request: Request) -> Response:
        """Forget lag samples so far (the benchmark's measured phase starts here)."""
        if not await self.is_admin(request.scope):
            return JSONResponse(_NOT_FOUND, status_code=404)
        probe = self.probe()
        if probe is not None:
            probe.reset()
        return JSONResponse({"reset": probe is not None})

    async def copilot_token(self, request: Request) -> Response:
        """A Copilot widget token for a new visitor (only when logins are off).

        Each visitor gets an identity of its own, so widget chats never join the studio
        owner's history. With logins on, the embedding site mints the token itself (a JWT
        signed with CHAINLIT_AUTH_SECRET) and passes it as ``accessToken``.
        """
        if self.logins_on:
            return JSONResponse(
                {"detail": "Logins are on: mint the widget token on your own server."},
                status_code=404,
            )
        import chainlit as cl
        from chainlit.auth import create_jwt

        visitor = cl.User(
            identifier=f"{WIDGET_PREFIX}{uuid.uuid4().hex}",
            display_name="Visitor",
            metadata=token_metadata("widget", 0),
        )
        return JSONResponse({"token": create_jwt(visitor)}, headers={"Cache-Control": "no-store"})

    async def thread_author_check(self, username: str, thread_id: str) -> bool:
        """Chainlit's ``is_thread_author``, answering 404 whether the thread exists or not."""
        if not await self.layer.owns_thread(username, thread_id):
            raise HTTPException(status_code=404, detail="Thread not found")
        return True

    def install_routes(self, app: FastAPI) -> None:
        """Add the routes in front of Chainlit's catch-all GET (which would shadow them)."""
        install_file_route(app, self.storage, self.layer.can_read_object, self.identify)
        app.router.routes.insert(0, Route("/atelier/metrics", self.metrics, methods=["GET"]))
        app.router.routes.insert(
            0, Route("/atelier/metrics/reset", self.metrics_reset, methods=["POST"])
        )
        app.router.routes.insert(
            0, Route("/atelier/copilot-token", self.copilot_token, methods=["GET"])
        )
        if self.widget is not None:
            app.router.routes.insert(0, visitor_route(self.widget, _auth_secret, _mint_visitor))

    # ------------------------------------------------------------------ guards

    def install_middlewares(self, app: FastAPI, sio: Any, allow_origins: list[str]) -> None:
        """Put the guards around Chainlit's app; call before it serves its first request."""
        import chainlit.server as chainlit_server
        from chainlit.config import config

        if self.widget is not None:
            # In place: Chainlit's CORS middleware holds this very list.
            allow_origins.extend(sorted(allowed_origins(self.widget) - set(allow_origins)))
        origins = Origins(allow_origins)
        restrict_socket_origins(sio, origins)
        install_token_check(self.policy)
        # Chainlit answers 401 for someone else's thread and 404 for a missing one.
        setattr(chainlit_server, "is_thread_author", self.thread_author_check)  # noqa: B010
        upload = config.features.spontaneous_file_upload
        upload_mb = upload.max_size_mb if upload is not None and upload.max_size_mb else 20
        upload_limit = upload_mb * 1024 * 1024 + 64 * 1024
        other_limit = self.web.max_request_kb * 1024

        def limit_for(path: str) -> int:
            return upload_limit if path == UPLOAD_PATH else other_limit

        window = float(self.web.login_window_s)
        # Inside Chainlit's GZip, so the CSP sees (and hashes) the page uncompressed.
        _insert_after_gzip(app, SecurityHeaders, frame_ancestors=self.web.frame_ancestors)
        app.add_middleware(WriterMiddleware, identify=self.identify_scope)
        if not self.logins_on:
            app.add_middleware(StudioNotVisitor, identify=self.identify_scope)
        app.add_middleware(AdminOnly, is_admin=self.is_admin)
        app.add_middleware(
            LoginGuard,
            same_origin=origins.same_origin,
            per_user=RateLimiter(self.web.login_failures_per_user, window),
            per_address=RateLimiter(self.web.login_failures_per_address, window),
        )
        app.add_middleware(ForeignOrigin, origins=origins)
        app.add_middleware(BodyLimit, limit_for=limit_for)  # outermost: before anything reads


class AdminOnly:
    """FastAPI's API docs: only for ``is_admin`` callers; 404 for anyone else."""

    def __init__(self, app: ASGIApp, is_admin: Callable[[Scope], Any]) -> None:
        self.app = app
        self.is_admin = is_admin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] in ADMIN_PATHS
            and not await self.is_admin(scope)
        ):
            await JSONResponse(_NOT_FOUND, status_code=404)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class StudioNotVisitor:
    """Single-user mode: the studio never runs as a widget visitor.

    Chainlit keeps one auth cookie per origin, so a browser that opened the widget page
    on the studio's own origin holds a visitor's cookie. When the studio's pages (anything
    but /public/ pages) ask who is signed in with it, they get 401 and sign in as the local
    user again, instead of showing the owner an empty history.
    """

    def __init__(self, app: ASGIApp, identify: Callable[[Scope], Any]) -> None:
        self.app = app
        self.identify = identify

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] == "/user":
            referer = urlsplit(headers_of(scope).get("referer", ""))
            from_studio = f"{referer.scheme}://{referer.netloc}" == own_origin(scope) and not (
                referer.path.startswith("/public/")
            )
            identifier = await self.identify(scope) if from_studio else None
            if identifier is not None and identifier.startswith((WIDGET_PREFIX, VISITOR_PREFIX)):
                await JSONResponse({"detail": "Sign in"}, status_code=401)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _auth_secret() -> str:
    import os

    return os.environ["CHAINLIT_AUTH_SECRET"]  # set at import by ui.auth.ensure_auth_secret


def _mint_visitor(visitor: str) -> str:
    """A Chainlit access token for a public widget visitor (``visitor:<id>``)."""
    import chainlit as cl
    from chainlit.auth import create_jwt

    user = cl.User(
        identifier=visitor, display_name="Visitor", metadata=token_metadata("visitor", 0)
    )
    return str(create_jwt(user))


def _insert_after_gzip(app: FastAPI, cls: Any, **options: Any) -> None:
    from starlette.middleware import Middleware
    from starlette.middleware.gzip import GZipMiddleware

    entries = app.user_middleware
    index = next(
        (i + 1 for i, entry in enumerate(entries) if issubclass(entry.cls, GZipMiddleware)),  # type: ignore[arg-type]
        0,
    )
    entries.insert(index, Middleware(cls, **options))
