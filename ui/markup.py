"""User and model text inside Markdown: shown as written, never acted on.

Prompts and revised prompts are typed by users (and, in shared threads, read by others); a
``![](https://...)`` in one would load a remote image in every reader's browser, and a
``[link](...)`` (a ``javascript:`` one included) would look like ours. Every character
Markdown gives meaning to is escaped, ``:`` and ``@`` too, so bare URLs and addresses do
not become autolinks.
"""

from __future__ import annotations

import re
from typing import Any

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~&:@])")


def inert(text: str, limit: int | None = None) -> str:
    """``text`` on one line, at most ``limit`` characters, with Markdown escaped."""
    flat = " ".join(text.split())
    if limit is not None and len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return _SPECIAL.sub(r"\\\1", flat)


def inert_block(text: str) -> str:
    """``text`` with its lines kept (as hard breaks) and Markdown escaped on each."""
    lines = [_SPECIAL.sub(r"\\\1", " ".join(line.split())) for line in text.splitlines()]
    return "  \n".join(lines)


def inert_thread(thread: Any) -> None:
    """Escape, in place, what users typed in a thread (their messages) for the share view.

    Chainlit's share page renders user messages as Markdown even with
    ``user_message_markdown = false``: escaped, they read exactly as typed.
    """
    for step in thread.get("steps") or []:
        if step.get("type") == "user_message" and isinstance(step.get("output"), str):
            step["output"] = inert_block(step["output"])
