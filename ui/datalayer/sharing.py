"""Read-only sharing: who may share, who may read a thread or one of its files."""

from __future__ import annotations

from agent.errors import NotFound
from agent.store.database import Tx
from ui.datalayer.core import is_owner, now_iso
from ui.datalayer.threads import Threads
from ui.storage import SINGLE_USER_IDENTIFIER


class Sharing(Threads):
    """Share/unshare (owner only) and the read checks the file route uses."""

    async def _require_owner(self, db: Tx, thread_id: str, user_identifier: str) -> None:
        exists = await self._one(
            db, "SELECT 1 FROM cl_threads WHERE id = ? AND deleted_at IS NULL", (thread_id,)
        )
        author = await self._author(db, thread_id) if exists else None
        if exists is None or not is_owner(author, user_identifier):
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
                db, thread_id, None, None, {"is_shared": True, "shared_at": now_iso()}, None, None
            )
            await self._sync_share(db, thread_id, True, user_identifier)

    async def unshare_thread(self, thread_id: str, user_identifier: str) -> None:
        """Stop sharing the thread. Only its owner may; raises ``NotFound`` otherwise."""
        async with self._write() as db:
            await self._require_owner(db, thread_id, user_identifier)
            await self._update_thread(
                db, thread_id, None, None, {"is_shared": False, "shared_at": None}, None, None
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

    async def owns_thread(self, user_identifier: str, thread_id: str) -> bool:
        """True if the thread exists and is the user's."""
        async with self._read() as db:
            row = await self._one(
                db, "SELECT 1 FROM cl_threads WHERE id = ? AND deleted_at IS NULL", (thread_id,)
            )
            return row is not None and is_owner(await self._author(db, thread_id), user_identifier)

    async def _can_read_thread(self, db: Tx, user_identifier: str, thread_id: str) -> bool:
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
        return bool(row["shared"]) or is_owner(row["author"], user_identifier)

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
