# mypy: disable-error-code="no-untyped-call"
# (Chainlit 2.12 leaves Message.send untyped.)
"""Refused uploads: the server's per-message file limit, and leaving no trace of a refusal.

Chainlit's composer enforces ``max_files`` only in the browser; ``on_message`` checks it
again here before any file is read. A refused message's files are taken out of the chat,
the data layer (and storage), and Chainlit's ``.files`` folder.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import chainlit as cl
from chainlit.config import config

from ui.datalayer import SQLiteDataLayer


def max_files() -> int:
    """Files allowed in one message (``max_files`` of ``.chainlit/config.toml``)."""
    upload = config.features.spontaneous_file_upload
    return upload.max_files if upload is not None and upload.max_files else 4


def file_count(message: cl.Message) -> int:
    """How many uploaded files a message carries."""
    return sum(1 for element in message.elements if getattr(element, "path", None))


async def discard_uploads(message: cl.Message, layer: SQLiteDataLayer) -> None:
    """Refused uploads leave no trace: not in the chat, the data layer, storage or .files."""
    elements = list(message.elements)
    await layer.discard_elements(element.id for element in elements)
    files = cl.context.session.files
    paths = [Path(str(el.path)) for el in elements if getattr(el, "path", None)]
    for element in elements:
        files.pop(element.id, None)
        await cl.context.emitter.emit("remove_element", {"id": element.id})
    await asyncio.to_thread(_unlink_all, paths)


def _unlink_all(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


async def refuse_upload(message: cl.Message, reason: str, layer: SQLiteDataLayer) -> None:
    """Discard the message's files and tell the user why."""
    await discard_uploads(message, layer)
    await cl.Message(
        content=f"**Upload not accepted.** {reason}\n\n"
        "Your message was not sent; fix the file and send again."
    ).send()
