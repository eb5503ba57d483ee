"""Pre-call estimates: the worst case, every line marked estimated."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agent.billing.bills import (
    ESTIMATE_IMAGE_PROMPT_TOKENS,
    ESTIMATE_TEXT_OUTPUT_TOKENS,
    bill_turn,
    estimate_turn,
)
from agent.billing.pricing import PriceBook
from agent.billing.usage import ImageGenUsage, ResponseUsage, TextUsage
from agent.images.spec import SpecError


def test_estimate_is_worst_case_and_marked(openai_prices: PriceBook) -> None:
    bill = estimate_turn(
        mainline_model="gpt-5.1",
        image_model="gpt-image-2",
        size="1024x1024",
        quality="medium",
        partial_images=2,
        max_images=1,
        prompt_tokens=40,
        context_tokens=2_000,
        prices=openai_prices,
    )
    lines = {line.kind: line for line in bill.lines}
    assert all(line.estimated for line in bill.lines)
    assert "text_cached_input" not in lines  # worst case: nothing cached
    assert lines["text_input"].tokens == 2_040
    assert lines["text_output"].tokens == ESTIMATE_TEXT_OUTPUT_TOKENS
    assert lines["image_text_input"].tokens == ESTIMATE_IMAGE_PROMPT_TOKENS
    assert lines["image_output"].tokens == 1756 + 200
    assert lines["image_output"].cost_usd == Decimal("0.05868")
    expected = (
        Decimal(2_040) * Decimal("1.25")
        + Decimal(ESTIMATE_TEXT_OUTPUT_TOKENS) * 10
        + Decimal(ESTIMATE_IMAGE_PROMPT_TOKENS) * 5
        + Decimal(1_956) * 30
    ) / 1_000_000
    assert bill.total_usd == expected


def test_auto_size_and_quality_assume_the_dearest(openai_prices: PriceBook) -> None:
    bill = estimate_turn(
        mainline_model="gpt-5.1",
        image_model="gpt-image-2",
        size="auto",
        quality="auto",
        partial_images=3,
        max_images=2,
        prompt_tokens=5_000,
        context_tokens=0,
        prices=openai_prices,
    )
    lines = {line.kind: line for line in bill.lines}
    assert lines["image_output"].tokens == 2 * (7024 + 300)
    assert lines["image_text_input"].tokens == 2 * 5_000


def test_estimate_covers_what_a_turn_really_bills(openai_prices: PriceBook) -> None:
    estimate = estimate_turn(
        mainline_model="gpt-5.1",
        image_model="gpt-image-2",
        size="1024x1536",
        quality="high",
        partial_images=1,
        max_images=1,
        prompt_tokens=30,
        context_tokens=1_000,
        prices=openai_prices,
    )
    actual = bill_turn(
        ResponseUsage(
            text=TextUsage(input_tokens=1_030, cached_input_tokens=800, output_tokens=700),
            image=ImageGenUsage(input_text_tokens=120, output_image_tokens=5_588),
        ),
        mainline_model="gpt-5.1",
        image_model="gpt-image-2",
        prices=openai_prices,
    )
    assert estimate.total_usd is not None and actual.total_usd is not None
    assert actual.total_usd < estimate.total_usd


def test_no_images_means_text_only(openai_prices: PriceBook) -> None:
    bill = estimate_turn(
        mainline_model="gpt-5.1",
        image_model="gpt-image-2",
        size="1024x1024",
        quality="low",
        partial_images=0,
        max_images=0,
        prompt_tokens=10,
        context_tokens=0,
        prices=openai_prices,
    )
    assert {line.kind for line in bill.lines} == {"text_input", "text_output"}


def test_unknown_price_gives_unknown_estimate(openai_prices: PriceBook) -> None:
    bill = estimate_turn(
        mainline_model="gpt-5.1-mini",
        image_model="gpt-image-2",
        size="1024x1024",
        quality="low",
        partial_images=0,
        max_images=1,
        prompt_tokens=10,
        context_tokens=0,
        prices=openai_prices,
    )
    assert bill.total_usd is None
    assert bill.known_usd > 0


def test_invalid_size_raises_spec_error(openai_prices: PriceBook) -> None:
    with pytest.raises(SpecError) as info:
        estimate_turn(
            mainline_model="gpt-5.1",
            image_model="gpt-image-2",
            size="1000x1000",
            quality="low",
            partial_images=0,
            max_images=1,
            prompt_tokens=10,
            context_tokens=0,
            prices=openai_prices,
        )
    assert info.value.param == "size"
    assert "multiples of 16" in info.value.message


def test_provider_unit_prices_are_estimated_too(acme_prices: PriceBook) -> None:
    bill = estimate_turn(
        mainline_model="gpt-5.1",
        image_model="gpt-image-2",
        size="1024x1024",
        quality="high",
        partial_images=2,
        max_images=3,
        prompt_tokens=10,
        context_tokens=0,
        prices=acme_prices,
    )
    lines = {(line.kind, line.model): line for line in bill.lines}
    per_image = lines[("per_image", "gpt-image-2")]
    assert (per_image.tokens, per_image.cost_usd) == (3, Decimal("0.12"))
    assert lines[("per_call", "gpt-5.1")].cost_usd == Decimal("0.001")
    # Image tokens are included in Acme's per-image price: no token lines for them.
    assert ("image_output", "gpt-image-2") not in lines
    assert all(line.estimated and line.owner == "Acme AI price file" for line in bill.lines)
