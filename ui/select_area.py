# mypy: disable-error-code="no-untyped-call"
# (Chainlit 2.12 leaves send/update/remove untyped; everything else here is checked.)
"""Select area: paint the region of an image to change, then say what to change there.

The "Select area" button opens ``public/elements/MaskPainter.jsx`` under the image. The
painter sends back (through the ``select_area_apply`` action) a PNG data URL at the image's
exact size, transparent where the image may change, with the user's words. Here that mask
is checked with the upload rules and the edit runs as a turn on that image.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

import chainlit as cl

from agent.errors import NotFound, UploadRejected
from agent.images.uploads import MAX_UPLOAD_BYTES, Attachment, validate_mask_async
from agent.store.records import ImageRecord
from agent.turn.session import Session
from ui.image_route import image_url
from ui.markup import inert

APPLY = "select_area_apply"
"""The action the painter calls with the mask and the words."""
PAINTER = "MaskPainter"
"""The custom element (public/elements/MaskPainter.jsx)."""

MAX_TEXT_CHARS = 4000
_DATA_URL = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=\s]+)")
# base64 grows 4/3; anything longer cannot be a mask within the upload limit.
_MAX_DATA_URL_CHARS = MAX_UPLOAD_BYTES * 4 // 3 + 64


@dataclass(frozen=True)
class MaskedEdit:
    """An accepted request: which image, what to change, and where (the mask)."""

    image: ImageRecord
    text: str
    mask: Attachment


def painter_props(image: ImageRecord) -> dict[str, Any]:
    """The painter's props: the image (from the app's guarded route) and its exact size."""
    return {
        "imageId": image.id,
        "shortId": image.short_id,
        "url": image_url(image.id),
        "width": image.width,
        "height": image.height,
    }


async def open_painter(image: ImageRecord) -> None:
    """Show the painter under a short explanation."""
    await cl.Message(
        content=f"**Select area** on `{image.short_id}`: paint over what should change, "
        "then describe the change. Everything you do not paint stays exactly as it is.",
        elements=[cl.CustomElement(name=PAINTER, props=painter_props(image), display="inline")],
        metadata={"atelier": "select_area", "image_id": image.id},
    ).send()


def decode_mask_url(value: object) -> bytes:
    """The PNG bytes of the painter's data URL; UploadRejected for anything else. Blocking."""
    if not isinstance(value, str) or len(value) > _MAX_DATA_URL_CHARS:
        raise UploadRejected("The painted area did not arrive as a PNG. Paint it again.")
    match = _DATA_URL.fullmatch(value.strip())
    if match is None:
        raise UploadRejected("The painted area did not arrive as a PNG. Paint it again.")
    try:
        return base64.b64decode(re.sub(r"\s", "", match.group(1)), validate=True)
    except (binascii.Error, ValueError) as error:
        raise UploadRejected("The painted area arrived damaged. Paint it again.") from error


async def read_edit(session: Session | None, payload: dict[str, Any]) -> MaskedEdit:
    """Check what the painter sent: this chat's image, some words, a mask at its size.

    Raises UploadRejected (or NotFound for an image that is not this chat's) saying why.
    """
    image_id = payload.get("image_id")
    if session is None or not isinstance(image_id, str):
        raise NotFound("That image is not part of this conversation.")
    image = await session.image(image_id)
    text = payload.get("text")
    text = text.strip() if isinstance(text, str) else ""
    if not text:
        raise UploadRejected("Say what should change in the painted area.")
    if len(text) > MAX_TEXT_CHARS:
        raise UploadRejected(f"Keep the instruction under {MAX_TEXT_CHARS} characters.")
    data = await asyncio.to_thread(decode_mask_url, payload.get("mask"))
    mask = await validate_mask_async(
        f"mask-{image.short_id}.png", data, for_size=(image.width, image.height)
    )
    return MaskedEdit(image, text, mask)


async def accept(session: Session | None, payload: dict[str, Any]) -> MaskedEdit | str:
    """The edit when it is acceptable; otherwise the reason, for the painter to show."""
    try:
        edit = await read_edit(session, payload)
    except (UploadRejected, NotFound) as error:
        return error.user_message
    await cl.Message(
        content=f"Editing the painted area of `{edit.image.short_id}`: _{inert(edit.text, 300)}_",
        metadata={"atelier": "select_area_sent", "image_id": edit.image.id},
    ).send()
    return edit
