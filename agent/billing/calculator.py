"""The image price calculator behind ``atelier price``: what one image costs, and why.

It computes tokens the way OpenAI's calculator does (``agent.images.spec``) and prices them
with the same price book billing uses, naming whose price it is.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from agent.billing.bills import image_tokens_for, token_cost
from agent.billing.format import format_rate, format_usd
from agent.billing.pricing import UNKNOWN_OWNER, PriceBook
from agent.images.spec import PARTIAL_IMAGE_TOKENS, SpecError

QUOTE_PLACES = 5
"""Decimal places a quote shows at least (enough for every per-image price to be exact)."""


@dataclass(frozen=True)
class Quote:
    """The price of one image: tokens, partial-image tokens, the rate and the cost.

    ``rate_per_mtok`` is None when the image is priced per image (``per_image`` is set) or
    unknown; ``cost_usd`` is None only when the price is unknown.
    """

    model: str
    size: str
    quality: str
    partial_images: int
    tokens: int
    partial_tokens: int
    rate_per_mtok: Decimal | None
    cost_usd: Decimal | None
    owner: str
    per_image: Decimal | None = None

    @property
    def total_tokens(self) -> int:
        """Final-image tokens plus partial-image tokens."""
        return self.tokens + self.partial_tokens


def quote(model: str, size: str, quality: str, partial_images: int, prices: PriceBook) -> Quote:
    """Price one image of ``model`` at ``size`` and ``quality`` with ``partial_images``.

    "auto" size or quality are quoted at their most expensive. Raises SpecError for an
    unknown model, an invalid size or quality, or partial_images outside 0-3.
    """
    if not 0 <= partial_images <= 3:
        raise SpecError("partial_images", "partial_images must be an integer from 0 to 3.")
    tokens = image_tokens_for(model, size, quality)
    partial_tokens = PARTIAL_IMAGE_TOKENS * partial_images
    base = Quote(
        model=model,
        size=size,
        quality=quality,
        partial_images=partial_images,
        tokens=tokens,
        partial_tokens=partial_tokens,
        rate_per_mtok=None,
        cost_usd=None,
        owner=UNKNOWN_OWNER,
    )
    rates = prices.rates(model)
    if rates is None:
        return base
    rate = rates.image_output
    if rates.per_image is not None:
        token_part = token_cost(base.total_tokens, rate) if rate is not None else Decimal(0)
        return replace(
            base,
            rate_per_mtok=rate,
            cost_usd=rates.per_image + token_part,
            owner=rates.owner,
            per_image=rates.per_image,
        )
    if rate is None:
        return base
    return replace(
        base, rate_per_mtok=rate, cost_usd=token_cost(base.total_tokens, rate), owner=rates.owner
    )


def format_quote(q: Quote) -> str:
    """One line such as "1756 image output tokens × $30.00/1M = $0.05268 (OpenAI list price)"."""
    tokens = f"{q.tokens} image output tokens"
    if q.partial_tokens:
        tokens = f"({tokens} + {q.partial_tokens} partial-image tokens)"
    cost = format_usd(q.cost_usd, QUOTE_PLACES)
    if q.per_image is not None:
        parts = [f"1 image × {format_rate(q.per_image, per_unit=True)}"]
        if q.rate_per_mtok is not None:
            parts.append(f"{tokens} × {format_rate(q.rate_per_mtok)}")
        return f"{' + '.join(parts)} = {cost} ({q.owner})"
    return f"{tokens} × {format_rate(q.rate_per_mtok)} = {cost} ({q.owner})"
