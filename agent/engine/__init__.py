"""The embedded Responses-API-compatible engine: the demo, the test double, the load target.

``Engine(config).asgi`` is an ASGI app speaking the OpenAI Responses API wire format
(including the built-in ``image_generation`` tool); the real ``openai.AsyncOpenAI`` client talks
to it in-process through ``agent.engine.transport.StreamingASGITransport``, or over HTTP via
``serve`` (``atelier engine --host 127.0.0.1 --port 8900``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from agent.config import Settings
from agent.engine.app import create_app
from agent.engine.faults import FaultBook
from agent.engine.render_cache import RenderCache
from agent.engine.state import ResponseStore

__all__ = ["Engine", "EngineConfig", "serve"]


@dataclass(frozen=True)
class EngineConfig:
    """How an engine behaves: where it stores responses, what it blocks, default faults."""

    db_path: Path | None  # None keeps stored responses in memory only
    blocklist: tuple[str, ...] = ()
    default_fault: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> EngineConfig:
        """The engine configuration the app's settings describe."""
        return cls(
            db_path=settings.engine_db_path,
            blocklist=settings.blocklist,
            default_fault=settings.engine_fault,
        )


class _CountingApp:
    """Counts model requests on the way into the engine's ASGI app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.count = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        is_http_post = scope["type"] == "http" and scope["method"] == "POST"
        if is_http_post and scope["path"].rstrip("/").endswith("/responses"):
            self.count += 1
        await self.app(scope, receive, send)


class Engine:
    """One engine instance. Its database opens lazily on first use; close with ``aclose``."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self._store = ResponseStore(config.db_path)
        self.renders = RenderCache()
        """Finished renders by their inputs (the engine is deterministic)."""
        self._app: Starlette = create_app(
            self._store, FaultBook(config.default_fault), config.blocklist, self.renders
        )
        self.asgi = _CountingApp(self._app)

    @property
    def request_count(self) -> int:
        """POST /v1/responses requests received (tests prove refusals send nothing)."""
        return self.asgi.count

    async def aclose(self) -> None:
        """Release the database connection."""
        await self._store.aclose()


async def serve(host: str, port: int, config: EngineConfig) -> None:
    """Run the engine over HTTP under uvicorn until interrupted or cancelled.

    Cancelling the calling task shuts uvicorn down gracefully (open connections finish)
    before the cancellation propagates.
    """
    import uvicorn

    engine = Engine(config)
    server = uvicorn.Server(
        uvicorn.Config(engine.asgi, host=host, port=port, lifespan="off", log_level="warning")
    )
    serving = asyncio.ensure_future(server.serve())
    try:
        await asyncio.shield(serving)
    except asyncio.CancelledError:
        server.should_exit = True
        await serving
        raise
    finally:
        await engine.aclose()
