"""How Atelier opens its SQLite database: one file shared by the store and the UI's data layer.

``connect`` opens a raw aiosqlite connection (the UI's data layer uses it); ``SqliteDatabase``
is the store's backend behind the neutral interface of ``agent.store.database``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from agent.store.database import Database, Dialect, IntegrityError, Params, Row, Tx

BUSY_TIMEOUT_MS = 5000


async def connect(path: Path) -> aiosqlite.Connection:
    """Open ``path`` (creating its folder) in WAL mode with a busy timeout.

    ``synchronous=NORMAL`` stays crash-safe under WAL (only a power cut may lose the last
    commits); foreign keys are on; autocommit mode, so every write transaction is an
    explicit ``BEGIN IMMEDIATE``; rows come back as ``sqlite3.Row``.
    """
    await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
    db = await aiosqlite.connect(path, isolation_level=None)
    try:
        db.row_factory = aiosqlite.Row
        await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        row = await _enable_wal(db)
        if row is None or str(row[0]).lower() != "wal":
            raise RuntimeError(f"Could not switch {path} to WAL mode (got {row!r}).")
        await db.execute("PRAGMA synchronous = NORMAL")
        await db.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        await db.close()
        raise
    return db


async def _enable_wal(db: aiosqlite.Connection) -> Any:
    """Switch to WAL. SQLite does not call the busy handler for this switch, so several
    processes opening a new file at once can see "database is locked": wait and retry."""
    for attempt in range(50):
        try:
            async with db.execute("PRAGMA journal_mode = WAL") as cursor:
                return await cursor.fetchone()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 49:
                raise
            await asyncio.sleep(0.02 * (attempt + 1))
    return None


class _SqliteTx(Tx):
    dialect: Dialect = "sqlite"

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def execute(self, sql: str, params: Params = ()) -> int:
        try:
            cursor = await self._db.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc
        changed = cursor.rowcount
        await cursor.close()
        return changed

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        try:
            await self._db.executemany(sql, rows)
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        async with self._db.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def lock(self, scope: str) -> None:
        """Nothing to do: ``BEGIN IMMEDIATE`` already holds the database's one write lock."""


class SqliteDatabase(Database):
    """One aiosqlite connection; every operation holds one asyncio.Lock.

    The connection is shared, so without the lock a reader could see (or a writer could
    join) another task's open transaction. Writes run inside ``BEGIN IMMEDIATE`` ...
    ``COMMIT``: the write lock is taken up front, so a read-check-write inside one
    transaction holds across processes too.
    """

    dialect: Dialect = "sqlite"

    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        """Wrap an open connection. Use ``SqliteDatabase.open`` instead."""
        self._db = db
        self._lock = asyncio.Lock()
        self.path = path
        self.url = f"sqlite://{path}"

    @classmethod
    async def open(cls, path: Path) -> SqliteDatabase:
        """Open (creating if needed) the file at ``path`` (see ``connect``)."""
        return cls(await connect(path), path)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        async with self._lock:
            try:
                # BEGIN sits inside the try: a cancel while it is queued must still roll back,
                # or the next writer would find a transaction left open.
                await self._db.execute("BEGIN IMMEDIATE")
                yield _SqliteTx(self._db)
            except BaseException:
                await self._db.rollback()
                raise
            await self._db.commit()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Tx]:
        async with self._lock:
            yield _SqliteTx(self._db)

    @property
    def connection(self) -> aiosqlite.Connection:
        """The raw connection (SQLite-only callers: PRAGMAs, the legacy migration runner)."""
        return self._db

    async def close(self) -> None:
        async with self._lock:
            await self._db.close()
