"""The store's schema as numbered migrations (applied by ``agent.store.migrations``).

Append new migrations at the end; never edit or reorder one that has shipped. Money columns
are decimal strings (exact), datetimes are UTC ISO-8601 strings, booleans are 0/1.

Each statement runs through ``db.execute`` (not ``executescript``, which would commit the
runner's transaction half way).
"""

from __future__ import annotations

import aiosqlite

from agent.store.migrations import MigrationList

MIGRATIONS = MigrationList()

_INITIAL = (
    """
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        profile TEXT NOT NULL,
        title TEXT NOT NULL DEFAULT '',
        settings_json TEXT NOT NULL DEFAULT '{}',
        last_response_id TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        turn_count INTEGER NOT NULL DEFAULT 0
    )
    """,
    "CREATE INDEX idx_sessions_user_created ON sessions (user_id, created_at)",
    "CREATE INDEX idx_sessions_user_updated ON sessions (user_id, updated_at)",
    """
    CREATE TABLE turns (
        session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        turn INTEGER NOT NULL,
        user_text TEXT NOT NULL,
        target_image_id TEXT,
        response_id TEXT,
        status TEXT NOT NULL,
        error_code TEXT,
        error_message TEXT,
        started_at TEXT NOT NULL,
        latency_ms INTEGER NOT NULL DEFAULT 0,
        settings_json TEXT NOT NULL DEFAULT '{}',
        usage_json TEXT NOT NULL DEFAULT '{}',
        total_usd TEXT,
        known_usd TEXT NOT NULL DEFAULT '0',
        estimated INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (session_id, turn)
    )
    """,
    "CREATE INDEX idx_turns_started ON turns (started_at)",
    """
    CREATE TABLE cost_lines (
        session_id TEXT NOT NULL,
        turn INTEGER NOT NULL,
        idx INTEGER NOT NULL,
        kind TEXT NOT NULL,
        model TEXT NOT NULL,
        tokens INTEGER NOT NULL,
        rate_per_mtok_usd TEXT,
        cost_usd TEXT,
        owner TEXT NOT NULL,
        estimated INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (session_id, turn, idx),
        FOREIGN KEY (session_id, turn) REFERENCES turns (session_id, turn) ON DELETE CASCADE
    )
    """,
    """
    CREATE TABLE images (
        id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        response_id TEXT NOT NULL,
        turn INTEGER NOT NULL,
        prompt TEXT NOT NULL,
        revised_prompt TEXT,
        action TEXT NOT NULL,
        parent_id TEXT,
        model TEXT NOT NULL,
        size TEXT NOT NULL,
        quality TEXT NOT NULL,
        output_format TEXT NOT NULL,
        background TEXT NOT NULL,
        path TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        latency_ms INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        reasoning_item_id TEXT
    )
    """,
    "CREATE INDEX idx_images_session_turn ON images (session_id, turn)",
    "CREATE INDEX idx_images_parent ON images (parent_id)",
    "CREATE INDEX idx_images_sha256 ON images (sha256)",
    """
    CREATE TABLE exchanges (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL,
        turn INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        request_json TEXT NOT NULL,
        response_json TEXT,
        error TEXT
    )
    """,
    "CREATE INDEX idx_exchanges_session_turn ON exchanges (session_id, turn)",
)


@MIGRATIONS.register
async def m001_initial(db: aiosqlite.Connection) -> None:
    """Sessions, turns, cost lines, images and the request/response log."""
    for statement in _INITIAL:
        await db.execute(statement)


@MIGRATIONS.register
async def m002_session_deleted_at(db: aiosqlite.Connection) -> None:
    """Deleted sessions keep their ledger (budgets stay honest) but lose their content."""
    await db.execute("ALTER TABLE sessions ADD COLUMN deleted_at TEXT")


@MIGRATIONS.register
async def m003_turn_reservations(db: aiosqlite.Connection) -> None:
    """A turn in flight: its number is taken and its worst case is held against the budgets.

    Written when the turn begins, replaced by its turn row when it ends; a crashed worker's
    reservations stop counting at ``expires_at``.
    """
    await db.execute(
        """
        CREATE TABLE turn_reservations (
            session_id TEXT NOT NULL,
            turn INTEGER NOT NULL,
            user_id TEXT NOT NULL,
            amount_usd TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            PRIMARY KEY (session_id, turn)
        )
        """
    )
    await db.execute("CREATE INDEX idx_reservations_expires ON turn_reservations (expires_at)")
