"""Durability and concurrency at the store and Session level.

SQLite must be in WAL mode and wait (busy timeout) instead of failing when another
connection writes; a turn's rows are written all or nothing; and many sessions writing at
once, through one process or several connections, lose no row and no file.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from pathlib import Path

import pytest

from agent.config import Settings
from agent.engine.state import NewResponse, ResponseStore
from agent.runtime import Atelier
from agent.store.db import ImageConflict, Store
from agent.turn.events import AgentEvent, TurnBilled

from .harness import assert_consistent, closing, collect, open_atelier, ready

CONCURRENT_SESSIONS = 20


def _with(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(update=changes)


@pytest.fixture
def fast(settings: Settings) -> Settings:
    return _with(settings, quality="low", partial_images=1)


def _pragma(path: Path, name: str) -> str:
    with sqlite3.connect(path) as db:
        value = str(db.execute(f"PRAGMA {name}").fetchone()[0])
    db.close()
    return value


async def test_store_file_is_in_wal_mode(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "a.db")
    try:
        assert await asyncio.to_thread(_pragma, store.path, "journal_mode") == "wal"
        assert await store.integrity_check() == "ok"
    finally:
        await store.close()


async def test_store_waits_for_another_writer_instead_of_failing(
    fast: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """busy_timeout: a write queued behind another connection's transaction waits, then lands.

    Without a busy timeout SQLite answers "database is locked" at once.
    """
    app = await open_atelier(fast, monkeypatch)
    other = sqlite3.connect(app.store.path, isolation_level=None, check_same_thread=False)
    try:
        await asyncio.to_thread(other.execute, "BEGIN IMMEDIATE")  # hold the write lock
        creating = asyncio.ensure_future(app.new_session(user_id="ann", session_id="waits"))
        done, _ = await asyncio.wait({creating}, timeout=0.5)
        assert not done, creating.exception() if done else None  # still waiting, not failed
        await asyncio.to_thread(other.execute, "COMMIT")
        session = await asyncio.wait_for(creating, 10)
        assert session.id == "waits"
        assert isinstance(closing(await collect(session, "draw a kite")), TurnBilled)
        await assert_consistent(app)
    finally:
        other.close()
        await app.aclose()


async def test_a_turn_is_recorded_all_or_nothing(
    fast: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A turn whose second image id collides is not recorded at all: no turn row, no cost
    lines, not even its first image — and the session's counters do not move."""
    app = await open_atelier(fast, monkeypatch)
    try:
        alice = await app.new_session(user_id="alice")
        (kept,) = ready(await collect(alice, "draw a kite"))
        (alice_turn,) = await alice.turns()
        bob = await app.new_session(user_id="bob")
        fresh = dataclasses.replace(kept.image, id="ig_fresh", session_id=bob.id, turn=1)
        clash = dataclasses.replace(kept.image, session_id=bob.id, turn=1)  # alice's image id
        turn = dataclasses.replace(
            alice_turn, session_id=bob.id, turn=1, image_ids=("ig_fresh", kept.image.id)
        )
        with pytest.raises(ImageConflict):
            await app.store.record_turn(turn, [fresh, clash])
        assert await bob.turns() == []
        assert await bob.images() == []
        assert await app.store.get_image("ig_fresh") is None
        record = await app.store.get_session(bob.id)
        assert record is not None and record.turn_count == 0
        assert (await app.store.get_image(kept.image.id)) == kept.image  # alice's untouched
        await assert_consistent(app)
    finally:
        await app.aclose()


