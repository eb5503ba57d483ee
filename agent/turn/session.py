"""One conversation and its turns: check, send, stream, save, bill, record.

``Session.run_turn`` is an async iterator of the typed events in ``agent.turn.events``. It never
raises for a failed turn: it ends with ``TurnFailed`` instead. Cancelling the task that
consumes it records the turn as cancelled (keeping finished images) and re-raises.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Coroutine, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from openai import AsyncOpenAI
from openai.types.responses import (
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

from agent.billing.bills import ImageCost, SessionBill, bill_turn, estimate_turn
from agent.billing.budgets import BudgetState, check_budgets
from agent.billing.pricing import PriceBook
from agent.billing.usage import ResponseUsage, image_usage_from_payload, text_usage_from_payload
from agent.config import Profile, Settings
from agent.errors import (
    AtelierError,
    Cancelled,
    ContentBlocked,
    InvalidSettings,
    NotFound,
    UpstreamError,
    mapped_errors,
)
from agent.images import b64
from agent.images.uploads import Attachment
from agent.prompts import PromptBook
from agent.session_settings import SessionSettings
from agent.store.db import Store
from agent.store.export import export_session
from agent.store.imagefiles import read_image_bytes, save_b64_image, thumbnail
from agent.store.records import ImageRecord, SessionRecord, TurnBill, TurnRecord, TurnStatus
from agent.turn.events import (
    AgentEvent,
    BudgetWarning,
    ImageCallStarted,
    ImageFailed,
    ImageReady,
    PartialImage,
    TextDelta,
    TurnBilled,
    TurnFailed,
    TurnStarted,
)
from agent.turn.requests import TargetImage, build_request
from agent.turn.retry import RetryPolicy
from agent.turn.sse import iter_events

MAX_IMAGES_PER_TURN: dict[str, int] = {"studio": 4, "brainstorm": 4, "support": 1}
"""The most images one turn of a profile is budgeted for (the model makes at most 4)."""

VARIATIONS = 3


@dataclass(frozen=True)
class SessionDeps:
    """What every session of a process shares."""

    settings: Settings
    store: Store
    client: AsyncOpenAI
    prices: PriceBook
    prompts: PromptBook
    retry: RetryPolicy


@dataclass
class _Call:
    """One image call in flight."""

    call_id: str
    reasoning_item_id: str | None
    partials: int = 0


@dataclass
class _Progress:
    """What a turn has received so far; survives retries only while nothing arrived."""

    response_id: str | None = None
    text: str = ""
    received_any: bool = False
    last_reasoning_id: str | None = None
    calls: dict[str, _Call] = field(default_factory=dict)
    images: list[ImageRecord] = field(default_factory=list)
    response: dict[str, Any] | None = None
    failed_calls: list[dict[str, str]] = field(default_factory=list)
    clock: float = field(default_factory=time.perf_counter)


def _data_urls(
    attachments: Sequence[Attachment], mask: Attachment | None
) -> tuple[list[str], str | None]:
    """Blocking: the data URLs of uploaded images and of a mask."""
    return [a.data_url() for a in attachments], mask.data_url() if mask is not None else None


def _now() -> datetime:
    return datetime.now(UTC)


def _start_of_day(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _approx_tokens(text: str) -> int:
    return (len(text) + 3) // 4


class Session:
    """A conversation: its settings, its response chain and its images."""

    def __init__(self, deps: SessionDeps, record: SessionRecord, latest_image_id: str | None):
        self._deps = deps
        self._record = record
        self.settings = SessionSettings(**record.settings)
        self.last_response_id = record.last_response_id
        self.latest_image_id = latest_image_id
        self._context_tokens = 0
        self._lock = asyncio.Lock()
        self._recording: set[asyncio.Task[object]] = set()

    @property
    def id(self) -> str:
        """The session id (the Chainlit thread id when run from the UI)."""
        return self._record.id

    @property
    def user_id(self) -> str:
        """Who owns this session."""
        return self._record.user_id

    @property
    def profile(self) -> Profile:
        """The chat profile: studio, brainstorm or support."""
        profile = self._record.profile
        return profile if profile in ("studio", "brainstorm", "support") else "studio"  # type: ignore[return-value]

    @property
    def budget_usd(self) -> Decimal | None:
        """This session's budget."""
        return self._deps.settings.session_budget_for(self.profile)

    # ----------------------------------------------------------------- queries

    async def images(self) -> list[ImageRecord]:
        """Every image of this session, oldest first."""
        return await self._deps.store.session_images(self.id)

    async def image(self, image_id: str) -> ImageRecord:
        """One image of this session; NotFound when it is not this session's."""
        record = await self._deps.store.get_image(image_id)
        if record is None or record.session_id != self.id:
            raise NotFound(f"Image {image_id} is not part of this conversation.")
        return record

    async def lineage(self, image_id: str) -> list[ImageRecord]:
        """The chain from the first ancestor to the image itself."""
        image = await self.image(image_id)
        return [*await self._deps.store.ancestors(image_id), image]

    async def thumbnail(self, image: ImageRecord) -> Path:
        """A small cached WebP of one of this session's images (made once, off the loop)."""
        return await thumbnail(image.path, self._deps.settings.images_dir)

    async def turns(self) -> list[TurnRecord]:
        """Every recorded turn, in order."""
        return await self._deps.store.turns(self.id)

    async def bill(self) -> SessionBill:
        """The running bill: totals by kind, model and turn."""
        return SessionBill.from_turns(await self.turns())

    async def update_settings(self, **changes: Any) -> SessionSettings:
        """Apply validated changes from the next turn on and keep them with the session."""
        updated = self.settings.updated(**changes)
        await self._deps.store.update_session(self.id, settings=updated.model_dump())
        self.settings = updated
        return updated

    # ----------------------------------------------------------------- a turn

    async def run_turn(
        self,
        text: str,
        *,
        target_image: str | None = None,
        attachments: Sequence[Attachment] = (),
        mask: Attachment | None = None,
        variations_of: str | None = None,
    ) -> AsyncGenerator[AgentEvent, None]:
        """Run one turn; yields events and always ends with TurnBilled or TurnFailed."""
        turn = self._turn(text, target_image, attachments, mask, variations_of)
        async with self._lock, aclosing(turn) as events:
            async for event in events:
                yield event

    async def _turn(
        self,
        text: str,
        target_image: str | None,
        attachments: Sequence[Attachment],
        mask: Attachment | None,
        variations_of: str | None,
    ) -> AsyncGenerator[AgentEvent, None]:
        if self._recording:  # an abandoned turn is still being recorded: keep numbers apart
            await asyncio.gather(*self._recording, return_exceptions=True)
        text = text.strip()
        if variations_of:
            target_image = variations_of
            text = text or f"{VARIATIONS} variations of this image"
        if not text:
            error = InvalidSettings("Type what you would like to see or change.")
            yield TurnFailed(self.id, 0, error, TurnBill(), await self._session_total())
            return
        turn = await self._deps.store.next_turn_number(self.id)
        started = _now()
        settings = self.settings
        inputs = {
            "input_images": len(attachments) + (1 if target_image else 0),
            "mask": mask is not None,
        }
        try:
            settings.check()
            target_record = await self.image(target_image) if target_image else None
            target = await self._target(target_record)
            if mask is not None:
                await self._check_mask(mask, target_record)
            # Uploads are up to 20 MB each: base64 them in a thread, not on the loop.
            image_urls, mask_url = await asyncio.to_thread(_data_urls, attachments, mask)
            request = build_request(
                settings=settings,
                instructions=self._deps.prompts.for_profile(self.profile),
                text=text,
                previous_response_id=self.last_response_id,
                target=target,
                image_urls=image_urls,
                mask_url=mask_url,
                force_image=variations_of is not None,
                metadata={"atelier_session": self.id, "turn": str(turn)},
            )
            max_images = VARIATIONS if variations_of else MAX_IMAGES_PER_TURN[self.profile]
            estimate = self._estimate(settings, request, max_images)
            warnings = await self._check_budgets(estimate, started)
        except AtelierError as error:
            record = TurnRecord(
                session_id=self.id,
                turn=turn,
                user_text=text,
                status="refused",
                started_at=started,
                target_image_id=target_image,
                settings={**settings.model_dump(), **inputs},
                error_code=error.code,
                error_message=error.user_message,
            )
            await self._deps.store.record_turn(record, [])
            yield TurnFailed(self.id, turn, error, TurnBill(), await self._session_total())
            return

        yield TurnStarted(self.id, turn, estimate)
        for state in warnings:
            assert state.limit_usd is not None
            yield BudgetWarning(self.id, state.name, state.spent_usd, state.limit_usd)

        progress = _Progress()
        status: TurnStatus = "ok"
        failure: AtelierError | None = None

        def cancelled(reason: str) -> Coroutine[Any, Any, TurnBilled | TurnFailed]:
            return self._finish(
                turn, text, started, settings, inputs, request, progress, target_image,
                "cancelled", Cancelled(reason),
            )  # fmt: skip

        stream = self._stream(request, settings, progress, turn, text, target)
        try:
            async with aclosing(stream) as events:
                async for event in events:
                    yield event
        except AtelierError as error:
            status, failure = "failed", error
        except asyncio.CancelledError:
            # Record what the turn made before letting the cancellation through.
            await asyncio.shield(cancelled("Stopped. Images already finished are kept."))
            raise
        except GeneratorExit:
            # The consumer stopped listening. A closing generator may not await (it can be
            # finalised outside the loop), so the turn is recorded by a task instead.
            self._record_later(cancelled("The turn was abandoned before it finished."))
            raise
        outcome = await self._finish(
            turn, text, started, settings, inputs, request, progress, target_image, status, failure
        )
        yield outcome

    def _record_later(self, finish: Coroutine[Any, Any, object]) -> None:
        """Run ``finish`` as a task the session keeps until it is done."""
        try:
            task = asyncio.get_running_loop().create_task(finish)
        except RuntimeError:  # no loop left (interpreter shutdown): nothing can be written
            finish.close()
            return
        self._recording.add(task)
        task.add_done_callback(self._recording.discard)

    async def _check_mask(self, mask: Attachment, target: ImageRecord | None) -> None:
        """A mask must match the image it edits (the target, else the latest image)."""
        if target is None and self.latest_image_id is None:
            raise InvalidSettings(
                "A mask edits an existing image: make or pick an image first, then send "
                "the mask with your change."
            )
        source = target or await self.image(str(self.latest_image_id))
        if (mask.width, mask.height) != (source.width, source.height):
            raise InvalidSettings(
                f"The mask is {mask.width}x{mask.height} but the image it edits is "
                f"{source.width}x{source.height}: export the mask at the image's size.",
                param="input_image_mask",
            )

    async def _target(self, image: ImageRecord | None) -> TargetImage | None:
        if image is None:
            return None
        if self.settings.store:
            return TargetImage(image.id, image.reasoning_item_id)
        return TargetImage(image.id, image.reasoning_item_id, await self._data_url(image))

    async def _data_url(self, image: ImageRecord) -> str:
        data = await read_image_bytes(image.path, self._deps.settings.images_dir)
        mime = (
            "image/jpeg"
            if image.output_format in ("jpeg", "jpg")
            else f"image/{image.output_format}"
        )
        encoded = await asyncio.to_thread(b64.b64encode, data)
        return f"data:{mime};base64,{encoded}"

    def _estimate(
        self, settings: SessionSettings, request: dict[str, Any], max_images: int
    ) -> Decimal | None:
        prompt_chars = len(str(request.get("instructions", ""))) + sum(
            len(str(part.get("text", "")))
            for item in request["input"]
            for part in item.get("content", [])
            if isinstance(part, dict)
        )
        bill = estimate_turn(
            mainline_model=settings.mainline_model,
            image_model=settings.image_model,
            size=settings.size,
            quality=settings.quality,
            partial_images=settings.partial_images,
            max_images=max_images,
            prompt_tokens=(prompt_chars + 3) // 4,
            context_tokens=self._context_tokens if "previous_response_id" in request else 0,
            prices=self._deps.prices,
        )
        return bill.total_usd

    async def _check_budgets(self, estimate: Decimal | None, now: datetime) -> list[BudgetState]:
        store, app = self._deps.store, self._deps.settings
        day = _start_of_day(now)
        states = [
            BudgetState("session", self.budget_usd, await store.session_spent(self.id)),
            BudgetState(
                "user_daily",
                app.user_daily_budget_usd,
                await store.user_spent_since(self.user_id, day),
            ),
            BudgetState("app_daily", app.app_daily_budget_usd, await store.app_spent_since(day)),
        ]
        return check_budgets(estimate, states, app.budget_warn_fraction)

    async def _stream(
        self,
        request: dict[str, Any],
        settings: SessionSettings,
        progress: _Progress,
        turn: int,
        text: str,
        target: TargetImage | None,
    ) -> AsyncGenerator[AgentEvent, None]:
        """Send the request, retrying only while nothing has arrived, and translate events."""
        attempt = 0
        create: Any = self._deps.client.responses.with_streaming_response.create
        while True:
            try:
                with mapped_errors():
                    async with create(**request, stream=True) as response:
                        async for raw in iter_events(response.iter_bytes()):
                            progress.received_any = True
                            for event in await self._translate(
                                raw, settings, progress, turn, text, target
                            ):
                                yield event
                if progress.response is None:
                    raise UpstreamError("The response ended before it was complete. Try again.")
                return
            except AtelierError as error:
                if progress.received_any:
                    raise
                if self._reference_expired(error, target, request):
                    assert target is not None
                    image = await self.image(target.id)
                    target = TargetImage(image.id, None, await self._data_url(image))
                    request = self._inline_target(request, target)
                    continue
                if not self._deps.retry.should_retry(error, attempt):
                    raise
                await asyncio.sleep(self._deps.retry.delay_s(error, attempt))
                attempt += 1

    @staticmethod
    def _reference_expired(
        error: AtelierError, target: TargetImage | None, request: dict[str, Any]
    ) -> bool:
        """A by-id reference the API no longer holds (expired, or stored elsewhere)."""
        if target is None or target.data_url is not None:
            return False
        message = error.user_message.lower()
        referenced = any(item.get("type") == "image_generation_call" for item in request["input"])
        return isinstance(error, InvalidSettings) and referenced and "not found" in message

    def _inline_target(self, request: dict[str, Any], target: TargetImage) -> dict[str, Any]:
        """The same request with the target image sent inline instead of by id."""
        user = next(item for item in request["input"] if item.get("role") == "user")
        content = [
            *user["content"],
            {"type": "input_image", "image_url": target.data_url, "detail": "high"},
        ]
        return {**request, "input": [{"role": "user", "content": content}]}

    async def _translate(
        self,
        raw: ResponseStreamEvent,
        settings: SessionSettings,
        progress: _Progress,
        turn: int,
        text: str,
        target: TargetImage | None,
    ) -> list[AgentEvent]:
        """One wire event in, zero or more agent events out."""
        if isinstance(raw, ResponseCreatedEvent):
            progress.response_id = raw.response.id
        elif isinstance(raw, ResponseTextDeltaEvent):
            progress.text += raw.delta
            return [TextDelta(self.id, raw.delta)]
        elif isinstance(raw, ResponseOutputItemAddedEvent):
            item = raw.item
            if isinstance(item, ResponseReasoningItem):
                progress.last_reasoning_id = item.id
            elif isinstance(item, ImageGenerationCall):
                progress.calls[item.id] = _Call(item.id, progress.last_reasoning_id)
                # Whether the model edits or draws anew is known only when the call is done,
                # unless the API says so now or the user targeted an image.
                known = item.action if item.action in ("generate", "edit") else None
                action: str = known or ("edit" if target else "auto")
                return [
                    ImageCallStarted(
                        self.id,
                        item.id,
                        action,
                        settings.size,
                        settings.quality,
                        target.id if target and action == "edit" else None,
                    )
                ]
        elif isinstance(raw, ResponseImageGenCallPartialImageEvent):
            call = progress.calls.setdefault(raw.item_id, _Call(raw.item_id, None))
            call.partials += 1
            data = await asyncio.to_thread(b64.b64decode, raw.partial_image_b64)
            return [
                PartialImage(
                    self.id, raw.item_id, raw.partial_image_index, data, settings.output_format
                )
            ]
        elif isinstance(raw, ResponseOutputItemDoneEvent) and isinstance(
            raw.item, ImageGenerationCall
        ):
            return [await self._image_done(raw.item, settings, progress, turn, text, target)]
        elif isinstance(raw, ResponseCompletedEvent | ResponseIncompleteEvent):
            # The final response repeats every image's base64: copy it off the loop.
            progress.response = await asyncio.to_thread(
                raw.response.model_dump, mode="json", exclude_none=True
            )
            progress.response_id = raw.response.id
        elif isinstance(raw, ResponseFailedEvent):
            error = raw.response.error
            raise UpstreamError(
                f"The model failed: {error.message if error else 'no reason given'}. Try again."
            )
        elif isinstance(raw, ResponseErrorEvent):
            if raw.code in ("moderation_blocked", "content_policy_violation"):
                raise ContentBlocked(f"The request was blocked by moderation: {raw.message}")
            raise UpstreamError(f"The API reported an error: {raw.message}")
        return []

    async def _image_done(
        self,
        item: ImageGenerationCall,
        settings: SessionSettings,
        progress: _Progress,
        turn: int,
        text: str,
        target: TargetImage | None,
    ) -> AgentEvent:
        call = progress.calls.setdefault(item.id, _Call(item.id, progress.last_reasoning_id))
        if item.status != "completed" or not item.result:
            err = item.error
            if err is not None and err.code == "moderation_blocked":
                categories = ""
                if err.moderation_details and err.moderation_details.categories:
                    categories = f" ({', '.join(err.moderation_details.categories)})"
                failure: AtelierError = ContentBlocked(
                    f"This image was blocked by moderation{categories}: {err.message} "
                    "Rephrase the request and try again."
                )
            else:
                failure = UpstreamError(
                    f"The image could not be made: {err.message if err else 'no reason given'}."
                )
            progress.failed_calls.append({"id": item.id, "error": failure.user_message})
            return ImageFailed(self.id, item.id, failure)
        stored = await save_b64_image(item.result, self._deps.settings.images_dir)
        action = (
            item.action
            if item.action in ("generate", "edit")
            else ("edit" if target else "generate")
        )
        parent = (target.id if target else self.latest_image_id) if action == "edit" else None
        record = ImageRecord(
            id=item.id,
            session_id=self.id,
            response_id=progress.response_id or "",
            turn=turn,
            prompt=text,
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
            created_at=_now(),
            reasoning_item_id=call.reasoning_item_id,
        )
        progress.images.append(record)
        return ImageReady(self.id, record)

    async def _finish(
        self,
        turn: int,
        text: str,
        started: datetime,
        settings: SessionSettings,
        inputs: dict[str, Any],
        request: dict[str, Any],
        progress: _Progress,
        target_image: str | None,
        status: TurnStatus,
        failure: AtelierError | None,
    ) -> TurnBilled | TurnFailed:
        """Bill and record the turn in one transaction; return its closing event."""
        latency_ms = int((time.perf_counter() - progress.clock) * 1000)
        images = progress.images
        usage = ResponseUsage()
        if status == "ok" and progress.response is not None:
            usage = ResponseUsage(
                text=text_usage_from_payload(progress.response.get("usage")),
                image=image_usage_from_payload(progress.response.get("tool_usage")),
            )
        bill = bill_turn(
            usage,
            mainline_model=settings.mainline_model,
            image_model=settings.image_model,
            prices=self._deps.prices,
            images=self._image_costs(settings, progress, images, status),
            image_usage_reported=not usage.image.is_empty,
        )
        record = TurnRecord(
            session_id=self.id,
            turn=turn,
            user_text=text,
            status=status,
            started_at=started,
            target_image_id=target_image,
            response_id=progress.response_id,
            latency_ms=latency_ms,
            settings={**settings.model_dump(), **inputs, "failed_images": progress.failed_calls},
            usage=usage,
            bill=bill,
            error_code=failure.code if failure else None,
            error_message=failure.user_message if failure else None,
            image_ids=tuple(image.id for image in images),
        )
        store = self._deps.store
        await store.record_turn(record, images)
        await store.log_exchange(
            session_id=self.id,
            turn=turn,
            request=request,
            response=progress.response,
            error=failure.user_message if failure else None,
        )
        if images:
            self.latest_image_id = images[-1].id
        if status == "ok":
            self.last_response_id = progress.response_id
            self._context_tokens = usage.text.input_tokens + usage.text.output_tokens
        total = await self._session_total()
        if status == "ok":
            return TurnBilled(
                self.id, turn, progress.response_id, usage, bill, total, self.budget_usd, latency_ms
            )
        assert failure is not None
        return TurnFailed(self.id, turn, failure, bill, total, tuple(i.id for i in images))

    @staticmethod
    def _image_costs(
        settings: SessionSettings,
        progress: _Progress,
        images: Sequence[ImageRecord],
        status: TurnStatus,
    ) -> list[ImageCost]:
        """What each image call is known to have cost, for lines the API did not report.

        A call that started but never finished (cut stream, cancel) is still generated and
        billed upstream, so it is counted at its worst case rather than left out.
        """
        finished = {image.id: image for image in images}
        costs = []
        for call in progress.calls.values():
            image = finished.get(call.call_id)
            if image is not None:
                costs.append(ImageCost(image.size, image.quality, call.partials))
            elif status != "ok":  # billing prices "auto" size/quality at their dearest
                costs.append(ImageCost(settings.size, settings.quality, call.partials))
        return costs

    async def _session_total(self) -> Decimal | None:
        return (await self.bill()).total_usd

    async def export_zip(self, dest: Path) -> Path:
        """Every image file plus a manifest of images and turns, as one zip file."""
        return await export_session(self._deps.store, self._record, dest)
