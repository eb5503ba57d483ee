"""Schema of the Chainlit tables (users, threads, steps, elements, feedbacks, shares).

They live in the app's database next to the agent store's tables (the SQLite file, or
PostgreSQL with ``ATELIER_DATABASE_URL``), prefixed ``cl_`` and versioned in their own
``_ui_migrations`` table, through the same ``apply_db_migrations`` as the store. JSON values
are stored as text; booleans as 0/1 integers; timestamps as fixed-width ISO-8601 UTC
strings (so they sort as text).
Append new migrations at the end; never edit one that has shipped.
"""

from __future__ import annotations

from agent.store.database import Tx
from agent.store.migrations import DbMigrationList

UI_MIGRATIONS = DbMigrationList()
UI_MIGRATIONS_TABLE = "_ui_migrations"


@UI_MIGRATIONS.register
async def m001_chainlit_tables(db: Tx) -> None:
    """Users, threads, steps, elements, feedbacks and read-only thread shares."""
    await db.execute(
        """
        CREATE TABLE cl_users (
            id TEXT PRIMARY KEY,
            identifier TEXT NOT NULL UNIQUE,
            display_name TEXT,
            metadata_json TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL
        )
        """
    )
    await db.execute(
        """
        CREATE TABLE cl_threads (
            id TEXT PRIMARY KEY,
            name TEXT,
            user_id TEXT REFERENCES cl_users(id) ON DELETE SET NULL,
            user_identifier TEXT,
            tags_json TEXT,
            metadata_json TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            deleted_at TEXT
        )
        """
    )
    await db.execute("CREATE INDEX cl_threads_by_user ON cl_threads (user_id, updated_at, id)")
    await db.execute("CREATE INDEX cl_threads_by_update ON cl_threads (updated_at, id)")
    await db.execute(
        """
        CREATE TABLE cl_steps (
            id TEXT PRIMARY KEY,
            thread_id TEXT REFERENCES cl_threads(id) ON DELETE CASCADE,
            parent_id TEXT,
            name TEXT,
            type TEXT NOT NULL,
            command TEXT,
            modes_json TEXT,
            streaming INTEGER,
            wait_for_answer INTEGER,
            is_error INTEGER,
            metadata_json TEXT NOT NULL DEFAULT '{}',
            tags_json TEXT,
            input TEXT,
            output TEXT,
            created_at TEXT,
            start TEXT,
            "end" TEXT,
            generation_json TEXT,
            show_input_json TEXT,
            default_open INTEGER,
            auto_collapse INTEGER,
            language TEXT,
            icon TEXT,
            seq INTEGER NOT NULL
        )
        """
    )
    await db.execute("CREATE INDEX cl_steps_by_thread ON cl_steps (thread_id, created_at)")
    await db.execute(
        """
        CREATE TABLE cl_elements (
            id TEXT PRIMARY KEY,
            thread_id TEXT REFERENCES cl_threads(id) ON DELETE CASCADE,
            for_id TEXT,
            type TEXT NOT NULL DEFAULT 'file',
            name TEXT NOT NULL DEFAULT '',
            mime TEXT,
            object_key TEXT,
            url TEXT,
            chainlit_key TEXT,
            display TEXT,
            size TEXT,
            language TEXT,
            page INTEGER,
            props_json TEXT,
            auto_play INTEGER,
            player_config_json TEXT,
            created_at TEXT NOT NULL
        )
        """
    )
    await db.execute("CREATE INDEX cl_elements_by_thread ON cl_elements (thread_id)")
    await db.execute("CREATE INDEX cl_elements_by_step ON cl_elements (for_id)")
    await db.execute("CREATE INDEX cl_elements_by_object_key ON cl_elements (object_key)")
    await db.execute(
        """
        CREATE TABLE cl_feedbacks (
            id TEXT PRIMARY KEY,
            for_id TEXT NOT NULL,
            thread_id TEXT,
            name TEXT NOT NULL DEFAULT 'user_feedback',
            value INTEGER NOT NULL,
            comment TEXT,
            created_at TEXT NOT NULL
        )
        """
    )
    await db.execute("CREATE INDEX cl_feedbacks_by_step ON cl_feedbacks (for_id)")
    await db.execute(
        """
        CREATE TABLE cl_thread_shares (
            thread_id TEXT PRIMARY KEY REFERENCES cl_threads(id) ON DELETE CASCADE,
            shared_by TEXT,
            created_at TEXT NOT NULL
        )
        """
    )


@UI_MIGRATIONS.register
async def m002_index_step_sequence(db: Tx) -> None:
    """Each step insert reads MAX(seq): an index keeps that O(log n) as history grows."""
    await db.execute("CREATE INDEX cl_steps_by_seq ON cl_steps (seq)")


@UI_MIGRATIONS.register
async def m003_token_versions(db: Tx) -> None:
    """Each user's sign-in token version: raising it (sign-out) ends every older token."""
    await db.execute(
        """
        CREATE TABLE cl_token_versions (
            identifier TEXT PRIMARY KEY,
            version INTEGER NOT NULL DEFAULT 0
        )
        """
    )


@UI_MIGRATIONS.register
async def m004_step_sequence(db: Tx) -> None:
    """PostgreSQL numbers steps from a sequence: concurrent writers never share a number.

    (SQLite's one writer at a time keeps MAX(seq) + 1 there.)
    """
    if db.dialect == "postgres":
        await db.execute("CREATE SEQUENCE IF NOT EXISTS cl_steps_seq")
        await db.execute(
            "SELECT setval('cl_steps_seq', COALESCE((SELECT MAX(seq) FROM cl_steps), 0) + 1, false)"
        )
