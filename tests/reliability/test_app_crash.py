"""SIGKILL the server in the middle of an image turn, restart it, and check nothing was lost.

Turn 1 completes on a first server. A second server (engine latency fault: the final image
would take a minute) resumes the thread, starts turn 2, shows a partial image, and is killed
with SIGKILL. A third server opens the same data dir: the database passes
``PRAGMA integrity_check``, turn 1 with its bill lines and image file is intact, nothing is
half-written, and the thread resumes and refines the turn-1 image.
"""

from __future__ import annotations

import asyncio
import re
import signal
import sqlite3
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

FAST = {"ATELIER_QUALITY": "low", "ATELIER_PARTIAL_IMAGES": "1"}
SESSION_TOTAL = re.compile(r"session \$([0-9.]+)")


def _db_state(db_path: Path) -> dict[str, Any]:
    with sqlite3.connect(db_path) as db:
        state = {
            "integrity": db.execute("PRAGMA integrity_check").fetchone()[0],
            "journal": db.execute("PRAGMA journal_mode").fetchone()[0],
            "turns": db.execute(
                "SELECT session_id, turn, status, known_usd FROM turns ORDER BY turn"
            ).fetchall(),
            "lines": db.execute(
                "SELECT turn, cost_usd FROM cost_lines ORDER BY turn, idx"
            ).fetchall(),
            "images": db.execute("SELECT id, turn, path FROM images").fetchall(),
        }
    db.close()
    return state


def _is_partial(name: str, data: Any) -> bool:
    return name == "element" and str(data.get("name", "")).startswith("partial-")


async def test_sigkill_mid_turn_loses_nothing_finished(harness: ModuleType, data_dir: Path) -> None:
    async with harness.run_server(data_dir, FAST) as server:
        client = harness.Client(server)
        try:
            await client.connect(profile="Studio")
            await client.send("draw a lighthouse poster")
            first_id = str((await client.action("refine"))["payload"]["image_id"])
            bill = await client.message("This turn $")
            thread_id = str((await client.event("first_interaction", since=0))["thread_id"])
        finally:
            await client.close()
    total = SESSION_TOTAL.search(bill["output"])
    assert total is not None
    before = await asyncio.to_thread(_db_state, data_dir / "atelier.db")
    assert [t[2] for t in before["turns"]] == ["ok"]

    slow = {**FAST, "ATELIER_ENGINE_FAULT": "latency=200,60000"}
    async with harness.run_server(data_dir, slow) as server:
        client = harness.Client(server)
        try:
            await client.connect(profile="Studio", thread_id=thread_id)
            resumed = await client.event("resume_thread")
            assert any("This chat has 1 image(s)" in step["output"] for step in resumed["steps"])
            mark = await client.send("make the sky warmer")
            await client.recorder.wait_for(_is_partial, since=mark)
            server.process.send_signal(signal.SIGKILL)
            assert await asyncio.wait_for(server.process.wait(), 30) == -signal.SIGKILL
        finally:
            await client.close()

    after = await asyncio.to_thread(_db_state, data_dir / "atelier.db")
    assert after["integrity"] == "ok" and after["journal"] == "wal"
    assert after["turns"][0] == before["turns"][0]  # turn 1: same row, same cost
    shown = Decimal(total.group(1))  # the bill line rounds to its shown places
    assert Decimal(after["turns"][0][3]).quantize(shown, ROUND_HALF_UP) == shown
    assert [line for line in after["lines"] if line[0] == 1] == [
        line for line in before["lines"] if line[0] == 1
    ]
    assert after["images"] == before["images"]
    assert all(Path(path).is_file() for _, _, path in after["images"])
    # The killed turn left no half record: either nothing, or a complete row with lines.
    for session_id, turn, status, known in after["turns"][1:]:
        assert session_id == before["turns"][0][0] and status != "ok", (turn, status)
        assert known == "0" or any(line[0] == turn for line in after["lines"])

    async with harness.run_server(data_dir, FAST) as server:
        client = harness.Client(server)
        try:
            await client.connect(profile="Studio", thread_id=thread_id)
            resumed = await client.event("resume_thread")
            assert any("This chat has 1 image(s)" in step["output"] for step in resumed["steps"])
            _, response = await client.call_action(client.button("refine", first_id))
            assert response.status_code == 200, response.text
            await client.message(f"Refining image `{first_id[-8:]}`")
            await client.send("make the sky warmer")
            await client.action("refine", exclude={first_id})
            await client.message(f"from `{first_id[-8:]}`")
            refined = await client.message("This turn $")
            resumed_total = SESSION_TOTAL.search(refined["output"])
            assert resumed_total is not None
            assert Decimal(resumed_total.group(1)) > Decimal(total.group(1))
        finally:
            await client.close()
    final = await asyncio.to_thread(_db_state, data_dir / "atelier.db")
    assert final["integrity"] == "ok"
    assert len(final["images"]) == 2
