"""Session-level helpers: an Atelier whose engine records every request, and consistency checks.

``open_atelier`` opens the real ``Atelier`` (real store, real SDK, real embedded engine) but
wraps the engine's ASGI app before the client is built, so a test can see each request the
engine received: how many, which path, which headers and bodies.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import agent.runtime
from agent.config import Settings
from agent.engine import Engine
from agent.runtime import Atelier
from agent.store.imagefiles import orphaned_files
from agent.turn.client import build_client
from agent.turn.events import AgentEvent, ImageReady, TurnBilled, TurnFailed
from agent.turn.session import Session


@dataclass
class Seen:
    """One request the engine received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when it arrived

    def json(self) -> Any:
        """The request body as JSON."""
        return json.loads(self.body)


@dataclass
class RecordingApp:
    """An ASGI wrapper that remembers every HTTP request and can inject a fault header."""

    app: ASGIApp
    requests: list[Seen] = field(default_factory=list)
    fault: str | None = None  # sent as the x-atelier-fault header of every request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = bool(message.get("more_body", False))
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        self.requests.append(
            Seen(scope["method"], scope["path"], headers, b"".join(chunks), time.monotonic())
        )
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        if self.fault:
            fault = (b"x-atelier-fault", self.fault.encode("latin-1"))
            scope = {**scope, "headers": [*scope["headers"], fault]}
        await self.app(scope, replay, send)

    @property
    def creates(self) -> list[Seen]:
        """The POST /v1/responses requests."""
        return [r for r in self.requests if r.method == "POST" and r.path.endswith("/responses")]


async def open_atelier(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Atelier:
    """``Atelier.open`` with the embedded engine's app wrapped in a ``RecordingApp``."""
    real_build = build_client

    def build(settings: Settings, engine: Engine | None = None) -> Any:
        if engine is not None and not isinstance(engine.asgi, RecordingApp):
            engine.asgi = RecordingApp(engine.asgi)  # type: ignore[assignment]
        return real_build(settings, engine)

    monkeypatch.setattr(agent.runtime, "build_client", build)
    return await Atelier.open(settings)


def recorder(atelier: Atelier) -> RecordingApp:
    """The request recorder of an Atelier opened with ``open_atelier``."""
    assert atelier.engine is not None
    app = atelier.engine.asgi
    assert isinstance(app, RecordingApp)
    return app


async def collect(session: Session, text: str, **kwargs: Any) -> list[AgentEvent]:
    """Every event of one turn."""
    return [event async for event in session.run_turn(text, **kwargs)]


def closing(events: Sequence[AgentEvent]) -> TurnBilled | TurnFailed:
    """The turn's last event, which must be its outcome."""
    last = events[-1]
    assert isinstance(last, TurnBilled | TurnFailed), last
    return last


def ready(events: Sequence[AgentEvent]) -> list[ImageReady]:
    """The finished images of a turn."""
    return [e for e in events if isinstance(e, ImageReady)]


def _db_facts(db_path: Path) -> dict[str, Any]:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
        turns = db.execute(
            "SELECT session_id, turn, status, known_usd, total_usd FROM turns"
        ).fetchall()
        lines = db.execute("SELECT session_id, turn, cost_usd FROM cost_lines").fetchall()
        images = db.execute(
            "SELECT id, session_id, turn, path, sha256, bytes FROM images"
        ).fetchall()
        counts = db.execute(
            "SELECT s.id, s.turn_count, (SELECT COUNT(*) FROM turns t WHERE t.session_id = s.id) "
            "FROM sessions s"
        ).fetchall()
        foreign = db.execute("PRAGMA foreign_key_check").fetchall()
        held = db.execute(
            "SELECT session_id, turn FROM reservations WHERE state = 'held'"
        ).fetchall()
    db.close()
    return {
        "turns": turns,
        "lines": lines,
        "images": images,
        "counts": counts,
        "fk": foreign,
        "held": held,
    }


async def assert_consistent(atelier: Atelier) -> dict[str, Any]:
    """The database and the image folder agree, and every bill adds up.

    - ``PRAGMA integrity_check`` is ok and no foreign key dangles;
    - every turn's known cost is exactly the sum of its cost lines, and a turn that cost
      anything has lines;
    - every image row's file exists with the recorded size and SHA-256;
    - no file in the images folder is unaccounted for (``orphaned_files``);
    - each session's ``turn_count`` matches its turn rows;
    - no budget reservation is left behind (every begun turn settled it).
    """
    store, settings = atelier.store, atelier.settings
    assert await store.integrity_check() == "ok"
    facts = await asyncio.to_thread(_db_facts, store.path)
    assert facts["fk"] == []
    assert facts["held"] == [], "a finished turn still holds a budget reservation"
    sums: dict[tuple[str, int], Decimal] = {}
    for session_id, turn, cost in facts["lines"]:
        key = (session_id, turn)
        sums[key] = sums.get(key, Decimal(0)) + (Decimal(cost) if cost is not None else 0)
    for session_id, turn, status, known, total in facts["turns"]:
        key = (session_id, turn)
        assert Decimal(known) == sums.get(key, Decimal(0)), (key, status, known, sums.get(key))
        if Decimal(known) > 0 or total is None:
            assert key in sums, f"turn {key} ({status}) costs {known} but has no cost lines"
    for image_id, _session, _turn, path, sha, size in facts["images"]:
        file = Path(path)
        assert file.is_file(), f"image {image_id} has no file at {path}"
        data = await asyncio.to_thread(file.read_bytes)
        assert len(data) == size and hashlib.sha256(data).hexdigest() == sha, image_id
    known_paths = await store.image_paths()
    orphans = await asyncio.to_thread(orphaned_files, settings.images_dir, known_paths)
    assert orphans == [], f"orphaned image files: {orphans}"
    for session_id, turn_count, rows in facts["counts"]:
        assert turn_count == rows, (session_id, turn_count, rows)
    return facts