async def test_twenty_sessions_at_once_lose_no_row_and_no_file(
    fast: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = await open_atelier(fast, monkeypatch)
    try:
        sessions = await asyncio.gather(
            *(app.new_session(user_id=f"user{i % 5}") for i in range(CONCURRENT_SESSIONS))
        )

        async def two_turns(index: int) -> tuple[list[AgentEvent], list[AgentEvent]]:
            session = sessions[index]
            first = await collect(session, f"draw a lighthouse number {index}")
            return first, await collect(session, "make it warmer")

        outcomes = await asyncio.gather(*(two_turns(i) for i in range(CONCURRENT_SESSIONS)))
        failures = [
            closing(events).error.user_message  # type: ignore[union-attr]
            for pair in outcomes
            for events in pair
            if not isinstance(closing(events), TurnBilled)
        ]
        assert failures == []
        made = [[e.image.id for e in ready(a) + ready(b)] for a, b in outcomes]
        ids = [image_id for per_session in made for image_id in per_session]
        assert len(ids) == len(set(ids)) == 2 * CONCURRENT_SESSIONS
        for session, image_ids in zip(sessions, made, strict=True):
            assert [t.turn for t in await session.turns()] == [1, 2]
            assert [i.id for i in await session.images()] == image_ids
        facts = await assert_consistent(app)
        assert len(facts["turns"]) == 2 * CONCURRENT_SESSIONS
        assert len(facts["images"]) == 2 * CONCURRENT_SESSIONS
        for user in range(5):
            assert len(await app.sessions(f"user{user}")) == CONCURRENT_SESSIONS // 5
    finally:
        await app.aclose()


async def test_several_processes_worth_of_connections_share_one_file(
    fast: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four Atelier instances (four connections, as four workers would hold) write turns into
    one database file at once: every turn lands, nothing is locked out."""
    apps = [await Atelier.open(fast) for _ in range(4)]
    try:
        records = [
            await apps[i % 4].new_session(user_id="team", session_id=f"s{i:02d}")
            for i in range(CONCURRENT_SESSIONS)
        ]
        outcomes = await asyncio.gather(
            *(collect(session, f"draw kite {n}") for n, session in enumerate(records))
        )
        assert all(isinstance(closing(events), TurnBilled) for events in outcomes)
        listed = await apps[0].sessions("team")
        assert sorted(s.id for s in listed) == [f"s{i:02d}" for i in range(CONCURRENT_SESSIONS)]
        assert all(s.turn_count == 1 for s in listed)
        for app in apps:
            facts = await assert_consistent(app)
            assert len(facts["images"]) == CONCURRENT_SESSIONS
    finally:
        for app in apps:
            await app.aclose()


async def test_recorded_history_survives_reopening(
    fast: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = await open_atelier(fast, monkeypatch)
    session = await app.new_session(user_id="ann")
    (first,) = ready(await collect(session, "draw a kite"))
    bill_before = await session.bill()
    await app.aclose()
    app = await open_atelier(fast, monkeypatch)
    try:
        resumed = await app.resume_session(session.id, user_id="ann")
        assert (await resumed.bill()).total_usd == bill_before.total_usd
        assert resumed.latest_image_id == first.image.id
        (second,) = ready(await collect(resumed, "make it warmer"))
        assert second.image.parent_id == first.image.id
        await assert_consistent(app)
    finally:
        await app.aclose()


def _stored(index: int) -> NewResponse:
    response_id = f"resp_{index:04d}"
    item = {
        "id": f"ig_{index:04d}",
        "type": "image_generation_call",
        "result": "A" * 50_000,
        "revised_prompt": "a kite",
        "size": "1024x1024",
    }
    payload = {"id": response_id, "created_at": 1.0, "model": "gpt-5.1", "output": [item]}
    return NewResponse(payload, inputs=[], instructions=None, prompt_tokens=1, chain_tokens=1)


async def test_engine_response_store_survives_concurrent_use(tmp_path: Path) -> None:
    """The embedded engine serves every session of the app through one ResponseStore, so it
    sees concurrent saves and reads. Sharing its one aiosqlite connection without a lock
    interleaves statements and transactions: SQLite answers "bad parameter or other API
    misuse" now and then, which the client sees as a dropped stream (a failed, billed turn).
    The race is timing-dependent, so this runs several rounds; a correct store never fails.
    """
    errors: list[str] = []
    for round_ in range(30):
        store = ResponseStore(tmp_path / f"engine{round_}.db")
        try:
            errors += await _hammer(store)
        finally:
            await store.aclose()
    assert errors == []


async def _hammer(store: ResponseStore) -> list[str]:
    """79 saves and 20 readers at once; returns the errors, checks every save landed."""
    seed = _stored(0)
    await store.save(seed)

    async def read() -> None:
        for _ in range(4):
            assert await store.payload(seed.payload["id"]) is not None
            assert await store.latest_image([seed.payload["id"]]) is not None

    jobs = [store.save(_stored(i)) for i in range(1, 80)] + [read() for _ in range(20)]
    results = await asyncio.gather(*jobs, return_exceptions=True)
    errors = [f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)]
    if not errors:
        for i in range(80):
            assert await store.get(f"resp_{i:04d}") is not None
    return errors
