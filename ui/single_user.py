"""Single-user mode: the studio's page arrives signed in.

Without logins everyone who reaches the server is the one local user (the header-auth
callback says so for any request). Chainlit's page still starts by asking ``/user`` without
a cookie, gets a 401 (logged as an error in the browser console), then signs in through
``/auth/header``. Serving the page with that same sign-in cookie already set makes the
first ``/user`` succeed: nothing is granted that the header callback would not grant.
Pages under /public/ (the widget's embed page) are left alone: the widget signs in with
its own token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SKIPPED_PREFIXES = ("/public/", "/copilot/", "/assets/")


class SignedInPages:
    """ASGI middleware: an HTML page sent without a sign-in cookie sets one for ``token()``."""

    def __init__(self, app: ASGIApp, token: Callable[[], Awaitable[str]]) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or str(scope["path"]).startswith(SKIPPED_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return
        from chainlit.auth.cookie import get_token_from_cookies, set_auth_cookie

        request = Request(scope)
        if get_token_from_cookies(request.cookies):
            await self.app(scope, receive, send)
            return

        async def send_signed_in(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if headers.get("content-type", "").startswith("text/html"):
                    carrier = Response()
                    set_auth_cookie(request, carrier, await self.token())
                    for name, value in carrier.raw_headers:
                        if name == b"set-cookie":
                            headers.append("set-cookie", value.decode("latin-1"))
            await send(message)

        await self.app(scope, receive, send_signed_in)
