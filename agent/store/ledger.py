"""Budget reservations that hold across tasks, processes and machines.

Before any request a turn reserves its worst-case estimate: in one transaction that first
locks the ledger (``Tx.lock``: ``BEGIN IMMEDIATE`` on SQLite, a row lock on PostgreSQL), the
spend so far plus every live hold is checked against each budget and, if the estimate fits,
a hold is written. Ten turns racing for a budget that fits one therefore see each other's
holds: one passes, nine are refused with the estimate and what is left.

A hold ends one of three ways: settled (the turn is recorded; pass ``reservation_id`` to
``Store.record_turn`` to settle in the same transaction), released (the turn failed before
any request), or expired (its worker died: a hold past ``expires_at`` no longer counts).

A turn's own hold is taken by ``Store.begin_turn`` (agent.store.turn_writes) with the same
``lock_ledger`` and ``held_and_spent``.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from agent.billing.budgets import BudgetState, check_budgets
from agent.store.database import Database, Tx
from agent.store.records import Spend
from agent.store.rows import now, sum_money, ts

LEDGER_SCOPE = "ledger"
DEFAULT_TTL = timedelta(minutes=10)
"""How long a hold lives unless settled or released: longer than any turn may run."""

Closing = Literal["settled", "released"]
PreCheck = Callable[[Tx, datetime], Awaitable[None]]
"""Extra checks run inside the locked ledger transaction (e.g. a visitor's rate limits)."""


@dataclass(frozen=True)
class BudgetLimits:
    """The caps one turn is checked against (None = no cap), and when "today" began (UTC)."""

    session_usd: Decimal | None
    user_daily_usd: Decimal | None
    app_daily_usd: Decimal | None
    day_start: datetime
    warn_fraction: Decimal = Decimal("0.8")


@dataclass(frozen=True)
class Reservation:
    """A hold on the budgets: ``amount_usd`` counts as spent until it ends."""

    id: str
    session_id: str
    user_id: str
    amount_usd: Decimal
    expires_at: datetime


async def lock_ledger(tx: Tx) -> None:
    """Serialise every budget check-and-hold until ``tx`` ends (call first in the tx)."""
    await tx.lock(LEDGER_SCOPE)


async def held_and_spent(
    tx: Tx, *, session_id: str, user_id: str, day_start: datetime, at: datetime
) -> Spend:
    """Recorded spend plus holds still live at ``at``, per budget, read inside ``tx``."""
    day, live = ts(day_start), ts(at)
    held = "SELECT amount_usd FROM reservations WHERE state = 'held' AND expires_at > ?"
    session = sum_money(
        await tx.fetch("SELECT known_usd FROM turns WHERE session_id = ?", (session_id,))
    ) + sum_money(await tx.fetch(f"{held} AND session_id = ?", (live, session_id)))
    user = sum_money(
        await tx.fetch(
            "SELECT turns.known_usd FROM turns JOIN sessions ON sessions.id = turns.session_id "
            "WHERE sessions.user_id = ? AND turns.started_at >= ?",
            (user_id, day),
        )
    ) + sum_money(
        await tx.fetch(f"{held} AND user_id = ? AND created_at >= ?", (live, user_id, day))
    )
    app = sum_money(
        await tx.fetch("SELECT known_usd FROM turns WHERE started_at >= ?", (day,))
    ) + sum_money(await tx.fetch(f"{held} AND created_at >= ?", (live, day)))
    return Spend(session, user, app)


class Ledger:
    """The reservation half of the Store (mixed into ``agent.store.db.Store``)."""

    database: Database

    async def reserve(
        self,
        *,
        session_id: str,
        user_id: str,
        amount_usd: Decimal | None,
        limits: BudgetLimits,
        ttl: timedelta = DEFAULT_TTL,
        at: datetime | None = None,
        precheck: PreCheck | None = None,
    ) -> tuple[Reservation, list[BudgetState]]:
        """Atomically check every budget and hold ``amount_usd`` against them.

        Raises BudgetExceeded (with the estimate and what is left) when the hold would pass a
        cap, counting other live holds, or when the amount is unknown (None) and some budget
        is capped; nothing is held then. ``precheck`` runs first inside the same locked
        transaction and may refuse by raising. Returns the hold and the budgets it brings
        near their limit (for warnings).
        """
        moment = at or now()
        reservation = Reservation(
            id=f"rsv_{uuid.uuid4().hex}",
            session_id=session_id,
            user_id=user_id,
            amount_usd=amount_usd if amount_usd is not None else Decimal(0),
            expires_at=moment + ttl,
        )
        async with self.database.transaction() as tx:
            await lock_ledger(tx)
            if precheck is not None:
                await precheck(tx, moment)
            spend = await held_and_spent(
                tx, session_id=session_id, user_id=user_id, day_start=limits.day_start, at=moment
            )
            states = [
                BudgetState("session", limits.session_usd, spend.session_usd),
                BudgetState("user_daily", limits.user_daily_usd, spend.user_today_usd),
                BudgetState("app_daily", limits.app_daily_usd, spend.app_today_usd),
            ]
            warnings = check_budgets(amount_usd, states, limits.warn_fraction)
            await tx.execute(
                "INSERT INTO reservations (id, session_id, user_id, amount_usd, state, "
                "created_at, expires_at) VALUES (?, ?, ?, ?, 'held', ?, ?)",
                (
                    reservation.id,
                    session_id,
                    user_id,
                    str(reservation.amount_usd),
                    ts(moment),
                    ts(reservation.expires_at),
                ),
            )
        return reservation, warnings

    async def settle(self, reservation_id: str) -> bool:
        """End a hold because its turn's cost is now recorded; False if it was not held.

        Prefer ``Store.record_turn(..., reservation_id=...)``, which settles in the same
        transaction as it records.
        """
        async with self.database.transaction() as tx:
            return await self._close_reservation(tx, reservation_id, "settled")

    async def release(self, reservation_id: str) -> bool:
        """End a hold whose turn failed before any request; False if it was not held."""
        async with self.database.transaction() as tx:
            return await self._close_reservation(tx, reservation_id, "released")

    async def held_usd(self, at: datetime | None = None) -> Decimal:
        """The total of all holds live at ``at`` (now by default)."""
        rows = await self.database.fetch(
            "SELECT amount_usd FROM reservations WHERE state = 'held' AND expires_at > ?",
            (ts(at or now()),),
        )
        return sum_money(rows)

    async def _close_reservation(self, tx: Tx, reservation_id: str, state: Closing) -> bool:
        changed = await tx.execute(
            "UPDATE reservations SET state = ?, closed_at = ? WHERE id = ? AND state = 'held'",
            (state, ts(now()), reservation_id),
        )
        return changed > 0
