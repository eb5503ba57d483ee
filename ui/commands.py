"""Slash commands in the composer (/bill, /images, /export) and typed fallbacks for them."""

from __future__ import annotations

from chainlit.types import CommandDict

COMMANDS: list[CommandDict] = [
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


def command_of(command: str | None, text: str) -> str | None:
    """The command a message asks for: the composer's command, or text like ``/bill``."""
    if command in COMMAND_IDS:
        return command
    stripped = text.strip()
    if stripped.startswith("/"):
        word = stripped[1:].split(maxsplit=1)[0].lower() if len(stripped) > 1 else ""
        if word in COMMAND_IDS:
            return word
    return None
