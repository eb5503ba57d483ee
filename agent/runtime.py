"""The process-wide Atelier object: settings, store, model, prices and prompts, opened once.

``async with await Atelier.open(settings) as atelier:``
closes everything however the block ends. The embedded engine is imported only when it is
used (no API key).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from agent.billing.pricing import PriceBook
from agent.config import Profile, Settings
from agent.errors import NotFound
from agent.prompts import PromptBook
from agent.session_settings import SessionSettings
from agent.store.db import Store
from agent.store.ids import resolve_id
from agent.store.imagefiles import ImageFiles
from agent.store.objects import open_object_store
from agent.store.records import SessionRecord
from agent.turn.client import build_client
from agent.turn.model import Model, OpenAIModel
from agent.turn.retry import RetryPolicy
from agent.turn.session import Session, SessionDeps
from agent.turn.sse import warm_up

if TYPE_CHECKING:
    from openai import AsyncOpenAI

    from agent.engine import Engine


class Atelier:
    """Everything sessions share. Open one per process with ``await Atelier.open(settings)``."""

    def __init__(
        self, deps: SessionDeps, engine: Engine | None, client: AsyncOpenAI | None = None
    ) -> None:
        self._deps = deps
        self.engine = engine
        self.client = client

    @property
    def settings(self) -> Settings:
        """The settings this process was opened with."""
        return self._deps.settings

    @property
    def store(self) -> Store:
        """The database."""
        return self._deps.store

    @property
    def model(self) -> Model:
        """Whoever answers the turns' requests (the model seam)."""
        return self._deps.model

    @property
    def files(self) -> ImageFiles:
        """Image files: this machine's folder, mirrored to object storage when configured."""
        return self._deps.files

    @property
    def prices(self) -> PriceBook:
        """Rates for every model, with their owners."""
        return self._deps.prices

    @classmethod
    async def open(cls, settings: Settings, *, model: Model | None = None) -> Atelier:
        """Open the database and the model: the given one (tests: ``ScriptedModel``), else
        the OpenAI client, on the embedded engine when there is no key."""
        await asyncio.to_thread(settings.images_dir.mkdir, parents=True, exist_ok=True)
        prompts = await asyncio.to_thread(PromptBook.load, settings.prompts_dir, settings.help_dir)
        prices = await asyncio.to_thread(PriceBook.load, settings)
        store = await Store.open(settings.database_url or settings.db_path)
        engine: Engine | None = None
        client: AsyncOpenAI | None = None
        if model is None:
            if settings.use_embedded_engine:
                from agent.engine import Engine, EngineConfig

                engine = Engine(EngineConfig.from_settings(settings))
            client = build_client(settings, engine)
            _ = client.responses.with_streaming_response  # the SDK imports resources lazily
            model = OpenAIModel(client)
            await asyncio.to_thread(warm_up)
        retry = RetryPolicy(max_retries=settings.max_retries, max_delay_s=settings.retry_max_wait_s)
        remote = open_object_store(settings.storage_url) if settings.storage_url else None
        files = ImageFiles(settings.images_dir, remote)
        deps = SessionDeps(settings, store, model, prices, prompts, retry, files)
        return cls(deps, engine, client)

    async def __aenter__(self) -> Atelier:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop turns still running (each records itself), then close client, engine, database."""
        running = list(self._deps.running)
        for turn in running:
            turn.cancel()
        await asyncio.gather(*(turn.wait() for turn in running), return_exceptions=True)
        if self.client is not None:
            await self.client.close()
        if self.engine is not None:
            await self.engine.aclose()
        await self._deps.store.close()
        if self._deps.files.remote is not None:
            await self._deps.files.remote.aclose()

    async def new_session(
        self,
        *,
        user_id: str,
        profile: Profile = "studio",
        settings: SessionSettings | None = None,
        title: str = "",
        session_id: str | None = None,
    ) -> Session:
        """Start a conversation (``session_id`` lets the UI reuse its thread id)."""
        chosen = (settings or SessionSettings.defaults(self.settings, profile)).check()
        now = datetime.now(UTC)
        record = SessionRecord(
            id=session_id or uuid.uuid4().hex,
            user_id=user_id,
            profile=profile,
            title=title,
            settings=chosen.model_dump(),
            last_response_id=None,
            created_at=now,
            updated_at=now,
        )
        await self.store.create_session(record)
        return Session(self._deps, record, latest_image_id=None)

    async def resume_session(self, session_id: str, *, user_id: str | None = None) -> Session:
        """Reopen a conversation; NotFound if it does not exist or is someone else's."""
        record = await self.store.get_session(session_id)
        if record is None or (user_id is not None and record.user_id != user_id):
            raise NotFound(f"No session {session_id}. List yours with `atelier sessions`.")
        images = await self.store.session_images(session_id)
        return Session(self._deps, record, latest_image_id=images[-1].id if images else None)

    async def delete_session(self, session_id: str, *, user_id: str | None = None) -> None:
        """Delete a conversation's images, prompts and log; its spend stays in the ledger."""
        await self.resume_session(session_id, user_id=user_id)  # NotFound unless theirs
        unused = await self.store.delete_session(session_id)
        await self.files.delete(unused)

    async def sessions(self, user_id: str | None) -> list[SessionRecord]:
        """A user's conversations (everyone's when ``user_id`` is None), newest first."""
        return await self.store.list_sessions(user_id)

    async def find_session_id(self, typed: str) -> str:
        """The session id that ``typed`` names: whole, its first or last 8 characters, or any
        unique start or end; NotFound (AmbiguousId when several fit) otherwise."""
        token = typed.strip()
        candidates = await self.store.session_ids_around(token) if token else []
        return resolve_id(
            token, candidates, kind="session", hint="List them with `atelier sessions`."
        )
