"""One turn, one object: its state, run as a task that feeds a queue of events.

``Session.start_turn`` makes a ``Turn`` and starts it. The turn begins in one store
transaction (its number, the budget check against spend plus open reservations, a
reservation of its worst case), sends its request through the model seam, translates the
stream (``agent.turn.wire``), and ends by recording itself, its bill and its request/response
log in one transaction. It does so whatever its consumer does: a consumer reads events
(``async for event in turn``) and may ``cancel()``; a consumer that stops reading early
cancels the turn, which is then recorded as cancelled with what it made.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from agent.billing.bills import ImageCost, approx_tokens, bill_turn
from agent.billing.budgets import BudgetState, check_budgets
from agent.billing.quotas import VisitorLimits, is_visitor, quota_refusal, visitor_precheck
from agent.billing.usage import ResponseUsage, usage_from_response
from agent.errors import (
    AtelierError,
    BudgetExceeded,
    Cancelled,
    Incomplete,
    InvalidSettings,
    QuoteRequired,
    UpstreamError,
    translate,
)
from agent.images.masks import check_mask
from agent.images.uploads import Attachment
from agent.session_settings import SessionSettings
from agent.store.ledger import PreCheck
from agent.store.records import Spend, TurnBill, TurnRecord, TurnStatus
from agent.turn.events import AgentEvent, BudgetWarning, TurnBilled, TurnFailed, TurnStarted
from agent.turn.quote import Prompt, TurnQuote, estimate, make_quote
from agent.turn.requests import TargetImage, build_request
from agent.turn.variants import instructions_for, planned_images, variations_text
from agent.turn.wire import Progress, Translator, WireContext

if TYPE_CHECKING:
    from agent.turn.session import Session

logger = logging.getLogger(__name__)

MAX_IMAGES_PER_TURN: dict[str, int] = {"studio": 4, "brainstorm": 4, "support": 1}
"""The fewest images one turn of a profile is budgeted for (the model decides how many it
makes); a turn asking for more (``agent.turn.variants``, up to 8) is budgeted for those."""

STOPPED = "Stopped. Images already finished are kept."
ABANDONED = "The turn was abandoned before it finished."


@dataclass(frozen=True)
class TurnInput:
    """What the user asked for in one turn."""

    text: str
    target_image: str | None = None
    attachments: Sequence[Attachment] = ()
    mask: Attachment | None = None
    variations_of: str | None = None
    confirmed: bool = False  # Go was given on its quote (agent.turn.quote)
    settings: SessionSettings | None = None  # this turn only (e.g. the quote's Cheaper)


def _data_urls(
    attachments: Sequence[Attachment], mask: Attachment | None
) -> tuple[list[str], str | None]:
    """Blocking: the data URLs of uploaded images and of a mask."""
    return [a.data_url() for a in attachments], mask.data_url() if mask is not None else None


class Turn:
    """One turn's state (request, progress, images, usage, status) and the task running it."""

    def __init__(self, session: Session, inputs: TurnInput) -> None:
        self.session = session
        self.inputs = inputs
        self.number = 0
        self.text = inputs.text.strip()
        self.target_image = inputs.variations_of or inputs.target_image
        self.settings = inputs.settings or session.settings
        self.started_at = datetime.now(UTC)
        self.request: dict[str, Any] | None = None
        self.sent = False
        self.estimate: Decimal | None = None
        self.quote: TurnQuote | None = None
        self.progress = Progress()
        self.usage = ResponseUsage()
        self.status: TurnStatus | None = None
        self.outcome: TurnBilled | TurnFailed | None = None
        self._target: TargetImage | None = None
        self._queue: asyncio.Queue[AgentEvent] = asyncio.Queue()
        self._delivered_end = False
        self._cancel_reason: str | None = None
        self._task: asyncio.Task[TurnBilled | TurnFailed] | None = None
        self._running = False
        self.planned = planned_images(
            session.profile,
            self.text,
            variations=inputs.variations_of is not None,
            refining=inputs.target_image is not None or inputs.mask is not None,
            setting=self.settings.variants,
        )
        if inputs.variations_of:
            self.text = self.text or variations_text(self.planned)

    # ----------------------------------------------------------------- consumers

    def start(self, on_done: Callable[[Turn], object] | None = None) -> Turn:
        """Start the turn's task (once); ``on_done(turn)`` runs when it has ended."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())
            if on_done is not None:
                self._task.add_done_callback(lambda _: on_done(self))
        return self

    def cancel(self, reason: str = STOPPED) -> None:
        """Stop the turn; it records itself as cancelled, keeping finished images."""
        if self._task is None or self._task.done() or self._cancel_reason is not None:
            return
        self._cancel_reason = reason
        if self._running:  # a task cancelled before its first step would never record
            self._task.cancel()

    @property
    def done(self) -> bool:
        """True once the turn has recorded itself and put its closing event."""
        return self._task is not None and self._task.done()

    async def wait(self) -> TurnBilled | TurnFailed:
        """The turn's closing event, once it is recorded (does not consume events)."""
        assert self._task is not None, "start the turn first"
        try:
            return await asyncio.shield(self._task)
        except asyncio.CancelledError:
            if self._task.done() and self.outcome is not None:
                return self.outcome  # the task was cancelled while it recorded; it still ended
            raise

    def __aiter__(self) -> AsyncIterator[AgentEvent]:
        return self.events()

    async def events(self) -> AsyncIterator[AgentEvent]:
        """The turn's events not read yet, ending with TurnBilled or TurnFailed.

        May be called again (e.g. by a stop handler) to read what is left. A reader that
        leaves before the closing event cancels the turn.
        """
        try:
            while not self._delivered_end:
                event = await self._queue.get()
                self._delivered_end = isinstance(event, TurnBilled | TurnFailed)
                yield event
        finally:
            if not self._delivered_end:
                self.cancel(ABANDONED)

    # ----------------------------------------------------------------- the task

    def _emit(self, event: AgentEvent) -> None:
        self._queue.put_nowait(event)

    async def _run(self) -> TurnBilled | TurnFailed:
        session = self.session
        self._running = True
        outcome: TurnBilled | TurnFailed | None = None
        try:
            if self._cancel_reason is not None:  # stopped before it ran: nothing to record
                outcome = TurnFailed(
                    session.id, 0, Cancelled(self._cancel_reason), TurnBill(), None
                )
            else:
                outcome = await self._guarded()
        except Exception as exc:  # a closing event whatever happened: readers must end
            logger.exception("turn %s of session %s could not be recorded", self.number, session.id)
            outcome = TurnFailed(session.id, self.number, translate(exc), TurnBill(), None)
        finally:
            if outcome is None:  # cancelled again while recording (e.g. the loop shuts down)
                error = Cancelled(self._cancel_reason or STOPPED)
                outcome = TurnFailed(session.id, self.number, error, TurnBill(), None)
            self.outcome = outcome
            self._emit(outcome)
        return outcome

    async def _guarded(self) -> TurnBilled | TurnFailed:
        try:
            async with self.session.lock:  # this Session object's turns run one at a time
                return await self._body()
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            error = Cancelled(self._cancel_reason or STOPPED)
            if self.number == 0:  # stopped before it began: nothing to record
                return TurnFailed(self.session.id, 0, error, TurnBill(), None)
            return await self._finish("cancelled", error)
        except Exception as exc:
            if self.number == 0:
                raise
            return await self._finish("failed", translate(exc))

    async def _body(self) -> TurnBilled | TurnFailed:
        session = self.session
        if not self.text:
            error = InvalidSettings("Type what you would like to see or change.")
            return TurnFailed(session.id, 0, error, TurnBill(), await session.total_usd())
        problem: AtelierError | None = None
        try:
            await self.prepare()
        except AtelierError as error:
            problem = error
        if problem is None and self.quote is not None and not self.inputs.confirmed:
            unconfirmed = QuoteRequired(f"Not sent: {self.quote.summary} Confirm it first.")
            return TurnFailed(session.id, 0, unconfirmed, TurnBill(), await session.total_usd())
        warnings: list[BudgetState] = []

        visitor = is_visitor(session.user_id)

        def admit(spend: Spend) -> None:
            if problem is not None:
                raise problem
            try:
                warnings.extend(check_budgets(self.estimate, self._budgets(spend), self._warn))
            except BudgetExceeded as exc:
                if visitor:
                    raise quota_refusal(exc) from exc
                raise

        deps = session.deps
        day = self.started_at.replace(hour=0, minute=0, second=0, microsecond=0)
        admission = await deps.store.begin_turn(
            session.id,
            session.user_id,
            day=day,
            estimate=self.estimate,
            expires_at=datetime.now(UTC) + timedelta(seconds=session.reservation_ttl_s),
            admit=admit,
            precheck=self._visitor_limits(day) if visitor else None,
        )
        self.number = admission.turn
        if admission.refusal is not None:
            assert isinstance(admission.refusal, AtelierError)
            return await self._finish("refused", admission.refusal)
        assert self.request is not None
        self.request["metadata"]["turn"] = str(self.number)
        self._emit(TurnStarted(session.id, self.number, self.estimate))
        for state in warnings:
            assert state.limit_usd is not None
            self._emit(BudgetWarning(session.id, state.name, state.spent_usd, state.limit_usd))
        try:
            await self._stream()
        except AtelierError as error:
            return await self._finish("failed", error)
        final = self.progress.final
        if final is not None and final.status == "incomplete":
            details = final.incomplete_details
            reason = details.reason if details and details.reason else "no reason given"
            cut_short = Incomplete(
                f"The answer was cut short ({reason}). What it made is kept; send again to "
                "continue."
            )
            return await self._finish("incomplete", cut_short)
        return await self._finish("ok", None)

    @property
    def _warn(self) -> Decimal:
        return self.session.deps.settings.budget_warn_fraction

    def _visitor_limits(self, day: datetime) -> PreCheck:
        """A widget visitor's rate limits, checked in the turn's locked transaction."""
        settings = self.session.deps.settings
        return visitor_precheck(
            self.session.user_id,
            VisitorLimits.from_settings(settings),
            max_images=self._max_images,
            day_start=day,
        )

    @property
    def _max_images(self) -> int:
        """The most images this turn is budgeted for: what it asks, at least the profile's."""
        return max(self.planned, MAX_IMAGES_PER_TURN[self.session.profile])

    def _budgets(self, spend: Spend) -> list[BudgetState]:
        app = self.session.deps.settings
        # A widget visitor's daily budget is the visitor one, inside the same app cap.
        user_daily = (
            app.visitor_daily_budget_usd
            if is_visitor(self.session.user_id)
            else app.user_daily_budget_usd
        )
        return [
            BudgetState("session", self.session.budget_usd, spend.session_usd),
            BudgetState("user_daily", user_daily, spend.user_today_usd),
            BudgetState("app_daily", app.app_daily_budget_usd, spend.app_today_usd),
        ]

    async def prepare(self) -> None:
        """Check the settings, the target and the mask; build the request, its estimate and
        its quote. Sends nothing (``Session.quote`` calls it on a turn it never starts)."""
        session, settings, inputs = self.session, self.settings, self.inputs
        settings.check()
        target_record = await session.image(self.target_image) if self.target_image else None
        self._target = await session.target(target_record)
        if inputs.mask is not None:
            source = target_record
            if source is None and session.latest_image_id is not None:
                source = await session.image(session.latest_image_id)
            check_mask(
                (inputs.mask.width, inputs.mask.height),
                (source.width, source.height) if source else None,
            )
        # Uploads are up to 20 MB each: base64 them in a thread, not on the loop.
        image_urls, mask_url = await asyncio.to_thread(_data_urls, inputs.attachments, inputs.mask)
        self.request = build_request(
            settings=settings,
            instructions=instructions_for(
                session.deps.prompts.for_profile(session.profile),
                directions=settings.variants,
                planned=self.planned,
            ),
            text=self.text,
            previous_response_id=session.last_response_id,
            target=self._target,
            image_urls=image_urls,
            mask_url=mask_url,
            force_image=inputs.variations_of is not None,
            metadata={"atelier_session": session.id, "turn": "0"},
        )
        prompt = self._prompt(self.request)
        prices = session.deps.prices
        self.estimate = estimate(settings, self._max_images, prompt, prices)
        self.quote = make_quote(
            settings, session_id=session.id, images=self.planned, prompt=prompt, prices=prices
        )

    def _prompt(self, request: dict[str, Any]) -> Prompt:
        text = str(request.get("instructions", "")) + "".join(
            str(part.get("text", ""))
            for item in request["input"]
            for part in item.get("content", [])
            if isinstance(part, dict)
        )
        chained = "previous_response_id" in request
        return Prompt(approx_tokens(text), self.session.context_tokens if chained else 0)

    async def _stream(self) -> None:
        """Send the request, retrying only while nothing has arrived, and translate events."""
        session, progress = self.session, self.progress
        retry, model = session.deps.retry, session.deps.model
        assert self.request is not None
        attempt = 0
        while True:
            context = WireContext(
                session.id,
                self.number,
                self.text,
                self.settings,
                session.deps.files,
                self._target,
                session.latest_image_id,
            )
            translator = Translator(context, progress)
            try:
                self.sent = True
                async with aclosing(model.stream(self.request)) as stream:
                    async for raw in stream:
                        progress.received_any = True
                        for event in await translator.translate(raw):
                            self._emit(event)
                if progress.final is None:
                    raise UpstreamError("The response ended before it was complete. Try again.")
                return
            except AtelierError as error:
                if progress.received_any:
                    raise
                if await self._inline_expired_reference(error):
                    continue
                if not retry.should_retry(error, attempt):
                    raise
                await asyncio.sleep(retry.delay_s(error, attempt))
                attempt += 1

    async def _inline_expired_reference(self, error: AtelierError) -> bool:
        """A by-id image reference the API does not hold (expired, or store=false elsewhere):
        send the saved image inline instead. Decided on the API's status and param/code."""
        target, request = self._target, self.request
        if target is None or target.data_url is not None or request is None:
            return False
        referenced = any(item.get("type") == "image_generation_call" for item in request["input"])
        refused_input = error.status in (400, 404) and (
            error.param == "input" or error.api_code in ("item_not_found", "not_found")
        )
        if not (referenced and refused_input):
            return False
        image = await self.session.image(target.id)
        self._target = TargetImage(image.id, None, await self.session.data_url(image))
        user = next(item for item in request["input"] if item.get("role") == "user")
        content = [
            *user["content"],
            {"type": "input_image", "image_url": self._target.data_url, "detail": "high"},
        ]
        self.request = {**request, "input": [{"role": "user", "content": content}]}
        return True

    # ----------------------------------------------------------------- the end

    async def _finish(
        self, status: TurnStatus, failure: AtelierError | None
    ) -> TurnBilled | TurnFailed:
        """Bill and record the turn (records, bill, exchange log) in one transaction."""
        session, progress, settings = self.session, self.progress, self.settings
        self.status = status
        latency_ms = int((time.perf_counter() - progress.clock) * 1000)
        images = progress.images
        if status in ("ok", "incomplete") and progress.final is not None:
            self.usage = usage_from_response(progress.final)
        bill = bill_turn(
            self.usage,
            mainline_model=settings.mainline_model,
            image_model=settings.image_model,
            prices=session.deps.prices,
            images=self._image_costs(status),
            image_usage_reported=not self.usage.image.is_empty,
        )
        inputs = {
            "input_images": len(self.inputs.attachments) + (1 if self.target_image else 0),
            "mask": self.inputs.mask is not None,
        }
        record = TurnRecord(
            session_id=session.id,
            turn=self.number,
            user_text=self.text,
            status=status,
            started_at=self.started_at,
            target_image_id=self.target_image,
            response_id=progress.response_id,
            latency_ms=latency_ms,
            settings={**settings.model_dump(), **inputs, "failed_images": progress.failed_calls},
            usage=self.usage,
            bill=bill if status != "refused" else TurnBill(),
            error_code=failure.code if failure else None,
            error_message=failure.user_message if failure else None,
            image_ids=tuple(image.id for image in images),
        )
        request = self.request if self.sent else None
        try:
            await session.deps.store.finish_turn(
                record, images, request=request, response=progress.payload
            )
        except BaseException:
            await session.deps.store.release_reservation(session.id, self.number)
            raise
        session.turn_recorded(record, images, self.usage)
        total = await session.total_usd()
        if status == "ok":
            return TurnBilled(
                session.id,
                self.number,
                progress.response_id,
                self.usage,
                bill,
                total,
                session.budget_usd,
                latency_ms,
            )
        assert failure is not None
        return TurnFailed(
            session.id, self.number, failure, record.bill, total, tuple(i.id for i in images)
        )

    def _image_costs(self, status: TurnStatus) -> list[ImageCost]:
        """What each image call is known to have cost, for lines the API did not report.

        A call that started but never finished (cut stream, cancel), or whose image arrived
        damaged, is still generated and billed upstream, so it is counted at its worst case
        rather than left out.
        """
        settings = self.settings
        finished = {image.id: image for image in self.progress.images}
        costs = []
        for call in self.progress.calls.values():
            image = finished.get(call.call_id)
            if image is not None:
                prompt = approx_tokens(image.revised_prompt or image.prompt)
                costs.append(ImageCost(image.size, image.quality, call.partials, prompt))
            elif call.damaged or status not in ("ok", "incomplete"):
                # "auto" size and quality are priced at their dearest.
                costs.append(ImageCost(settings.size, settings.quality, call.partials))
        return costs
