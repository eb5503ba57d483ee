"""Record builders for the store tests."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from agent.store.db import Store
from agent.store.records import CostLine, ImageRecord, SessionRecord, TurnBill, TurnRecord

T0 = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)


def session(
    session_id: str = "s1", user_id: str = "alice", created_at: datetime = T0
) -> SessionRecord:
    """A new session record."""
    return SessionRecord(
        id=session_id,
        user_id=user_id,
        profile="studio",
        title=f"Session {session_id}",
        settings={"quality": "medium", "size": "1024x1024"},
        last_response_id=None,
        created_at=created_at,
        updated_at=created_at,
    )


def bill(*costs: str | None) -> TurnBill:
    """A bill with one line per cost (None = unknown price)."""
    return TurnBill(
        tuple(
            CostLine(
                kind="image_output" if i % 2 else "text_output",
                model="gpt-image-2" if i % 2 else "gpt-5.1",
                tokens=1000 + i,
                rate_per_mtok_usd=None if cost is None else Decimal("30"),
                cost_usd=None if cost is None else Decimal(cost),
                owner="OpenAI list price",
                estimated=i == 2,
            )
            for i, cost in enumerate(costs)
        )
    )


def turn(
    session_id: str = "s1",
    number: int = 1,
    *,
    status: str = "ok",
    response_id: str | None = "resp_1",
    started_at: datetime = T0,
    costs: tuple[str | None, ...] = ("0.01",),
    image_ids: tuple[str, ...] = (),
) -> TurnRecord:
    """A turn record."""
    return TurnRecord(
        session_id=session_id,
        turn=number,
        user_text=f"turn {number}",
        status=status,  # type: ignore[arg-type]
        started_at=started_at,
        response_id=response_id,
        latency_ms=1234,
        settings={"quality": "medium"},
        bill=bill(*costs),
        image_ids=image_ids,
    )


def image(
    image_id: str,
    *,
    session_id: str = "s1",
    number: int = 1,
    parent_id: str | None = None,
    created_at: datetime = T0,
) -> ImageRecord:
    """An image record (its file need not exist for the store)."""
    return ImageRecord(
        id=image_id,
        session_id=session_id,
        response_id=f"resp_{number}",
        turn=number,
        prompt="a red fox",
        revised_prompt="a red fox in snow",
        action="edit" if parent_id else "generate",
        parent_id=parent_id,
        model="gpt-image-2",
        size="1024x1024",
        quality="medium",
        output_format="png",
        background="auto",
        path=Path(f"/images/ab/{image_id}.png"),
        sha256="ab" * 32,
        width=1024,
        height=1024,
        bytes=12345,
        latency_ms=5000,
        created_at=created_at,
        reasoning_item_id="rs_1" if parent_id else None,
    )


async def rows(store: Store, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows read through the store's own database (plain tuples, comparable on both backends)."""
    return [tuple(row) for row in await store.database.fetch(sql, params)]
