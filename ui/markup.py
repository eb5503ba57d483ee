"""User and model text inside Markdown: shown as written, never acted on.

Prompts and revised prompts are typed by users (and, in shared threads, read by others); a
``![](https://...)`` in one would load a remote image in every reader's browser, and a
``[link](...)`` would look like ours. Every character Markdown gives meaning to is escaped.
"""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~&])")


def inert(text: str, limit: int | None = None) -> str:
    """``text`` on one line, at most ``limit`` characters, with Markdown escaped."""
    flat = " ".join(text.split())
    if limit is not None and len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return _SPECIAL.sub(r"\\\1", flat)
