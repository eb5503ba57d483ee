"""Beginning and finishing turns: numbers, budget reservations, settling, one transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from agent.errors import BudgetExceeded
from agent.store.database import IntegrityError
from agent.store.db import Store
from agent.store.records import Spend

from .builders import session, turn

DAY = datetime(2026, 11, 21, tzinfo=UTC)


def _later(minutes: float = 10) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


def _cap(limit: str, seen: list[Spend] | None = None) -> Callable[[Spend], None]:
    def admit(spend: Spend) -> None:
        if seen is not None:
            seen.append(spend)
        if spend.session_usd + Decimal("1") > Decimal(limit):
            raise BudgetExceeded(
                "over", budget="session", estimate=Decimal(1), remaining=Decimal(0)
            )

    return admit


async def test_open_reservations_count_against_the_budget_until_settled(store: Store) -> None:
    await store.create_session(session())
    seen: list[Spend] = []
    begin = dict(day=DAY, estimate=Decimal("1"), expires_at=_later(), admit=_cap("1.5", seen))
    first = await store.begin_turn("s1", "alice", **begin)  # type: ignore[arg-type]
    second = await store.begin_turn("s1", "alice", **begin)  # type: ignore[arg-type]
    assert (first.turn, first.refusal) == (1, None)
    assert second.turn == 2 and isinstance(second.refusal, BudgetExceeded)
    assert seen[1].session_usd == Decimal("1")  # the first turn's reservation
    await store.finish_turn(turn(number=1, costs=("0.25",)), [], request={"model": "m"})
    await store.finish_turn(turn(number=2, status="refused", costs=()), [])
    third = await store.begin_turn("s1", "alice", **begin)  # type: ignore[arg-type]
    assert third.turn == 3 and third.refusal is None
    assert seen[2] == Spend(Decimal("0.25"), Decimal("0.25"), Decimal("0.25"))
    assert [e["turn"] for e in await store.exchanges("s1")] == [1]  # logged with its turn


async def test_expired_and_released_reservations_stop_counting(store: Store) -> None:
    await store.create_session(session())
    seen: list[Spend] = []
    gone = datetime.now(UTC) - timedelta(seconds=1)
    await store.begin_turn(
        "s1", "alice", day=DAY, estimate=Decimal("3"), expires_at=gone, admit=_cap("9", seen)
    )
    held = await store.begin_turn(
        "s1", "alice", day=DAY, estimate=Decimal("2"), expires_at=_later(), admit=_cap("9", seen)
    )
    await store.release_reservation("s1", held.turn)
    last = await store.begin_turn(
        "s1", "alice", day=DAY, estimate=Decimal("1"), expires_at=_later(), admit=_cap("9", seen)
    )
    assert [s.session_usd for s in seen] == [0, 0, 0]
    assert last.turn == 3  # numbers of unfinished turns stay taken


async def test_finish_turn_never_replaces_a_recorded_turn(store: Store) -> None:
    await store.create_session(session())
    await store.finish_turn(turn(number=1), [])
    with pytest.raises(IntegrityError):
        await store.finish_turn(turn(number=1, costs=("9",)), [], request={"model": "m"})
    (only,) = await store.turns("s1")
    assert only.bill.known_usd == Decimal("0.01")
    assert await store.exchanges("s1") == []  # the log went with the failed transaction


async def test_two_connections_number_concurrent_turns_apart(tmp_path: Path) -> None:
    path = tmp_path / "atelier.db"
    one, two = await Store.open(path), await Store.open(path)
    try:
        await one.create_session(session())

        async def begin(store: Store) -> int:
            admission = await store.begin_turn(
                "s1", "alice", day=DAY, estimate=None, expires_at=_later(), admit=lambda s: None
            )
            return admission.turn

        numbers = await asyncio.gather(*(begin(s) for s in (one, two) for _ in range(5)))
        assert sorted(numbers) == list(range(1, 11))
    finally:
        await one.close()
        await two.close()
