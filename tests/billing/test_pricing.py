"""OpenAI list prices from genai-prices: exact model names only, never a fuzzy guess."""

from __future__ import annotations

from decimal import Decimal

import genai_prices
import pytest

from agent.billing.pricing import OPENAI_OWNER, PriceBook, openai_list_rates


def test_gpt_image_2_rates_match_the_published_list(openai_prices: PriceBook) -> None:
    rates = openai_prices.rates("gpt-image-2")
    assert rates is not None
    assert rates.owner == OPENAI_OWNER == "OpenAI list price"
    assert rates.text_input == Decimal("5")
    assert rates.cached_text_input == Decimal("1.25")
    assert rates.image_input == Decimal("8")
    assert rates.cached_image_input == Decimal("2")
    assert rates.image_output == Decimal("30")
    # No separate text-output rate is listed: image-model text output uses the output rate.
    assert rates.text_output == Decimal("30")
    assert rates.per_image is None and rates.per_call is None


def test_dated_snapshot_is_priced_like_its_model(openai_prices: PriceBook) -> None:
    dated = openai_prices.rates("gpt-image-2-2026-04-21")
    plain = openai_prices.rates("gpt-image-2")
    assert dated is not None and plain is not None
    assert dated.model == "gpt-image-2-2026-04-21"
    assert dated.image_output == plain.image_output == Decimal("30")


def test_separate_image_output_rate_is_used_when_listed(openai_prices: PriceBook) -> None:
    rates = openai_prices.rates("gpt-image-1.5")
    assert rates is not None
    assert rates.image_output == Decimal("32")
    assert rates.text_output == Decimal("10")


def test_mainline_text_rates(openai_prices: PriceBook) -> None:
    rates = openai_prices.rates("gpt-5.1")
    assert rates is not None
    assert (rates.text_input, rates.cached_text_input, rates.text_output) == (
        Decimal("1.25"),
        Decimal("0.125"),
        Decimal("10"),
    )
    assert rates.image_output is None


def test_fuzzy_match_trap_is_unknown(openai_prices: PriceBook) -> None:
    # genai-prices itself would price this as gpt-5.1-codex-mini.
    calc = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=1000), model_ref="gpt-5.1-mini", provider_id="openai"
    )
    assert calc.model.id == "gpt-5.1-codex-mini"
    assert openai_prices.rates("gpt-5.1-mini") is None
    assert openai_prices.rates("gpt-5.1-codex-mini") is not None


@pytest.mark.parametrize(
    "name", ["gpt-image-7", "gpt-image-2-turbo", "GPT-IMAGE-2x", "", "gpt-5.1-minii", "claude-x"]
)
def test_unknown_models_are_none(openai_prices: PriceBook, name: str) -> None:
    assert openai_prices.rates(name) is None


def test_rates_are_cached_per_model(openai_prices: PriceBook) -> None:
    first = openai_prices.rates("gpt-image-2")
    assert openai_prices.rates("gpt-image-2") is first


def test_long_context_tier_applies_above_threshold() -> None:
    rates = openai_list_rates("gpt-5.4")
    assert rates is not None and rates.tiers
    assert rates.for_input_tokens(1000).text_input == Decimal("2.5")
    assert rates.for_input_tokens(272_000).text_input == Decimal("2.5")
    above = rates.for_input_tokens(272_001)
    assert above.text_input == Decimal("5")
    assert above.text_output == Decimal("22.5")
