"""Stored responses: what ``store: true`` keeps, so ids resolve in later requests.

The real API keeps stored responses for 30 days; the engine keeps them in SQLite (a file, so
``previous_response_id`` and ``ig_...`` ids survive a restart, or ``None`` for memory). Image
results are only read from the database when an item is referenced: nothing big is cached.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

JsonDict = dict[str, Any]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    previous_response_id TEXT,
    model TEXT NOT NULL,
    instructions TEXT,
    prompt_tokens INTEGER NOT NULL,
    chain_tokens INTEGER NOT NULL,
    body TEXT NOT NULL,
    inputs TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY,
    response_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    type TEXT NOT NULL,
    reasoning_id TEXT,
    prompt TEXT,
    size TEXT,
    result TEXT
);
CREATE INDEX IF NOT EXISTS items_by_response ON items (response_id, position);
"""


@dataclass(frozen=True)
class StoredResponse:
    """A stored response's metadata (not its body)."""

    id: str
    created_at: float
    previous_response_id: str | None
    model: str
    instructions: str | None
    prompt_tokens: int  # usage.input_tokens it reported
    chain_tokens: int  # context it hands on: chained context + its input + its output


@dataclass(frozen=True)
class StoredItem:
    """A stored output item's metadata; the image result is fetched separately."""

    id: str
    response_id: str
    position: int
    type: str
    reasoning_id: str | None  # the reasoning item that preceded it in its response
    prompt: str | None  # revised_prompt of an image call
    size: str | None
    has_result: bool


@dataclass(frozen=True)
class NewResponse:
    """Everything saved for one completed, stored response."""

    payload: JsonDict  # the full Response payload, results included
    inputs: list[JsonDict]  # the request's input items, normalised
    instructions: str | None
    prompt_tokens: int
    chain_tokens: int


