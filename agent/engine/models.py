"""What the engine knows about mainline model names: snapshots and reasoning defaults.

From real recordings (tests/conformance) and OpenAI's model pages: the API echoes ``model``
as the dated snapshot of an alias (``gpt-5`` -> ``gpt-5-2025-08-07``); newer aliases may be
echoed as sent (``gpt-5.4`` came back undated). gpt-5, gpt-5-mini, gpt-5-nano and the
o-series reason at effort "medium" unless told otherwise; gpt-5.1 and later default to
"none", which emits no reasoning item at all; gpt-4.x models do not reason (effort null).
"""

from __future__ import annotations

import re

SNAPSHOTS = {
    "gpt-5": "gpt-5-2025-08-07",
    "gpt-5-mini": "gpt-5-mini-2025-08-07",
    "gpt-5-nano": "gpt-5-nano-2025-08-07",
    "gpt-5.1": "gpt-5.1-2025-11-13",
    "gpt-5.2": "gpt-5.2-2025-12-11",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "o3": "o3-2025-04-16",
    "o4-mini": "o4-mini-2025-04-16",
}
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
_DATED = re.compile(r"-\d{4}-\d{2}-\d{2}$")
_NEWER_GPT5 = re.compile(r"^gpt-5\.(\d+)")


def snapshot(model: str) -> str:
    """The name the API reports for ``model``: its dated snapshot when known."""
    return SNAPSHOTS.get(model, model)


def base_name(model: str) -> str:
    """``model`` without a date suffix (``gpt-5-2025-08-07`` -> ``gpt-5``)."""
    return _DATED.sub("", model)


def is_reasoning(model: str) -> bool:
    """Reasoning mainline models: the gpt-5 family and the o-series."""
    name = base_name(model)
    return name.startswith("gpt-5") or (len(name) > 1 and name[0] == "o" and name[1].isdigit())


def default_effort(model: str) -> str | None:
    """The reasoning effort ``model`` uses when the request names none (None: no reasoning)."""
    if not is_reasoning(model):
        return None
    name = base_name(model)
    if name.endswith("-pro"):
        return "high"
    newer = _NEWER_GPT5.match(name)
    if newer and int(newer.group(1)) >= 1 and "codex" not in name:
        return "none"
    return "medium"
