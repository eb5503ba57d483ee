"""One turn's bill: every kind of token at its own rate, exact, with its owner."""

from __future__ import annotations

from decimal import Decimal

from agent.billing.bills import ImageCost, bill_turn
from agent.billing.pricing import UNKNOWN_OWNER, PriceBook
from agent.billing.usage import ImageGenUsage, ResponseUsage, TextUsage
from agent.store.records import CostLine, TurnBill


def lines_by_kind(bill: TurnBill) -> dict[str, CostLine]:
    kinds = [line.kind for line in bill.lines]
    assert len(kinds) == len(set(kinds)), kinds
    return {line.kind: line for line in bill.lines}


def test_cached_and_reasoning_tokens_are_priced_right(openai_prices: PriceBook) -> None:
    usage = ResponseUsage(
        text=TextUsage(
            input_tokens=12_000, cached_input_tokens=8_000, output_tokens=900, reasoning_tokens=600
        )
    )
    bill = bill_turn(
        usage, mainline_model="gpt-5.1", image_model="gpt-image-2", prices=openai_prices
    )
    lines = lines_by_kind(bill)
    assert set(lines) == {"text_input", "text_cached_input", "text_output"}
    assert lines["text_input"].tokens == 4_000  # only the uncached part
    assert lines["text_input"].cost_usd == Decimal("0.005")  # 4000 × 1.25 / 1M
    assert lines["text_cached_input"].tokens == 8_000
    assert lines["text_cached_input"].rate_per_mtok_usd == Decimal("0.125")
    assert lines["text_cached_input"].cost_usd == Decimal("0.001")
    assert lines["text_output"].tokens == 900  # reasoning is inside output
    assert lines["text_output"].cost_usd == Decimal("0.009")
    assert bill.total_usd == Decimal("0.015")
    assert all(line.owner == "OpenAI list price" and not line.estimated for line in bill.lines)


def test_image_usage_lines_with_their_rates(openai_prices: PriceBook) -> None:
    usage = ResponseUsage(
        text=TextUsage(input_tokens=500, output_tokens=100),
        image=ImageGenUsage(
            input_text_tokens=300,
            input_image_tokens=2_000,
            cached_text_tokens=100,
            cached_image_tokens=1_500,
            output_image_tokens=1_956,  # 1756 + 2 partials
            output_text_tokens=10,
        ),
    )
    bill = bill_turn(
        usage,
        mainline_model="gpt-5.1",
        image_model="gpt-image-2",
        prices=openai_prices,
        images=[ImageCost("1024x1024", "medium", 2)],
    )
    lines = lines_by_kind(bill)
    expected = {
        "image_text_input": (200, "5", "0.001"),
        "image_cached_text_input": (100, "1.25", "0.000125"),
        "image_input": (500, "8", "0.004"),
        "image_cached_input": (1_500, "2", "0.003"),
        "image_output": (1_956, "30", "0.05868"),
        "image_text_output": (10, "30", "0.0003"),
    }
    for kind, (tokens, rate, cost) in expected.items():
        line = lines[kind]
        assert (line.tokens, line.rate_per_mtok_usd, line.cost_usd) == (
            tokens,
            Decimal(rate),
            Decimal(cost),
        ), kind
        assert line.model == "gpt-image-2" and not line.estimated
    assert bill.by_kind()["images"] == sum(Decimal(c) for _, _, c in expected.values())
    assert bill.total_usd == bill.known_usd == sum(line.cost_usd or 0 for line in bill.lines)


def test_zero_token_lines_are_omitted(openai_prices: PriceBook) -> None:
    usage = ResponseUsage(text=TextUsage(input_tokens=100, output_tokens=5))
    bill = bill_turn(
        usage, mainline_model="gpt-5.1", image_model="gpt-image-2", prices=openai_prices
    )
    assert [line.kind for line in bill.lines] == ["text_input", "text_output"]


