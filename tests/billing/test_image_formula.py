"""Image output tokens and dollars agree with OpenAI's calculator and published prices."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import pytest

from agent.billing.bills import image_tokens_for, token_cost
from agent.images.spec import image_output_tokens

RATE = Decimal("30")  # gpt-image-2 image output, USD per 1M tokens


def expected_tokens(base: int, width: int, height: int) -> int:
    """The official formula, written out independently of agent.imagespec."""
    longest, shortest = max(width, height), min(width, height)
    scaled = base / (longest / shortest)  # float, as the calculator does
    rounded = round(scaled)  # exact .5 ties go to even
    return math.ceil(base * rounded * (2_000_000 + width * height) / 4_000_000)


CHECK_VALUES = [
    ("1024x1024", "low", 196, "0.00588", "0.006"),
    ("1024x1024", "medium", 1756, "0.05268", "0.053"),
    ("1024x1024", "high", 7024, "0.21072", "0.211"),
    ("1024x1536", "low", 158, "0.00474", "0.005"),
    ("1024x1536", "medium", 1372, "0.04116", "0.041"),
    ("1024x1536", "high", 5488, "0.16464", "0.165"),
]


@pytest.mark.parametrize(("size", "quality", "tokens", "usd", "published"), CHECK_VALUES)
def test_check_values(size: str, quality: str, tokens: int, usd: str, published: str) -> None:
    assert image_tokens_for("gpt-image-2", size, quality) == tokens
    cost = token_cost(tokens, RATE)
    assert cost == Decimal(usd)
    # ...and they round to OpenAI's published per-image estimates.
    assert cost.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP) == Decimal(published)


SIZES = [
    (1024, 1024), (1024, 1536), (1536, 1024), (768, 1024), (1024, 768), (1280, 720),
    (720, 1280), (1600, 1200), (1920, 1088), (2048, 2048), (2560, 1440), (1440, 2560),
    (3840, 2160), (2160, 3840), (3072, 1024), (1024, 3072), (3840, 1280), (2880, 960),
    (832, 1248), (1248, 832), (2048, 1152), (1536, 1536), (2880, 2880), (800, 1200),
]  # fmt: skip
GPT2_BASES = {"low": 16, "medium": 48, "high": 96}
GPT25_BASES = {"low": 16, "medium": 24, "high": 48, "xhigh": 64, "max": 96}


@pytest.mark.parametrize(
    ("model", "bases"),
    [("gpt-image-2", GPT2_BASES), ("gpt-image-2.5-flare", GPT25_BASES)],
)
def test_formula_over_many_sizes(model: str, bases: dict[str, int]) -> None:
    checked = 0
    for width, height in SIZES:
        for quality, base in bases.items():
            want = expected_tokens(base, width, height)
            assert image_output_tokens(model, width, height, quality) == want, (width, height)
            assert image_tokens_for(model, f"{width}x{height}", quality) == want
            # Dollars are exact: tokens × $30 / 1M with no rounding at all.
            assert token_cost(want, RATE) == Decimal(want) * RATE / Decimal(1_000_000)
            checked += 1
    assert checked == len(SIZES) * len(bases)


def test_formula_spot_values_differ_by_shape() -> None:
    # A square image scales its base fully; a 3:1 image gets a third of it.
    assert -(-96 * 32 * (2_000_000 + 3072 * 1024) // 4_000_000) == 3952  # integer ceil
    assert image_tokens_for("gpt-image-2", "3072x1024", "high") == 3952
    assert (
        image_tokens_for("gpt-image-2", "2048x2048", "high") == 96 * 96 * 6_194_304 // 4_000_000 + 1
    )


def test_fixed_table_models_use_published_table() -> None:
    assert image_tokens_for("gpt-image-1.5", "1024x1024", "medium") == 1056
    assert image_tokens_for("gpt-image-1-mini", "1536x1024", "high") == 6208


def test_auto_is_quoted_at_its_most_expensive() -> None:
    # "auto" may render square: for gpt-image-2 that is the dearest auto size.
    assert image_tokens_for("gpt-image-2", "auto", "auto") == 7024
    assert image_tokens_for("gpt-image-2", "1024x1536", "auto") == 5488
    assert image_tokens_for("gpt-image-2.5-flare", "1024x1024", "auto") == expected_tokens(
        96, 1024, 1024
    )
    assert image_tokens_for("gpt-image-1.5", "auto", "auto") == 6240
