"""The store: sessions, turns and their bills, images and their lineage, the request log.

This is the only module that writes SQL for these tables (the budget ledger's is in
``agent.store.ledger``). It runs on SQLite (the embedded default) or PostgreSQL through the
neutral interface of ``agent.store.database``: one SQL text, ``?`` placeholders, the same
numbered migrations. Writes run in one transaction each and roll back whole.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from agent.errors import NotFound
from agent.store.database import Database, IntegrityError, Params, Row, open_database
from agent.store.ledger import Ledger
from agent.store.migrations import apply_db_migrations
from agent.store.records import CostLine, ImageRecord, SessionRecord, TurnRecord
from agent.store.rows import (
    IMAGE_COLUMNS,
    SESSION_COLUMNS,
    TURN_COLUMNS,
    cost_line,
    dump_json,
    image_record,
    now,
    prefixed,
    session_record,
    sum_money,
    ts,
    turn_record,
)
from agent.store.schema import MIGRATIONS
from agent.store.scrub import scrub
from agent.store.turn_writes import ImageConflict, TurnWrites

__all__ = ["MIGRATIONS_TABLE", "ImageConflict", "Store", "scrub"]

MIGRATIONS_TABLE = "_store_migrations"


class Store(TurnWrites, Ledger):
    """Async persistence for Atelier. Open with ``await Store.open(path_or_url)``."""

    def __init__(self, db: Database) -> None:
        """Wrap an open, migrated database. Use ``Store.open`` instead."""
        self.database = db

    # ----------------------------------------------------------------- lifecycle

    @classmethod
    async def open(cls, target: Path | str) -> Store:
        """Open the database and apply pending migrations.

        ``target`` is a SQLite file path (created if needed: WAL journal, foreign keys on,
        a busy timeout) or a ``postgresql://`` URL.
        """
        db = await open_database(target)
        try:
            await apply_db_migrations(db, MIGRATIONS, table=MIGRATIONS_TABLE)
        except BaseException:
            await db.close()
            raise
        return cls(db)

    @property
    def path(self) -> Path | None:
        """The SQLite file, or None on PostgreSQL."""
        path = getattr(self.database, "path", None)
        return path if isinstance(path, Path) else None

    async def close(self) -> None:
        """Close the database (waits for any operation in progress)."""
        await self.database.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return await self.database.fetch(sql, params)

    async def _fetchone(self, sql: str, params: Params = ()) -> Row | None:
        return await self.database.fetchrow(sql, params)

    # ----------------------------------------------------------------- sessions

    async def create_session(self, record: SessionRecord) -> None:
        """Insert a new session. Raises ValueError if the id already exists."""
        params = (
            record.id,
            record.user_id,
            record.profile,
            record.title,
            dump_json(record.settings),
            record.last_response_id,
            ts(record.created_at),
            ts(record.updated_at),
            record.turn_count,
        )
        try:
            async with self.database.transaction() as tx:
                await tx.execute(
                    f"INSERT INTO sessions ({SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    params,
                )
        except IntegrityError as exc:
            raise ValueError(f"Session {record.id!r} already exists.") from exc

    async def get_session(self, session_id: str) -> SessionRecord | None:
        """The session with this id, or None."""
        row = await self._fetchone(
            f"SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ? AND deleted_at IS NULL",
            (session_id,),
        )
        return session_record(row) if row is not None else None

    async def list_sessions(self, user_id: str | None, limit: int = 100) -> list[SessionRecord]:
        """A user's sessions (everyone's when ``user_id`` is None), most recently updated first."""
        who = "" if user_id is None else "user_id = ? AND "
        rows = await self._fetchall(
            f"SELECT {SESSION_COLUMNS} FROM sessions WHERE {who}deleted_at IS NULL "
            "ORDER BY updated_at DESC, rowid DESC LIMIT ?",
            (limit,) if user_id is None else (user_id, limit),
        )
        return [session_record(row) for row in rows]

    async def session_ids_around(self, fragment: str, limit: int = 20) -> list[str]:
        """Ids of live sessions that start or end with ``fragment`` (for short ids)."""
        escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = await self._fetchall(
            "SELECT id FROM sessions WHERE (id LIKE ? ESCAPE '\\' OR id LIKE ? ESCAPE '\\') "
            "AND deleted_at IS NULL ORDER BY id LIMIT ?",
            (f"{escaped}%", f"%{escaped}", limit),
        )
        return [str(row[0]) for row in rows]

    async def update_session(
        self,
        session_id: str,
        *,
        settings: dict[str, Any] | None = None,
        title: str | None = None,
        last_response_id: str | None = None,
    ) -> None:
        """Change the given fields (None leaves a field as is) and bump ``updated_at``.

        Raises NotFound when the session does not exist.
        """
        sets = ["updated_at = ?"]
        params: list[Any] = [ts(now())]
        if settings is not None:
            sets.append("settings_json = ?")
            params.append(dump_json(settings))
        if title is not None:
            sets.append("title = ?")
            params.append(title)
        if last_response_id is not None:
            sets.append("last_response_id = ?")
            params.append(last_response_id)
        async with self.database.transaction() as tx:
            changed = await tx.execute(
                f"UPDATE sessions SET {', '.join(sets)} WHERE id = ?", (*params, session_id)
            )
        if changed == 0:
            raise NotFound(f"Session {session_id!r} does not exist.")

    # ----------------------------------------------------------------- turns

    async def turns(self, session_id: str) -> list[TurnRecord]:
        """A session's turns in order, each with its bill lines and the ids of its images."""
        async with self.database.session() as tx:
            turn_rows = await tx.fetch(
                f"SELECT {TURN_COLUMNS} FROM turns WHERE session_id = ? ORDER BY turn",
                (session_id,),
            )
            line_rows = await tx.fetch(
                "SELECT turn, kind, model, tokens, rate_per_mtok_usd, cost_usd, owner, estimated "
                "FROM cost_lines WHERE session_id = ? ORDER BY turn, idx",
                (session_id,),
            )
            image_rows = await tx.fetch(
                "SELECT turn, id FROM images WHERE session_id = ? ORDER BY turn, rowid",
                (session_id,),
            )
        lines: dict[int, list[CostLine]] = {}
        for row in line_rows:
            lines.setdefault(row["turn"], []).append(cost_line(row))
        image_ids: dict[int, list[str]] = {}
        for row in image_rows:
            image_ids.setdefault(row["turn"], []).append(row["id"])
        return [
            turn_record(row, lines.get(row["turn"], []), image_ids.get(row["turn"], []))
            for row in turn_rows
        ]

    # ----------------------------------------------------------------- images

    async def get_image(self, image_id: str) -> ImageRecord | None:
        """The image with this id, or None."""
        row = await self._fetchone(f"SELECT {IMAGE_COLUMNS} FROM images WHERE id = ?", (image_id,))
        return image_record(row) if row is not None else None

    async def session_images(self, session_id: str) -> list[ImageRecord]:
        """A session's images, oldest first."""
        rows = await self._fetchall(
            f"SELECT {IMAGE_COLUMNS} FROM images WHERE session_id = ? ORDER BY turn, rowid",
            (session_id,),
        )
        return [image_record(row) for row in rows]

    async def ancestors(self, image_id: str) -> list[ImageRecord]:
        """The images ``image_id`` was made from: [root, ..., parent]. Empty for a root.

        A parent id that is not in the store ends the chain; a cycle cannot loop forever.
        """
        async with self.database.session() as tx:
            seen = tx.position("',' || images.parent_id || ','", "chain.path")
            rows = await tx.fetch(
                f"""
                WITH RECURSIVE chain(id, depth, path) AS (
                    SELECT parent_id, 1, ',' || id || ',' || parent_id || ',' FROM images
                    WHERE id = ? AND parent_id IS NOT NULL AND parent_id != id
                    UNION ALL
                    SELECT images.parent_id, chain.depth + 1, chain.path || images.parent_id || ','
                    FROM images JOIN chain ON images.id = chain.id
                    WHERE images.parent_id IS NOT NULL AND {seen} = 0
                )
                SELECT {prefixed("images", IMAGE_COLUMNS)} FROM chain
                JOIN images ON images.id = chain.id
                ORDER BY chain.depth DESC
                """,
                (image_id,),
            )
        return [image_record(row) for row in rows]

    async def session_spent(self, session_id: str) -> Decimal:
        """The known cost of all of a session's turns (unknown prices count as nothing)."""
        rows = await self._fetchall(
            "SELECT known_usd FROM turns WHERE session_id = ?", (session_id,)
        )
        return sum_money(rows)

    async def user_spent_since(self, user_id: str, since: datetime) -> Decimal:
        """The known cost of a user's turns started at or after ``since`` (timezone-aware)."""
        rows = await self._fetchall(
            "SELECT turns.known_usd FROM turns JOIN sessions ON sessions.id = turns.session_id "
            "WHERE sessions.user_id = ? AND turns.started_at >= ?",
            (user_id, ts(since)),
        )
        return sum_money(rows)

    async def app_spent_since(self, since: datetime) -> Decimal:
        """The known cost of every turn started at or after ``since`` (timezone-aware)."""
        rows = await self._fetchall(
            "SELECT known_usd FROM turns WHERE started_at >= ?", (ts(since),)
        )
        return sum_money(rows)

    # ----------------------------------------------------------------- request log

    async def exchanges(self, session_id: str) -> list[dict[str, Any]]:
        """A session's logged exchanges, oldest first, as stored (already scrubbed)."""
        rows = await self._fetchall(
            "SELECT id, session_id, turn, created_at, request_json, response_json, error "
            "FROM exchanges WHERE session_id = ? ORDER BY id",
            (session_id,),
        )
        return [
            {
                "id": row["id"],
                "session_id": row["session_id"],
                "turn": row["turn"],
                "created_at": datetime.fromisoformat(row["created_at"]),
                "request": json.loads(row["request_json"]),
                "response": (
                    json.loads(row["response_json"]) if row["response_json"] is not None else None
                ),
                "error": row["error"],
            }
            for row in rows
        ]

    # ----------------------------------------------------------------- upkeep

    async def delete_session(self, session_id: str) -> list[Path]:
        """Delete a session's content in one transaction; return image files now unused.

        Images, the request log, prompts and the title go; the turns and their cost lines
        stay (without their text), so daily spend and budgets cannot be reset by deleting.
        The session can no longer be opened. Files are content-addressed and may be shared
        with another session's identical image: only paths no other row uses are returned.
        """
        async with self.database.transaction() as tx:
            rows = await tx.fetch(
                "SELECT DISTINCT path FROM images WHERE session_id = ?", (session_id,)
            )
            paths = [str(row[0]) for row in rows]
            await tx.execute("DELETE FROM images WHERE session_id = ?", (session_id,))
            await tx.execute("DELETE FROM exchanges WHERE session_id = ?", (session_id,))
            await tx.execute(
                "UPDATE turns SET user_text = '', error_message = NULL WHERE session_id = ?",
                (session_id,),
            )
            await tx.execute(
                "UPDATE sessions SET title = '', deleted_at = ? WHERE id = ?",
                (ts(now()), session_id),
            )
            unused = []
            for path in paths:
                used = await tx.fetchrow("SELECT 1 FROM images WHERE path = ? LIMIT 1", (path,))
                if used is None:
                    unused.append(Path(path))
        return unused

    async def integrity_check(self) -> str:
        """ "ok" when the database is sound: SQLite's ``PRAGMA integrity_check`` verdict.

        PostgreSQL checks its own pages and constraints continuously; there the check is
        that a query round-trips.
        """
        if self.database.dialect == "postgres":
            row = await self._fetchone("SELECT 'ok'")
            return str(row[0]) if row is not None else "no answer"
        rows = await self._fetchall("PRAGMA integrity_check")
        return "\n".join(str(row[0]) for row in rows)

    async def image_paths(self) -> list[Path]:
        """The file path of every recorded image (for finding orphaned files)."""
        rows = await self._fetchall("SELECT DISTINCT path FROM images")
        return [Path(row[0]) for row in rows]
