# mypy: disable-error-code="no-untyped-call"
# (Chainlit 2.12 leaves Message.send untyped.)
"""A message's uploads: read and validated, or refused with no trace left.

Chainlit's composer enforces ``max_files`` only in the browser; ``on_message`` checks it
again here before any file is read. A refused message's files are taken out of the chat,
the data layer (and storage), and Chainlit's ``.files`` folder.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import chainlit as cl
from chainlit.config import config

from agent.errors import UploadRejected
from agent.images.masks import mask_index
from agent.images.uploads import Attachment, validate_mask_async, validate_upload_async
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


async def read_uploads(
    message: cl.Message, layer: SQLiteDataLayer, *, has_image: bool
) -> tuple[tuple[Attachment, ...], Attachment | None] | None:
    """The message's validated images and mask (the file named or called a mask), or None
    when they were refused: the user is told why and the files are discarded."""
    count, limit = file_count(message), max_files()
    if count > limit:
        await refuse_upload(
            message, f"At most {limit} images per message; this one had {count}.", layer
        )
        return None
    files = [el for el in message.elements if getattr(el, "path", None)]
    mask_at = mask_index(
        [el.name or "" for el in files], message.content or "", has_image=has_image
    )
    attachments: list[Attachment] = []
    mask: Attachment | None = None
    try:
        for index, element in enumerate(files):
            data = await asyncio.to_thread(Path(str(element.path)).read_bytes)
            if index == mask_at:
                mask = await validate_mask_async(element.name, data)
            else:
                attachments.append(await validate_upload_async(element.name, data))
    except UploadRejected as error:
        await refuse_upload(message, error.user_message, layer)
        return None
    return tuple(attachments), mask
