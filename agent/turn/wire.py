"""Responses stream events in, agent events out: what one turn has received so far.

The client rules live here. An image item with a decodable ``result`` is an image whatever
its status label (Azure and some live streams send "generating" with no ``.completed``
event); a call that never yields a decodable image becomes ``ImageFailed`` with a reason;
damaged base64 never raises out of the turn; a partial image's format is the event's own.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseCreatedEvent,
    ResponseErrorEvent,
    ResponseFailedEvent,
    ResponseImageGenCallPartialImageEvent,
    ResponseIncompleteEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseReasoningItem,
    ResponseStreamEvent,
    ResponseTextDeltaEvent,
)
from openai.types.responses.response_output_item import ImageGenerationCall

from agent.errors import MODERATION_CODES, AtelierError, ContentBlocked, UpstreamError
from agent.images import b64
from agent.images.pool import run_image_work
from agent.session_settings import SessionSettings
from agent.store.imagefiles import ImageFiles
from agent.store.records import ImageRecord
from agent.turn import events as ev
from agent.turn.requests import TargetImage

logger = logging.getLogger(__name__)


@dataclass
class Call:
    """One image call of the turn."""

    call_id: str
    reasoning_item_id: str | None
    partials: int = 0
    ended: bool = False
    damaged: bool = False  # a result arrived (and was paid for) but could not be opened


@dataclass
class Progress:
    """What a turn has received so far; survives retries only while nothing arrived."""

    response_id: str | None = None
    text: str = ""
    received_any: bool = False
    last_reasoning_id: str | None = None
    calls: dict[str, Call] = field(default_factory=dict)
    images: list[ImageRecord] = field(default_factory=list)
    final: Response | None = None
    payload: dict[str, Any] | None = None  # the final response as JSON, for the exchange log
    failed_calls: list[dict[str, str]] = field(default_factory=list)
    clock: float = field(default_factory=time.perf_counter)


@dataclass
class WireContext:
    """What translating needs to know about the turn."""

    session_id: str
    turn: int
    text: str
    settings: SessionSettings
    files: ImageFiles
    target: TargetImage | None
    latest_image_id: str | None


class Translator:
    """Turns one turn's wire events into agent events, keeping its ``Progress``."""

    def __init__(self, context: WireContext, progress: Progress) -> None:
        self.context = context
        self.progress = progress

    async def translate(self, raw: ResponseStreamEvent) -> list[ev.AgentEvent]:
        """One wire event in, zero or more agent events out (raises AtelierError on failure)."""
        progress, sid = self.progress, self.context.session_id
        if isinstance(raw, ResponseCreatedEvent):
            progress.response_id = raw.response.id
        elif isinstance(raw, ResponseTextDeltaEvent):
            progress.text += raw.delta
            return [ev.TextDelta(sid, raw.delta)]
        elif isinstance(raw, ResponseOutputItemAddedEvent):
            return self._added(raw)
        elif isinstance(raw, ResponseImageGenCallPartialImageEvent):
            return await self._partial(raw)
        elif isinstance(raw, ResponseOutputItemDoneEvent) and isinstance(
            raw.item, ImageGenerationCall
        ):
            return [await self._image_done(raw.item)]
        elif isinstance(raw, ResponseCompletedEvent | ResponseIncompleteEvent):
            # The final response repeats every image's base64: copy it off the loop.
            progress.payload = await run_image_work(
                raw.response.model_dump, mode="json", exclude_none=True
            )
            progress.final = raw.response
            progress.response_id = raw.response.id
            return self._never_delivered()
        elif isinstance(raw, ResponseFailedEvent):
            error = raw.response.error
            raise UpstreamError(
                f"The model failed: {error.message if error else 'no reason given'}. Try again.",
                api_code=str(error.code) if error else None,
            )
        elif isinstance(raw, ResponseErrorEvent):
            if raw.code in MODERATION_CODES:
                raise ContentBlocked(
                    f"The request was blocked by moderation: {raw.message}", api_code=raw.code
                )
            raise UpstreamError(f"The API reported an error: {raw.message}", api_code=raw.code)
        return []

    def _added(self, raw: ResponseOutputItemAddedEvent) -> list[ev.AgentEvent]:
        item, progress, context = raw.item, self.progress, self.context
        if isinstance(item, ResponseReasoningItem):
            progress.last_reasoning_id = item.id
        elif isinstance(item, ImageGenerationCall):
            progress.calls[item.id] = Call(item.id, progress.last_reasoning_id)
            # Whether the model edits or draws anew is known only when the call is done,
            # unless the API says so now or the user targeted an image.
            target = context.target
            known = getattr(item, "action", None)
            action = known if known in ("generate", "edit") else ("edit" if target else "auto")
            settings = context.settings
            parent = target.id if target and action == "edit" else None
            return [
                ev.ImageCallStarted(
                    context.session_id, item.id, action, settings.size, settings.quality, parent
                )
            ]
        return []

    async def _partial(self, raw: ResponseImageGenCallPartialImageEvent) -> list[ev.AgentEvent]:
        call = self.progress.calls.setdefault(raw.item_id, Call(raw.item_id, None))
        call.partials += 1
        try:
            data = await run_image_work(b64.b64decode, raw.partial_image_b64)
        except ValueError:  # a damaged preview is skipped; the final image still counts
            logger.warning("partial image %s of %s is not base64", raw.partial_image_index, call)
            return []
        fmt = raw.output_format or self.context.settings.output_format
        return [
            ev.PartialImage(
                self.context.session_id, raw.item_id, raw.partial_image_index, data, fmt
            )
        ]

    async def _image_done(self, item: ImageGenerationCall) -> ev.AgentEvent:
        progress = self.progress
        call = progress.calls.setdefault(item.id, Call(item.id, progress.last_reasoning_id))
        call.ended = True
        if item.result:
            try:
                return ev.ImageReady(self.context.session_id, await self._save(item, call))
            except ValueError as exc:
                call.damaged = True
                failure: AtelierError = UpstreamError(
                    f"The image arrived damaged and could not be opened ({exc}). Try again."
                )
                return self._failed(item.id, failure)
        err = item.error
        if err is not None and err.code in MODERATION_CODES:
            details = err.moderation_details
            categories = (
                f" ({', '.join(details.categories)})" if details and details.categories else ""
            )
            failure = ContentBlocked(
                f"This image was blocked by moderation{categories}: {err.message} "
                "Rephrase the request and try again.",
                api_code=err.code,
            )
        else:
            reason = err.message if err else f"the call ended {item.status} without an image"
            failure = UpstreamError(f"The image could not be made: {reason}.")
        return self._failed(item.id, failure)

    def _failed(self, call_id: str, failure: AtelierError) -> ev.ImageFailed:
        self.progress.failed_calls.append({"id": call_id, "error": failure.user_message})
        return ev.ImageFailed(self.context.session_id, call_id, failure)

    def _never_delivered(self) -> list[ev.AgentEvent]:
        """Calls the response finished without ever delivering."""
        return [
            self._failed(
                call.call_id,
                UpstreamError("The image could not be made: the response ended without it."),
            )
            for call in self.progress.calls.values()
            if not call.ended
            and not any(image.id == call.call_id for image in self.progress.images)
        ]

    async def _save(self, item: ImageGenerationCall, call: Call) -> ImageRecord:
        context, progress = self.context, self.progress
        settings, target = context.settings, context.target
        assert item.result is not None
        stored = await context.files.save_b64(item.result)
        action = item.action if item.action in ("generate", "edit") else None
        action = action or ("edit" if target else "generate")
        parent = (target.id if target else context.latest_image_id) if action == "edit" else None
        record = ImageRecord(
            id=item.id,
            session_id=context.session_id,
            response_id=progress.response_id or "",
            turn=context.turn,
            prompt=context.text,
            revised_prompt=item.revised_prompt,
            action=action,
            parent_id=parent,
            model=settings.image_model,
            size=f"{stored.width}x{stored.height}",
            quality=item.quality or settings.quality,
            output_format=stored.format,
            background=item.background or settings.background,
            path=stored.path,
            sha256=stored.sha256,
            width=stored.width,
            height=stored.height,
            bytes=stored.bytes,
            latency_ms=int((time.perf_counter() - progress.clock) * 1000),
            created_at=datetime.now(UTC),
            reasoning_item_id=call.reasoning_item_id,
        )
        progress.images.append(record)
        return record
