"""Numbered schema migrations, applied once each and remembered by name (as simonw/llm does).

A migration is an async function taking the connection; append new ones to a list, never
edit or reorder applied ones. ``apply_migrations`` runs the missing ones in order, each in
its own transaction, and records its name in a table of applied names.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

import aiosqlite

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
