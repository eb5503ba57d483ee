"""A session's bill is the exact sum of its turns' lines."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal

from agent.billing.bills import ImageCost, SessionBill, bill_turn
from agent.billing.pricing import PriceBook
from agent.billing.usage import ImageGenUsage, ResponseUsage, TextUsage
from agent.store.records import TurnRecord, TurnStatus

STATUSES: tuple[TurnStatus, ...] = ("ok", "ok", "failed", "ok", "cancelled")


def make_turns(prices: PriceBook, count: int, *, seed: int = 7) -> list[TurnRecord]:
    rng = random.Random(seed)
    turns = []
    for turn in range(1, count + 1):
        input_tokens = rng.randint(200, 40_000)
        image_in = rng.choice([0, 0, 1_500, 4_000])
        usage = ResponseUsage(
            text=TextUsage(
                input_tokens=input_tokens,
                cached_input_tokens=rng.randint(0, input_tokens),
                output_tokens=rng.randint(1, 3_000),
                reasoning_tokens=rng.randint(0, 1),
            ),
            image=ImageGenUsage(
                input_text_tokens=rng.randint(0, 400),
                input_image_tokens=image_in,
                cached_image_tokens=image_in // 2,
                output_image_tokens=rng.choice([0, 196, 1756, 1956, 7024]),
            ),
        )
        bill = bill_turn(
            usage,
            mainline_model="gpt-5.1",
            image_model="gpt-image-2",
            prices=prices,
            images=[ImageCost("1024x1024", "medium", 2)],
        )
        turns.append(
            TurnRecord(
                session_id="s1",
                turn=turn,
                user_text=f"turn {turn}",
                status=STATUSES[turn % len(STATUSES)],
                started_at=datetime(2026, 11, 21, 12, turn, tzinfo=UTC),
                usage=usage,
                bill=bill,
            )
        )
    return turns


def test_ten_turn_total_is_the_exact_sum_of_lines(openai_prices: PriceBook) -> None:
    turns = make_turns(openai_prices, 10)
    bill = SessionBill.from_turns(list(reversed(turns)))  # order of input does not matter
    line_sum = Decimal(0)
    for record in turns:
        for line in record.bill.lines:
            assert line.cost_usd is not None
            line_sum += line.cost_usd
    assert bill.total_usd == line_sum == bill.known_usd
    # Exact: the same as summing integer micro-cents, no rounding anywhere.
    assert line_sum == sum(
        (
            Decimal(line.tokens) * (line.rate_per_mtok_usd or 0)
            for r in turns
            for line in r.bill.lines
        ),
        Decimal(0),
    ) / Decimal(1_000_000)
    assert bill.by_kind["text"] + bill.by_kind["images"] == line_sum
    assert sum(bill.by_model.values(), Decimal(0)) == line_sum
    assert set(bill.by_model) == {"gpt-5.1", "gpt-image-2"}
    assert [t.turn for t in bill.by_turn] == list(range(1, 11))
    assert [t.status for t in bill.by_turn] == [STATUSES[i % 5] for i in range(1, 11)]
    assert bill.cumulative[-1].known_usd == line_sum
    running = Decimal(0)
    for point, record in zip(bill.cumulative, turns, strict=True):
        running += record.bill.known_usd
        assert point == (record.turn, running)


def test_unknown_anywhere_makes_the_session_total_unknown(openai_prices: PriceBook) -> None:
    turns = make_turns(openai_prices, 3)
    odd = bill_turn(
        ResponseUsage(text=TextUsage(input_tokens=10, output_tokens=10)),
        mainline_model="gpt-5.1-mini",
        image_model="gpt-image-2",
        prices=openai_prices,
    )
    turns.append(
        TurnRecord(
            session_id="s1",
            turn=4,
            user_text="x",
            status="ok",
            started_at=datetime(2026, 11, 21, tzinfo=UTC),
            bill=odd,
        )
    )
    bill = SessionBill.from_turns(turns)
    assert bill.total_usd is None and bill.has_unknown
    assert bill.known_usd == sum((t.bill.known_usd for t in turns[:3]), Decimal(0))
    assert bill.unknown_models == {"gpt-5.1-mini"}
    assert bill.by_turn[-1].total_usd is None


def test_empty_session_costs_zero() -> None:
    bill = SessionBill.from_turns([])
    assert bill.total_usd == Decimal(0)
    assert bill.by_turn == () and bill.cumulative == ()
    assert dict(bill.by_kind) == {"text": Decimal(0), "images": Decimal(0)}
