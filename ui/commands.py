# mypy: disable-error-code="no-untyped-call"
# (Chainlit 2.12 leaves send/update/remove untyped; everything else here is checked.)
"""Slash commands in the composer (/refine, /bill, /images, /export) and typed fallbacks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import chainlit as cl
from chainlit.types import CommandDict

from agent.errors import NotFound
from agent.store.ids import resolve_id
from agent.turn.session import Session
from ui import actions
from ui.markup import inert
from ui.render import image_actions

Refine = Callable[[Session, str, str], Awaitable[None]]  # (session, image id, change)

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


async def run_command(
    command: str, arguments: str, session: Session | None, *, refine: Refine, exports_dir: Path
) -> None:
    """Carry out a command of ``command_of``; ``refine`` runs the turn /refine asks for."""
    if command == "refine":
        await _refine_command(session, arguments, refine)
    elif command == "bill":
        await actions.show_bill(session)
    elif command == "export":
        await actions.send_export(session, "zip", exports_dir)
    elif command == "images":
        await _list_images(session)


async def _list_images(session: Session | None) -> None:
    images = await session.images() if session else []
    if not images:
        await cl.Message(content="No images in this chat yet.").send()
        return
    lines = [
        f"- `{image.short_id}` · turn {image.turn} · {image.size} · {image.quality} — "
        f"{inert(image.prompt, 80)}"
        for image in images
    ]
    await cl.Message(
        content="**Images in this chat**\n\n" + "\n".join(lines),
        actions=image_actions(images[-1].id),
    ).send()


async def _refine_command(session: Session | None, arguments: str, refine: Refine) -> None:
    """``/refine ID what to change``: a turn on that image (ID as shown, or any unique part)."""
    parts = split_refine(arguments)
    if parts is None:
        await cl.Message(
            content="Usage: `/refine ID what to change`, e.g. `/refine a41c09ff make it "
            "warmer`. `/images` lists this chat's images with their ids."
        ).send()
        return
    typed, change = parts
    images = await session.images() if session is not None else []
    try:
        image_id = resolve_id(
            typed, [image.id for image in images], kind="image", hint="`/images` lists them."
        )
    except NotFound as error:
        await cl.Message(content=error.user_message).send()
        return
    assert session is not None  # an id resolved, so the chat has images
    await refine(session, image_id, change)
