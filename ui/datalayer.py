"""Chainlit's persistence on our own SQLite file: users, threads, steps, elements, feedback.

Chainlit's SQLAlchemy layer loses steps on SQLite and its default layer needs Postgres, so
this is a ``BaseDataLayer`` on one aiosqlite connection, modelled on Chainlit's own
``ChainlitDataLayer`` (same upsert rules, same cursor pagination), plus read-only sharing.

One connection, opened lazily, WAL + ``busy_timeout`` so the agent store can use the same
file; every use of it holds one asyncio lock, so one coroutine's transaction never
interleaves with another's statements. Element bytes go through the storage client (outside
the lock); rows keep the object key and the URL is resolved on read.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar, cast

import aiosqlite
from chainlit.data.base import BaseDataLayer
from chainlit.data.storage_clients.base import BaseStorageClient
from chainlit.data.utils import queue_until_user_message
from chainlit.types import (
    Feedback,
    FeedbackDict,
    PageInfo,
    PaginatedResponse,
    Pagination,
    ThreadDict,
    ThreadFilter,
)
from chainlit.user import PersistedUser, User

from agent.errors import NotFound
from agent.store.migrations import apply_migrations
from agent.store.sqlite import connect
from ui.storage import SINGLE_USER_IDENTIFIER
from ui.ui_schema import UI_MIGRATIONS, UI_MIGRATIONS_TABLE

if TYPE_CHECKING:
    from chainlit.element import Element, ElementDict
    from chainlit.step import StepDict

_P = ParamSpec("_P")
_R = TypeVar("_R")

MAX_THREAD_NAME = 255
MAX_PAGE_SIZE = 200


def _queued(fn: Callable[_P, Awaitable[_R]]) -> Callable[_P, Awaitable[_R | None]]:
    """Chainlit's ``queue_until_user_message``, typed: writes wait for the first message.

    In a websocket session before the user's first message the call is queued (and returns
    None); Chainlit flushes the queue once the thread exists. Elsewhere it runs at once.
    """
    return cast(Callable[_P, Awaitable[_R | None]], queue_until_user_message()(fn))  # type: ignore[no-untyped-call]


def now_iso() -> str:
    """The current UTC time, fixed width with microseconds, so timestamps sort as text."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def normalize_timestamp(value: object) -> str | None:
    """Chainlit's ISO strings (``utc_now()`` drops ``.000000``) in one fixed-width UTC form.

    A value that is not ISO-8601 is kept as given rather than lost.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _dumps(value: object) -> str:
    return json.dumps(value, default=str)


def _loads(text: str | None, default: Any) -> Any:
    if text is None or text == "":
        return default
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return default


def _as_text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return _dumps(value)


def _as_int(value: object) -> int | None:
    return None if value is None else int(bool(value))


def _as_bool(value: object) -> bool | None:
    return None if value is None else bool(value)


def _object_key(thread_id: str | None, element_id: str) -> str:
    # The same layout as Chainlit's own data layer; the thread id lets the route authorize.
    return f"threads/{thread_id}/files/{element_id}" if thread_id else f"files/{element_id}"


class SQLiteDataLayer(BaseDataLayer):
    """Chainlit data layer on SQLite (aiosqlite), with a storage client for element bytes."""

    def __init__(
        self,
        db_path: Path,
        storage: BaseStorageClient | None = None,
        on_thread_deleted: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.db_path = Path(db_path)
        self.storage = storage
        self.on_thread_deleted = on_thread_deleted
        """Called after a thread is deleted (the app deletes the agent session with it)."""
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._closed = False

    # ------------------------------------------------------------------ connection

    async def _connection(self) -> aiosqlite.Connection:
        if self._closed:
            raise RuntimeError("the data layer is closed")
        if self._db is None:
            db = await connect(self.db_path)
            try:
                await apply_migrations(db, UI_MIGRATIONS, table=UI_MIGRATIONS_TABLE)
            except BaseException:
                await db.close()
                raise
            self._db = db
        return self._db

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._lock:
            yield await self._connection()

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._lock:
            db = await self._connection()
            try:
                # BEGIN inside the try, as the store does: a cancel while it waits for the
                # file's write lock must still roll back, or the next writer finds it open.
                await db.execute("BEGIN IMMEDIATE")
                yield db
            except BaseException:
                await db.rollback()
                raise
            await db.commit()

    async def close(self) -> None:
        """Close the connection and the storage client. Safe to call twice."""
        async with self._lock:
            self._closed = True
            if self._db is not None:
                await self._db.close()
                self._db = None
        if self.storage is not None:
            await self.storage.close()

    @staticmethod
    async def _one(
        db: aiosqlite.Connection, sql: str, params: Sequence[Any] = ()
    ) -> sqlite3.Row | None:
        async with db.execute(sql, params) as cursor:
            return await cursor.fetchone()

    @staticmethod
    async def _all(
        db: aiosqlite.Connection, sql: str, params: Sequence[Any] = ()
    ) -> list[sqlite3.Row]:
        async with db.execute(sql, params) as cursor:
            return cast(list[sqlite3.Row], list(await cursor.fetchall()))

    # ------------------------------------------------------------------ users

    @staticmethod
    def _user(row: sqlite3.Row) -> PersistedUser:
        return PersistedUser(
            id=row["id"],
            identifier=row["identifier"],
            display_name=row["display_name"],
            createdAt=row["created_at"],
            metadata=_loads(row["metadata_json"], {}),
        )

    async def get_user(self, identifier: str) -> PersistedUser | None:
        """The persisted user with this identifier, or None."""
        async with self._read() as db:
            row = await self._one(db, "SELECT * FROM cl_users WHERE identifier = ?", (identifier,))
        return None if row is None else self._user(row)

    async def create_user(self, user: User) -> PersistedUser | None:
        """Create the user, or update the metadata of the one with the same identifier."""
        async with self._write() as db:
            await db.execute(
                """
                INSERT INTO cl_users (id, identifier, display_name, metadata_json, created_at)
                VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (identifier) DO UPDATE SET
                    metadata_json = excluded.metadata_json,
                    display_name = COALESCE(excluded.display_name, cl_users.display_name)
                """,
                (
                    str(uuid.uuid4()),
                    user.identifier,
                    user.display_name,
                    _dumps(user.metadata or {}),
                    now_iso(),
                ),
            )
            row = await self._one(
                db, "SELECT * FROM cl_users WHERE identifier = ?", (user.identifier,)
            )
        return None if row is None else self._user(row)

    # ------------------------------------------------------------------ feedback

    async def upsert_feedback(self, feedback: Feedback) -> str:
        """Store the feedback on a step (one per step; a new one replaces the old)."""
        async with self._write() as db:
            feedback_id = feedback.id
            if feedback_id is None:
                existing = await self._one(
                    db, "SELECT id FROM cl_feedbacks WHERE for_id = ?", (feedback.forId,)
                )
                feedback_id = existing["id"] if existing else str(uuid.uuid4())
            thread_id = feedback.threadId
            if thread_id is None:
                step = await self._one(
                    db, "SELECT thread_id FROM cl_steps WHERE id = ?", (feedback.forId,)
                )
                thread_id = step["thread_id"] if step else None
            await db.execute(
                """
                INSERT INTO cl_feedbacks (id, for_id, thread_id, name, value, comment, created_at)
                VALUES (?, ?, ?, 'user_feedback', ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET
                    value = excluded.value, comment = excluded.comment
                """,
                (
                    feedback_id,
                    feedback.forId,
                    thread_id,
                    int(feedback.value),
                    feedback.comment,
                    now_iso(),
                ),
            )
        return feedback_id

    async def delete_feedback(self, feedback_id: str) -> bool:
        """Delete a feedback; True if it existed."""
        async with self._write() as db:
            cursor = await db.execute("DELETE FROM cl_feedbacks WHERE id = ?", (feedback_id,))
            deleted = cursor.rowcount > 0
            await cursor.close()
        return deleted

    # ------------------------------------------------------------------ elements

    @_queued
    async def create_element(self, element: Element) -> None:
        """Persist an element: bytes through the storage client, the row here."""
        if not element.for_id:
            return
        object_key: str | None = None
        if self.storage is not None:
            content: bytes | str | None = None
            if element.path:
                content = await asyncio.to_thread(Path(element.path).read_bytes)
            elif element.content:
                content = element.content
            elif not element.url:
                raise ValueError("an element needs a url, a path or content to be stored")
            if content is not None:
                object_key = _object_key(element.thread_id, element.id)
                await self.storage.upload_file(
                    object_key=object_key,
                    data=content,
                    mime=element.mime or "application/octet-stream",
                    overwrite=True,
                )
        async with self._write() as db:
            if element.thread_id:
                await self._ensure_thread(db, element.thread_id)
            await self._ensure_step(db, element.for_id, element.thread_id)
            await db.execute(
                """
                INSERT INTO cl_elements (
                    id, thread_id, for_id, type, name, mime, object_key, url, chainlit_key,
                    display, size, language, page, props_json, auto_play, player_config_json,
                    created_at
                ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET
                    thread_id = COALESCE(excluded.thread_id, cl_elements.thread_id),
                    for_id = excluded.for_id,
                    type = excluded.type,
                    name = excluded.name,
                    mime = excluded.mime,
                    object_key = COALESCE(excluded.object_key, cl_elements.object_key),
                    url = excluded.url,
                    chainlit_key = excluded.chainlit_key,
                    display = excluded.display,
                    size = excluded.size,
                    language = excluded.language,
                    page = excluded.page,
                    props_json = excluded.props_json,
                    auto_play = excluded.auto_play,
                    player_config_json = excluded.player_config_json
                """,
                (
                    element.id,
                    element.thread_id or None,
                    element.for_id,
                    element.type,
                    element.name,
                    element.mime,
                    object_key,
                    element.url,
                    element.chainlit_key,
                    element.display,
                    getattr(element, "size", None),
                    element.language,
                    getattr(element, "page", None),
                    _dumps(getattr(element, "props", None) or {}),
                    _as_int(getattr(element, "auto_play", None)),
                    _dumps(getattr(element, "player_config", None)),
                    now_iso(),
                ),
            )

    async def _element_dict(self, row: sqlite3.Row) -> ElementDict:
        url = row["url"]
        if not url and row["object_key"] and self.storage is not None:
            url = await self.storage.get_read_url(row["object_key"])
        auto_play = _as_bool(row["auto_play"])
        return cast(
            "ElementDict",
            {
                "id": row["id"],
                "threadId": row["thread_id"],
                "type": row["type"],
                "url": url,
                "name": row["name"],
                "mime": row["mime"],
                "objectKey": row["object_key"],
                "forId": row["for_id"],
                "chainlitKey": row["chainlit_key"],
                "display": row["display"],
                "size": row["size"],
                "language": row["language"],
                "page": row["page"],
                "autoPlay": auto_play,
                "playerConfig": _loads(row["player_config_json"], None),
                "props": _loads(row["props_json"], {}),
            },
        )

    async def get_element(self, thread_id: str, element_id: str) -> ElementDict | None:
        """One element of a thread, with its read URL."""
        async with self._read() as db:
            row = await self._one(
                db,
                "SELECT * FROM cl_elements WHERE id = ? AND thread_id = ?",
                (element_id, thread_id),
            )
        return None if row is None else await self._element_dict(row)

    @_queued
    async def delete_element(self, element_id: str, thread_id: str | None = None) -> None:
        """Delete an element's row and its stored file."""
        sql = "FROM cl_elements WHERE id = ?"
        params: list[Any] = [element_id]
        if thread_id:
            sql += " AND thread_id = ?"
            params.append(thread_id)
        async with self._write() as db:
            rows = await self._all(db, f"SELECT object_key {sql}", params)
            await db.execute(f"DELETE {sql}", params)
        await self._delete_files(row["object_key"] for row in rows)

    async def _delete_files(self, keys: Iterable[str | None]) -> None:
        if self.storage is None:
            return
        for key in keys:
            if key:
                await self.storage.delete_file(key)

    # ------------------------------------------------------------------ steps

    async def _ensure_thread(self, db: aiosqlite.Connection, thread_id: str) -> None:
        now = now_iso()
        await db.execute(
            """
            INSERT INTO cl_threads (id, metadata_json, created_at, updated_at)
            VALUES (?, '{}', ?, ?) ON CONFLICT (id) DO NOTHING
            """,
            (thread_id, now, now),
        )

    async def _ensure_step(
        self, db: aiosqlite.Connection, step_id: str, thread_id: str | None
    ) -> None:
        # A placeholder "run" step, as Chainlit's layer makes, so children have a parent.
        await db.execute(
            """
            INSERT INTO cl_steps (id, thread_id, type, metadata_json, created_at, start, "end", seq)
            VALUES (?, ?, 'run', '{}', ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM cl_steps))
            ON CONFLICT (id) DO NOTHING
            """,
            (step_id, thread_id or None, *(now_iso(),) * 3),
        )

    async def _upsert_step(self, db: aiosqlite.Connection, step: StepDict) -> None:
        thread_id = step.get("threadId") or None
        if thread_id:
            await self._ensure_thread(db, thread_id)
            await db.execute(
                "UPDATE cl_threads SET updated_at = ? WHERE id = ?", (now_iso(), thread_id)
            )
        parent_id = step.get("parentId") or None
        if parent_id:
            await self._ensure_step(db, parent_id, thread_id)
        metadata = step.get("metadata") or {}
        created_at = normalize_timestamp(step.get("createdAt")) or now_iso()
        show_input = step.get("showInput")
        await db.execute(
            """
            INSERT INTO cl_steps (
                id, thread_id, parent_id, name, type, command, modes_json, streaming,
                wait_for_answer, is_error, metadata_json, tags_json, input, output, created_at,
                start, "end", generation_json, show_input_json, default_open, auto_collapse,
                language, icon, seq
            ) VALUES (
                ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
                (SELECT COALESCE(MAX(seq), 0) + 1 FROM cl_steps)
            )
            ON CONFLICT (id) DO UPDATE SET
                thread_id = COALESCE(excluded.thread_id, cl_steps.thread_id),
                parent_id = COALESCE(excluded.parent_id, cl_steps.parent_id),
                name = COALESCE(excluded.name, cl_steps.name),
                type = CASE WHEN excluded.type = 'run' AND cl_steps.type IS NOT NULL
                            THEN cl_steps.type ELSE excluded.type END,
                command = COALESCE(excluded.command, cl_steps.command),
                modes_json = COALESCE(excluded.modes_json, cl_steps.modes_json),
                streaming = COALESCE(excluded.streaming, cl_steps.streaming),
                wait_for_answer = COALESCE(excluded.wait_for_answer, cl_steps.wait_for_answer),
                is_error = COALESCE(excluded.is_error, cl_steps.is_error),
                metadata_json = CASE WHEN excluded.metadata_json <> '{}'
                                     THEN excluded.metadata_json ELSE cl_steps.metadata_json END,
                tags_json = COALESCE(excluded.tags_json, cl_steps.tags_json),
                input = COALESCE(NULLIF(excluded.input, ''), cl_steps.input),
                output = COALESCE(NULLIF(excluded.output, ''), cl_steps.output),
                created_at = MIN(COALESCE(cl_steps.created_at, excluded.created_at),
                                 excluded.created_at),
                start = COALESCE(cl_steps.start, excluded.start),
                "end" = COALESCE(excluded."end", cl_steps."end"),
                generation_json = COALESCE(excluded.generation_json, cl_steps.generation_json),
                show_input_json = COALESCE(excluded.show_input_json, cl_steps.show_input_json),
                default_open = COALESCE(excluded.default_open, cl_steps.default_open),
                auto_collapse = COALESCE(excluded.auto_collapse, cl_steps.auto_collapse),
                language = COALESCE(excluded.language, cl_steps.language),
                icon = COALESCE(excluded.icon, cl_steps.icon)
            """,
            (
                step["id"],
                thread_id,
                parent_id,
                step.get("name"),
                step.get("type") or "undefined",
                step.get("command"),
                None if step.get("modes") is None else _dumps(step.get("modes")),
                _as_int(step.get("streaming")),
                _as_int(step.get("waitForAnswer")),
                _as_int(step.get("isError")),
                _dumps(metadata),
                None if step.get("tags") is None else _dumps(step.get("tags")),
                _as_text(step.get("input")),
                _as_text(step.get("output")),
                created_at,
                normalize_timestamp(step.get("start")),
                normalize_timestamp(step.get("end")),
                None if step.get("generation") is None else _dumps(step.get("generation")),
                None if show_input is None else _dumps(show_input),
                _as_int(step.get("defaultOpen")),
                _as_int(step.get("autoCollapse")),
                step.get("language"),
                step.get("icon") or metadata.get("icon"),
            ),
        )

    @_queued
    async def create_step(self, step_dict: StepDict) -> None:
        """Create or merge a step (Chainlit's upsert rules: empty values never erase)."""
        async with self._write() as db:
            await self._upsert_step(db, step_dict)

    @_queued
    async def update_step(self, step_dict: StepDict) -> None:
        """Merge a step's new state into the stored one."""
        async with self._write() as db:
            await self._upsert_step(db, step_dict)

    @_queued
    async def delete_step(self, step_id: str) -> None:
        """Delete a step, its descendants, their elements (and files) and feedback."""
        async with self._write() as db:
            await db.execute(
                """
                CREATE TEMP TABLE IF NOT EXISTS _doomed_steps (id TEXT PRIMARY KEY)
                """
            )
            await db.execute("DELETE FROM _doomed_steps")
            await db.execute(
                """
                INSERT INTO _doomed_steps (id)
                WITH RECURSIVE tree(id) AS (
                    SELECT ?
                    UNION SELECT s.id FROM cl_steps s JOIN tree ON s.parent_id = tree.id
                )
                SELECT id FROM tree
                """,
                (step_id,),
            )
            rows = await self._all(
                db,
                "SELECT object_key FROM cl_elements WHERE for_id IN (SELECT id FROM _doomed_steps)",
            )
            for table, column in (("cl_elements", "for_id"), ("cl_feedbacks", "for_id")):
                await db.execute(
                    f"DELETE FROM {table} WHERE {column} IN (SELECT id FROM _doomed_steps)"
                )
            await db.execute("DELETE FROM cl_steps WHERE id IN (SELECT id FROM _doomed_steps)")
            await db.execute("DELETE FROM _doomed_steps")
        await self._delete_files(row["object_key"] for row in rows)

    @staticmethod
    def _step_dict(row: sqlite3.Row) -> StepDict:
        feedback: FeedbackDict | None = None
        if row["feedback_id"] is not None:
            feedback = {
                "forId": row["id"],
                "id": row["feedback_id"],
                "value": cast(Literal[0, 1], int(row["feedback_value"])),
                "comment": row["feedback_comment"],
            }
        return cast(
            "StepDict",
            {
                "id": row["id"],
                "threadId": row["thread_id"] or "",
                "parentId": row["parent_id"],
                "name": row["name"] if row["name"] is not None else "",
                "type": row["type"],
                "command": row["command"],
                "modes": _loads(row["modes_json"], None),
                "streaming": bool(row["streaming"]),
                "waitForAnswer": _as_bool(row["wait_for_answer"]),
                "isError": _as_bool(row["is_error"]),
                "metadata": _loads(row["metadata_json"], {}),
                "tags": _loads(row["tags_json"], None),
                "input": row["input"] if row["input"] is not None else "",
                "output": row["output"] if row["output"] is not None else "",
                "createdAt": row["created_at"],
                "start": row["start"],
                "end": row["end"],
                "generation": _loads(row["generation_json"], None),
                "showInput": _loads(row["show_input_json"], None),
                "defaultOpen": _as_bool(row["default_open"]),
                "autoCollapse": _as_bool(row["auto_collapse"]),
                "language": row["language"],
                "icon": row["icon"],
                "feedback": feedback,
            },
        )

    _STEPS_WITH_FEEDBACK = """
        SELECT s.*, f.id AS feedback_id, f.value AS feedback_value, f.comment AS feedback_comment
        FROM cl_steps s
        LEFT JOIN cl_feedbacks f ON f.id = (
            SELECT id FROM cl_feedbacks WHERE for_id = s.id ORDER BY created_at DESC LIMIT 1
        )
    """

    async def get_favorite_steps(self, user_id: str) -> list[StepDict]:
        """Steps marked favourite (metadata.favorite) in the user's threads, newest first."""
        async with self._read() as db:
            rows = await self._all(
                db,
                self._STEPS_WITH_FEEDBACK
                + """
                JOIN cl_threads t ON t.id = s.thread_id
                WHERE t.user_id = ? AND t.deleted_at IS NULL
                  AND json_extract(s.metadata_json, '$.favorite') = 1
                ORDER BY s.created_at DESC, s.seq DESC
                """,
                (user_id,),
            )
        return [self._step_dict(row) for row in rows]

    # ------------------------------------------------------------------ threads

    async def get_thread_author(self, thread_id: str) -> str:
        """The identifier of the thread's user; "" if the thread is unknown or has no user."""
        async with self._read() as db:
            author = await self._author(db, thread_id)
        return author or ""

    async def _author(self, db: aiosqlite.Connection, thread_id: str) -> str | None:
        row = await self._one(
            db,
            """
            SELECT COALESCE(u.identifier, t.user_identifier) AS identifier
            FROM cl_threads t LEFT JOIN cl_users u ON u.id = t.user_id
            WHERE t.id = ? AND t.deleted_at IS NULL
            """,
            (thread_id,),
        )
        return None if row is None else row["identifier"]

    async def delete_thread(self, thread_id: str) -> None:
        """Delete a thread with its steps, elements (and files), feedback and share."""
        async with self._write() as db:
            rows = await self._all(
                db, "SELECT object_key FROM cl_elements WHERE thread_id = ?", (thread_id,)
            )
            await db.execute(
                """
                DELETE FROM cl_feedbacks WHERE thread_id = ?
                   OR for_id IN (SELECT id FROM cl_steps WHERE thread_id = ?)
                """,
                (thread_id, thread_id),
            )
            await db.execute("DELETE FROM cl_threads WHERE id = ?", (thread_id,))
        await self._delete_files(row["object_key"] for row in rows)
        if self.on_thread_deleted is not None:
            await self.on_thread_deleted(thread_id)

    @staticmethod
    def _thread_dict(row: sqlite3.Row, *, created_at: str) -> ThreadDict:
        return {
            "id": row["id"],
            "createdAt": created_at,
            "name": row["name"],
            "userId": row["user_id"],
            "userIdentifier": row["author"],
            "tags": _loads(row["tags_json"], []),
            "metadata": _loads(row["metadata_json"], {}),
            "steps": [],
            "elements": [],
        }

    _THREADS = """
        SELECT t.*, COALESCE(u.identifier, t.user_identifier) AS author
        FROM cl_threads t LEFT JOIN cl_users u ON u.id = t.user_id
        WHERE t.deleted_at IS NULL
    """

    async def list_threads(
        self, pagination: Pagination, filters: ThreadFilter
    ) -> PaginatedResponse[ThreadDict]:
        """One page of a user's threads, most recently updated first.

        Only ``filters.userId``'s threads are listed; without a user the page is empty.
        ``pagination.cursor`` is the id of the last thread of the previous page.
        """
        first = max(0, min(pagination.first, MAX_PAGE_SIZE))
        if not filters.userId:
            return PaginatedResponse(
                pageInfo=PageInfo(hasNextPage=False, startCursor=None, endCursor=None), data=[]
            )
        sql = self._THREADS + " AND t.user_id = ?"
        params: list[Any] = [filters.userId]
        if filters.search:
            escaped = filters.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            sql += " AND t.name LIKE ? ESCAPE '\\'"
            params.append(f"%{escaped}%")
        if filters.feedback is not None:
            sql += """
                AND EXISTS (
                    SELECT 1 FROM cl_feedbacks f JOIN cl_steps s ON s.id = f.for_id
                    WHERE s.thread_id = t.id AND f.value = ?
                )
            """
            params.append(int(filters.feedback))
        async with self._read() as db:
            if pagination.cursor:
                anchor = await self._one(
                    db, "SELECT updated_at, id FROM cl_threads WHERE id = ?", (pagination.cursor,)
                )
                if anchor is not None:
                    sql += " AND (t.updated_at < ? OR (t.updated_at = ? AND t.id < ?))"
                    params += [anchor["updated_at"], anchor["updated_at"], anchor["id"]]
            sql += " ORDER BY t.updated_at DESC, t.id DESC LIMIT ?"
            params.append(first + 1)
            rows = await self._all(db, sql, params)
        has_next_page = len(rows) > first
        rows = rows[:first]
        # Like Chainlit's layer: the list's createdAt is the last activity, for the sidebar.
        threads = [self._thread_dict(row, created_at=row["updated_at"]) for row in rows]
        return PaginatedResponse(
            pageInfo=PageInfo(
                hasNextPage=has_next_page,
                startCursor=threads[0]["id"] if threads else None,
                endCursor=threads[-1]["id"] if threads else None,
            ),
            data=threads,
        )

    async def get_thread(self, thread_id: str) -> ThreadDict | None:
        """A thread with its steps (in creation order, feedback attached) and elements."""
        async with self._read() as db:
            row = await self._one(db, self._THREADS + " AND t.id = ?", (thread_id,))
            if row is None:
                return None
            step_rows = await self._all(
                db,
                self._STEPS_WITH_FEEDBACK
                + " WHERE s.thread_id = ? ORDER BY COALESCE(s.created_at, s.start), s.seq",
                (thread_id,),
            )
            element_rows = await self._all(
                db,
                "SELECT * FROM cl_elements WHERE thread_id = ? ORDER BY created_at, id",
                (thread_id,),
            )
        thread = self._thread_dict(row, created_at=row["created_at"])
        thread["steps"] = [self._step_dict(step) for step in step_rows]
        thread["elements"] = [await self._element_dict(element) for element in element_rows]
        return thread

    async def update_thread(
        self,
        thread_id: str,
        name: str | None = None,
        user_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        tags: list[str] | None = None,
    ) -> None:
        """Create the thread if needed and apply what is given.

        ``metadata`` is merged into the stored one; a key set to None is removed. Setting
        ``is_shared`` in it (Chainlit's own share toggle) shares or unshares the thread.
        """
        async with self._write() as db:
            await self._update_thread(db, thread_id, name, user_id, metadata, tags)

    async def _update_thread(
        self,
        db: aiosqlite.Connection,
        thread_id: str,
        name: str | None,
        user_id: str | None,
        metadata: dict[str, Any] | None,
        tags: list[str] | None,
    ) -> None:
        existing = await self._one(db, "SELECT * FROM cl_threads WHERE id = ?", (thread_id,))
        has_updates = any(v is not None for v in (name, user_id, metadata, tags))
        if existing is not None and not has_updates:
            return
        incoming = metadata or {}
        if name is None and isinstance(incoming.get("name"), str):
            name = incoming["name"]
        merged = _loads(existing["metadata_json"], {}) if existing is not None else {}
        merged = {k: v for k, v in merged.items() if not (k in incoming and incoming[k] is None)}
        merged.update({k: v for k, v in incoming.items() if v is not None})
        user_identifier: str | None = None
        if user_id is not None:
            user = await self._one(db, "SELECT identifier FROM cl_users WHERE id = ?", (user_id,))
            if user is None:
                raise NotFound(
                    "That user is not known here; sign in again.", detail=f"user id {user_id}"
                )
            user_identifier = user["identifier"]
        now = now_iso()
        await db.execute(
            """
            INSERT INTO cl_threads (
                id, name, user_id, user_identifier, tags_json, metadata_json, created_at, updated_at
            ) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET
                name = COALESCE(excluded.name, cl_threads.name),
                user_id = COALESCE(excluded.user_id, cl_threads.user_id),
                user_identifier = COALESCE(excluded.user_identifier, cl_threads.user_identifier),
                tags_json = COALESCE(excluded.tags_json, cl_threads.tags_json),
                metadata_json = excluded.metadata_json,
                updated_at = excluded.updated_at
            """,
            (
                thread_id,
                None if name is None else name[:MAX_THREAD_NAME],
                user_id,
                user_identifier,
                None if tags is None else _dumps(tags),
                _dumps(merged),
                now,
                now,
            ),
        )
        if "is_shared" in incoming:
            await self._sync_share(db, thread_id, bool(incoming["is_shared"]), None)

    # ------------------------------------------------------------------ sharing

    async def _sync_share(
        self, db: aiosqlite.Connection, thread_id: str, shared: bool, by: str | None
    ) -> None:
        if shared:
            shared_by = by if by is not None else await self._author(db, thread_id)
            await db.execute(
                """
                INSERT INTO cl_thread_shares (thread_id, shared_by, created_at) VALUES (?, ?, ?)
                ON CONFLICT (thread_id) DO NOTHING
                """,
                (thread_id, shared_by, now_iso()),
            )
        else:
            await db.execute("DELETE FROM cl_thread_shares WHERE thread_id = ?", (thread_id,))

    async def _require_owner(
        self, db: aiosqlite.Connection, thread_id: str, user_identifier: str
    ) -> None:
        exists = await self._one(
            db, "SELECT 1 FROM cl_threads WHERE id = ? AND deleted_at IS NULL", (thread_id,)
        )
        author = await self._author(db, thread_id) if exists else None
        if exists is None or not _is_owner(author, user_identifier):
            # Same answer for "missing" and "not yours": existence is not revealed.
            raise NotFound(
                "That conversation does not exist or is not yours to share.",
                detail=f"thread {thread_id}",
            )

    async def share_thread(self, thread_id: str, user_identifier: str) -> None:
        """Let any signed-in user read the thread (read-only). Only its owner may share it.

        Also sets Chainlit's ``metadata.is_shared`` so its /share/<id> page shows it.
        Raises ``NotFound`` if the thread is missing or not ``user_identifier``'s.
        """
        async with self._write() as db:
            await self._require_owner(db, thread_id, user_identifier)
            await self._update_thread(
                db, thread_id, None, None, {"is_shared": True, "shared_at": now_iso()}, None
            )
            await self._sync_share(db, thread_id, True, user_identifier)

    async def unshare_thread(self, thread_id: str, user_identifier: str) -> None:
        """Stop sharing the thread. Only its owner may; raises ``NotFound`` otherwise."""
        async with self._write() as db:
            await self._require_owner(db, thread_id, user_identifier)
            await self._update_thread(
                db, thread_id, None, None, {"is_shared": False, "shared_at": None}, None
            )

    async def is_shared(self, thread_id: str) -> bool:
        """True if the thread is shared read-only."""
        async with self._read() as db:
            row = await self._one(
                db,
                """
                SELECT 1 FROM cl_thread_shares s JOIN cl_threads t ON t.id = s.thread_id
                WHERE s.thread_id = ? AND t.deleted_at IS NULL
                """,
                (thread_id,),
            )
        return row is not None

    async def can_read_thread(self, user_identifier: str, thread_id: str) -> bool:
        """True if the user owns the thread or it is shared."""
        async with self._read() as db:
            return await self._can_read_thread(db, user_identifier, thread_id)

    async def _can_read_thread(
        self, db: aiosqlite.Connection, user_identifier: str, thread_id: str
    ) -> bool:
        row = await self._one(
            db,
            """
            SELECT COALESCE(u.identifier, t.user_identifier) AS author,
                   EXISTS (SELECT 1 FROM cl_thread_shares s WHERE s.thread_id = t.id) AS shared
            FROM cl_threads t LEFT JOIN cl_users u ON u.id = t.user_id
            WHERE t.id = ? AND t.deleted_at IS NULL
            """,
            (thread_id,),
        )
        if row is None:
            return False
        return bool(row["shared"]) or _is_owner(row["author"], user_identifier)

    async def can_read_object(self, user_identifier: str, object_key: str) -> bool:
        """The file route's ``authorize``: may this user fetch this stored file?

        Yes if an element row holds the key and its thread is the user's or is shared
        (files of thread-less elements: only in single-user mode).
        """
        async with self._read() as db:
            element = await self._one(
                db, "SELECT thread_id FROM cl_elements WHERE object_key = ? LIMIT 1", (object_key,)
            )
            if element is None:
                return False
            if element["thread_id"] is None:
                return user_identifier == SINGLE_USER_IDENTIFIER
            return await self._can_read_thread(db, user_identifier, element["thread_id"])

    async def build_debug_url(self) -> str:
        """No external debugger: empty, as Chainlit's own layer returns."""
        return ""


def _is_owner(author: str | None, user_identifier: str) -> bool:
    # Threads made without login have no author: they belong to the single local user.
    if author is None:
        return user_identifier == SINGLE_USER_IDENTIFIER
    return author == user_identifier
