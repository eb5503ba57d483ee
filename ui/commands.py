"""Slash commands in the composer (/refine, /bill, /images, /export) and typed fallbacks."""

from __future__ import annotations

from chainlit.types import CommandDict

COMMANDS: list[CommandDict] = [
    {
        "id": "refine",
        "icon": "pencil",
        "description": "Change one image: /refine ID what to change (ID as shown, e.g. a41c09ff)",
        "button": False,
        "persistent": False,
        "selected": False,
    },
    {
        "id": "bill",
        "icon": "receipt",
        "description": "Open the session bill: per-turn table, chart and exports",
        "button": False,
        "persistent": False,
        "selected": False,
    },
    {
        "id": "images",
        "icon": "images",
        "description": "List this chat's images with their ids",
        "button": False,
        "persistent": False,
        "selected": False,
    },
    {
        "id": "export",
        "icon": "archive",
        "description": "Download every image with a manifest (ZIP)",
        "button": False,
        "persistent": False,
        "selected": False,
    },
]
COMMAND_IDS = frozenset(command["id"] for command in COMMANDS)


def command_of(command: str | None, text: str) -> tuple[str, str] | None:
    """The command a message asks for and the rest of its text.

    From the composer's command picker (the text is then the arguments) or typed, like
    ``/refine a41c09ff make it warmer``.
    """
    stripped = text.strip()
    if command in COMMAND_IDS:
        # The composer may or may not keep the typed "/name" in the text.
        words = stripped.split(maxsplit=1)
        if words and words[0].lower() == f"/{command}":
            stripped = words[1] if len(words) > 1 else ""
        return command, stripped
    if stripped.startswith("/"):
        words = stripped[1:].split(maxsplit=1)
        word = words[0].lower() if words else ""
        if word in COMMAND_IDS:
            return word, words[1].strip() if len(words) > 1 else ""
    return None


def split_refine(arguments: str) -> tuple[str, str] | None:
    """``ID what to change`` → (ID, change); None when either part is missing."""
    words = arguments.split(maxsplit=1)
    if len(words) < 2 or not words[1].strip():
        return None
    return words[0], words[1].strip()
