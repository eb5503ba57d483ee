"""Fixtures shared by the billing tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.billing.pricing import PriceBook
from agent.billing.provider_prices import parse_price_file

from .price_files import ACME_TOML


@pytest.fixture
def openai_prices() -> PriceBook:
    """OpenAI list prices only (the bundled genai-prices snapshot)."""
    return PriceBook()


@pytest.fixture
def acme_prices() -> PriceBook:
    """Acme AI's price file, with OpenAI list prices for models it does not list."""
    return PriceBook(provider=parse_price_file(ACME_TOML, Path("prices.toml")))
