"""The data layer's database, transactions, value codecs and ownership checks.

The database is the store's neutral interface (``agent.store.database``), opened lazily on
the app's SQLite file (one connection, WAL + ``busy_timeout``, one asyncio lock, so one
coroutine's transaction never interleaves with another's statements) or, with
``ATELIER_DATABASE_URL``, on PostgreSQL (a pool: each transaction on its own connection).
SQL here is the common dialect: ``?`` placeholders, no SQLite-only functions.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar, cast

from chainlit.data.base import BaseDataLayer
from chainlit.data.storage_clients.base import BaseStorageClient
from chainlit.data.utils import queue_until_user_message

from agent.store.database import Database, Row, Tx, is_postgres_url, open_database
from agent.store.migrations import apply_db_migrations
from ui.datalayer.writer import Writer, current_writer
from ui.storage import SINGLE_USER_IDENTIFIER
from ui.ui_schema import UI_MIGRATIONS, UI_MIGRATIONS_TABLE

logger = logging.getLogger("atelier.datalayer")

_P = ParamSpec("_P")
_R = TypeVar("_R")

MAX_THREAD_NAME = 255
MAX_PAGE_SIZE = 200


def queued(fn: Callable[_P, Awaitable[_R]]) -> Callable[_P, Awaitable[_R | None]]:
    """Chainlit's ``queue_until_user_message``, typed: writes wait for the first message.

    In a websocket session before the user's first message the call is queued (and returns
    None); Chainlit flushes the queue once the thread exists. Elsewhere it runs at once.
    """
    return cast(Callable[_P, Awaitable[_R | None]], queue_until_user_message()(fn))  # type: ignore[no-untyped-call]


def now_iso() -> str:
    """The current UTC time, fixed width with microseconds, so timestamps sort as text."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def normalize_timestamp(value: object) -> str | None:
    """Chainlit's ISO strings (``utc_now()`` drops ``.000000``) in one fixed-width UTC form.

    A value that is not ISO-8601 is kept as given rather than lost.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def dumps(value: object) -> str:
    """JSON text of a value (anything unknown as its str)."""
    return json.dumps(value, default=str)


def loads(text: str | None, default: Any) -> Any:
    """The value of stored JSON text, or ``default`` when empty or unreadable."""
    if text is None or text == "":
        return default
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return default


def as_text(value: object) -> str | None:
    """A string as is; anything else as JSON text."""
    if value is None or isinstance(value, str):
        return value
    return dumps(value)


def as_int(value: object) -> int | None:
    """A flag as 0/1 (None kept)."""
    return None if value is None else int(bool(value))


def as_bool(value: object) -> bool | None:
    """A stored 0/1 as a bool (None kept)."""
    return None if value is None else bool(value)


def is_owner(author: str | None, user_identifier: str | None) -> bool:
    """True if ``user_identifier`` owns a thread written by ``author``."""
    if user_identifier is None:
        return False
    # Threads made without login have no author: they belong to the single local user.
    if author is None:
        return user_identifier == SINGLE_USER_IDENTIFIER
    return author == user_identifier


class WriteRefused(PermissionError):
    """A writer tried to change a thread (or a step, element, feedback) it does not own."""


class Core(BaseDataLayer):
    """Connection, transactions and the ownership checks every write goes through."""

    def __init__(
        self,
        target: Path | str,
        storage: BaseStorageClient | None = None,
        on_thread_deleted: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        """Keep Chainlit's tables in ``target``: a SQLite file or a ``postgresql://`` URL."""
        self.target: Path | str = target if is_postgres_url(target) else Path(target)
        self.storage = storage
        self.on_thread_deleted = on_thread_deleted
        """Called after a thread is deleted (the app deletes the agent session with it)."""
        self._db: Database | None = None
        self._lock = asyncio.Lock()
        self._closed = False
        self._discarded: set[str] = set()
        """Element ids refused after upload: a late write of one is dropped."""

    # ------------------------------------------------------------------ connection

    async def _connection(self) -> Database:
        if self._closed:
            raise RuntimeError("the data layer is closed")
        if self._db is None:
            async with self._lock:  # one opener; the others wait for its database
                if self._closed:
                    raise RuntimeError("the data layer is closed")
                if self._db is None:
                    db = await open_database(self.target)
                    try:
                        await apply_db_migrations(db, UI_MIGRATIONS, table=UI_MIGRATIONS_TABLE)
                    except BaseException:
                        await db.close()
                        raise
                    self._db = db
        return self._db

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[Tx]:
        async with (await self._connection()).session() as tx:
            yield tx

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[Tx]:
        # BEGIN IMMEDIATE on SQLite, BEGIN on PostgreSQL; rolled back whole on any error.
        async with (await self._connection()).transaction() as tx:
            yield tx

    async def close(self) -> None:
        """Close the database and the storage client. Safe to call twice."""
        async with self._lock:
            self._closed = True
            if self._db is not None:
                await self._db.close()
                self._db = None
        if self.storage is not None:
            await self.storage.close()

    @staticmethod
    async def _one(db: Tx, sql: str, params: Sequence[Any] = ()) -> Row | None:
        return await db.fetchrow(sql, params)

    @staticmethod
    async def _all(db: Tx, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return await db.fetch(sql, params)

    @staticmethod
    def _next_seq(db: Tx) -> str:
        """SQL for a new step's sequence number, unique even with concurrent writers.

        SQLite's immediate transaction is the only writer, so MAX + 1 holds; PostgreSQL
        transactions run side by side, so there it is a sequence (migration m004).
        """
        if db.dialect == "postgres":
            return "nextval('cl_steps_seq')"
        return "(SELECT COALESCE(MAX(seq), 0) + 1 FROM cl_steps)"

    async def _delete_files(self, keys: Iterable[str | None]) -> None:
        if self.storage is None:
            return
        for key in keys:
            if key:
                await self.storage.delete_file(key)

    # ------------------------------------------------------------------ ownership

    async def _author(self, db: Tx, thread_id: str) -> str | None:
        row = await self._one(
            db,
            """
            SELECT COALESCE(u.identifier, t.user_identifier) AS identifier
            FROM cl_threads t LEFT JOIN cl_users u ON u.id = t.user_id
            WHERE t.id = ? AND t.deleted_at IS NULL
            """,
            (thread_id,),
        )
        return None if row is None else row["identifier"]

    async def _owns_thread(self, db: Tx, writer: Writer | None, thread_id: str | None) -> bool:
        """May ``writer`` write into ``thread_id``? A thread not made yet is anyone's to make."""
        if writer is None:
            return True
        if writer.identifier is None:
            return False
        if not thread_id:
            return True
        exists = await self._one(db, "SELECT 1 FROM cl_threads WHERE id = ?", (thread_id,))
        if exists is None:
            return True
        return is_owner(await self._author(db, thread_id), writer.identifier)

    @staticmethod
    async def _lock_thread(db: Tx, thread_id: str) -> None:
        """Serialise this transaction's read-check-write of a thread with other writers'.

        SQLite's immediate transaction already excludes every other writer; PostgreSQL's
        run side by side, so there a transaction-scoped advisory lock on the thread id.
        """
        if db.dialect == "postgres":
            await db.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (f"cl:{thread_id}",))

    async def _check_thread(
        self, db: Tx, writer: Writer | None, thread_id: str | None, what: str
    ) -> None:
        if thread_id:
            await self._lock_thread(db, thread_id)
        if not await self._owns_thread(db, writer, thread_id):
            raise WriteRefused(f"{what}: thread {thread_id} is not the writer's")

    async def _check_row(
        self,
        db: Tx,
        writer: Writer | None,
        table: str,
        row_id: str,
        thread_id: str | None,
        what: str,
        *,
        thread_checked: bool = False,
    ) -> None:
        """An existing row keeps its thread: it may not move, nor be touched by others.

        ``thread_checked``: the caller has just checked ``thread_id`` for this writer in this
        transaction, so a row in that same thread needs no second check (fewer round trips).
        """
        row = await self._one(db, f"SELECT thread_id FROM {table} WHERE id = ?", (row_id,))
        if row is None:
            return
        stored = row["thread_id"]
        if stored and thread_id and stored != thread_id:
            raise WriteRefused(f"{what} {row_id} belongs to another thread")
        if thread_checked and stored == thread_id:
            return
        await self._check_thread(db, writer, stored, what)

    async def _ensure_thread(self, db: Tx, thread_id: str, writer: Writer | None) -> None:
        # The first writer of a thread claims it, so nobody else can write into it while
        # Chainlit has not yet recorded its user.
        now = now_iso()
        await db.execute(
            """
            INSERT INTO cl_threads (id, user_identifier, metadata_json, created_at, updated_at)
            VALUES (?, ?, '{}', ?, ?) ON CONFLICT (id) DO NOTHING
            """,
            (thread_id, None if writer is None else writer.identifier, now, now),
        )

    async def _ensure_step(self, db: Tx, step_id: str, thread_id: str | None) -> None:
        # A placeholder "run" step, as Chainlit's layer makes, so children have a parent.
        await db.execute(
            """
            INSERT INTO cl_steps (id, thread_id, type, metadata_json, created_at, start, "end", seq)
            VALUES (?, ?, 'run', '{}', ?, ?, ?, SEQ)
            ON CONFLICT (id) DO NOTHING
            """.replace("SEQ", self._next_seq(db)),
            (step_id, thread_id or None, *(now_iso(),) * 3),
        )

    @staticmethod
    def _refused(error: WriteRefused, writer: Writer | None) -> None:
        # Chainlit fires most writes as background tasks: a raised error would only be
        # "never retrieved". The write is dropped and the attempt logged.
        who = "anonymous" if writer is None or writer.identifier is None else writer.identifier
        logger.warning("write refused for %s: %s", who, error)


__all__ = ["Core", "WriteRefused", "current_writer", "is_owner", "normalize_timestamp", "now_iso"]
