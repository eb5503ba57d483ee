"""The SQLite store: sessions, turns and their bills, images and their lineage, the request log.

This is the only module that writes SQL for these tables. Its public methods are the whole
interface, small enough that a Postgres module could replace it.

One aiosqlite connection per Store. Every operation holds one asyncio.Lock: the connection is
shared, so without it a reader could see (or a writer could join) another task's open
transaction. Writes run inside ``BEGIN IMMEDIATE`` ... ``COMMIT`` and roll back whole.
Money is stored as decimal strings and summed in Python (SQLite's SUM would go through float).
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import aiosqlite

from agent.billing.usage import ResponseUsage
from agent.errors import NotFound
from agent.store.migrations import apply_migrations
from agent.store.records import (
    CostLine,
    ImageRecord,
    LineKind,
    SessionRecord,
    TurnBill,
    TurnRecord,
    TurnStatus,
)
from agent.store.schema import MIGRATIONS
from agent.store.sqlite import connect

MIGRATIONS_TABLE = "_store_migrations"

_IMAGE_COLUMNS = (
    "id, session_id, response_id, turn, prompt, revised_prompt, action, parent_id, model, "
    "size, quality, output_format, background, path, sha256, width, height, bytes, "
    "latency_ms, created_at, reasoning_item_id"
)
_SESSION_COLUMNS = (
    "id, user_id, profile, title, settings_json, last_response_id, created_at, updated_at, "
    "turn_count"
)
_TURN_COLUMNS = (
    "session_id, turn, user_text, target_image_id, response_id, status, error_code, "
    "error_message, started_at, latency_ms, settings_json, usage_json"
)


class ImageConflict(ValueError):
    """An image id is already recorded by another turn; the whole turn was not recorded."""


class Store:
    """Async persistence for Atelier on one SQLite file. Open with ``await Store.open(path)``."""

    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        """Wrap an open, migrated connection. Use ``Store.open`` instead."""
        self._db = db
        self._lock = asyncio.Lock()
        self.path = path

    # ----------------------------------------------------------------- lifecycle

    @classmethod
    async def open(cls, path: Path) -> Store:
        """Open (creating if needed) the database at ``path`` and apply pending migrations.

        WAL journal, ``synchronous=NORMAL``, foreign keys on, a 5 s busy timeout, and
        autocommit mode so that every write transaction is an explicit ``BEGIN IMMEDIATE``.
        """
        db = await connect(path)
        try:
            await _migrate(db)
        except BaseException:
            await db.close()
            raise
        return cls(db, path)

    async def close(self) -> None:
        """Close the connection (waits for any operation in progress)."""
        async with self._lock:
            await self._db.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction: all of it commits or none of it does."""
        async with self._lock:
            try:
                # BEGIN sits inside the try: a cancel while it is queued must still roll back,
                # or the next writer would find a transaction left open.
                await self._db.execute("BEGIN IMMEDIATE")
                yield self._db
            except BaseException:
                await self._db.rollback()
                raise
            await self._db.commit()

    async def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        async with self._lock, self._db.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def _fetchone(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        async with self._lock, self._db.execute(sql, params) as cursor:
            return await cursor.fetchone()

    # ----------------------------------------------------------------- sessions

    async def create_session(self, record: SessionRecord) -> None:
        """Insert a new session. Raises ValueError if the id already exists."""
        try:
            async with self._write() as db:
                await db.execute(
                    f"INSERT INTO sessions ({_SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        record.id,
                        record.user_id,
                        record.profile,
                        record.title,
                        _json(record.settings),
                        record.last_response_id,
                        _ts(record.created_at),
                        _ts(record.updated_at),
                        record.turn_count,
                    ),
                )
        except sqlite3.IntegrityError as exc:
            raise ValueError(f"Session {record.id!r} already exists.") from exc

    async def get_session(self, session_id: str) -> SessionRecord | None:
        """The session with this id, or None."""
        row = await self._fetchone(
            f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ? AND deleted_at IS NULL",
            (session_id,),
        )
        return _session(row) if row is not None else None

    async def list_sessions(self, user_id: str | None, limit: int = 100) -> list[SessionRecord]:
        """A user's sessions (everyone's when ``user_id`` is None), most recently updated first."""
        who = "" if user_id is None else "user_id = ? AND "
        rows = await self._fetchall(
            f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE {who}deleted_at IS NULL "
            "ORDER BY updated_at DESC, rowid DESC LIMIT ?",
            (limit,) if user_id is None else (user_id, limit),
        )
        return [_session(row) for row in rows]

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
        params: list[Any] = [_ts(_now())]
        if settings is not None:
            sets.append("settings_json = ?")
            params.append(_json(settings))
        if title is not None:
            sets.append("title = ?")
            params.append(title)
        if last_response_id is not None:
            sets.append("last_response_id = ?")
            params.append(last_response_id)
        async with self._write() as db:
            cursor = await db.execute(
                f"UPDATE sessions SET {', '.join(sets)} WHERE id = ?", (*params, session_id)
            )
            changed = cursor.rowcount
            await cursor.close()
        if changed == 0:
            raise NotFound(f"Session {session_id!r} does not exist.")

    # ----------------------------------------------------------------- turns

    async def next_turn_number(self, session_id: str) -> int:
        """The number the session's next turn gets (1 for a new session)."""
        row = await self._fetchone(
            "SELECT COALESCE(MAX(turn), 0) + 1 FROM turns WHERE session_id = ?", (session_id,)
        )
        return int(row[0]) if row is not None else 1

    async def record_turn(self, turn: TurnRecord, images: Sequence[ImageRecord]) -> None:
        """Record a finished turn in one transaction: the turn, its cost lines, its images.

        Also moves the session on: ``updated_at``, ``turn_count`` and, for a turn whose
        response completed (status "ok" with a response id), ``last_response_id``.
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
        async with self._write() as db:
            async with db.execute("SELECT 1 FROM sessions WHERE id = ?", (turn.session_id,)) as c:
                if await c.fetchone() is None:
                    raise NotFound(f"Session {turn.session_id!r} does not exist.")
            await db.execute("DELETE FROM cost_lines WHERE session_id = ? AND turn = ?", key)
            await db.execute("DELETE FROM images WHERE session_id = ? AND turn = ?", key)
            await db.execute("DELETE FROM turns WHERE session_id = ? AND turn = ?", key)
            await db.execute(
                f"INSERT INTO turns ({_TURN_COLUMNS}, total_usd, known_usd, estimated) "
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
                    _ts(turn.started_at),
                    turn.latency_ms,
                    _json(turn.settings),
                    _json(turn.usage.to_dict()),
                    _money(bill.total_usd),
                    str(bill.known_usd),
                    int(bill.estimated),
                ),
            )
            await db.executemany(
                "INSERT INTO cost_lines (session_id, turn, idx, kind, model, tokens, "
                "rate_per_mtok_usd, cost_usd, owner, estimated) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        *key,
                        idx,
                        line.kind,
                        line.model,
                        line.tokens,
                        _money(line.rate_per_mtok_usd),
                        _money(line.cost_usd),
                        line.owner,
                        int(line.estimated),
                    )
                    for idx, line in enumerate(bill.lines)
                ],
            )
            for image in images:
                try:
                    await db.execute(
                        f"INSERT INTO images ({_IMAGE_COLUMNS}) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        _image_params(image),
                    )
                except sqlite3.IntegrityError as exc:
                    raise ImageConflict(
                        f"Image id {image.id!r} is already recorded by another turn; "
                        f"turn {turn.turn} of session {turn.session_id!r} was not recorded."
                    ) from exc
            advance = turn.status == "ok" and turn.response_id is not None
            await db.execute(
                "UPDATE sessions SET updated_at = ?, "
                "turn_count = (SELECT COUNT(*) FROM turns WHERE session_id = ?), "
                "last_response_id = CASE WHEN ? THEN ? ELSE last_response_id END "
                "WHERE id = ?",
                (_ts(_now()), turn.session_id, int(advance), turn.response_id, turn.session_id),
            )

    async def turns(self, session_id: str) -> list[TurnRecord]:
        """A session's turns in order, each with its bill lines and the ids of its images."""
        async with self._lock:
            async with self._db.execute(
                f"SELECT {_TURN_COLUMNS} FROM turns WHERE session_id = ? ORDER BY turn",
                (session_id,),
            ) as cursor:
                turn_rows = list(await cursor.fetchall())
            async with self._db.execute(
                "SELECT turn, kind, model, tokens, rate_per_mtok_usd, cost_usd, owner, estimated "
                "FROM cost_lines WHERE session_id = ? ORDER BY turn, idx",
                (session_id,),
            ) as cursor:
                line_rows = list(await cursor.fetchall())
            async with self._db.execute(
                "SELECT turn, id FROM images WHERE session_id = ? ORDER BY turn, rowid",
                (session_id,),
            ) as cursor:
                image_rows = list(await cursor.fetchall())
        lines: dict[int, list[CostLine]] = {}
        for row in line_rows:
            lines.setdefault(row["turn"], []).append(_cost_line(row))
        image_ids: dict[int, list[str]] = {}
        for row in image_rows:
            image_ids.setdefault(row["turn"], []).append(row["id"])
        return [
            _turn(row, lines.get(row["turn"], []), image_ids.get(row["turn"], []))
            for row in turn_rows
        ]

    # ----------------------------------------------------------------- images

    async def get_image(self, image_id: str) -> ImageRecord | None:
        """The image with this id, or None."""
        row = await self._fetchone(f"SELECT {_IMAGE_COLUMNS} FROM images WHERE id = ?", (image_id,))
        return _image(row) if row is not None else None

    async def session_images(self, session_id: str) -> list[ImageRecord]:
        """A session's images, oldest first."""
        rows = await self._fetchall(
            f"SELECT {_IMAGE_COLUMNS} FROM images WHERE session_id = ? ORDER BY turn, rowid",
            (session_id,),
        )
        return [_image(row) for row in rows]

    async def ancestors(self, image_id: str) -> list[ImageRecord]:
        """The images ``image_id`` was made from: [root, ..., parent]. Empty for a root.

        A parent id that is not in the store ends the chain; a cycle cannot loop forever.
        """
        rows = await self._fetchall(
            f"""
            WITH RECURSIVE chain(id, depth, path) AS (
                SELECT parent_id, 1, ',' || id || ',' || parent_id || ',' FROM images
                WHERE id = ? AND parent_id IS NOT NULL AND parent_id != id
                UNION ALL
                SELECT images.parent_id, chain.depth + 1, chain.path || images.parent_id || ','
                FROM images JOIN chain ON images.id = chain.id
                WHERE images.parent_id IS NOT NULL
                    AND instr(chain.path, ',' || images.parent_id || ',') = 0
            )
            SELECT {_prefixed("images", _IMAGE_COLUMNS)} FROM chain
            JOIN images ON images.id = chain.id
            ORDER BY chain.depth DESC
            """,
            (image_id,),
        )
        return [_image(row) for row in rows]

    async def descendants(self, image_id: str) -> list[ImageRecord]:
        """Every image made (directly or not) from ``image_id``: breadth-first, oldest first."""
        rows = await self._fetchall(
            f"""
            WITH RECURSIVE tree(id, depth, path) AS (
                SELECT id, 1, ',' || parent_id || ',' || id || ',' FROM images
                WHERE parent_id = ? AND id != parent_id
                UNION ALL
                SELECT images.id, tree.depth + 1, tree.path || images.id || ','
                FROM images JOIN tree ON images.parent_id = tree.id
                WHERE instr(tree.path, ',' || images.id || ',') = 0
            )
            SELECT {_prefixed("images", _IMAGE_COLUMNS)} FROM tree
            JOIN images ON images.id = tree.id
            ORDER BY tree.depth, images.created_at, images.rowid
            """,
            (image_id,),
        )
        return [_image(row) for row in rows]

    # ----------------------------------------------------------------- spend

    async def session_spent(self, session_id: str) -> Decimal:
        """The known cost of all of a session's turns (unknown prices count as nothing)."""
        rows = await self._fetchall(
            "SELECT known_usd FROM turns WHERE session_id = ?", (session_id,)
        )
        return _sum(rows)

    async def user_spent_since(self, user_id: str, since: datetime) -> Decimal:
        """The known cost of a user's turns started at or after ``since`` (timezone-aware)."""
        rows = await self._fetchall(
            "SELECT turns.known_usd FROM turns JOIN sessions ON sessions.id = turns.session_id "
            "WHERE sessions.user_id = ? AND turns.started_at >= ?",
            (user_id, _ts(since)),
        )
        return _sum(rows)

    async def app_spent_since(self, since: datetime) -> Decimal:
        """The known cost of every turn started at or after ``since`` (timezone-aware)."""
        rows = await self._fetchall(
            "SELECT known_usd FROM turns WHERE started_at >= ?", (_ts(since),)
        )
        return _sum(rows)

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
        request_json, response_json = await asyncio.to_thread(_dump_exchange, request, response)
        async with self._write() as db:
            await db.execute(
                "INSERT INTO exchanges (session_id, turn, created_at, request_json, "
                "response_json, error) VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, turn, _ts(_now()), request_json, response_json, error),
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
        async with self._write() as db:
            async with db.execute(
                "SELECT DISTINCT path FROM images WHERE session_id = ?", (session_id,)
            ) as cursor:
                paths = [str(row[0]) for row in await cursor.fetchall()]
            await db.execute("DELETE FROM images WHERE session_id = ?", (session_id,))
            await db.execute("DELETE FROM exchanges WHERE session_id = ?", (session_id,))
            await db.execute(
                "UPDATE turns SET user_text = '', error_message = NULL WHERE session_id = ?",
                (session_id,),
            )
            await db.execute(
                "UPDATE sessions SET title = '', deleted_at = ? WHERE id = ?",
                (_ts(_now()), session_id),
            )
            unused = []
            for path in paths:
                async with db.execute("SELECT 1 FROM images WHERE path = ? LIMIT 1", (path,)) as c:
                    if await c.fetchone() is None:
                        unused.append(Path(path))
        return unused

    async def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` verdict: "ok" when the file is sound."""
        rows = await self._fetchall("PRAGMA integrity_check")
        return "\n".join(str(row[0]) for row in rows)

    async def image_paths(self) -> list[Path]:
        """The file path of every recorded image (for finding orphaned files)."""
        rows = await self._fetchall("SELECT DISTINCT path FROM images")
        return [Path(row[0]) for row in rows]


# --------------------------------------------------------------------- migrations


async def _applied_migrations(db: aiosqlite.Connection) -> set[str]:
    async with db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (MIGRATIONS_TABLE,)
    ) as cursor:
        if await cursor.fetchone() is None:
            return set()
    async with db.execute(f"SELECT name FROM {MIGRATIONS_TABLE}") as cursor:
        return {str(row[0]) for row in await cursor.fetchall()}


async def _migrate(db: aiosqlite.Connection) -> None:
    """Apply pending migrations, tolerating other processes opening the same file at once.

    The runner reads the applied names before taking the write lock, so two openers can both
    try the same migration; the loser fails ("table ... already exists"). When that happens
    and someone else did apply migrations meanwhile, run again: the names are re-read.
    """
    while True:
        before = await _applied_migrations(db)
        try:
            await apply_migrations(db, MIGRATIONS, table=MIGRATIONS_TABLE)
            return
        except sqlite3.OperationalError:
            if await _applied_migrations(db) <= before:
                raise


# --------------------------------------------------------------------- row mapping


def _now() -> datetime:
    return datetime.now(UTC)


def _ts(value: datetime) -> str:
    """UTC ISO-8601 with fixed microseconds, so that strings sort as times do."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"Datetime {value!r} has no timezone; pass a timezone-aware datetime.")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _json(value: Mapping[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _sum(rows: Iterable[aiosqlite.Row]) -> Decimal:
    return sum((Decimal(row[0]) for row in rows), Decimal(0))


def _prefixed(table: str, columns: str) -> str:
    return ", ".join(f"{table}.{name.strip()}" for name in columns.split(","))


def _session(row: aiosqlite.Row) -> SessionRecord:
    return SessionRecord(
        id=row["id"],
        user_id=row["user_id"],
        profile=row["profile"],
        title=row["title"],
        settings=json.loads(row["settings_json"]),
        last_response_id=row["last_response_id"],
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
        turn_count=row["turn_count"],
    )


def _cost_line(row: aiosqlite.Row) -> CostLine:
    return CostLine(
        kind=cast(LineKind, row["kind"]),
        model=row["model"],
        tokens=row["tokens"],
        rate_per_mtok_usd=_decimal(row["rate_per_mtok_usd"]),
        cost_usd=_decimal(row["cost_usd"]),
        owner=row["owner"],
        estimated=bool(row["estimated"]),
    )


def _turn(row: aiosqlite.Row, lines: list[CostLine], image_ids: list[str]) -> TurnRecord:
    return TurnRecord(
        session_id=row["session_id"],
        turn=row["turn"],
        user_text=row["user_text"],
        status=cast(TurnStatus, row["status"]),
        started_at=datetime.fromisoformat(row["started_at"]),
        target_image_id=row["target_image_id"],
        response_id=row["response_id"],
        latency_ms=row["latency_ms"],
        settings=json.loads(row["settings_json"]),
        usage=ResponseUsage.from_dict(json.loads(row["usage_json"])),
        bill=TurnBill(tuple(lines)),
        error_code=row["error_code"],
        error_message=row["error_message"],
        image_ids=tuple(image_ids),
    )


def _image_params(image: ImageRecord) -> tuple[Any, ...]:
    return (
        image.id,
        image.session_id,
        image.response_id,
        image.turn,
        image.prompt,
        image.revised_prompt,
        image.action,
        image.parent_id,
        image.model,
        image.size,
        image.quality,
        image.output_format,
        image.background,
        str(image.path),
        image.sha256,
        image.width,
        image.height,
        image.bytes,
        image.latency_ms,
        _ts(image.created_at),
        image.reasoning_item_id,
    )


def _image(row: aiosqlite.Row) -> ImageRecord:
    return ImageRecord(
        id=row["id"],
        session_id=row["session_id"],
        response_id=row["response_id"],
        turn=row["turn"],
        prompt=row["prompt"],
        revised_prompt=row["revised_prompt"],
        action=row["action"],
        parent_id=row["parent_id"],
        model=row["model"],
        size=row["size"],
        quality=row["quality"],
        output_format=row["output_format"],
        background=row["background"],
        path=Path(row["path"]),
        sha256=row["sha256"],
        width=row["width"],
        height=row["height"],
        bytes=row["bytes"],
        latency_ms=row["latency_ms"],
        created_at=datetime.fromisoformat(row["created_at"]),
        reasoning_item_id=row["reasoning_item_id"],
    )


# --------------------------------------------------------------------- exchange scrubbing

_B64_KEYS = frozenset({"result", "partial_image_b64", "b64_json", "image_b64"})
_SECRET_KEYS = frozenset({"authorization", "api_key", "openai_api_key", "x-api-key", "api-key"})
_KEY_PATTERN = re.compile(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_\-]{20,}")
_DATA_URL = re.compile(r"^data:[\w/+.\-]*(?:;[\w=.\-]+)*;base64,", re.IGNORECASE)
_MIN_ELIDED = 64  # shorter "result" strings are ordinary text, not image payloads


def _elided(length: int) -> str:
    return f"<{length} bytes base64 elided>"


def scrub(value: Any) -> Any:
    """A JSON-ready copy of ``value`` without base64 image payloads or credentials.

    ``result``/``partial_image_b64``/``b64_json`` strings and ``data:...;base64,`` URLs are
    replaced by "<N bytes base64 elided>" (N = length of the base64 text); values under
    Authorization/api_key-like keys and anything shaped like an OpenAI key are redacted.
    """
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = str(key)
            if name.lower() in _SECRET_KEYS:
                out[name] = "<redacted>"
            elif name in _B64_KEYS and isinstance(item, str) and len(item) >= _MIN_ELIDED:
                out[name] = _elided(len(item))
            else:
                out[name] = scrub(item)
        return out
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    if isinstance(value, str):
        match = _DATA_URL.match(value)
        if match:
            return value[: match.end()] + _elided(len(value) - match.end())
        return _KEY_PATTERN.sub("<redacted>", value)
    return value


def _dump_exchange(
    request: Mapping[str, Any], response: Mapping[str, Any] | None
) -> tuple[str, str | None]:
    request_json = json.dumps(scrub(request), default=str)
    response_json = None if response is None else json.dumps(scrub(response), default=str)
    return request_json, response_json
