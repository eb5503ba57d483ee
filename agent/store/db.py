"""The store: sessions, turns and their bills, images and their lineage, the request log.

This is the only module that writes SQL for these tables (the budget ledger's is in
``agent.store.ledger``). It runs on SQLite (the embedded default) or PostgreSQL through the
neutral interface of ``agent.store.database``: one SQL text, ``?`` placeholders, the same
numbered migrations. Writes run in one transaction each and roll back whole.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
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
    image_params,
    image_record,
    money,
    now,
    prefixed,
    session_record,
    sum_money,
    ts,
    turn_record,
)
from agent.store.schema import MIGRATIONS
from agent.store.scrub import dump_exchange, scrub

__all__ = ["MIGRATIONS_TABLE", "ImageConflict", "Store", "scrub"]

MIGRATIONS_TABLE = "_store_migrations"


class ImageConflict(ValueError):
    """An image id is already recorded by another turn; the whole turn was not recorded."""


class Store(Ledger):
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

    async def list_sessions(self, user_id: str, limit: int = 100) -> list[SessionRecord]:
        """A user's sessions, most recently updated first."""
        rows = await self._fetchall(
            f"SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = ? AND deleted_at IS NULL "
            "ORDER BY updated_at DESC, rowid DESC LIMIT ?",
            (user_id, limit),
        )
        return [session_record(row) for row in rows]

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

    async def next_turn_number(self, session_id: str) -> int:
        """The number the session's next turn gets (1 for a new session)."""
        row = await self._fetchone(
            "SELECT COALESCE(MAX(turn), 0) + 1 FROM turns WHERE session_id = ?", (session_id,)
        )
        return int(row[0]) if row is not None else 1

    async def record_turn(
        self,
        turn: TurnRecord,
        images: Sequence[ImageRecord],
        *,
        reservation_id: str | None = None,
    ) -> None:
        """Record a finished turn in one transaction: the turn, its cost lines, its images.

        Also moves the session on: ``updated_at``, ``turn_count`` and, for a turn whose
        response completed (status "ok" with a response id), ``last_response_id``. With a
        ``reservation_id`` the same transaction settles that budget reservation, so the
        turn's cost replaces its hold without a moment counted twice or not at all.
        Re-recording the same (session, turn) replaces its rows. Raises NotFound for an
        unknown session, ImageConflict when an image id belongs to another turn (nothing is
        written then), ValueError when an image is not from this turn.
        """
        for image in images:
            if (image.session_id, image.turn) != (turn.session_id, turn.turn):
                raise ValueError(
                    f"Image {image.id!r} is from session {image.session_id!r} turn {image.turn}, "
                    f"not from session {turn.session_id!r} turn {turn.turn}."
                )
        ids = [image.id for image in images]
        if len(set(ids)) != len(ids):
            raise ValueError(f"Turn {turn.turn} lists an image id twice: {ids}.")
        bill = turn.bill
        key = (turn.session_id, turn.turn)
        async with self.database.transaction() as tx:
            if await tx.fetchrow("SELECT 1 FROM sessions WHERE id = ?", (turn.session_id,)) is None:
                raise NotFound(f"Session {turn.session_id!r} does not exist.")
            await tx.execute("DELETE FROM cost_lines WHERE session_id = ? AND turn = ?", key)
            await tx.execute("DELETE FROM images WHERE session_id = ? AND turn = ?", key)
            await tx.execute("DELETE FROM turns WHERE session_id = ? AND turn = ?", key)
            await tx.execute(
                f"INSERT INTO turns ({TURN_COLUMNS}, total_usd, known_usd, estimated) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    turn.session_id,
                    turn.turn,
                    turn.user_text,
                    turn.target_image_id,
                    turn.response_id,
                    turn.status,
                    turn.error_code,
                    turn.error_message,
                    ts(turn.started_at),
                    turn.latency_ms,
                    dump_json(turn.settings),
                    dump_json(turn.usage.to_dict()),
                    money(bill.total_usd),
                    str(bill.known_usd),
                    int(bill.estimated),
                ),
            )
            await tx.executemany(
                "INSERT INTO cost_lines (session_id, turn, idx, kind, model, tokens, "
                "rate_per_mtok_usd, cost_usd, owner, estimated) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_line_params(key, idx, line) for idx, line in enumerate(bill.lines)],
            )
            for image in images:
                try:
                    await tx.execute(
                        f"INSERT INTO images ({IMAGE_COLUMNS}) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        image_params(image),
                    )
                except IntegrityError as exc:
                    raise ImageConflict(
                        f"Image id {image.id!r} is already recorded by another turn; "
                        f"turn {turn.turn} of session {turn.session_id!r} was not recorded."
                    ) from exc
            advance = turn.status == "ok" and turn.response_id is not None
            await tx.execute(
                "UPDATE sessions SET updated_at = ?, "
                "turn_count = (SELECT COUNT(*) FROM turns WHERE session_id = ?), "
                "last_response_id = CASE WHEN ? = 1 THEN ? ELSE last_response_id END "
                "WHERE id = ?",
                (ts(now()), turn.session_id, int(advance), turn.response_id, turn.session_id),
            )
            if reservation_id is not None:
                await self._close_reservation(tx, reservation_id, "settled")

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

    async def descendants(self, image_id: str) -> list[ImageRecord]:
        """Every image made (directly or not) from ``image_id``: breadth-first, oldest first."""
        async with self.database.session() as tx:
            seen = tx.position("',' || images.id || ','", "tree.path")
            rows = await tx.fetch(
                f"""
                WITH RECURSIVE tree(id, depth, path) AS (
                    SELECT id, 1, ',' || parent_id || ',' || id || ',' FROM images
                    WHERE parent_id = ? AND id != parent_id
                    UNION ALL
                    SELECT images.id, tree.depth + 1, tree.path || images.id || ','
                    FROM images JOIN tree ON images.parent_id = tree.id
                    WHERE {seen} = 0
                )
                SELECT {prefixed("images", IMAGE_COLUMNS)} FROM tree
                JOIN images ON images.id = tree.id
                ORDER BY tree.depth, images.created_at, images.rowid
                """,
                (image_id,),
            )
        return [image_record(row) for row in rows]

    # ----------------------------------------------------------------- spend

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

    async def log_exchange(
        self,
        *,
        session_id: str,
        turn: int,
        request: Mapping[str, Any],
        response: Mapping[str, Any] | None,
        error: str | None,
    ) -> None:
        """Log one request and its response (or error), with image payloads and keys removed."""
        request_json, response_json = await asyncio.to_thread(dump_exchange, request, response)
        async with self.database.transaction() as tx:
            await tx.execute(
                "INSERT INTO exchanges (session_id, turn, created_at, request_json, "
                "response_json, error) VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, turn, ts(now()), request_json, response_json, error),
            )

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


def _line_params(key: tuple[str, int], idx: int, line: CostLine) -> tuple[Any, ...]:
    return (
        *key,
        idx,
        line.kind,
        line.model,
        line.tokens,
        money(line.rate_per_mtok_usd),
        money(line.cost_usd),
        line.owner,
        int(line.estimated),
    )