def test_missing_image_usage_is_estimated_from_size_and_quality(openai_prices: PriceBook) -> None:
    usage = ResponseUsage(text=TextUsage(input_tokens=100, output_tokens=50))
    images = [ImageCost("1024x1024", "medium", 2), ImageCost("1024x1536", "low", 0)]
    bill = bill_turn(
        usage,
        mainline_model="gpt-5.1",
        image_model="gpt-image-2",
        prices=openai_prices,
        images=images,
        image_usage_reported=False,
    )
    out = lines_by_kind(bill)["image_output"]
    assert out.estimated
    assert out.tokens == 1756 + 200 + 158
    assert out.cost_usd == Decimal(2114) * 30 / 1_000_000
    assert bill.estimated
    assert not lines_by_kind(bill)["text_input"].estimated


def test_reported_image_usage_is_never_replaced_by_an_estimate(openai_prices: PriceBook) -> None:
    usage = ResponseUsage(image=ImageGenUsage(output_image_tokens=1_000))
    bill = bill_turn(
        usage,
        mainline_model="gpt-5.1",
        image_model="gpt-image-2",
        prices=openai_prices,
        images=[ImageCost("1024x1024", "high", 3)],
    )
    out = lines_by_kind(bill)["image_output"]
    assert (out.tokens, out.estimated) == (1_000, False)


def test_unknown_models_are_unknown_never_zero(openai_prices: PriceBook) -> None:
    usage = ResponseUsage(
        text=TextUsage(input_tokens=1_000, cached_input_tokens=200, output_tokens=300),
        image=ImageGenUsage(input_text_tokens=50, output_image_tokens=1_756),
    )
    bill = bill_turn(
        usage, mainline_model="gpt-5.1-mini", image_model="gpt-image-9", prices=openai_prices
    )
    assert {line.kind for line in bill.lines} == {
        "text_input",
        "text_cached_input",
        "text_output",
        "image_text_input",
        "image_output",
    }
    for line in bill.lines:
        assert line.cost_usd is None and line.rate_per_mtok_usd is None
        assert line.owner == UNKNOWN_OWNER
        assert line.tokens > 0
    assert bill.total_usd is None
    assert bill.known_usd == 0 and bill.has_unknown


def test_one_unknown_line_makes_the_total_unknown(openai_prices: PriceBook) -> None:
    usage = ResponseUsage(
        text=TextUsage(input_tokens=1_000, output_tokens=10),
        image=ImageGenUsage(output_image_tokens=196),
    )
    bill = bill_turn(
        usage, mainline_model="gpt-5.1", image_model="gpt-image-9", prices=openai_prices
    )
    assert bill.total_usd is None
    assert bill.known_usd == Decimal("0.00135")  # the text part is still known


def test_cached_rate_falls_back_to_the_input_rate_when_not_listed(acme_prices: PriceBook) -> None:
    usage = ResponseUsage(
        image=ImageGenUsage(
            input_text_tokens=1_000,
            cached_text_tokens=400,
            input_image_tokens=500,
            cached_image_tokens=500,
            output_image_tokens=100,
        )
    )
    bill = bill_turn(
        usage, mainline_model="gpt-5.1", image_model="gpt-image-1.5", prices=acme_prices
    )
    lines = lines_by_kind(bill)
    assert lines["image_cached_text_input"].rate_per_mtok_usd == Decimal("4")
    assert lines["image_cached_input"].rate_per_mtok_usd == Decimal("6")
    assert lines["image_output"].cost_usd == Decimal("0.0025")
    assert {line.owner for line in bill.lines} == {"Acme AI price file"}


def test_long_context_uses_the_tier_rate(openai_prices: PriceBook) -> None:
    usage = ResponseUsage(text=TextUsage(input_tokens=300_000, output_tokens=1_000))
    bill = bill_turn(
        usage, mainline_model="gpt-5.4", image_model="gpt-image-2", prices=openai_prices
    )
    lines = lines_by_kind(bill)
    assert lines["text_input"].rate_per_mtok_usd == Decimal("5")
    assert lines["text_output"].rate_per_mtok_usd == Decimal("22.5")
    assert bill.total_usd == Decimal("1.5225")
