"""Bill lines and captions read right: exact amounts, unknown prices never shown as $0."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from agent.store.records import CostLine, ImageRecord, TurnBill
from ui.money import bill_line, image_caption, spent_line, usd, usd_short

OWNER = "OpenAI list price"


def _line(kind: str, cost: str | None, *, estimated: bool = False) -> CostLine:
    return CostLine(
        kind=kind,  # type: ignore[arg-type]
        model="gpt-image-2" if kind.startswith("image") else "gpt-5.1",
        tokens=1000,
        rate_per_mtok_usd=None if cost is None else Decimal("30"),
        cost_usd=None if cost is None else Decimal(cost),
        owner=OWNER,
        estimated=estimated,
    )


def test_usd_keeps_every_digit_and_says_unknown() -> None:
    assert usd(Decimal("0.05268")) == "$0.05268"
    assert usd(Decimal("0.1")) == "$0.1000"
    assert usd(Decimal("5"), places=2) == "$5.00"
    assert usd(None) == "unknown"


def test_short_money_rounds_half_up_for_running_text() -> None:
    assert usd_short(Decimal("0.06132625")) == "$0.0613"
    assert usd_short(Decimal("0.00005")) == "$0.0001"
    assert usd_short(Decimal("5"), places=2) == "$5.00"
    assert usd_short(None) == "unknown"


def test_bill_line_splits_text_and_images_and_shows_budget() -> None:
    bill = TurnBill((_line("text_input", "0.0036"), _line("image_output", "0.0527")))
    line = bill_line(bill, Decimal("0.1120"), Decimal("5.00"))
    assert line == ("This turn $0.0563 (text $0.0036 · images $0.0527) · session $0.1120 of $5.00")


def test_bill_line_flags_unpriced_and_estimated_usage() -> None:
    bill = TurnBill((_line("text_input", None), _line("image_output", "0.0527", estimated=True)))
    line = bill_line(bill, None, None)
    assert "This turn $0.0527 + unpriced usage" in line
    assert "estimated" in line
    assert line.endswith("session unknown")


def test_spent_line_after_a_failure() -> None:
    spent = TurnBill((_line("text_input", "0.0010"),))
    assert spent_line(spent, Decimal("0.5")) == "Spent on this turn: $0.0010 · session $0.5000"


def test_caption_names_id_size_quality_parent_and_cost() -> None:
    image = ImageRecord(
        id="ig_0123456789abcdef",
        session_id="s",
        response_id="resp_1",
        turn=2,
        prompt="warmer",
        revised_prompt=None,
        action="edit",
        parent_id="ig_parent0000aaaa1111",
        model="gpt-image-2",
        size="1024x1536",
        quality="high",
        output_format="png",
        background="auto",
        path=Path("/tmp/x.png"),
        sha256="0" * 64,
        width=1024,
        height=1536,
        bytes=10,
        latency_ms=5,
        created_at=datetime.now(UTC),
    )
    caption = image_caption(image, Decimal("0.16464"))
    assert caption == "`89abcdef` · 1024x1536 · high · from `aaaa1111` · $0.1646"
