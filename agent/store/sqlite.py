"""How Atelier opens its SQLite database: one file shared by the store and the UI's data layer."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiosqlite

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
        async with db.execute("PRAGMA journal_mode = WAL") as cursor:
            row = await cursor.fetchone()
        if row is None or str(row[0]).lower() != "wal":
            raise RuntimeError(f"Could not switch {path} to WAL mode (got {row!r}).")
        await db.execute("PRAGMA synchronous = NORMAL")
        await db.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        await db.close()
        raise
    return db
