"""Threads: listing, reading, updating, deleting; favourites.

A writer may only update or delete threads it owns. Sharing flags (``is_shared``,
``shared_at``) in metadata change only through the share action: a tab saving its session
metadata on close cannot undo an unshare.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chainlit.types import PageInfo, PaginatedResponse, Pagination, ThreadDict, ThreadFilter

from agent.errors import NotFound
from agent.store.database import Row, Tx
from ui.datalayer.core import MAX_PAGE_SIZE, MAX_THREAD_NAME, WriteRefused, dumps, loads, now_iso
from ui.datalayer.elements import Elements
from ui.datalayer.steps import STEPS_WITH_FEEDBACK, Steps, step_dict
from ui.datalayer.writer import Writer, current_writer, may_change_sharing

if TYPE_CHECKING:
    from chainlit.step import StepDict

SHARING_KEYS = ("is_shared", "shared_at")

_THREADS = """
    SELECT t.*, COALESCE(u.identifier, t.user_identifier) AS author
    FROM cl_threads t LEFT JOIN cl_users u ON u.id = t.user_id
    WHERE t.deleted_at IS NULL
"""


def thread_dict(row: Row, *, created_at: str) -> ThreadDict:
    """A stored thread (with its author) as Chainlit's ThreadDict, without steps."""
    return {
        "id": row["id"],
        "createdAt": created_at,
        "name": row["name"],
        "userId": row["user_id"],
        "userIdentifier": row["author"],
        "tags": loads(row["tags_json"], []),
        "metadata": loads(row["metadata_json"], {}),
        "steps": [],
        "elements": [],
    }


def _is_one(value: object) -> bool:
    return value is True or (type(value) in (int, float) and value == 1)


class Threads(Elements, Steps):
    """Thread reads and writes (on top of steps and elements)."""

    async def _sync_share(self, db: Tx, thread_id: str, shared: bool, by: str | None) -> None:
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

    async def get_thread_author(self, thread_id: str) -> str:
        """The identifier of the thread's user; "" if the thread is unknown or has no user."""
        async with self._read() as db:
            author = await self._author(db, thread_id)
        return author or ""

    async def delete_thread(self, thread_id: str) -> None:
        """Delete a thread with its steps, elements (and files), feedback and share."""
        writer = current_writer()
        async with self._write() as db:
            await self._check_thread(db, writer, thread_id, "delete")
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
        sql = _THREADS + " AND t.user_id = ?"
        params: list[Any] = [filters.userId]
        if filters.search:
            escaped = filters.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            # LOWER on both sides: SQLite's LIKE ignores case, PostgreSQL's does not.
            sql += " AND LOWER(t.name) LIKE LOWER(?) ESCAPE '\\'"
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
        threads = [thread_dict(row, created_at=row["updated_at"]) for row in rows]
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
            row = await self._one(db, _THREADS + " AND t.id = ?", (thread_id,))
            if row is None:
                return None
            step_rows = await self._all(
                db,
                STEPS_WITH_FEEDBACK
                + " WHERE s.thread_id = ? ORDER BY COALESCE(s.created_at, s.start), s.seq",
                (thread_id,),
            )
            element_rows = await self._all(
                db,
                "SELECT * FROM cl_elements WHERE thread_id = ? ORDER BY created_at, id",
                (thread_id,),
            )
        thread = thread_dict(row, created_at=row["created_at"])
        thread["steps"] = [step_dict(step) for step in step_rows]
        thread["elements"] = [await self._element_dict(element) for element in element_rows]
        return thread

    async def get_favorite_steps(self, user_id: str) -> list[StepDict]:
        """Steps marked favourite (metadata.favorite) in the user's threads, newest first."""
        async with self._read() as db:
            rows = await self._all(
                db,
                STEPS_WITH_FEEDBACK
                + """
                JOIN cl_threads t ON t.id = s.thread_id
                WHERE t.user_id = ? AND t.deleted_at IS NULL
                  AND s.metadata_json LIKE '%favorite%'
                ORDER BY s.created_at DESC, s.seq DESC
                """,
                (user_id,),
            )
        # The text match narrows; the JSON decides (true or 1, as json_extract matched).
        return [
            step_dict(row)
            for row in rows
            if _is_one(loads(row["metadata_json"], {}).get("favorite"))
        ]

    async def update_thread(
        self,
        thread_id: str,
        name: str | None = None,
        user_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        tags: list[str] | None = None,
    ) -> None:
        """Create the thread if needed and apply what is given (the writer's threads only).

        ``metadata`` is merged into the stored one; a key set to None is removed. Sharing
        keys in it count only from Chainlit's share toggle (or the server); a write by a
        user for a thread it does not own is refused and logged.
        """
        writer = current_writer()
        if metadata is not None and not may_change_sharing(writer):
            metadata = {k: v for k, v in metadata.items() if k not in SHARING_KEYS}
        try:
            async with self._write() as db:
                await self._check_thread(db, writer, thread_id, "thread update")
                await self._update_thread(db, thread_id, name, user_id, metadata, tags, writer)
        except WriteRefused as error:
            self._refused(error, writer)

    async def _owner_identifier(self, db: Tx, user_id: str) -> str:
        user = await self._one(db, "SELECT identifier FROM cl_users WHERE id = ?", (user_id,))
        if user is None:
            raise NotFound(
                "That user is not known here; sign in again.", detail=f"user id {user_id}"
            )
        return str(user["identifier"])

    async def _update_thread(
        self,
        db: Tx,
        thread_id: str,
        name: str | None,
        user_id: str | None,
        metadata: dict[str, Any] | None,
        tags: list[str] | None,
        writer: Writer | None,
    ) -> None:
        await self._lock_thread(db, thread_id)  # the metadata merge reads, then writes
        existing = await self._one(db, "SELECT * FROM cl_threads WHERE id = ?", (thread_id,))
        has_updates = any(v is not None for v in (name, user_id, metadata, tags))
        if existing is not None and not has_updates:
            return
        incoming = metadata or {}
        if name is None and isinstance(incoming.get("name"), str):
            name = incoming["name"]
        merged = loads(existing["metadata_json"], {}) if existing is not None else {}
        merged = {k: v for k, v in merged.items() if not (k in incoming and incoming[k] is None)}
        merged.update({k: v for k, v in incoming.items() if v is not None})
        user_identifier = None if user_id is None else await self._owner_identifier(db, user_id)
        author = await self._author(db, thread_id) if existing is not None else None
        if user_identifier is not None and author is not None and author != user_identifier:
            raise WriteRefused(f"thread {thread_id} already belongs to another user")
        if user_identifier is None and existing is None and writer is not None:
            user_identifier = writer.identifier  # the first writer claims a new thread
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
                None if tags is None else dumps(tags),
                dumps(merged),
                now,
                now,
            ),
        )
        if "is_shared" in incoming:
            await self._sync_share(db, thread_id, bool(incoming["is_shared"]), None)
