# mypy: disable-error-code="no-untyped-call"
# (Chainlit 2.12 leaves send/update/remove untyped; everything else here is checked.)
"""Several images in one turn (Variations, Brainstorm, "give me 6 options"): one grid.

Every image of such a turn is drawn into one message as a small inline image; Chainlit lays
a message's inline images out four to a row (``public/atelier.css`` widens that grid). When
the turn ends the message names the options and offers *Pick N* buttons; a pick shows that
image large with its usual buttons (Refine, Variations, Select area...).
"""

from __future__ import annotations

import chainlit as cl

from agent.store.records import ImageRecord
from agent.turn import events as ev
from agent.turn.turn import Turn
from ui.money import image_caption
from ui.render import TurnRenderer, final_image_element, image_actions

PICK = "pick"
GALLERY = "gallery"  # the gallery message's metadata["atelier"]


def renderer_for(turn: Turn) -> TurnRenderer:
    """A grid for a turn that asks for several images, else the one-message-per-image view."""
    return GalleryRenderer(turn.planned) if turn.planned > 1 else TurnRenderer()


class GalleryRenderer(TurnRenderer):
    """Draws every image of a turn into one message, four small images to a row."""

    image_size = "small"

    def __init__(self, planned: int) -> None:
        super().__init__()
        self.planned = planned
        self._gallery: cl.Message | None = None
        self._failures = 0

    async def _image_message(self, content: str) -> cl.Message:
        if self._gallery is None:
            self._gallery = cl.Message(
                content=f"_Making {self.planned} options…_",
                metadata={"atelier": GALLERY},
            )
            await self._gallery.send()
        return self._gallery

    async def _label(self, message: cl.Message, image: ImageRecord) -> None:
        done = len(self.images) + 1  # this image joins self.images after its label
        message.content = f"_{done} of {self.planned} ready…_"
        await message.update()

    async def _image_failed(self, event: ev.ImageFailed) -> None:
        self._failures += 1
        await super()._image_failed(event)

    async def _billed(self, event: ev.TurnBilled) -> None:
        await super()._billed(event)
        await self._close()

    async def _failed(self, event: ev.TurnFailed) -> None:
        await super()._failed(event)
        await self._close()

    async def _close(self) -> None:
        """Name the options and offer a Pick button for each."""
        if self._gallery is None:
            return
        made = len(self.images)
        head = f"**{made} option{'' if made == 1 else 's'}** · pick one to take further."
        if self._failures:
            head += f" {self._failures} could not be made."
        ids = " · ".join(f"{i} `{image.short_id}`" for i, image in enumerate(self.images, 1))
        self._gallery.content = f"{head}\n\n{ids}" if ids else head
        self._gallery.actions = pick_actions(self.images)
        await self._gallery.update()


def pick_actions(images: list[ImageRecord]) -> list[cl.Action]:
    """One *Pick N* button per option of a gallery."""
    return [
        cl.Action(name=PICK, payload={"image_id": image.id}, label=f"Pick {i}", icon="check")
        for i, image in enumerate(images, 1)
    ]


async def send_pick(image: ImageRecord) -> None:
    """Show a picked option large, with the buttons every image has."""
    await cl.Message(
        content=f"Picked: {image_caption(image)}",
        elements=[final_image_element(image)],
        actions=image_actions(image.id),
        metadata={"atelier": "picked", "image_id": image.id},
    ).send()
