"""Numbered schema migrations, applied once each and remembered by name (as simonw/llm does).

A migration is an async function taking the connection; append new ones to a list, never
edit or reorder applied ones. The runner applies the missing ones in order, each in its own
transaction, and records its name in a table of applied names.

Two runners: ``apply_db_migrations`` for migrations written against the neutral interface
(``agent.store.database``: the store's, on SQLite or PostgreSQL), and ``apply_migrations``
for migrations that take a raw aiosqlite connection (the UI's data layer, SQLite only).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

import aiosqlite

from agent.store.database import Database, Tx

Migration = Callable[[aiosqlite.Connection], Awaitable[None]]


class MigrationList(list[Migration]):
    """A list of migrations with a decorator that appends to it."""

    def register(self, fn: Migration) -> Migration:
        """Decorator: append ``fn`` as the next migration."""
        self.append(fn)
        return fn


async def apply_migrations(
    db: aiosqlite.Connection, migrations: Sequence[Migration], *, table: str = "_migrations"
) -> list[str]:
    """Apply the migrations not yet recorded in ``table``; return the names applied now."""
    if not table.replace("_", "").isalnum():
        raise ValueError(f"bad migrations table name {table!r}")
    await db.execute(f"CREATE TABLE IF NOT EXISTS {table} (name TEXT PRIMARY KEY, applied_at TEXT)")
    await db.commit()
    applied: list[str] = []
    for migration in migrations:
        name = migration.__name__
        await db.execute("BEGIN IMMEDIATE")
        try:
            # Checked under the write lock: another process may have applied it meanwhile.
            async with db.execute(f"SELECT 1 FROM {table} WHERE name = ?", (name,)) as cursor:
                if await cursor.fetchone() is not None:
                    await db.rollback()
                    continue
            await migration(db)
            await db.execute(
                f"INSERT INTO {table} (name, applied_at) VALUES (?, ?)",
                (name, datetime.now(UTC).isoformat()),
            )
        except BaseException:
            await db.rollback()
            raise
        await db.commit()
        applied.append(name)
    return applied


# --------------------------------------------------------------------- either backend

DbMigration = Callable[[Tx], Awaitable[None]]


class DbMigrationList(list[DbMigration]):
    """Migrations written once for both backends (they receive a ``Tx`` with its dialect)."""

    def register(self, fn: DbMigration) -> DbMigration:
        """Decorator: append ``fn`` as the next migration."""
        self.append(fn)
        return fn


async def apply_db_migrations(
    db: Database, migrations: Sequence[DbMigration], *, table: str = "_migrations"
) -> list[str]:
    """Apply the migrations not yet recorded in ``table`` on SQLite or PostgreSQL.

    Each migration runs in its own transaction, which first takes the migration lock
    (``BEGIN IMMEDIATE`` on SQLite, an advisory transaction lock on PostgreSQL) and then
    checks whether another process applied it meanwhile: many openers at once are safe.
    Returns the names applied now.
    """
    if not table.replace("_", "").isalnum():
        raise ValueError(f"bad migrations table name {table!r}")
    applied: list[str] = []
    for migration in migrations:
        name = migration.__name__
        async with db.transaction() as tx:
            if tx.dialect == "postgres":
                await tx.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (table,))
            await tx.execute(
                f"CREATE TABLE IF NOT EXISTS {table} (name TEXT PRIMARY KEY, applied_at TEXT)"
            )
            if await tx.fetchrow(f"SELECT 1 FROM {table} WHERE name = ?", (name,)) is not None:
                continue
            await migration(tx)
            await tx.execute(
                f"INSERT INTO {table} (name, applied_at) VALUES (?, ?)",
                (name, datetime.now(UTC).isoformat()),
            )
        applied.append(name)
    return applied
