"""Budget reservations: atomic check-and-hold, settle, release, expiry, on both backends.

The race tests start ten reservations at once (asyncio tasks on separate stores, then
separate processes released together) against a budget that fits exactly one: one is held,
nine are refused, and what is held never passes the budget.
"""

from __future__ import annotations

import asyncio
import sys
import textwrap
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from agent.errors import BudgetExceeded
from agent.store.db import Store
from agent.store.ledger import BudgetLimits

from .builders import T0, rows, session, turn
from .conftest import OpenStore

ESTIMATE = Decimal("0.30")
ONE_FITS = Decimal("0.50")  # one 0.30 hold fits; a second would make 0.60


def limits(user_daily: Decimal | None = ONE_FITS) -> BudgetLimits:
    """Caps for the race: the user's daily budget fits one estimate."""
    return BudgetLimits(
        session_usd=None, user_daily_usd=user_daily, app_daily_usd=None, day_start=T0
    )


async def test_a_hold_counts_until_settled_and_the_cost_replaces_it(store: Store) -> None:
    await store.create_session(session())
    hold, warnings = await store.reserve(
        session_id="s1", user_id="alice", amount_usd=ESTIMATE, limits=limits(), at=T0
    )
    assert hold.amount_usd == ESTIMATE
    assert warnings == []  # 0.30 of 0.50 is 60%, under the 80% warning line
    assert await store.held_usd(at=T0) == ESTIMATE
    with pytest.raises(BudgetExceeded) as refused:
        await store.reserve(
            session_id="s1", user_id="alice", amount_usd=ESTIMATE, limits=limits(), at=T0
        )
    assert (refused.value.budget, refused.value.estimate) == ("user_daily", ESTIMATE)
    assert refused.value.remaining == ONE_FITS - ESTIMATE
    assert "could cost up to $0.30" in str(refused.value)

    await store.record_turn(turn(costs=("0.12",)), [], reservation_id=hold.id)
    assert await store.held_usd(at=T0) == 0
    assert await rows(store, "SELECT state FROM reservations") == [("settled",)]
    assert await store.settle(hold.id) is False  # already settled: nothing changes
    # 0.12 spent + 0.30 held = 0.42 fits 0.50 now.
    await store.reserve(
        session_id="s1", user_id="alice", amount_usd=ESTIMATE, limits=limits(), at=T0
    )


async def test_release_and_expiry_free_the_hold(store: Store) -> None:
    hold, _ = await store.reserve(
        session_id="s1", user_id="alice", amount_usd=ESTIMATE, limits=limits(), at=T0
    )
    assert await store.release(hold.id) is True
    assert await store.release(hold.id) is False
    dead, _ = await store.reserve(
        session_id="s1",
        user_id="alice",
        amount_usd=ESTIMATE,
        limits=limits(),
        ttl=timedelta(seconds=30),
        at=T0,
    )
    with pytest.raises(BudgetExceeded):  # still live 10 s later
        await store.reserve(
            session_id="s2",
            user_id="alice",
            amount_usd=ESTIMATE,
            limits=limits(),
            at=T0 + timedelta(seconds=10),
        )
    # Its worker died: 30 s on, the hold no longer counts.
    later = T0 + timedelta(seconds=31)
    await store.reserve(
        session_id="s2", user_id="alice", amount_usd=ESTIMATE, limits=limits(), at=later
    )
    assert await store.held_usd(at=later) == ESTIMATE
    assert dead.expires_at == T0 + timedelta(seconds=30)


async def test_unknown_estimates_are_refused_only_under_a_cap(store: Store) -> None:
    with pytest.raises(BudgetExceeded, match="unknown"):
        await store.reserve(
            session_id="s1", user_id="alice", amount_usd=None, limits=limits(), at=T0
        )
    hold, _ = await store.reserve(
        session_id="s1", user_id="alice", amount_usd=None, limits=limits(None), at=T0
    )
    assert hold.amount_usd == 0


async def test_ten_concurrent_reservations_on_ten_stores_hold_one(open_store: OpenStore) -> None:
    stores = [await open_store() for _ in range(10)]

    async def try_one(store: Store, n: int) -> bool:
        try:
            await store.reserve(
                session_id=f"s{n}", user_id="alice", amount_usd=ESTIMATE, limits=limits(), at=T0
            )
        except BudgetExceeded:
            return False
        return True

    outcomes = await asyncio.gather(*(try_one(s, n) for n, s in enumerate(stores)))
    assert outcomes.count(True) == 1
    assert await stores[0].held_usd(at=T0) == ESTIMATE <= ONE_FITS


_CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from datetime import datetime
    from decimal import Decimal
    from agent.errors import BudgetExceeded
    from agent.store.db import Store
    from agent.store.ledger import BudgetLimits

    async def main(target: str, name: str) -> None:
        store = await Store.open(target)
        day = datetime.fromisoformat(sys.argv[3])
        print("ready", flush=True)
        sys.stdin.readline()  # every process is released at once
        try:
            await store.reserve(
                session_id=name, user_id="alice", amount_usd=Decimal("0.30"),
                limits=BudgetLimits(None, Decimal("0.50"), None, day), at=day,
            )
            print("held", flush=True)
        except BudgetExceeded:
            print("refused", flush=True)
        finally:
            await store.close()

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


async def test_ten_processes_reserving_at_once_hold_one(
    store: Store, store_target: str | Path
) -> None:
    children = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _CHILD,
            str(store_target),
            f"p{n}",
            T0.isoformat(),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for n in range(10)
    ]
    try:
        for child in children:
            assert child.stdout is not None
            line = await asyncio.wait_for(child.stdout.readline(), 120)
            assert line.strip() == b"ready", line
        for child in children:  # all are ready: release them together
            assert child.stdin is not None
            child.stdin.write(b"go\n")
        results = [await asyncio.wait_for(child.communicate(), 60) for child in children]
    finally:
        for child in children:
            if child.returncode is None:
                child.kill()
                await child.wait()
    verdicts = [out.decode().strip() for out, _ in results]
    assert sorted(verdicts) == ["held"] + ["refused"] * 9, results
    assert await store.held_usd(at=T0) == ESTIMATE
