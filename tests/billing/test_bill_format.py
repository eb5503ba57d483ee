"""Bill exports: JSON, CSV and Markdown agree with the bill, exactly."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from agent.billing.bills import ImageCost, bill_turn
from agent.billing.format import (
    bill_to_csv,
    bill_to_json,
    bill_to_markdown,
    format_rate,
    format_usd,
)
from agent.billing.pricing import PriceBook
from agent.billing.usage import ImageGenUsage, ResponseUsage, TextUsage
from agent.store.records import TurnBill, TurnRecord


def record(turn: int, bill: TurnBill, status: str = "ok") -> TurnRecord:
    return TurnRecord(
        session_id="sess-1",
        turn=turn,
        user_text="draw",
        status=status,  # type: ignore[arg-type]
        started_at=datetime(2026, 11, 21, tzinfo=UTC),
        bill=bill,
    )


@pytest.fixture
def turns(openai_prices: PriceBook) -> list[TurnRecord]:
    first = bill_turn(
        ResponseUsage(
            text=TextUsage(input_tokens=1_000, cached_input_tokens=400, output_tokens=200),
            image=ImageGenUsage(input_text_tokens=60, output_image_tokens=1_756),
        ),
        mainline_model="gpt-5.1",
        image_model="gpt-image-2",
        prices=openai_prices,
    )
    second = bill_turn(
        ResponseUsage(text=TextUsage(input_tokens=2_000, output_tokens=10)),
        mainline_model="gpt-5.1",
        image_model="gpt-image-2",
        prices=openai_prices,
        images=[ImageCost("1024x1536", "low", 0)],
        image_usage_reported=False,
    )
    return [record(2, second, "failed"), record(1, first)]


def test_format_usd() -> None:
    assert format_usd(Decimal("0.05268")) == "$0.052680"
    assert format_usd(Decimal("0.00000875")) == "$0.00000875"  # more places when needed
    assert format_usd(Decimal(0)) == "$0.000000"
    assert format_usd(None) == "unknown"
    assert format_usd(Decimal("NaN")) == "unknown"
    assert format_usd(Decimal("0.05268"), 5) == "$0.05268"
    assert format_rate(Decimal("30")) == "$30.00/1M"
    assert format_rate(Decimal("0.125")) == "$0.125/1M"
    assert format_rate(Decimal("0.04"), per_unit=True) == "$0.04 each"


def test_json_shape_and_exact_amounts(turns: list[TurnRecord]) -> None:
    data = bill_to_json("sess-1", turns)
    assert set(data) == {"session_id", "total_usd", "turns"}
    assert data["session_id"] == "sess-1"
    assert [t["turn"] for t in data["turns"]] == [1, 2]
    assert data["turns"][1]["status"] == "failed"
    for turn in data["turns"]:
        assert set(turn) == {"turn", "status", "total_usd", "lines"}
        for line in turn["lines"]:
            assert set(line) == {
                "kind",
                "model",
                "tokens",
                "rate_per_mtok_usd",
                "cost_usd",
                "owner",
                "estimated",
            }
            assert isinstance(line["cost_usd"], str)
    image = next(li for li in data["turns"][0]["lines"] if li["kind"] == "image_output")
    assert image == {
        "kind": "image_output",
        "model": "gpt-image-2",
        "tokens": 1756,
        "rate_per_mtok_usd": "30",
        "cost_usd": "0.05268",
        "owner": "OpenAI list price",
        "estimated": False,
    }
    estimated = next(li for li in data["turns"][1]["lines"] if li["kind"] == "image_output")
    assert estimated["estimated"] is True and estimated["cost_usd"] == "0.00474"
    line_sum = sum(Decimal(li["cost_usd"]) for t in data["turns"] for li in t["lines"])
    assert Decimal(data["total_usd"]) == line_sum
    assert all(Decimal(t["total_usd"]) for t in data["turns"])
    json.dumps(data)  # serialisable as is


def test_json_unknown_is_null_never_zero(openai_prices: PriceBook) -> None:
    bill = bill_turn(
        ResponseUsage(text=TextUsage(input_tokens=5, output_tokens=5)),
        mainline_model="gpt-5.1-mini",
        image_model="gpt-image-2",
        prices=openai_prices,
    )
    data = bill_to_json("s", [record(1, bill)])
    assert data["total_usd"] is None
    assert data["turns"][0]["total_usd"] is None
    assert {li["cost_usd"] for li in data["turns"][0]["lines"]} == {None}
    assert {li["rate_per_mtok_usd"] for li in data["turns"][0]["lines"]} == {None}
    assert "unknown" in bill_to_markdown("s", [record(1, bill)])


def test_csv_one_row_per_line(turns: list[TurnRecord]) -> None:
    text = bill_to_csv("sess-1", turns)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == sum(len(t.bill.lines) for t in turns)
    assert [r["turn"] for r in rows] == sorted(r["turn"] for r in rows)
    first = rows[0]
    assert first["session_id"] == "sess-1" and first["status"] == "ok"
    assert first["kind"] == "text_input"
    assert (first["tokens"], first["rate_per_mtok_usd"], first["cost_usd"]) == (
        "600",
        "1.25",
        "0.00075",
    )
    assert {r["estimated"] for r in rows} == {"yes", "no"}
    total = sum(Decimal(r["cost_usd"]) for r in rows)
    assert total == Decimal(bill_to_json("sess-1", turns)["total_usd"])


def test_markdown_tables_and_totals(turns: list[TurnRecord]) -> None:
    text = bill_to_markdown("sess-1", turns)
    assert "# Bill for session sess-1" in text
    assert text.index("## Turn 1 (ok)") < text.index("## Turn 2 (failed)")
    assert "| image_output | gpt-image-2 | 1756 tokens | $30.00/1M | $0.052680 |" in text
    assert "$0.004740 (estimated)" in text
    assert "| images |" in text and "| text |" in text
    assert "| gpt-5.1 |" in text and "| gpt-image-2 |" in text
    total = Decimal(bill_to_json("sess-1", turns)["total_usd"])
    assert f"**Session total: {format_usd(total)}**" in text
