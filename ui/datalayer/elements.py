"""Elements (images, files, custom elements): bytes through the storage client, rows here.

A writer may only create, replace or delete elements in threads it owns; an element id that
lives in another thread is refused, never moved.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from agent.store.database import Row, Tx
from ui.datalayer.core import Core, WriteRefused, as_bool, as_int, dumps, loads, now_iso, queued
from ui.datalayer.writer import Writer, current_writer

if TYPE_CHECKING:
    from chainlit.element import Element, ElementDict


def object_key(thread_id: str | None, element_id: str) -> str:
    """Where an element's bytes are stored; the thread id lets the file route authorize."""
    # The same layout as Chainlit's own data layer.
    return f"threads/{thread_id}/files/{element_id}" if thread_id else f"files/{element_id}"


class Elements(Core):
    """Element create/read/delete with ownership checks."""

    async def _check_element(self, db: Tx, writer: Writer | None, element: Element) -> None:
        thread_id = element.thread_id or None
        await self._check_thread(db, writer, thread_id, "element")
        for table, row_id, what in (
            ("cl_elements", element.id, "element"),
            ("cl_steps", str(element.for_id), "step"),
        ):
            await self._check_row(db, writer, table, row_id, thread_id, what, thread_checked=True)

    async def _element_bytes(self, element: Element) -> bytes | str | None:
        if element.path:
            return await asyncio.to_thread(Path(element.path).read_bytes)
        if element.content:
            return element.content
        if not element.url:
            raise ValueError("an element needs a url, a path or content to be stored")
        return None

    @queued
    async def create_element(self, element: Element) -> None:
        """Persist an element: bytes through the storage client, the row here.

        Refused (and logged) when the writer does not own the element's thread, or the
        element or its step belongs to another thread; nothing is stored then.
        """
        if not element.for_id or element.id in self._discarded:
            return
        writer = current_writer()
        try:
            async with self._read() as db:  # before any bytes are stored
                await self._check_element(db, writer, element)
        except WriteRefused as error:
            self._refused(error, writer)
            return
        key: str | None = None
        if self.storage is not None:
            content = await self._element_bytes(element)
            if content is not None:
                key = object_key(element.thread_id, element.id)
                await self.storage.upload_file(
                    object_key=key,
                    data=content,
                    mime=element.mime or "application/octet-stream",
                    overwrite=True,
                )
        try:
            async with self._write() as db:
                await self._check_element(db, writer, element)  # again, inside the transaction
                if element.id in self._discarded:
                    raise WriteRefused(f"element {element.id} was discarded")
                await self._upsert_element(db, element, key, writer)
        except WriteRefused as error:
            self._refused(error, writer)
            await self._drop_unreferenced(key)

    async def _drop_unreferenced(self, key: str | None) -> None:
        if key is None:
            return
        async with self._read() as db:
            used = await self._one(db, "SELECT 1 FROM cl_elements WHERE object_key = ?", (key,))
        if used is None:
            await self._delete_files([key])

    async def _upsert_element(
        self, db: Tx, element: Element, key: str | None, writer: Writer | None
    ) -> None:
        if element.thread_id:
            await self._ensure_thread(db, element.thread_id, writer)
        await self._ensure_step(db, str(element.for_id), element.thread_id)
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
                key,
                element.url,
                element.chainlit_key,
                element.display,
                getattr(element, "size", None),
                element.language,
                getattr(element, "page", None),
                dumps(getattr(element, "props", None) or {}),
                as_int(getattr(element, "auto_play", None)),
                dumps(getattr(element, "player_config", None)),
                now_iso(),
            ),
        )

    async def _element_dict(self, row: Row) -> ElementDict:
        url = row["url"]
        if not url and row["object_key"] and self.storage is not None:
            url = await self.storage.get_read_url(row["object_key"])
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
                "autoPlay": as_bool(row["auto_play"]),
                "playerConfig": loads(row["player_config_json"], None),
                "props": loads(row["props_json"], {}),
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

    @queued
    async def delete_element(self, element_id: str, thread_id: str | None = None) -> None:
        """Delete an element's row and its stored file (only from the writer's own threads)."""
        writer = current_writer()
        sql = "FROM cl_elements WHERE id = ?"
        params: list[Any] = [element_id]
        if thread_id:
            sql += " AND thread_id = ?"
            params.append(thread_id)
        try:
            async with self._write() as db:
                rows = await self._all(db, f"SELECT thread_id, object_key {sql}", params)
                for row in rows:
                    await self._check_thread(db, writer, row["thread_id"], "element")
                await db.execute(f"DELETE {sql}", params)
        except WriteRefused as error:
            self._refused(error, writer)
            return
        await self._delete_files(row["object_key"] for row in rows)

    async def discard_elements(self, element_ids: Iterable[str]) -> None:
        """Forget refused uploads: their rows and stored files go, a late write is dropped."""
        ids = [element_id for element_id in element_ids if element_id]
        self._discarded.update(ids)
        for element_id in ids:
            await self.delete_element(element_id)
