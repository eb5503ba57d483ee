"""One conversation: its settings, its response chain, its images, and the turns it starts.

``Session.start_turn`` returns a running ``agent.turn.turn.Turn``; ``run_turn`` is the same
as an async iterator of its events. A turn never raises for a failure: it ends with
``TurnFailed`` instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from agent.billing.bills import SessionBill
from agent.billing.pricing import PriceBook
from agent.billing.usage import ResponseUsage
from agent.config import Profile, Settings
from agent.errors import AtelierError, NotFound
from agent.images import b64
from agent.images.uploads import Attachment
from agent.prompts import PromptBook
from agent.session_settings import SessionSettings
from agent.store.db import Store
from agent.store.export import export_session
from agent.store.imagefiles import ImageFiles
from agent.store.records import ImageRecord, SessionRecord, TurnRecord
from agent.turn.events import AgentEvent
from agent.turn.model import Model
from agent.turn.quote import TurnQuote
from agent.turn.requests import TargetImage
from agent.turn.retry import RetryPolicy
from agent.turn.turn import Turn, TurnInput


@dataclass(frozen=True)
class SessionDeps:
    """What every session of a process shares (``running`` holds the turns in flight)."""

    settings: Settings
    store: Store
    model: Model
    prices: PriceBook
    prompts: PromptBook
    retry: RetryPolicy
    files: ImageFiles  # image files: local disk, mirrored to object storage when configured
    running: set[Turn] = field(default_factory=set, compare=False)


class Session:
    """A conversation: its settings, its response chain and its images."""

    def __init__(self, deps: SessionDeps, record: SessionRecord, latest_image_id: str | None):
        self.deps = deps
        self._record = record
        self.settings = SessionSettings(**record.settings)
        self.last_response_id = record.last_response_id
        self.latest_image_id = latest_image_id
        self.context_tokens = 0
        self.lock = asyncio.Lock()  # this object's turns run one at a time (the chain moves on)

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
        return self.deps.settings.session_budget_for(self.profile)

    @property
    def reservation_ttl_s(self) -> float:
        """How long a turn's budget reservation holds: the longest a turn can take, plus slack."""
        app = self.deps.settings
        return (
            app.request_timeout_s * (app.max_retries + 1)
            + app.retry_max_wait_s * app.max_retries
            + 60
        )

    # ----------------------------------------------------------------- queries

    async def images(self) -> list[ImageRecord]:
        """Every image of this session, oldest first."""
        return await self.deps.store.session_images(self.id)

    async def image(self, image_id: str) -> ImageRecord:
        """One image of this session; NotFound when it is not this session's."""
        record = await self.deps.store.get_image(image_id)
        if record is None or record.session_id != self.id:
            raise NotFound(f"Image {image_id} is not part of this conversation.")
        return record

    async def lineage(self, image_id: str) -> list[ImageRecord]:
        """The chain from the first ancestor to the image itself."""
        image = await self.image(image_id)
        return [*await self.deps.store.ancestors(image_id), image]

    async def thumbnail(self, image: ImageRecord) -> Path:
        """A small cached WebP of one of this session's images (made once, off the loop)."""
        return await self.deps.files.thumbnail(image.path)

    async def turns(self) -> list[TurnRecord]:
        """Every recorded turn, in order."""
        return await self.deps.store.turns(self.id)

    async def bill(self) -> SessionBill:
        """The running bill: totals by kind, model and turn."""
        return SessionBill.from_turns(await self.turns())

    async def total_usd(self) -> Decimal | None:
        """The session's total so far (None when some price is unknown)."""
        return (await self.bill()).total_usd

    async def update_settings(self, **changes: Any) -> SessionSettings:
        """Apply validated changes from the next turn on and keep them with the session."""
        updated = self.settings.updated(**changes)
        await self.deps.store.update_session(self.id, settings=updated.model_dump())
        self.settings = updated
        return updated

    async def export_zip(self, dest: Path) -> Path:
        """Every image file plus a manifest of images and turns, as one zip file."""
        return await export_session(self.deps.store, self._record, dest)

    # ----------------------------------------------------------------- turns

    def start_turn(
        self,
        text: str,
        *,
        target_image: str | None = None,
        attachments: Sequence[Attachment] = (),
        mask: Attachment | None = None,
        variations_of: str | None = None,
        confirmed: bool = False,
        settings: dict[str, Any] | None = None,
    ) -> Turn:
        """Start one turn as a task; read its events from the returned Turn.

        A turn whose quote (``quote``) is above the session's threshold is sent only with
        ``confirmed=True``; otherwise it ends with QuoteRequired before any request.
        ``settings`` changes this turn's settings only (e.g. a quote's ``cheaper.changes``);
        invalid ones raise InvalidSettings here.
        """
        inputs = self._inputs(text, target_image, attachments, mask, variations_of, settings)
        turn = Turn(self, TurnInput(**{**inputs, "confirmed": confirmed}))
        running = self.deps.running
        running.add(turn)
        return turn.start(on_done=running.discard)

    async def quote(
        self,
        text: str,
        *,
        target_image: str | None = None,
        attachments: Sequence[Attachment] = (),
        mask: Attachment | None = None,
        variations_of: str | None = None,
        settings: dict[str, Any] | None = None,
    ) -> TurnQuote | None:
        """The quote of the turn ``start_turn`` would start with the same arguments, or None
        when it needs no Go. Sends nothing. A turn that cannot be prepared (bad settings, an
        image not in this chat) has no quote: starting it reports why."""
        try:
            inputs = self._inputs(text, target_image, attachments, mask, variations_of, settings)
            turn = Turn(self, TurnInput(**inputs))
            await turn.prepare()
        except AtelierError:
            return None
        return turn.quote

    def _inputs(
        self,
        text: str,
        target_image: str | None,
        attachments: Sequence[Attachment],
        mask: Attachment | None,
        variations_of: str | None,
        settings: dict[str, Any] | None,
    ) -> dict[str, Any]:
        return {
            "text": text,
            "target_image": target_image,
            "attachments": tuple(attachments),
            "mask": mask,
            "variations_of": variations_of,
            "settings": self.settings.updated(**settings) if settings else None,
        }

    async def run_turn(self, text: str, **kwargs: Any) -> AsyncIterator[AgentEvent]:
        """``start_turn`` as an async iterator of its events (ends with TurnBilled/TurnFailed)."""
        async for event in self.start_turn(text, **kwargs):
            yield event

    def turn_recorded(
        self, record: TurnRecord, images: Sequence[ImageRecord], usage: ResponseUsage
    ) -> None:
        """A turn of this object was recorded: move the chain and the latest image on."""
        if images:
            self.latest_image_id = images[-1].id
        if record.status == "ok":
            self.last_response_id = record.response_id
            self.context_tokens = usage.text.input_tokens + usage.text.output_tokens

    async def target(self, image: ImageRecord | None) -> TargetImage | None:
        """How a turn points at ``image``: by id with stored responses, else inline."""
        if image is None:
            return None
        if self.settings.store:
            return TargetImage(image.id, image.reasoning_item_id)
        return TargetImage(image.id, image.reasoning_item_id, await self.data_url(image))

    async def data_url(self, image: ImageRecord) -> str:
        """One of this session's images as a data URL (read and encoded off the loop)."""
        data = await self.deps.files.read(image.path)
        fmt = "jpeg" if image.output_format in ("jpeg", "jpg") else image.output_format
        encoded = await asyncio.to_thread(b64.b64encode, data)
        return f"data:image/{fmt};base64,{encoded}"
