"""The store's PostgreSQL backend (asyncpg) behind the interface of ``agent.store.database``.

A pool of connections: concurrent reads and transactions run side by side (PostgreSQL's
MVCC isolates them), so unlike SQLite no process-wide lock is needed. Statements arrive with
``?`` placeholders and are numbered here. ``Tx.lock(scope)`` takes a row lock in the
``_store_locks`` table (``SELECT ... FOR UPDATE``), which holds across workers and machines.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from agent.store.database import (
    LOCKS_TABLE,
    Database,
    Dialect,
    IntegrityError,
    Params,
    Row,
    Tx,
    to_numbered,
)

POOL_MAX_SIZE = 10
_COUNT = re.compile(r"(\d+)$")


class _PostgresTx(Tx):
    dialect: Dialect = "postgres"

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        try:
            status = await self._conn.execute(to_numbered(sql), *params)
        except asyncpg.exceptions.IntegrityConstraintViolationError as exc:
            raise IntegrityError(str(exc)) from exc
        found = _COUNT.search(str(status))
        return int(found.group(1)) if found else 0

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        batch = [tuple(row) for row in rows]
        if not batch:
            return
        try:
            await self._conn.executemany(to_numbered(sql), batch)
        except asyncpg.exceptions.IntegrityConstraintViolationError as exc:
            raise IntegrityError(str(exc)) from exc

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        return list(await self._conn.fetch(to_numbered(sql), *params))

    async def lock(self, scope: str) -> None:
        """A row lock on ``scope`` (created on first use), held until the transaction ends."""
        await self._conn.execute(
            f"INSERT INTO {LOCKS_TABLE} (scope) VALUES ($1) ON CONFLICT DO NOTHING", scope
        )
        await self._conn.execute(
            f"SELECT scope FROM {LOCKS_TABLE} WHERE scope = $1 FOR UPDATE", scope
        )


class PostgresDatabase(Database):
    """An asyncpg pool on one PostgreSQL database."""

    dialect: Dialect = "postgres"

    def __init__(self, pool: Any, url: str) -> None:
        """Wrap an open pool. Use ``PostgresDatabase.open`` instead."""
        self._pool = pool
        self.url = url
        self._closed = False

    @classmethod
    async def open(cls, url: str) -> PostgresDatabase:
        """Connect a pool to ``url`` (``postgresql://user:password@host:port/database``)."""
        pool = await asyncpg.create_pool(  # type: ignore[no-untyped-call]
            url, min_size=1, max_size=POOL_MAX_SIZE
        )
        return cls(pool, url)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        self._check_open()
        async with self._pool.acquire() as conn, conn.transaction():
            yield _PostgresTx(conn)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Tx]:
        self._check_open()
        async with self._pool.acquire() as conn:
            yield _PostgresTx(conn)

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("The database is closed.")

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._pool.close()
