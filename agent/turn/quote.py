"""The quote before spending: a turn priced above the session's threshold waits for Go.

``Session.quote`` prepares a turn without sending anything and returns a ``TurnQuote`` when
its estimate is above ``SessionSettings.quote_above_usd``: the estimate, a human summary
("about $0.63: 3 images at 2048x2048, high") and a cheaper alternative (the same request at
a quality and size that fits under the threshold, or None when nothing does). A turn started
without ``confirmed=True`` whose quote is above the threshold ends with ``QuoteRequired``,
before any request.

The quote prices the images the turn asks for (``agent.turn.variants``), each at its worst
case (uncached input, the full text-output allowance, "auto" at its dearest).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from agent.billing.bills import estimate_turn
from agent.billing.format import format_usd
from agent.billing.pricing import PriceBook
from agent.errors import AtelierError, InvalidSettings
from agent.images.spec import image_model, parse_size
from agent.session_settings import SessionSettings

QUALITY_ORDER = ("max", "xhigh", "high", "medium", "low")
"""Qualities from dearest to cheapest; a cheaper alternative keeps the best that fits."""
SMALLER_SIZES = {"landscape": "1536x1024", "portrait": "1024x1536", "square": "1024x1024"}
"""Where a cheaper alternative goes when no quality fits at the asked size."""


@dataclass(frozen=True)
class Prompt:
    """What a turn sends besides images: its prompt and chained context, in tokens."""

    prompt_tokens: int
    context_tokens: int


def estimate(
    settings: SessionSettings, images: int, prompt: Prompt, prices: PriceBook
) -> Decimal | None:
    """The worst case of a turn making ``images`` images with ``settings`` (None: unknown)."""
    return estimate_turn(
        mainline_model=settings.mainline_model,
        image_model=settings.image_model,
        size=settings.size,
        quality=settings.quality,
        partial_images=settings.partial_images,
        max_images=images,
        prompt_tokens=prompt.prompt_tokens,
        context_tokens=prompt.context_tokens,
        prices=prices,
    ).total_usd


@dataclass(frozen=True)
class QuoteOption:
    """One way to run the turn: how many images, at what size and quality, for how much."""

    images: int
    size: str
    quality: str
    estimate_usd: Decimal

    @property
    def summary(self) -> str:
        """E.g. "about $0.63: 3 images at 2048x2048, high"."""
        noun = "image" if self.images == 1 else "images"
        price = usd_cents(self.estimate_usd)
        return f"about {price}: {self.images} {noun} at {self.size}, {self.quality}"

    @property
    def changes(self) -> dict[str, str]:
        """The settings this option runs the turn with (``start_turn(settings=...)``)."""
        return {"size": self.size, "quality": self.quality}


@dataclass(frozen=True)
class TurnQuote:
    """A turn's price, above the session's threshold, and what would fit under it."""

    session_id: str
    threshold_usd: Decimal
    asked: QuoteOption
    cheaper: QuoteOption | None

    @property
    def estimate_usd(self) -> Decimal:
        """The worst case of the turn as asked."""
        return self.asked.estimate_usd

    @property
    def summary(self) -> str:
        """One line for people: the price, what it buys, and why it is asked."""
        asked = self.asked.summary
        limit = usd_cents(self.threshold_usd)
        return f"{asked[0].upper()}{asked[1:]} (turns above {limit} are confirmed first)."


def usd_cents(amount: Decimal) -> str:
    """Money to the cent, rounded half up, for quotes: "$0.63"."""
    return format_usd(amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), places=2)


def parse_threshold(text: str) -> Decimal | None:
    """A quote threshold as people type it: "0.50", "$1", or "off" (never ask: None).
    Raises InvalidSettings for anything else."""
    if text.strip().lower() in ("off", "none", "never"):
        return None
    try:
        amount = Decimal(text.strip().lstrip("$"))
    except InvalidOperation:
        amount = Decimal(-1)
    if not amount.is_finite() or amount < 0:
        raise InvalidSettings(
            f"A quote threshold is an amount in USD (e.g. 0.50) or off, not {text!r}."
        )
    return amount


def make_quote(
    settings: SessionSettings,
    *,
    session_id: str,
    images: int,
    prompt: Prompt,
    prices: PriceBook,
) -> TurnQuote | None:
    """The quote of a turn, or None when it needs no Go (under the threshold, no threshold,
    or a price that is unknown: the budget check refuses those)."""
    threshold = settings.quote_above_usd
    asked = estimate(settings, images, prompt, prices)
    if threshold is None or asked is None or asked <= threshold:
        return None
    option = QuoteOption(images, settings.size, settings.quality, asked)
    return TurnQuote(session_id, threshold, option, cheaper(settings, images, prompt, prices))


def cheaper(
    settings: SessionSettings, images: int, prompt: Prompt, prices: PriceBook
) -> QuoteOption | None:
    """The same request at the best quality (then a smaller size) that fits under the
    threshold; None when even the cheapest does not."""
    threshold = settings.quote_above_usd
    if threshold is None:
        return None
    for size, quality in _candidates(settings):
        try:
            candidate = settings.updated(size=size, quality=quality)
        except AtelierError:
            continue  # a size or quality this model does not take
        cost = estimate(candidate, images, prompt, prices)
        if cost is not None and cost <= threshold:
            return QuoteOption(images, size, quality, cost)
    return None


def _candidates(settings: SessionSettings) -> list[tuple[str, str]]:
    """(size, quality) pairs from the nearest to the asked request to the cheapest."""
    qualities = [q for q in QUALITY_ORDER if q in image_model(settings.image_model).qualities]
    if settings.quality in qualities:
        qualities = qualities[qualities.index(settings.quality) :]
    sizes = [settings.size] if settings.size != "auto" else []
    smaller = _smaller_size(settings.size)
    if smaller is not None and smaller not in sizes:
        sizes.append(smaller)
    if "1024x1024" not in sizes:
        sizes.append("1024x1024")
    pairs = [(size, quality) for size in sizes for quality in qualities]
    return [pair for pair in pairs if pair != (settings.size, settings.quality)]


def _smaller_size(size: str) -> str | None:
    """The preset of the same orientation, when it has fewer pixels (1024x1024 for auto)."""
    if size == "auto":
        return SMALLER_SIZES["square"]
    width, height = parse_size(size)
    shape = "landscape" if width > height else "portrait" if height > width else "square"
    preset = SMALLER_SIZES[shape]
    preset_w, preset_h = parse_size(preset)
    return preset if preset_w * preset_h < width * height else None
