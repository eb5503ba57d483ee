"""Public widget visitors: a daily budget and rate limits per visitor, inside the app's cap.

A visitor's turn is admitted by ``reserve_visitor_turn``: in the ledger's locked transaction
(so it holds across workers) it counts the visitor's turns in the last minute and images
today, then reserves the turn's worst-case estimate against the visitor's daily budget and
the app's daily budget. Over any limit: ``QuotaExceeded`` with a sentence for the visitor,
and nothing is held or spent. A turn in flight counts towards turns-per-minute through its
hold; its images count once recorded (the per-turn maximum is checked up front).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from agent.billing.format import format_usd
from agent.config import Settings
from agent.errors import AtelierError, BudgetExceeded
from agent.store.database import Tx
from agent.store.db import Store
from agent.store.ledger import BudgetLimits, PreCheck, Reservation
from agent.store.rows import ts

VISITOR_PREFIX = "visitor:"
"""Visitor user ids start with this (no configured username can contain ':')."""


class QuotaExceeded(AtelierError):
    """A visitor's limit would be passed; refused before any request, nothing spent."""

    code = "quota_exceeded"

    def __init__(self, user_message: str, *, limit: str) -> None:
        super().__init__(user_message)
        self.limit = limit


@dataclass(frozen=True)
class VisitorLimits:
    """What one visitor may do: a daily budget (None = no cap) and rate limits."""

    daily_budget_usd: Decimal | None
    turns_per_minute: int
    images_per_day: int

    @classmethod
    def from_settings(cls, settings: Settings) -> VisitorLimits:
        """The ATELIER_VISITOR_* settings."""
        return cls(
            settings.visitor_daily_budget_usd,
            settings.visitor_turns_per_minute,
            settings.visitor_images_per_day,
        )


def is_visitor(user_id: str) -> bool:
    """True for anonymous widget visitors' user ids."""
    return user_id.startswith(VISITOR_PREFIX)


async def _count(tx: Tx, sql: str, params: tuple[object, ...]) -> int:
    row = await tx.fetchrow(sql, params)
    return int(row[0]) if row is not None else 0


def visitor_precheck(
    visitor_id: str, limits: VisitorLimits, *, max_images: int, day_start: datetime
) -> PreCheck:
    """The rate limits of one visitor turn, run inside the ledger's locked transaction.

    Counts the visitor's turns in the last minute (recorded, refused ones aside, plus holds
    of turns in flight) and images made today; raises QuotaExceeded when this turn would
    pass either limit.
    """

    async def rate_limits(tx: Tx, moment: datetime) -> None:
        minute_ago = ts(moment - timedelta(minutes=1))
        recent = await _count(
            tx,
            "SELECT COUNT(*) FROM turns JOIN sessions ON sessions.id = turns.session_id "
            "WHERE sessions.user_id = ? AND turns.started_at >= ? AND turns.status <> 'refused'",
            (visitor_id, minute_ago),
        ) + await _count(
            tx,
            "SELECT COUNT(*) FROM reservations WHERE user_id = ? AND state = 'held' "
            "AND created_at >= ? AND expires_at > ? AND amount_usd <> '0'",
            (visitor_id, minute_ago, ts(moment)),
        )
        if recent >= limits.turns_per_minute:
            raise QuotaExceeded(
                f"You have sent {limits.turns_per_minute} messages in the last minute, the most "
                "allowed. Please wait a minute and try again.",
                limit="turns_per_minute",
            )
        images = await _count(
            tx,
            "SELECT COUNT(*) FROM images JOIN sessions ON sessions.id = images.session_id "
            "WHERE sessions.user_id = ? AND images.created_at >= ?",
            (visitor_id, ts(day_start)),
        )
        if images + max_images > limits.images_per_day:
            left = max(0, limits.images_per_day - images)
            raise QuotaExceeded(
                f"This could make {max_images} image(s), and you have {left} of today's "
                f"{limits.images_per_day} left. Please come back tomorrow (UTC).",
                limit="images_per_day",
            )

    return rate_limits


def quota_refusal(exc: BudgetExceeded) -> QuotaExceeded:
    """A visitor's sentence for a budget refusal (their daily budget or the site's)."""
    whose = "your daily" if exc.budget == "user_daily" else "the site's daily"
    cost = "an unknown amount" if exc.estimate is None else format_usd(exc.estimate)
    return QuotaExceeded(
        f"This request could cost up to {cost}, more than {whose} budget has left "
        f"({format_usd(exc.remaining)}). "
        "Please try a smaller request or come back tomorrow (UTC).",
        limit="daily_budget" if exc.budget == "user_daily" else "app_daily",
    )


async def reserve_visitor_turn(
    store: Store,
    *,
    visitor_id: str,
    session_id: str,
    estimate_usd: Decimal | None,
    max_images: int,
    limits: VisitorLimits,
    app_daily_usd: Decimal | None,
    day_start: datetime,
    at: datetime,
) -> Reservation:
    """Admit one visitor turn atomically or raise QuotaExceeded (nothing held then).

    (The turn loop admits visitors' turns through ``Store.begin_turn`` with the same
    ``visitor_precheck`` and ``quota_refusal``; this is the stand-alone hold.)
    """
    if not is_visitor(visitor_id):
        raise ValueError(f"{visitor_id!r} is not a visitor id.")
    try:
        reservation, _ = await store.reserve(
            session_id=session_id,
            user_id=visitor_id,
            amount_usd=estimate_usd,
            limits=BudgetLimits(
                session_usd=None,
                user_daily_usd=limits.daily_budget_usd,
                app_daily_usd=app_daily_usd,
                day_start=day_start,
            ),
            at=at,
            precheck=visitor_precheck(
                visitor_id, limits, max_images=max_images, day_start=day_start
            ),
        )
    except BudgetExceeded as exc:
        raise quota_refusal(exc) from exc
    return reservation
