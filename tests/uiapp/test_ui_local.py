"""The widget's requests are told apart, and the served page links nothing outside."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ui.local_assets import local_only
from ui.widget import WidgetRequests, from_widget, is_widget_query

REPO = Path(__file__).resolve().parents[2]


def test_widget_mark_in_query() -> None:
    assert is_widget_query(b"language=en-US&atelier_client=widget")
    assert not is_widget_query(b"language=en-US&")
    assert not is_widget_query(b"atelier_client=webapp")


async def test_middleware_sets_the_mark_only_for_the_request() -> None:
    seen: list[bool] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(from_widget())

    middleware = WidgetRequests(app)

    async def nothing() -> Any:
        return {}

    async def sink(message: Any) -> None:
        return None

    await middleware({"type": "http", "query_string": b"atelier_client=widget"}, nothing, sink)
    await middleware({"type": "http", "query_string": b""}, nothing, sink)
    assert seen == [True, False]
    assert not from_widget()


def test_chainlit_page_loses_outside_links() -> None:
    from chainlit.server import build_dir

    html = (Path(build_dir) / "index.html").read_text(encoding="utf-8")
    assert "fonts.googleapis.com" in html and "cdn.jsdelivr.net" in html  # what Chainlit ships
    cleaned = local_only(html)
    assert "googleapis" not in cleaned and "gstatic" not in cleaned and "jsdelivr" not in cleaned
    assert '<script type="module"' in cleaned and "/assets/index-" in cleaned


def test_theme_loads_only_local_fonts() -> None:
    theme = json.loads((REPO / "public" / "theme.json").read_text(encoding="utf-8"))
    assert theme["custom_fonts"], "an empty list makes the widget load Google Fonts"
    for href in theme["custom_fonts"]:
        assert href.startswith("/public/")
        assert (REPO / href.lstrip("/")).is_file()
    for variant in ("light", "dark"):
        assert "Inter" not in theme["variables"][variant]["--font-sans"]
