"""Visitor quotas (turns per minute, images per day, daily budget inside the app cap).

On both backends: a refusal holds and spends nothing, and says why in a sentence.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from agent.billing.quotas import QuotaExceeded, VisitorLimits, reserve_visitor_turn
from agent.store.db import Store

from .builders import T0, image, session, turn

VISITOR = "visitor:v_abc"
LIMITS = VisitorLimits(daily_budget_usd=Decimal("0.50"), turns_per_minute=2, images_per_day=3)


async def _admit(
    store: Store,
    *,
    at_s: float = 0,
    estimate: str = "0.10",
    images: int = 1,
    limits: VisitorLimits = LIMITS,
    app: str | None = "200",
) -> str:
    hold = await reserve_visitor_turn(
        store,
        visitor_id=VISITOR,
        session_id="s1",
        estimate_usd=Decimal(estimate),
        max_images=images,
        limits=limits,
        app_daily_usd=None if app is None else Decimal(app),
        day_start=T0,
        at=T0 + timedelta(seconds=at_s),
    )
    return hold.id


async def test_turns_per_minute(store: Store) -> None:
    first = await _admit(store, at_s=0)
    await store.release(first)  # a released hold no longer counts...
    await _admit(store, at_s=1)
    await _admit(store, at_s=2)
    with pytest.raises(QuotaExceeded, match="wait a minute") as refused:
        await _admit(store, at_s=3)
    assert refused.value.limit == "turns_per_minute"
    assert await store.held_usd(at=T0) == Decimal("0.20")  # nothing more held
    await _admit(store, at_s=62)  # a minute later


async def test_images_per_day_count_recorded_images(store: Store) -> None:
    await store.create_session(replace(session("s1"), user_id=VISITOR))
    await store.record_turn(turn(image_ids=("ig_1", "ig_2")), [image("ig_1"), image("ig_2")])
    with pytest.raises(QuotaExceeded, match="1 of today's 3 left") as refused:
        await _admit(store, images=2)
    assert refused.value.limit == "images_per_day"
    await _admit(store, images=1)


async def test_daily_budget_and_the_app_cap(store: Store) -> None:
    with pytest.raises(QuotaExceeded, match="your daily budget") as refused:
        await _admit(store, estimate="0.60")
    assert refused.value.limit == "daily_budget"
    with pytest.raises(QuotaExceeded, match="the site's daily budget") as refused:
        await _admit(store, estimate="0.30", app="0.20")
    assert refused.value.limit == "app_daily"
    assert await store.held_usd(at=T0) == 0


async def test_only_visitor_ids_are_admitted_here(store: Store) -> None:
    with pytest.raises(ValueError, match="not a visitor"):
        await reserve_visitor_turn(
            store, visitor_id="alice", session_id="s1", estimate_usd=Decimal(0), max_images=0,
            limits=LIMITS, app_daily_usd=None, day_start=T0, at=T0,
        )  # fmt: skip
