"""Faults and bad uploads through the running Chainlit app (``chainlit run`` subprocess).

The user must see a clear message, the server must keep serving, and the next message must
work. The engine fault is engine-wide (``ATELIER_ENGINE_FAULT``), counted per request.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from . import files

pytestmark = pytest.mark.e2e

FAST = {"ATELIER_QUALITY": "low", "ATELIER_PARTIAL_IMAGES": "1"}


def _is_final_image(name: str, data: Any) -> bool:
    return (
        name == "element"
        and data.get("type") == "image"
        and str(data.get("name", "")).endswith((".png", ".jpeg", ".webp"))
    )


async def _upload(client: Any, name: str, data: bytes, mime: str) -> dict[str, Any]:
    """Upload a file the way the web app does (POST /project/file); returns its reference."""
    response = await client.http.post(
        "/project/file",
        params={"session_id": client.session_id},
        files={"file": (name, data, mime)},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _send_with_files(client: Any, text: str, refs: list[dict[str, Any]]) -> int:
    mark = client.mark = len(client.recorder.events)
    await client.sio.emit(
        "client_message",
        {
            "message": {
                "id": str(uuid.uuid4()),
                "threadId": client.thread_id,
                "type": "user_message",
                "output": text,
                "createdAt": datetime.now(UTC).isoformat(),
                "name": "User",
            },
            "fileReferences": [{"id": ref["id"]} for ref in refs],
        },
    )
    return mark


def _assert_no_tracebacks(server: Any) -> None:
    log = "\n".join(server.lines)
    assert "Traceback" not in log, server.log()


async def test_429_moderation_and_bad_uploads_through_the_app(
    harness: ModuleType, data_dir: Path
) -> None:
    env = {**FAST, "ATELIER_ENGINE_FAULT": "rate_limit;times=1;retry_after=0.01"}
    async with harness.run_server(data_dir, env) as server:
        client = harness.Client(server)
        try:
            await client.connect(profile="Studio")
            # 429 first, retried by the agent: the user just gets the image and the bill.
            mark = await client.send("draw a lighthouse")
            await client.recorder.wait_for(_is_final_image, since=mark)
            await client.message("This turn $")
            assert not any(
                "rate-limiting" in str(data) for _, data in client.recorder.events[mark:]
            )

            # Moderation: a clear message naming the reason; no image.
            mark = await client.send("draw a gore poster")
            blocked = await client.message("This image could not be made")
            assert "moderation" in blocked["output"] and "violence" in blocked["output"]
            await client.message("This turn $")
            assert not any(_is_final_image(*ev) for ev in client.recorder.events[mark:])

            # Bad uploads (each passes Chainlit's mime filter as image/png): refused clearly.
            for name, data, says in (
                ("notes.png", b"not an image at all" * 10, "not an image"),
                ("logo.png", files.SVG, "SVG"),
                ("cut.png", files.truncated_png(), "damaged"),
                ("bomb.png", files.png_bomb(), "too large"),
                ("../../../../tmp/escape.png", files.animated_png(), "Animated"),
            ):
                ref = await _upload(client, name, data, "image/png")
                await _send_with_files(client, "use this as a reference", [ref])
                refused = await client.message("Upload not accepted")
                assert says.lower() in refused["output"].lower(), refused["output"]
            assert not Path("/tmp/escape.png").exists()

            # The server kept serving: a CMYK JPEG reference works, then a plain message.
            ref = await _upload(client, "print.jpg", files.cmyk_jpeg((512, 512)), "image/jpeg")
            mark = await _send_with_files(client, "draw a poster in this palette", [ref])
            await client.recorder.wait_for(_is_final_image, since=mark)
            await client.message("This turn $")
            mark = await client.send("draw a kite")
            await client.message("This turn $", since=mark)
            health = await client.http.get("/atelier/metrics")
            assert health.status_code == 200
        finally:
            await client.close()
        _assert_no_tracebacks(server)
    written = {p.relative_to(data_dir).parts[0] for p in data_dir.rglob("*")}
    assert written <= {"atelier.db", "atelier.db-wal", "atelier.db-shm", "engine.db",
                       "engine.db-wal", "engine.db-shm", "images", "files", "auth_secret",
                       "exports"}, written  # fmt: skip


async def test_cut_stream_through_the_app(harness: ModuleType, data_dir: Path) -> None:
    env = {**FAST, "ATELIER_ENGINE_FAULT": "cut_stream;times=1"}
    async with harness.run_server(data_dir, env) as server:
        client = harness.Client(server)
        try:
            await client.connect(profile="Studio")
            mark = await client.send("draw a lighthouse")
            failed = await client.message("That did not work.")
            assert "connection" in failed["output"].lower()
            assert "Spent on this turn: $" in failed["output"]  # what was spent is shown
            await client.message("Not finished", since=mark)
            events = client.recorder.events[mark:]
            assert not any(_is_final_image(*ev) for ev in events)  # no partial became final
            partials = [d for n, d in events if n == "element" and "partial" in str(d.get("name"))]
            removed = {str(d.get("id")) for n, d in events if n == "remove_element"}
            assert partials and {str(p["id"]) for p in partials} <= removed

            mark = await client.send("draw a lighthouse")
            await client.recorder.wait_for(_is_final_image, since=mark)
            await client.message("This turn $", since=mark)
        finally:
            await client.close()
        _assert_no_tracebacks(server)
