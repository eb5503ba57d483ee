"""Requests from the Copilot widget, told apart from the studio's own pages.

The widget (chainlit/copilot) shows a chat-profile picker whenever the project settings list
more than one profile; the picker then sets a profile, which makes the widget drop its
config and fetch it again. While the config is missing the widget's feedback buttons render
no hooks, once it is back they render more, and React stops the whole widget (error #310).
The widget always runs the Support profile anyway, so its settings list no profiles.

The embedding page marks the widget's API calls with ``additionalQueryParamsForAPI``
(``{"atelier_client": "widget"}``, see public/embed.html); this middleware turns that mark
into a context variable the chat-profile callback reads.
"""

from __future__ import annotations

from contextvars import ContextVar
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

WIDGET_PARAM = "atelier_client"
WIDGET_VALUE = "widget"

_from_widget: ContextVar[bool] = ContextVar("atelier_from_widget", default=False)


def from_widget() -> bool:
    """Whether the HTTP request being answered was made by the Copilot widget."""
    return _from_widget.get()


def is_widget_query(query_string: bytes) -> bool:
    """Whether a raw query string carries the widget's mark."""
    values = parse_qs(query_string.decode("latin-1")).get(WIDGET_PARAM, [])
    return WIDGET_VALUE in values


class WidgetRequests:
    """ASGI middleware: marks the widget's HTTP requests for ``from_widget``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_widget_query(scope.get("query_string", b"")):
            await self.app(scope, receive, send)
            return
        token = _from_widget.set(True)
        try:
            await self.app(scope, receive, send)
        finally:
            _from_widget.reset(token)
