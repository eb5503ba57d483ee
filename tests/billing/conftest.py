"""Fixtures shared by the billing tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.pricing import PriceBook
from agent.provider_prices import parse_price_file

ACME_TOML = """
[provider]
name = "Acme AI"
base_url = "https://api.acme.example/v1"

[models."gpt-image-2"]
per_image = "0.04"

[models."gpt-5.1"]
text_input_mtok = "1.0"
text_output_mtok = "8.0"
cached_text_input_mtok = "0.1"
per_call = "0.001"

[models."gpt-image-1.5"]
text_input_mtok = "4"
image_input_mtok = "6"
image_output_mtok = "25"
"""


@pytest.fixture
def openai_prices() -> PriceBook:
    """OpenAI list prices only (the bundled genai-prices snapshot)."""
    return PriceBook()


@pytest.fixture
def acme_prices() -> PriceBook:
    """Acme AI's price file, with OpenAI list prices for models it does not list."""
    return PriceBook(provider=parse_price_file(ACME_TOML, Path("prices.toml")))
