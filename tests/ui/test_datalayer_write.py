"""The data layer's write transaction: a cancel while BEGIN waits for the lock rolls back."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from chainlit.context import init_http_context
from chainlit.user import User

from ui.datalayer import SQLiteDataLayer


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
