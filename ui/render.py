# mypy: disable-error-code="no-untyped-call"
# (Chainlit 2.12 leaves send/update/remove untyped; everything else here is checked.)
"""Agent events → Chainlit messages, steps and elements. One TurnRenderer per turn.

The renderer only draws: it never decides anything about the turn. Partial images replace
each other in place (one updatable ``cl.Image`` per image call, same element id, sent with
persist=False); the final image is sent persisted under that same id.

Cheap on the server: a partial is drawn in a task of its own slot (the next events do not
wait for it) and a newer partial of the same call replaces one not drawn yet; its "Sharpening"
status goes to the browser only (the final caption is what is stored); text deltas are sent
at most every ``TEXT_FLUSH_S``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterable
from dataclasses import dataclass, field
from typing import assert_never

import chainlit as cl
from chainlit.config import config

from agent.billing.budgets import budget_label
from agent.billing.quotas import QuotaExceeded
from agent.errors import BudgetExceeded, Cancelled
from agent.images.previews import preview
from agent.store.records import ImageRecord
from agent.turn import events as ev
from agent.turn.event_json import event_json
from ui.money import bill_line, image_caption, spent_line, usd_short

logger = logging.getLogger(__name__)

TEXT_FLUSH_S = 0.05
"""Text deltas are coalesced: one socket message per this many seconds, not one per delta."""


def image_actions(image_id: str, number: int | None = None) -> list[cl.Action]:
    """The buttons under every finished image.

    In a gallery (``number`` given) each variant gets numbered Refine, Variations and
    Download buttons only, so eight variants stay readable; a refined pick has them all.
    """
    payload = {"image_id": image_id}
    tag = "" if number is None else f" {number}"
    buttons = [
        cl.Action(
            name="refine", payload=payload, label=f"Refine {tag.strip() or 'this'}", icon="pencil"
        ),
        cl.Action(name="variations", payload=payload, label=f"Variations{tag}", icon="layers"),
        cl.Action(name="download", payload=payload, label=f"Download{tag}", icon="download"),
    ]
    if number is None:
        buttons += [
            cl.Action(name="lineage", payload=payload, label="Lineage", icon="git-branch"),
            cl.Action(name="select_area", payload=payload, label="Select area", icon="brush"),
        ]
    return buttons


def bill_action() -> cl.Action:
    """The button that opens the bill panel."""
    return cl.Action(name="bill", payload={}, label="Bill", icon="receipt")


def status_verb(action: str, parent_id: str | None, *, nothing_to_edit: bool = False) -> str:
    """What the status line says an image call does: edits say so, new images too.

    ``nothing_to_edit``: the chat has no image yet, so an undecided call can only draw.
    """
    if action == "edit" or parent_id:
        return "Editing"
    if action == "generate" or nothing_to_edit:
        return "Generating"
    return "Working on"  # "auto": the model has not said yet whether it edits or draws


def tool_step(name: str, parent_id: str) -> cl.Step:
    """An image call's tool step, under the app's own avatar (its name would be a bad URL)."""
    return cl.Step(
        name=name, type="tool", parent_id=parent_id, metadata={"avatarName": config.ui.name}
    )


def final_image_element(
    image: ImageRecord, element_id: str | None = None, number: int | None = None
) -> cl.Image:
    """The persisted element of a finished image (from its file on disk).

    In a gallery the name is numbered (``2 · a41c09ff.png``) and the image small, so the
    variants sit side by side in one row.
    """
    element = cl.Image(
        name=f"{'' if number is None else f'{number} · '}{image.short_id}.{image.output_format}",
        path=str(image.path),
        display="inline",
        size="large" if number is None else "small",
    )
    if element_id is not None:
        element.id = element_id
    return element


@dataclass
class _ImageSlot:
    """Everything drawn for one image_generation call."""

    message: cl.Message
    step: cl.Step
    element: cl.Image | None = None
    started: float = field(default_factory=time.monotonic)
    image: ImageRecord | None = None
    number: int | None = None  # its place in a gallery
    line: str = ""  # its line of the gallery's text
    actions: list[cl.Action] = field(default_factory=list)  # made once: each is sent once
    pending: ev.PartialImage | None = None  # the newest partial not drawn yet
    drawing: asyncio.Task[None] | None = None


class TurnRenderer:
    """Draws one turn as it streams: text, a tool step and a message per image, the bill."""

    def __init__(self, *, gallery: bool = False, nothing_to_edit: bool = False) -> None:
        self._answer: cl.Message | None = None
        self._slots: dict[str, _ImageSlot] = {}
        self.images: list[ImageRecord] = []
        self._text_buffer = ""
        self._text_sent_at = 0.0
        self._text_timer: asyncio.Task[None] | None = None
        self._timer_sleeping = False
        # A gallery turn (Brainstorm, Variations) shows all its images in one message.
        self._gallery = gallery
        self._gallery_message: cl.Message | None = None
        self._nothing_to_edit = nothing_to_edit

    async def _slot_message(self, text: str) -> tuple[cl.Message, int | None]:
        """The message a new image call draws into, and its number in a gallery."""
        if not self._gallery:
            message = cl.Message(content=text)
            await message.send()
            return message, None
        if self._gallery_message is None:
            self._gallery_message = cl.Message(content=text)
            await self._gallery_message.send()
        return self._gallery_message, len(self._slots) + 1

    async def _show(self, slot: _ImageSlot, text: str) -> None:
        """Put ``text`` in the image's message (its own line of a gallery)."""
        if slot.number is None:
            slot.message.content = text
        else:
            slot.line = f"**{slot.number}** · {text}"
            slot.message.content = "  \n".join(
                other.line for other in self._slots.values() if other.line
            )
            # Chainlit sends only actions it has not sent yet: the same objects every time.
            slot.message.actions = [a for other in self._slots.values() for a in other.actions]
        await slot.message.update()

    async def consume(self, events: AsyncIterable[ev.AgentEvent]) -> None:
        """Render the events of a turn (``agent.turn.turn.Turn``) not rendered yet, in order.

        Called again by the stop handler, it draws what is left (the turn's "Stopped" end).
        """
        async for event in events:
            await self.render(event)

    async def render(self, event: ev.AgentEvent) -> None:
        """Render one event."""
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("turn event %s", json.dumps(event_json(event)))
        if not isinstance(event, ev.TextDelta):
            await self._settle_text()  # text first: events are drawn in order
        match event:
            case ev.TurnStarted():
                return
            case ev.TextDelta():
                await self._text(event.text)
            case ev.ImageCallStarted():
                await self._image_started(event)
            case ev.PartialImage():
                await self._partial(event)
            case ev.ImageReady():
                await self._image_ready(event.image)
            case ev.ImageFailed():
                await self._image_failed(event)
            case ev.BudgetWarning():
                await self._budget_warning(event)
            case ev.TurnBilled():
                await self._billed(event)
            case ev.TurnFailed():
                await self._failed(event)
            case _:
                assert_never(event)

    async def _text(self, text: str) -> None:
        self._text_buffer += text
        wait = self._text_sent_at + TEXT_FLUSH_S - time.monotonic()
        if wait <= 0:
            await self._send_text()
        elif self._text_timer is None:
            self._timer_sleeping = True
            self._text_timer = asyncio.create_task(self._send_text_in(wait))

    async def _send_text_in(self, delay_s: float) -> None:
        await asyncio.sleep(delay_s)  # a deadline: the coalesced text goes out now
        self._timer_sleeping = False
        await self._send_text()
        self._text_timer = None

    async def _settle_text(self) -> None:
        """Send coalesced text now; a timer already sending is waited for, never cut."""
        timer, self._text_timer = self._text_timer, None
        if timer is not None:
            if self._timer_sleeping:
                timer.cancel()
            await asyncio.wait([timer])
        await self._send_text()

    async def _send_text(self) -> None:
        text, self._text_buffer = self._text_buffer, ""
        self._text_sent_at = time.monotonic()
        if not text:
            return
        if self._answer is None:
            self._answer = cl.Message(content="")
        await self._answer.stream_token(text)

    async def _close_answer(self) -> None:
        if self._answer is not None and self._answer.streaming:
            await self._answer.send()
        self._answer = None  # later text after an image starts a new message

    async def _image_started(self, event: ev.ImageCallStarted) -> None:
        await self._close_answer()
        verb = status_verb(event.action, event.parent_id, nothing_to_edit=self._nothing_to_edit)
        status = f"_{verb} {event.size} · {event.quality} image…_"
        message, number = await self._slot_message(status)
        # Chainlit titles tool steps "Using …" / "Used …": name the tool, show the details.
        step = tool_step(f"image generation · {event.size} · {event.quality}", message.id)
        step.input = f"{verb.lower()} image call {event.call_id[-8:]}"
        if event.parent_id:
            step.input += f" from image {event.parent_id[-8:]}"
        await step.send()
        self._slots[event.call_id] = slot = _ImageSlot(message=message, step=step, number=number)
        if number is not None:
            await self._show(slot, status)

    async def _partial(self, event: ev.PartialImage) -> None:
        slot = self._slots.get(event.call_id)
        if slot is None or slot.image is not None:
            return
        slot.pending = event  # replaces a partial of this call not drawn yet
        if slot.drawing is None or slot.drawing.done():
            slot.drawing = asyncio.create_task(self._draw_partials(slot))

    async def _draw_partials(self, slot: _ImageSlot) -> None:
        while slot.pending is not None:
            event, slot.pending = slot.pending, None
            await self._draw_partial(slot, event)

    async def _settle(self, slot: _ImageSlot) -> None:
        """No preview is drawn after this: drop the pending one, finish the one in hand."""
        slot.pending = None
        if slot.drawing is not None:
            await asyncio.wait([slot.drawing])
            if not slot.drawing.cancelled() and (error := slot.drawing.exception()):
                logger.warning("a partial image could not be drawn: %r", error)
            slot.drawing = None

    async def _draw_partial(self, slot: _ImageSlot, event: ev.PartialImage) -> None:
        shown = await preview(event.data)
        # The bytes ride in the element event as a data: URL: nothing to stage in .files,
        # no download for the browser to make (and for the server to authenticate and serve).
        if slot.element is None:
            slot.element = cl.Image(
                name=f"partial-{event.call_id[-8:]}",
                url=shown.data_url,
                display="inline",
                size="large" if slot.number is None else "small",
                mime=shown.mime,
            )
            slot.element.updatable = True
        else:
            slot.element.url = shown.data_url
            slot.element.mime = shown.mime
        slot.element.name = f"partial-{event.index + 1}-{event.call_id[-8:]}"
        await slot.element.send(for_id=slot.message.id, persist=False)
        elapsed = time.monotonic() - slot.started
        status = f"_Sharpening… stage {event.index + 1} · {elapsed:.1f} s_"
        if slot.number is None:
            slot.message.content = status
            # Shown, not stored: the final caption replaces it (one database write fewer).
            await cl.context.emitter.update_step(slot.message.to_dict())
        else:
            await self._show(slot, status)  # the gallery's text holds every variant's line

    async def _finish_step(self, slot: _ImageSlot, output: str) -> None:
        elapsed = time.monotonic() - slot.started
        slot.step.output = f"{output} in {elapsed:.1f} s"
        slot.step.end = cl.utils.utc_now()
        await slot.step.update()

    async def _image_ready(self, image: ImageRecord) -> None:
        slot = self._slots.get(image.id)
        if slot is None:  # an image without a start event: draw it on its own
            message = cl.Message(content="")
            await message.send()
            step = tool_step(f"image generation · {image.size} · {image.quality}", message.id)
            await step.send()
            slot = _ImageSlot(message=message, step=step)
            self._slots[image.id] = slot
        await self._settle(slot)
        element = final_image_element(image, slot.element.id if slot.element else None, slot.number)
        element.updatable = True
        await element.send(for_id=slot.message.id, persist=True)
        slot.element = element
        slot.image = image
        slot.actions = image_actions(image.id, slot.number)
        if slot.number is None:
            slot.message.actions = slot.actions
        await self._show(slot, image_caption(image))
        await self._finish_step(slot, f"Image {image.short_id} ready")
        self.images.append(image)

    async def _image_failed(self, event: ev.ImageFailed) -> None:
        slot = self._slots.get(event.call_id)
        text = f"**This image could not be made.** {event.error.user_message}"
        if slot is None:
            await cl.Message(content=text).send()
            return
        await self._settle(slot)
        if slot.element is not None:
            await slot.element.remove()
        await self._show(slot, text)
        await self._finish_step(slot, "Failed")

    async def _budget_warning(self, event: ev.BudgetWarning) -> None:
        name = budget_label(event.budget)
        await cl.Message(
            content=(
                f"⚠️ You have used {usd_short(event.spent_usd)} of {name} "
                f"({usd_short(event.limit_usd, places=2)})."
            )
        ).send()

    async def _billed(self, event: ev.TurnBilled) -> None:
        await self._close_answer()
        for slot in self._slots.values():
            await self._settle(slot)
        if len(self.images) == 1 and not event.bill.has_unknown:
            slot = self._slots[self.images[0].id]
            await self._show(slot, image_caption(self.images[0], event.bill.by_kind()["images"]))
        await cl.Message(
            content=bill_line(event.bill, event.session_total_usd, event.session_budget_usd),
            actions=[bill_action()],
            metadata={"atelier": "bill"},
        ).send()

    async def _failed(self, event: ev.TurnFailed) -> None:
        await self._close_answer()
        for slot in self._slots.values():
            if slot.image is None:
                await self._abandon(slot)
        error = event.error
        if isinstance(error, BudgetExceeded):
            head = f"**Not sent: budget.** {error.user_message}"
        elif isinstance(error, QuotaExceeded):
            head = f"**Not sent: limit.** {error.user_message}"
        elif isinstance(error, Cancelled):
            head = "**Stopped.** Images already finished are kept."
        else:
            head = f"**That did not work.** {error.user_message}"
        kept = ""
        if event.images_kept:
            kept = f"\n\nKept {len(event.images_kept)} finished image(s)."
        await cl.Message(
            content=f"{head}{kept}\n\n{spent_line(event.spent, event.session_total_usd)}",
            actions=[bill_action()],
            metadata={"atelier": "bill"},
        ).send()

    async def _abandon(self, slot: _ImageSlot) -> None:
        await self._settle(slot)
        if slot.element is not None:
            await slot.element.remove()
        await self._show(slot, "_Not finished._")
        await self._finish_step(slot, "Not finished")
