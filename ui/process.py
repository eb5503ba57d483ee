"""What one Chainlit process holds: settings read once, the Atelier, storage, data layer.

The app module (``ui/app.py``) is executed by Chainlit without being registered in
``sys.modules``, so this state lives in an importable module of its own.
"""

from __future__ import annotations

from agent.config import Settings
from agent.errors import NotFound
from agent.ops.lagprobe import LagProbe
from agent.runtime import Atelier
from ui import storage_s3
from ui.datalayer import SQLiteDataLayer
from ui.routes import HttpSurface
from ui.storage import LocalStorageClient
from ui.websec import WebSettings


class Process:
    """The process's long-lived parts, each built on first use."""

    def __init__(self) -> None:
        self.settings = Settings()
        self.web = WebSettings()
        self.surface: HttpSurface | None = None
        self.opened: Atelier | None = None
        self.probe: LagProbe | None = None
        self._storage: LocalStorageClient | None = None
        self._layer: SQLiteDataLayer | None = None

    @property
    def atelier(self) -> Atelier:
        """The open Atelier (opened by the app's startup hook)."""
        if self.opened is None:
            raise RuntimeError("Atelier is not open yet: the app's startup hook did not run.")
        return self.opened

    @property
    def storage(self) -> LocalStorageClient:
        """Element files: local disk, or a bucket when ATELIER_STORAGE_URL is set."""
        if self._storage is None:
            self._storage = storage_s3.storage_client(self.settings)
        return self._storage

    @property
    def layer(self) -> SQLiteDataLayer:
        """Chainlit's data layer (PostgreSQL when ATELIER_DATABASE_URL is set)."""
        if self._layer is None:
            self._layer = SQLiteDataLayer(
                self.settings.database_url or self.settings.db_path,
                self.storage,
                on_thread_deleted=self.delete_session,
            )
        return self._layer

    async def delete_session(self, thread_id: str) -> None:
        """Chainlit deleted a thread (its author asked): delete the agent session's content."""
        try:
            await self.atelier.delete_session(thread_id)
        except NotFound:
            return  # a thread with no turns never had an agent session

    def engine_requests(self) -> int | None:
        """Requests the embedded engine has received (None with an API key, before startup)."""
        engine = self.opened.engine if self.opened is not None else None
        return engine.request_count if engine is not None else None

    def http_surface(self, *, logins_on: bool, usernames: frozenset[str]) -> HttpSurface:
        """The routes and guards around Chainlit's app (built once)."""
        if self.surface is None:
            self.surface = HttpSurface(
                self.web,
                self.layer,
                self.storage,
                lambda: self.probe,
                logins_on=logins_on,
                usernames=usernames,
                engine_requests=self.engine_requests,
                widget=self.settings if self.settings.public_widget else None,
            )
        return self.surface

    async def close(self) -> None:
        """Stop the probe, close the Atelier and a bucket client (the app's shutdown hook)."""
        if self.probe is not None:
            await self.probe.stop()
        if self.opened is not None:
            await self.opened.aclose()
            self.opened = None
        if isinstance(self._storage, storage_s3.S3StorageClient):
            await self._storage.close()


_current: Process | None = None


def current() -> Process:
    """This process's holder, built on first use (Settings are read exactly once)."""
    global _current
    if _current is None:
        _current = Process()
    return _current
