"""The store: schema, sessions, turns and bills, lineage, spend, the exchange log.

Tests taking the ``store`` (or ``open_store``) fixture run on SQLite and on PostgreSQL;
tests about the SQLite file itself (WAL, PRAGMAs, folders) take ``tmp_path``.
"""

from __future__ import annotations

import asyncio
import base64
import sqlite3
import tempfile
from collections.abc import Awaitable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.errors import NotFound
from agent.store.database import IntegrityError
from agent.store.db import MIGRATIONS_TABLE, ImageConflict, Store
from agent.store.migrations import apply_db_migrations
from agent.store.records import ImageRecord
from agent.store.schema import MIGRATIONS

from .builders import T0, image, rows, session, turn
from .conftest import OpenStore


def _rows(db_path: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Read the file through a second, plain connection (what another process would see)."""
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute(sql, params).fetchall()
    conn.close()
    return rows


# ------------------------------------------------------------------ schema and pragmas


async def test_migrations_apply_once_and_create_the_tables(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "atelier.db"
    store = await Store.open(path)
    await store.close()
    tables = {row[0] for row in _rows(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"sessions", "turns", "cost_lines", "images", "exchanges", MIGRATIONS_TABLE} <= tables
    indexes = {row[0] for row in _rows(path, "SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"idx_sessions_user_created", "idx_images_parent", "idx_turns_started"} <= indexes

    store = await Store.open(path)  # re-open: nothing new to apply
    await store.close()
    applied = _rows(path, f"SELECT name FROM {MIGRATIONS_TABLE}")
    names = [fn.__name__ for fn in MIGRATIONS]
    assert names[:2] == ["m001_initial", "m002_session_deleted_at"]  # numbered, in order
    assert applied == [(name,) for name in names]


async def test_runner_finds_nothing_left_to_apply(store: Store) -> None:
    assert await apply_db_migrations(store.database, MIGRATIONS, table=MIGRATIONS_TABLE) == []
    applied = await rows(store, f"SELECT name FROM {MIGRATIONS_TABLE} ORDER BY name")
    assert applied == [(fn.__name__,) for fn in MIGRATIONS]


async def test_wal_mode_and_integrity(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "wal.db")
    await store.create_session(session())
    assert store.path is not None
    assert _rows(store.path, "PRAGMA journal_mode") == [("wal",)]
    assert store.path.with_name(store.path.name + "-wal").exists()
    assert await store.integrity_check() == "ok"
    await store.close()


async def test_foreign_keys_are_enforced(store: Store) -> None:
    with pytest.raises(IntegrityError):
        async with store.database.transaction() as tx:
            await tx.execute(
                "INSERT INTO turns (session_id, turn, user_text, status, started_at) "
                "VALUES ('nope', 1, 'x', 'ok', '2026-01-01')"
            )
    assert await rows(store, "SELECT COUNT(*) FROM turns") == [(0,)]


# ------------------------------------------------------------------ sessions


async def test_session_crud(store: Store) -> None:
    record = session("s1")
    await store.create_session(record)
    assert await store.get_session("s1") == record
    assert await store.get_session("missing") is None
    with pytest.raises(ValueError, match="already exists"):
        await store.create_session(record)

    await store.update_session("s1", settings={"quality": "high"}, title="Foxes")
    updated = await store.get_session("s1")
    assert updated is not None
    assert updated.settings == {"quality": "high"}
    assert updated.title == "Foxes"
    assert updated.last_response_id is None
    assert updated.updated_at > record.updated_at
    assert updated.updated_at.tzinfo is not None

    await store.update_session("s1", last_response_id="resp_9")
    again = await store.get_session("s1")
    assert again is not None
    assert (again.title, again.last_response_id) == ("Foxes", "resp_9")

    with pytest.raises(NotFound):
        await store.update_session("missing", title="x")


async def test_list_sessions_is_per_user_newest_first(store: Store) -> None:
    for i in range(5):
        await store.create_session(session(f"a{i}", "alice", T0 + timedelta(minutes=i)))
    await store.create_session(session("b0", "bob"))
    await store.update_session("a1", title="touched")  # now the most recent
    ids = [s.id for s in await store.list_sessions("alice")]
    assert ids == ["a1", "a4", "a3", "a2", "a0"]
    assert [s.id for s in await store.list_sessions("alice", limit=2)] == ["a1", "a4"]
    assert [s.id for s in await store.list_sessions("bob")] == ["b0"]
    assert await store.list_sessions("carol") == []


async def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="timezone"):
        await store.create_session(session(created_at=datetime(2026, 1, 1)))


# ------------------------------------------------------------------ turns


async def test_record_turn_round_trips_bill_images_and_moves_the_session(store: Store) -> None:
    await store.create_session(session())
    assert await store.next_turn_number("s1") == 1
    first = turn(number=1, costs=("0.05268", "0.00588", None), image_ids=("ig_a", "ig_b"))
    await store.record_turn(first, [image("ig_a"), image("ig_b")])

    [stored] = await store.turns("s1")
    assert stored == first  # lines, Decimals, usage, settings and image ids all survive
    assert stored.bill.total_usd is None
    assert stored.bill.known_usd == Decimal("0.05856")
    assert stored.bill.estimated
    assert [i.id for i in await store.session_images("s1")] == ["ig_a", "ig_b"]
    assert await store.get_image("ig_a") == image("ig_a")
    assert await store.get_image("ig_zzz") is None

    s = await store.get_session("s1")
    assert s is not None
    assert (s.turn_count, s.last_response_id) == (1, "resp_1")
    assert await store.next_turn_number("s1") == 2


async def test_only_completed_turns_move_the_response_chain(store: Store) -> None:
    await store.create_session(session())
    await store.record_turn(turn(number=1, response_id="resp_1"), [])
    await store.record_turn(turn(number=2, status="failed", response_id="resp_2"), [])
    await store.record_turn(turn(number=3, status="cancelled", response_id="resp_3"), [])
    await store.record_turn(turn(number=4, status="ok", response_id=None), [])
    s = await store.get_session("s1")
    assert s is not None
    assert (s.turn_count, s.last_response_id) == (4, "resp_1")
    assert [t.status for t in await store.turns("s1")] == ["ok", "failed", "cancelled", "ok"]


async def test_re_recording_a_turn_replaces_its_rows(store: Store) -> None:
    await store.create_session(session())
    await store.record_turn(
        turn(costs=("0.1", "0.2", "0.3"), image_ids=("ig_a", "ig_b")),
        [image("ig_a"), image("ig_b")],
    )
    replacement = turn(costs=("0.5",), image_ids=("ig_c",))
    await store.record_turn(replacement, [image("ig_c")])
    assert await store.turns("s1") == [replacement]
    assert [i.id for i in await store.session_images("s1")] == ["ig_c"]
    assert await store.session_spent("s1") == Decimal("0.5")
    s = await store.get_session("s1")
    assert s is not None
    assert s.turn_count == 1


async def test_failed_record_turn_leaves_no_partial_rows(store: Store) -> None:
    await store.create_session(session())
    await store.record_turn(turn(number=1, image_ids=("ig_a",)), [image("ig_a")])
    doomed = turn(number=2, response_id="resp_2", costs=("1", "2"), image_ids=("ig_b", "ig_a"))
    with pytest.raises(ImageConflict, match="ig_a"):
        # ig_b inserts fine, then ig_a collides with turn 1's image: all of turn 2 must go.
        await store.record_turn(doomed, [image("ig_b", number=2), image("ig_a", number=2)])

    assert [t.turn for t in await store.turns("s1")] == [1]
    assert await store.get_image("ig_b") is None
    assert (await store.get_image("ig_a")) == image("ig_a")
    assert await rows(store, "SELECT COUNT(*) FROM cost_lines WHERE turn = 2") == [(0,)]
    s = await store.get_session("s1")
    assert s is not None
    assert (s.turn_count, s.last_response_id) == (1, "resp_1")
    assert await store.session_spent("s1") == Decimal("0.01")
    # The connection is usable afterwards (no transaction left open).
    await store.record_turn(turn(number=2), [])
    assert await store.next_turn_number("s1") == 3


async def test_record_turn_rejects_unknown_sessions_and_foreign_images(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.record_turn(turn(session_id="ghost"), [])
    await store.create_session(session())
    with pytest.raises(ValueError, match="not from session"):
        await store.record_turn(turn(number=1), [image("ig_x", number=2)])
    assert await store.turns("s1") == []


# ------------------------------------------------------------------ lineage


async def test_lineage_ancestors(store: Store) -> None:
    #   a ── b ── d
    #   │    └─── e
    #   └─── c
    await store.create_session(session())
    tree = [
        image("ig_a", number=1, created_at=T0),
        image("ig_b", number=2, parent_id="ig_a", created_at=T0 + timedelta(minutes=1)),
        image("ig_c", number=3, parent_id="ig_a", created_at=T0 + timedelta(minutes=2)),
        image("ig_e", number=4, parent_id="ig_b", created_at=T0 + timedelta(minutes=3)),
        image("ig_d", number=5, parent_id="ig_b", created_at=T0 + timedelta(minutes=4)),
    ]
    for img in tree:
        await store.record_turn(turn(number=img.turn, image_ids=(img.id,)), [img])

    async def ids(coro: Awaitable[list[ImageRecord]]) -> list[str]:
        return [i.id for i in await coro]

    assert await ids(store.ancestors("ig_d")) == ["ig_a", "ig_b"]
    assert await ids(store.ancestors("ig_c")) == ["ig_a"]
    assert await ids(store.ancestors("ig_a")) == []
    assert await ids(store.ancestors("ig_missing")) == []


async def test_lineage_survives_a_missing_parent_and_a_cycle(store: Store) -> None:
    await store.create_session(session())
    await store.record_turn(
        turn(number=1),
        [
            image("ig_x", parent_id="ig_y"),
            image("ig_y", parent_id="ig_x"),
            image("ig_z", parent_id="ig_gone"),
        ],
    )
    assert [i.id for i in await store.ancestors("ig_x")] == ["ig_y"]
    assert await store.ancestors("ig_z") == []


# ------------------------------------------------------------------ spend


async def test_spend_by_session_user_day_and_app_is_exact(store: Store) -> None:
    day = datetime(2026, 11, 21, tzinfo=UTC)
    await store.create_session(session("a1", "alice"))
    await store.create_session(session("a2", "alice"))
    await store.create_session(session("b1", "bob"))
    # 0.1 + 0.2 is not 0.3 in floats; the store must keep it exact.
    await store.record_turn(turn("a1", 1, started_at=day - timedelta(seconds=1), costs=("5",)), [])
    await store.record_turn(turn("a1", 2, started_at=day, costs=("0.1", None)), [])
    await store.record_turn(turn("a2", 1, started_at=day + timedelta(hours=3), costs=("0.2",)), [])
    await store.record_turn(turn("b1", 1, started_at=day + timedelta(hours=1), costs=("0.7",)), [])
    # The same instant given in another timezone selects the same turns.
    plus2 = day.astimezone(timezone(timedelta(hours=2)))

    assert await store.session_spent("a1") == Decimal("5.1")
    assert await store.session_spent("nobody") == Decimal(0)
    assert await store.user_spent_since("alice", day) == Decimal("0.3")
    assert await store.user_spent_since("alice", plus2) == Decimal("0.3")
    assert await store.user_spent_since("alice", day - timedelta(days=1)) == Decimal("5.3")
    assert await store.user_spent_since("bob", day) == Decimal("0.7")
    assert await store.user_spent_since("carol", day) == Decimal(0)
    assert await store.app_spent_since(day) == Decimal("1.0")
    assert await store.app_spent_since(day + timedelta(hours=2)) == Decimal("0.2")
    with pytest.raises(ValueError, match="timezone"):
        await store.app_spent_since(datetime(2026, 11, 21))


# ------------------------------------------------------------------ concurrency


async def test_twenty_concurrent_sessions_lose_no_row(store: Store) -> None:
    sessions, turns_each = 20, 8

    async def converse(n: int) -> None:
        sid = f"s{n:02d}"
        await store.create_session(session(sid, f"user{n % 3}"))
        for t in range(1, turns_each + 1):
            number = await store.next_turn_number(sid)
            img = image(f"ig_{sid}_{t}", session_id=sid, number=number)
            await store.finish_turn(
                turn(
                    sid,
                    number,
                    response_id=f"resp_{sid}_{t}",
                    costs=("0.01", "0.02"),
                    image_ids=(img.id,),
                ),
                [img],
                request={"input": "x"},
            )

    await asyncio.gather(*(converse(n) for n in range(sessions)))

    total = sessions * turns_each
    assert await rows(store, "SELECT COUNT(*) FROM turns") == [(total,)]
    assert await rows(store, "SELECT COUNT(*) FROM images") == [(total,)]
    assert await rows(store, "SELECT COUNT(*) FROM cost_lines") == [(2 * total,)]
    assert await rows(store, "SELECT COUNT(*) FROM exchanges") == [(total,)]
    for n in range(sessions):
        sid = f"s{n:02d}"
        s = await store.get_session(sid)
        assert s is not None
        assert (s.turn_count, s.last_response_id) == (turns_each, f"resp_{sid}_{turns_each}")
        assert await store.session_spent(sid) == Decimal("0.03") * turns_each
    assert await store.app_spent_since(T0) == Decimal("0.03") * total
    assert await store.integrity_check() == "ok"


async def test_two_stores_on_one_database_write_together(open_store: OpenStore) -> None:
    first, second = await open_store(), await open_store()
    await first.create_session(session("s1"))
    await second.create_session(session("s2"))

    async def write(store: Store, sid: str) -> None:
        for t in range(1, 11):
            await store.record_turn(turn(sid, t), [])

    await asyncio.gather(write(first, "s1"), write(second, "s2"))
    query = "SELECT session_id, COUNT(*) FROM turns GROUP BY session_id ORDER BY session_id"
    assert await rows(first, query) == [
        ("s1", 10),
        ("s2", 10),
    ]


# ------------------------------------------------------------------ exchange log


async def test_exchange_log_elides_base64_and_secrets(store: Store) -> None:
    png = base64.b64encode(b"\x89PNG" + b"\x00" * 3000).decode()
    request = {
        "model": "gpt-5.1",
        "input": [
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "make it blue; my risk-assessment-document"},
                    {"type": "input_image", "image_url": f"data:image/png;base64,{png}"},
                ],
            }
        ],
        "extra_headers": {"Authorization": "Bearer sk-proj-abcdefghijklmnopqrstuvwxyz"},
        "api_key": "sk-abcdefghijklmnopqrstuvwxyz0123",
        "metadata": {"note": "key sk-abcdefghijklmnopqrstuvwxyz0123 pasted"},
    }
    response = {
        "id": "resp_1",
        "output": [{"type": "image_generation_call", "id": "ig_1", "result": png}],
        "events": [
            {"type": "response.image_generation_call.partial_image", "partial_image_b64": png}
        ],
    }
    await store.create_session(session())
    await store.finish_turn(turn(number=1), [], request=request, response=response)
    failed = replace(turn(number=2, status="failed"), error_message="rate_limited")
    await store.finish_turn(failed, [], request={"input": "hi"})

    [first, second] = await store.exchanges("s1")
    elided = f"<{len(png)} bytes base64 elided>"
    content = first["request"]["input"][0]["content"]
    assert content[1]["image_url"] == f"data:image/png;base64,{elided}"
    assert content[0]["text"] == "make it blue; my risk-assessment-document"
    assert first["request"]["extra_headers"]["Authorization"] == "<redacted>"
    assert first["request"]["api_key"] == "<redacted>"
    assert first["request"]["metadata"]["note"] == "key <redacted> pasted"
    assert first["response"]["output"][0]["result"] == elided
    assert first["response"]["events"][0]["partial_image_b64"] == elided
    assert first["response"]["id"] == "resp_1"
    assert (second["turn"], second["response"], second["error"]) == (2, None, "rate_limited")

    raw = "".join(str(r) for r in await rows(store, "SELECT * FROM exchanges"))
    assert png[:100] not in raw
    assert "sk-" not in raw.replace("risk-", "")


# ------------------------------------------------------------------ resume


async def test_everything_survives_close_and_re_open(open_store: OpenStore) -> None:
    store = await open_store()
    await store.create_session(session())
    first = turn(number=1, costs=("0.21072",), image_ids=("ig_a",))
    await store.record_turn(first, [image("ig_a")])
    await store.close()

    store = await open_store()
    try:
        s = await store.get_session("s1")
        assert s is not None
        assert (s.last_response_id, s.turn_count) == ("resp_1", 1)
        assert await store.turns("s1") == [first]
        assert await store.get_image("ig_a") == image("ig_a")
        assert await store.session_spent("s1") == Decimal("0.21072")
        assert await store.next_turn_number("s1") == 2
        second = replace(turn(number=2, response_id="resp_2"), target_image_id="ig_a")
        await store.record_turn(second, [])
        assert [t.target_image_id for t in await store.turns("s1")] == [None, "ig_a"]
    finally:
        await store.close()


# ------------------------------------------------------------------ robustness


async def test_many_openers_of_a_new_database_all_succeed(open_store: OpenStore) -> None:
    stores = await asyncio.gather(*(open_store() for _ in range(4)), return_exceptions=True)
    assert all(isinstance(s, Store) for s in stores), stores
    names = [(fn.__name__,) for fn in MIGRATIONS]
    assert isinstance(stores[0], Store)
    assert await rows(stores[0], f"SELECT name FROM {MIGRATIONS_TABLE} ORDER BY name") == names


async def test_a_cancelled_record_turn_is_all_or_nothing(store: Store) -> None:
    await store.create_session(session())
    outcomes = set()
    for attempt in range(12):
        number = attempt + 1
        img = image(f"ig_{number}", number=number)
        task = asyncio.create_task(
            store.record_turn(turn(number=number, costs=("1", "2"), image_ids=(img.id,)), [img])
        )
        for _ in range(attempt):  # let the write get a little further each time
            await asyncio.sleep(0)
        task.cancel()
        try:
            await task
            outcomes.add("completed")
        except asyncio.CancelledError:
            outcomes.add("cancelled")
        recorded = [t for t in await store.turns("s1") if t.turn == number]
        lines = await rows(store, "SELECT COUNT(*) FROM cost_lines WHERE turn = ?", (number,))
        if recorded:
            assert recorded[0].image_ids == (img.id,)
            assert lines == [(2,)]
        else:
            assert await store.get_image(img.id) is None
            assert lines == [(0,)]
    assert "cancelled" in outcomes
    # No transaction was left open: ordinary writes still work.
    await store.update_session("s1", title="still writable")
    await store.record_turn(turn(number=99), [])
    assert await store.integrity_check() == "ok"


async def test_close_twice_is_harmless(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "x.db")
    await store.close()
    await store.close()
    with pytest.raises(ValueError):
        await store.get_session("s1")


async def test_an_image_listed_twice_is_refused_before_writing(store: Store) -> None:
    await store.create_session(session())
    with pytest.raises(ValueError, match="twice"):
        await store.record_turn(turn(), [image("ig_a"), image("ig_a")])
    assert await store.turns("s1") == []


_money = st.decimals(
    min_value=Decimal(0), max_value=Decimal(1000), places=8, allow_nan=False, allow_infinity=False
)


@settings(max_examples=25, deadline=None)
@given(costs=st.lists(st.lists(st.one_of(st.none(), _money), min_size=1, max_size=4), max_size=6))
async def test_money_round_trips_and_sums_exactly(costs: list[list[Decimal | None]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = await Store.open(Path(folder) / "money.db")
        try:
            await store.create_session(session())
            for number, line_costs in enumerate(costs, start=1):
                await store.record_turn(
                    turn(number=number, costs=tuple(map(_text, line_costs))), []
                )
            stored = await store.turns("s1")
            assert [[line.cost_usd for line in t.bill.lines] for t in stored] == costs
            expected = sum((c for line in costs for c in line if c is not None), Decimal(0))
            assert await store.session_spent("s1") == expected
            assert await store.app_spent_since(T0) == expected
        finally:
            await store.close()


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
