"""Numbered schema migrations, applied once each and remembered by name (as simonw/llm does).

A migration is an async function taking the connection; append new ones to a list, never
edit or reorder applied ones. The runner applies the missing ones in order, each in its own
transaction, and records its name in a table of applied names.

``apply_db_migrations`` runs migrations written against the neutral interface
(``agent.store.database``) on SQLite or PostgreSQL: the store's and the UI data layer's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from agent.store.database import Database, Tx

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
