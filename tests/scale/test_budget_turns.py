"""Ten concurrent turns of one user against a daily budget that fits one, on PostgreSQL.

Through the real turn loop (``Session.start_turn``, ``Store.begin_turn``'s locked
transaction), with the ScriptedModel holding every admitted turn mid-stream so all ten are
in flight together: once as ten sessions over two Atelier objects (two asyncpg pools) in
one event loop, once as ten separate processes released at the same moment. Exactly one
turn starts, nine are refused before any request, and the user's spend never passes the
budget.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import textwrap
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from agent.config import Settings
from agent.errors import BudgetExceeded
from agent.runtime import Atelier
from agent.store.db import Store
from agent.turn import events as ev
from agent.turn.testing import Hold, Image, ScriptedModel

_numbers = itertools.count()


async def _estimate(settings: Settings) -> Decimal:
    """What one studio turn reserves (its worst-case estimate), measured on a scratch store."""
    async with await Atelier.open(settings, model=ScriptedModel(lambda r: [Image()])) as probe:
        session = await probe.new_session(user_id="probe")
        first = await anext(session.start_turn("a cat").events())
    assert isinstance(first, ev.TurnStarted) and first.estimate_usd is not None
    return first.estimate_usd


@pytest.fixture
async def capped(pg_cluster: Any, services: ModuleType, tmp_path: Path) -> tuple[Settings, Decimal]:
    """Settings on a fresh PostgreSQL database with a user budget of 1.5 turns' estimate."""
    scratch = Settings(_env_file=None, data_dir=tmp_path / "probe")  # type: ignore[call-arg]
    budget = await _estimate(scratch) * Decimal("1.5")
    url = services.create_database(pg_cluster, f"budget_{next(_numbers)}")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=tmp_path / "data",
        database_url=url,
        user_daily_budget_usd=budget,
    )
    return settings, budget


async def _spent(settings: Settings) -> tuple[Decimal, list[str]]:
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    assert settings.database_url is not None
    store = await Store.open(settings.database_url)
    try:
        spent = await store.user_spent_since("ann", midnight)
        rows = await store.database.fetch("SELECT status FROM turns ORDER BY status")
        return spent, [str(row[0]) for row in rows]
    finally:
        await store.close()


async def test_ten_concurrent_turns_in_one_loop_hold_one(capped: tuple[Settings, Decimal]) -> None:
    settings, budget = capped
    model = ScriptedModel(lambda request: [Hold(), Image()])
    async with (
        await Atelier.open(settings, model=model) as one,
        await Atelier.open(settings, model=model) as two,
    ):
        sessions = [await app.new_session(user_id="ann") for app in (one, two) for _ in range(5)]
        turns = [session.start_turn("a cat") for session in sessions]
        readers = [turn.events() for turn in turns]
        firsts = await asyncio.gather(*(anext(reader) for reader in readers))
        started = [e for e in firsts if isinstance(e, ev.TurnStarted)]
        refused = [e for e in firsts if isinstance(e, ev.TurnFailed)]
        assert len(started) == 1 and len(refused) == 9, firsts
        assert all(isinstance(e.error, BudgetExceeded) for e in refused)
        assert len(model.requests) == 1  # the refused never reached the model
        model.release.set()
        outcomes = await asyncio.gather(*(turn.wait() for turn in turns))
        assert sum(isinstance(outcome, ev.TurnBilled) for outcome in outcomes) == 1
    spent, statuses = await _spent(settings)
    assert 0 < spent <= budget
    assert statuses == ["ok"] + ["refused"] * 9


_CHILD = textwrap.dedent(
    """
    import asyncio, json, sys
    from decimal import Decimal
    from agent.config import Settings
    from agent.runtime import Atelier
    from agent.turn import events as ev
    from agent.turn.testing import Hold, Image, ScriptedModel

    async def main(config: dict) -> None:
        settings = Settings(
            _env_file=None, data_dir=config["data_dir"], database_url=config["url"],
            user_daily_budget_usd=Decimal(config["budget"]),
        )
        model = ScriptedModel(lambda request: [Hold(), Image()])
        async with await Atelier.open(settings, model=model) as app:
            session = await app.new_session(user_id="ann")
            print("ready", flush=True)
            await asyncio.to_thread(sys.stdin.readline)  # every process is released at once
            turn = session.start_turn("a cat")
            reader = turn.events()
            first = await anext(reader)
            print("started" if isinstance(first, ev.TurnStarted) else "refused", flush=True)
            await asyncio.to_thread(sys.stdin.readline)  # then the admitted turn may finish
            model.release.set()
            outcome = await turn.wait()
            print(type(outcome).__name__, len(model.requests), flush=True)

    asyncio.run(main(json.loads(sys.argv[1])))
    """
)


async def _line(child: asyncio.subprocess.Process) -> str:
    assert child.stdout is not None
    line = await asyncio.wait_for(child.stdout.readline(), 120)
    return line.decode().strip()


async def test_ten_processes_turning_at_once_hold_one(
    capped: tuple[Settings, Decimal], tmp_path: Path
) -> None:
    settings, budget = capped
    children = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _CHILD,
            json.dumps(
                {
                    "data_dir": str(tmp_path / f"worker{n}"),
                    "url": settings.database_url,
                    "budget": str(budget),
                }
            ),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for n in range(10)
    ]

    async def tell(line: bytes) -> None:
        for child in children:
            assert child.stdin is not None
            child.stdin.write(line)
            await child.stdin.drain()

    try:
        assert [await _line(child) for child in children] == ["ready"] * 10
        await tell(b"go\n")
        verdicts = [await _line(child) for child in children]
        assert sorted(verdicts) == ["refused"] * 9 + ["started"], verdicts
        await tell(b"finish\n")
        finals = [await _line(child) for child in children]
        for child in children:
            await asyncio.wait_for(child.wait(), 60)
    finally:
        for child in children:
            if child.returncode is None:
                child.kill()
                await child.wait()
    assert sorted(finals) == ["TurnBilled 1"] + ["TurnFailed 0"] * 9, finals
    spent, statuses = await _spent(settings)
    assert 0 < spent <= budget
    assert statuses == ["ok"] + ["refused"] * 9
