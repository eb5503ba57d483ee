"""The data layer's write transactions: a cancel while BEGIN waits for the lock rolls back;
concurrent step writes share one."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from chainlit.context import init_http_context
from chainlit.user import User

from agent.store.sqlite import SqliteDatabase
from ui.datalayer import SQLiteDataLayer, Writer, acting_as

if TYPE_CHECKING:
    from chainlit.step import StepDict


async def test_a_write_cancelled_while_begin_waits_leaves_no_transaction_open(
    tmp_path: Path,
) -> None:
    init_http_context()
    db_path = tmp_path / "atelier.db"
    layer = SQLiteDataLayer(db_path, None)
    try:
        await layer.create_user(User(identifier="first"))  # migrate and open the connection
        other = sqlite3.connect(db_path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            with pytest.raises(TimeoutError):  # busy_timeout is 5 s: BEGIN is still waiting
                await asyncio.wait_for(layer.create_user(User(identifier="cancelled")), 0.3)
        finally:
            other.execute("ROLLBACK")
            other.close()
        # Without the rollback, this write would BEGIN inside the abandoned transaction.
        assert await layer.create_user(User(identifier="next")) is not None
        with sqlite3.connect(db_path) as check:
            names = {row[0] for row in check.execute("SELECT identifier FROM cl_users")}
        check.close()
        assert names == {"first", "next"}
    finally:
        await layer.close()


async def test_concurrent_step_writes_share_transactions_and_keep_their_checks(
    tmp_path: Path,
) -> None:
    init_http_context()
    db_path = tmp_path / "atelier.db"
    layer = SQLiteDataLayer(db_path, None)
    try:
        alice = await layer.create_user(User(identifier="alice"))
        assert alice is not None
        await layer.update_thread("ta", name="alice's", user_id=alice.id)
        commits: list[str] = []
        database = await layer._connection()
        assert isinstance(database, SqliteDatabase)
        db = database.connection  # the raw aiosqlite connection, to count its commits
        await db.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
        with acting_as(Writer("alice")):
            mine = [
                asyncio.create_task(layer.create_step(_step(f"s{n}", "ta", f"out {n}")))
                for n in range(20)
            ]
        with acting_as(Writer("bob")):  # not bob's thread: refused, the others still land
            theirs = asyncio.create_task(layer.create_step(_step("intruder", "ta", "x")))
        await asyncio.gather(*mine, theirs)
        await layer.update_step(_step("s3", "ta", "changed"))
        await db.set_trace_callback(None)
        with sqlite3.connect(db_path) as check:
            stored = dict(check.execute("SELECT id, output FROM cl_steps WHERE thread_id = 'ta'"))
        check.close()
        assert set(stored) == {f"s{n}" for n in range(20)}
        assert stored["s3"] == "changed" and stored["s7"] == "out 7"
        assert 2 <= len(commits) <= 4  # 22 writes, not 22 transactions
    finally:
        await layer.close()


def _step(step_id: str, thread_id: str, output: str) -> StepDict:
    data: dict[str, Any] = {"id": step_id, "threadId": thread_id, "type": "assistant_message"}
    data["output"] = output
    return data  # type: ignore[return-value]
