"""The store's schema as numbered migrations (applied by ``agent.store.migrations``).

Append new migrations at the end; never edit or reorder one that has shipped. Money columns
are decimal strings (exact), datetimes are UTC ISO-8601 strings, booleans are 0/1: the same
column types on SQLite and PostgreSQL, so the same queries read both.

The same numbered migrations run on both backends. Where the DDL must differ it is spelled
through two markers: ``{rowid}`` (PostgreSQL has no implicit rowid: an identity column named
``rowid`` gives insertion order there, as SQLite's does) and ``{serial_pk}`` (an
auto-numbered integer primary key).

Each statement runs through ``tx.execute`` (not ``executescript``, which would commit the
runner's transaction half way).
"""

from __future__ import annotations

from agent.store.database import LOCKS_TABLE, Tx
from agent.store.migrations import DbMigrationList

MIGRATIONS = DbMigrationList()

_DDL = {
    "sqlite": {"rowid": "", "serial_pk": "INTEGER PRIMARY KEY AUTOINCREMENT"},
    "postgres": {
        "rowid": "rowid BIGINT GENERATED ALWAYS AS IDENTITY,",
        "serial_pk": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    },
}


def _ddl(tx: Tx, statement: str) -> str:
    for marker, text in _DDL[tx.dialect].items():
        statement = statement.replace("{" + marker + "}", text)
    return statement


_INITIAL = (
    """
    CREATE TABLE sessions (
        {rowid}
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
        {rowid}
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
        id {serial_pk},
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
async def m001_initial(tx: Tx) -> None:
    """Sessions, turns, cost lines, images and the request/response log."""
    for statement in _INITIAL:
        await tx.execute(_ddl(tx, statement))


@MIGRATIONS.register
async def m002_session_deleted_at(tx: Tx) -> None:
    """Deleted sessions keep their ledger (budgets stay honest) but lose their content."""
    await tx.execute("ALTER TABLE sessions ADD COLUMN deleted_at TEXT")


@MIGRATIONS.register
async def m003_reservations(tx: Tx) -> None:
    """Budget reservations (held until settled, released or expired) and lock rows.

    A turn's reservation also takes its number (``turn``): concurrent turns of one session
    (several tabs) are numbered apart, and a crashed worker's holds stop counting at
    ``expires_at``.
    """
    await tx.execute(
        """
        CREATE TABLE reservations (
            id TEXT PRIMARY KEY,
            session_id TEXT NOT NULL,
            turn INTEGER,
            user_id TEXT NOT NULL,
            amount_usd TEXT NOT NULL,
            state TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            closed_at TEXT
        )
        """
    )
    await tx.execute("CREATE INDEX idx_reservations_held ON reservations (state, expires_at)")
    await tx.execute("CREATE UNIQUE INDEX idx_reservations_turn ON reservations (session_id, turn)")
    await tx.execute(f"CREATE TABLE {LOCKS_TABLE} (scope TEXT PRIMARY KEY)")
