"""A small backend-neutral database interface: SQLite (aiosqlite) or PostgreSQL (asyncpg).

Code above this layer writes one SQL dialect, the common subset of both, with ``?``
placeholders (translated to ``$1, $2, ...`` for PostgreSQL). What differs per backend is
behind a few names:

- ``transaction()``: one write transaction that commits whole or rolls back whole
  (``BEGIN IMMEDIATE`` on SQLite, so the write lock is taken at once; ``BEGIN`` on
  PostgreSQL);
- ``Tx.lock(scope)``: serialise writers on a named scope until the transaction ends (a row
  lock, ``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite the immediate transaction already
  holds the only write lock), so a read-check-write inside it holds across processes;
- ``Tx.position(needle, haystack)``: ``instr``/``strpos``;
- constraint violations surface as ``IntegrityError`` on both.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, Literal, Protocol

Dialect = Literal["sqlite", "postgres"]
Params = Sequence[Any]

LOCKS_TABLE = "_store_locks"


class IntegrityError(Exception):
    """A constraint (primary key, unique, foreign key, not null) refused a write."""


class Row(Protocol):
    """A result row: by column name or by position (aiosqlite.Row and asyncpg.Record both)."""

    def __getitem__(self, key: int | str, /) -> Any: ...


class Tx(ABC):
    """Statements inside one transaction (or one autocommit connection, for migrations)."""

    dialect: Dialect

    @abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; return how many rows it changed."""

    @abstractmethod
    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        """Run one statement once per parameter row."""

    @abstractmethod
    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of a query."""

    async def fetchrow(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of a query, or None."""
        rows = await self.fetch(sql, params)
        return rows[0] if rows else None

    @abstractmethod
    async def lock(self, scope: str) -> None:
        """Hold an exclusive lock on ``scope`` until this transaction ends."""

    def position(self, needle: str, haystack: str) -> str:
        """SQL for the 1-based position of ``needle`` in ``haystack`` (0 when absent)."""
        if self.dialect == "postgres":
            return f"strpos({haystack}, {needle})"
        return f"instr({haystack}, {needle})"


class Database(ABC):
    """A connection (SQLite) or pool (PostgreSQL) with transactions and plain reads."""

    dialect: Dialect
    url: str

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Tx]:
        """One write transaction: all of it commits or none of it does."""

    @abstractmethod
    def session(self) -> AbstractAsyncContextManager[Tx]:
        """One connection in autocommit mode (for migrations, which manage their own)."""

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of a read-only query, outside any write transaction."""
        async with self.session() as tx:
            return await tx.fetch(sql, params)

    async def fetchrow(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of a read-only query, or None."""
        rows = await self.fetch(sql, params)
        return rows[0] if rows else None

    @abstractmethod
    async def close(self) -> None:
        """Close every connection (idempotent)."""


def to_numbered(sql: str) -> str:
    """``?`` placeholders as ``$1, $2, ...`` (PostgreSQL), leaving quoted text alone."""
    out: list[str] = []
    number = 0
    quote: str | None = None
    for char in sql:
        if quote is not None:
            if char == quote:
                quote = None
        elif char in ("'", '"'):
            quote = char
        elif char == "?":
            number += 1
            out.append(f"${number}")
            continue
        out.append(char)
    return "".join(out)


def is_postgres_url(target: str | Path) -> bool:
    """True for ``postgresql://`` or ``postgres://`` URLs."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


async def open_database(target: str | Path) -> Database:
    """A SQLite file (a path or ``sqlite:///path``) or a PostgreSQL URL, opened."""
    if is_postgres_url(target):
        from agent.store.postgres import PostgresDatabase

        return await PostgresDatabase.open(str(target))
    from agent.store.sqlite import SqliteDatabase

    path = Path(str(target).removeprefix("sqlite://")) if isinstance(target, str) else target
    return await SqliteDatabase.open(path)