class ResponseStore:
    """SQLite-backed store of responses and their output items. Opens lazily."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()  # guards opening and closing
        self._op = asyncio.Lock()  # one operation at a time on the shared connection

    async def _conn(self) -> aiosqlite.Connection:
        if self._db is not None:
            return self._db
        async with self._lock:
            if self._db is None:
                if self._path is not None:
                    await asyncio.to_thread(self._path.parent.mkdir, parents=True, exist_ok=True)
                target = ":memory:" if self._path is None else str(self._path)
                db = await aiosqlite.connect(target)
                try:
                    if self._path is not None:
                        await db.execute("PRAGMA journal_mode=WAL")
                    await db.executescript(_SCHEMA)
                    await db.commit()
                except BaseException:
                    await db.close()
                    raise
                self._db = db
        return self._db

    @asynccontextmanager
    async def _using(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection, held for one whole operation (aiosqlite cursors must not interleave)."""
        db = await self._conn()
        async with self._op:
            yield db

    async def aclose(self) -> None:
        """Close the database connection (safe to call twice)."""
        async with self._lock:
            if self._db is not None:
                db, self._db = self._db, None
                await db.close()

    async def save(self, new: NewResponse) -> None:
        """Store a response and its output items in one transaction."""
        payload = new.payload
        body = dict(payload)
        rows: list[tuple[Any, ...]] = []
        stripped: list[JsonDict] = []
        reasoning_id: str | None = None
        for position, item in enumerate(payload["output"]):
            kind = str(item["type"])
            if kind == "reasoning":
                reasoning_id = str(item["id"])
            result = item.get("result") if kind == "image_generation_call" else None
            rows.append(
                (
                    item["id"],
                    payload["id"],
                    position,
                    kind,
                    reasoning_id if kind == "image_generation_call" else None,
                    item.get("revised_prompt"),
                    item.get("size"),
                    result,
                )
            )
            stripped.append({**item, "result": None} if result is not None else item)
        body["output"] = stripped
        body_json, inputs_json = await asyncio.to_thread(
            lambda: (json.dumps(body), json.dumps(new.inputs))
        )
        async with self._using() as db, _transaction(db):
            await db.execute(
                "INSERT INTO responses VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    payload["id"],
                    payload["created_at"],
                    payload.get("previous_response_id"),
                    payload["model"],
                    new.instructions,
                    new.prompt_tokens,
                    new.chain_tokens,
                    body_json,
                    inputs_json,
                ),
            )
            await db.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

    async def get(self, response_id: str) -> StoredResponse | None:
        """A stored response's metadata, or None."""
        async with self._using() as db:
            async with db.execute(
                "SELECT id, created_at, previous_response_id, model, instructions, prompt_tokens, "
                "chain_tokens FROM responses WHERE id = ?",
                (response_id,),
            ) as cursor:
                row = await cursor.fetchone()
            return None if row is None else StoredResponse(*row)

    async def payload(self, response_id: str) -> JsonDict | None:
        """The full stored Response payload (image results included), or None."""
        async with self._using() as db:
            async with db.execute("SELECT body FROM responses WHERE id = ?", (response_id,)) as cur:
                row = await cur.fetchone()
            if row is None:
                return None
            async with db.execute(
                "SELECT id, result FROM items WHERE response_id = ? AND result IS NOT NULL",
                (response_id,),
            ) as cur:
                results = {str(r[0]): str(r[1]) for r in await cur.fetchall()}

            def rebuild() -> JsonDict:
                body: JsonDict = json.loads(row[0])
                for item in body["output"]:
                    if item["id"] in results:
                        item["result"] = results[item["id"]]
                return body

            return await asyncio.to_thread(rebuild)

    async def delete(self, response_id: str) -> bool:
        """Delete a stored response and its items; False when it did not exist."""
        async with self._using() as db, _transaction(db):
            cursor = await db.execute("DELETE FROM responses WHERE id = ?", (response_id,))
            deleted = cursor.rowcount > 0
            await cursor.close()
            await db.execute("DELETE FROM items WHERE response_id = ?", (response_id,))
            return deleted

    async def chain(self, response_id: str) -> list[StoredResponse]:
        """The response and its ancestors by ``previous_response_id``, newest first."""
        async with self._using() as db:
            async with db.execute(
                "WITH RECURSIVE chain(id, depth) AS ("
                " SELECT id, 0 FROM responses WHERE id = ?"
                " UNION ALL SELECT r.previous_response_id, c.depth + 1 FROM chain c"
                " JOIN responses r ON r.id = c.id WHERE r.previous_response_id IS NOT NULL)"
                " SELECT r.id, r.created_at, r.previous_response_id, r.model, r.instructions,"
                " r.prompt_tokens, r.chain_tokens FROM chain c JOIN responses r ON r.id = c.id"
                " ORDER BY c.depth",
                (response_id,),
            ) as cursor:
                rows = await cursor.fetchall()
            return [StoredResponse(*row) for row in rows]

    async def item(self, item_id: str) -> StoredItem | None:
        """A stored output item's metadata, or None."""
        async with self._using() as db:
            async with db.execute(
                "SELECT id, response_id, position, type, reasoning_id, prompt, size,"
                " result IS NOT NULL FROM items WHERE id = ?",
                (item_id,),
            ) as cursor:
                row = await cursor.fetchone()
            return None if row is None else _item(row)

    async def result(self, item_id: str) -> str | None:
        """An image call's base64 result, read from the database only now."""
        async with self._using() as db:
            async with db.execute("SELECT result FROM items WHERE id = ?", (item_id,)) as cursor:
                row = await cursor.fetchone()
            return None if row is None or row[0] is None else str(row[0])

    async def latest_image(self, response_ids: list[str]) -> StoredItem | None:
        """The newest completed image among responses given newest first."""
        async with self._using() as db:
            for response_id in response_ids:
                async with db.execute(
                    "SELECT id, response_id, position, type, reasoning_id, prompt, size, 1"
                    " FROM items WHERE response_id = ? AND type = 'image_generation_call'"
                    " AND result IS NOT NULL ORDER BY position DESC LIMIT 1",
                    (response_id,),
                ) as cursor:
                    row = await cursor.fetchone()
                if row is not None:
                    return _item(row)
            return None

    async def inputs(self, response_id: str) -> list[JsonDict]:
        """The normalised input items a stored response was created from."""
        async with self._using() as db:
            async with db.execute(
                "SELECT inputs FROM responses WHERE id = ?", (response_id,)
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                return []
            loaded: list[JsonDict] = await asyncio.to_thread(json.loads, row[0])
            return loaded


@asynccontextmanager
async def _transaction(db: aiosqlite.Connection) -> AsyncIterator[None]:
    """Commit on success; roll back on any failure or cancellation."""
    try:
        yield
    except BaseException:
        await asyncio.shield(db.rollback())
        raise
    await db.commit()


def _item(row: Any) -> StoredItem:
    return StoredItem(
        id=row[0],
        response_id=row[1],
        position=row[2],
        type=row[3],
        reasoning_id=row[4],
        prompt=row[5],
        size=row[6],
        has_result=bool(row[7]),
    )
