"""The price calculator: tokens, rate, cost and owner for one image."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from agent.billing.calculator import format_quote, quote
from agent.billing.pricing import PriceBook
from agent.billing.provider_prices import parse_price_file
from agent.images.spec import SpecError


@pytest.mark.parametrize(
    ("size", "quality", "tokens", "cost"),
    [
        ("1024x1024", "low", 196, "0.00588"),
        ("1024x1024", "medium", 1756, "0.05268"),
        ("1024x1024", "high", 7024, "0.21072"),
        ("1024x1536", "low", 158, "0.00474"),
        ("1024x1536", "medium", 1372, "0.04116"),
        ("1024x1536", "high", 5488, "0.16464"),
    ],
)
def test_quote_check_values(
    openai_prices: PriceBook, size: str, quality: str, tokens: int, cost: str
) -> None:
    q = quote("gpt-image-2", size, quality, 0, openai_prices)
    assert (q.tokens, q.partial_tokens, q.cost_usd) == (tokens, 0, Decimal(cost))
    assert q.rate_per_mtok == Decimal("30") and q.owner == "OpenAI list price"


def test_format_quote_matches_the_documented_line(openai_prices: PriceBook) -> None:
    q = quote("gpt-image-2", "1024x1024", "medium", 0, openai_prices)
    assert format_quote(q) == "1756 image output tokens × $30.00/1M = $0.05268 (OpenAI list price)"


def test_partials_add_100_tokens_each(openai_prices: PriceBook) -> None:
    q = quote("gpt-image-2", "1024x1024", "medium", 2, openai_prices)
    assert (q.tokens, q.partial_tokens, q.cost_usd) == (1756, 200, Decimal("0.05868"))
    assert format_quote(q) == (
        "(1756 image output tokens + 200 partial-image tokens) × $30.00/1M = $0.05868 "
        "(OpenAI list price)"
    )


def test_invalid_size_raises(openai_prices: PriceBook) -> None:
    with pytest.raises(SpecError) as info:
        quote("gpt-image-2", "5000x5000", "low", 0, openai_prices)
    assert info.value.param == "size"
    with pytest.raises(SpecError):
        quote("gpt-image-2", "big", "low", 0, openai_prices)
    with pytest.raises(SpecError) as bad_quality:
        quote("gpt-image-2", "1024x1024", "max", 0, openai_prices)
    assert bad_quality.value.param == "quality"


def test_provider_per_image_quote(acme_prices: PriceBook) -> None:
    q = quote("gpt-image-2", "1024x1024", "high", 1, acme_prices)
    assert q.cost_usd == Decimal("0.04") and q.owner == "Acme AI price file"
    assert format_quote(q) == "1 image × $0.04 each = $0.04000 (Acme AI price file)"


def test_unknown_price_quote_says_unknown() -> None:
    book = PriceBook(
        provider=parse_price_file(
            '[provider]\nname = "Z"\nopenai_fallback = false\n[models."x"]\nper_call = "1"',
            Path("p"),
        )
    )
    q = quote("gpt-image-2", "1024x1024", "low", 0, book)
    assert q.cost_usd is None and q.owner == "unknown price"
    assert format_quote(q).endswith("= unknown (unknown price)")
