"""What a turn cost, what it could cost, and what a whole session cost.

Reported usage is billed as reported: mainline usage at the mainline model's rates
(cached input at the cached rate, reasoning tokens inside output) plus the image model's
usage at the image model's rates. The image-token formula is used only to estimate before
a call, or when images were made but no image usage came back (lines marked estimated).

Money stays exact: a line costs ``tokens × rate / 1,000,000`` as a Decimal with no rounding,
totals are exact sums, and rounding happens only when formatting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import NamedTuple

from agent.billing.pricing import UNKNOWN_OWNER, ModelRates, PriceBook
from agent.billing.usage import ResponseUsage
from agent.images.spec import (
    PARTIAL_IMAGE_TOKENS,
    SpecError,
    image_model,
    image_output_tokens,
    validate_size,
    worst_case_quality,
)
from agent.store.records import CostLine, LineKind, TurnBill, TurnRecord, TurnStatus

ESTIMATE_TEXT_OUTPUT_TOKENS = 8_000
"""Output allowance (visible text plus reasoning) a turn estimate assumes for the mainline."""

ESTIMATE_IMAGE_PROMPT_TOKENS = 1_000
"""Least text-input allowance per image for the prompt the mainline hands the image model."""

AUTO_SIZE_CANDIDATES = ((1024, 1024), (1024, 1536), (1536, 1024))
"""Sizes "auto" may resolve to; an estimate assumes the most expensive of them."""


@dataclass(frozen=True)
class ImageCost:
    """One image call as billing needs it: size ("WxH"), quality, partials, and the text
    tokens of the prompt the image model was given (estimated when usage is missing)."""

    size: str
    quality: str
    partials: int = 0
    prompt_tokens: int = 0


def approx_tokens(text: str) -> int:
    """A rough token count of ``text`` (4 characters a token), for estimates only."""
    return (len(text) + 3) // 4


class _Kind(NamedTuple):
    kind: LineKind
    rate_field: str
    fallback_field: str | None  # cached kinds fall back to the uncached rate


_TEXT_KINDS = (
    _Kind("text_input", "text_input", None),
    _Kind("text_cached_input", "cached_text_input", "text_input"),
    _Kind("text_output", "text_output", None),
)
_IMAGE_KINDS = (
    _Kind("image_text_input", "text_input", None),
    _Kind("image_cached_text_input", "cached_text_input", "text_input"),
    _Kind("image_input", "image_input", None),
    _Kind("image_cached_input", "cached_image_input", "image_input"),
    _Kind("image_output", "image_output", None),
    _Kind("image_text_output", "text_output", None),
)
_KINDS = {k.kind: k for k in (*_TEXT_KINDS, *_IMAGE_KINDS)}


def token_cost(tokens: int, rate_per_mtok: Decimal) -> Decimal:
    """``tokens × rate / 1,000,000`` exactly (the division only shifts the exponent)."""
    return (rate_per_mtok * tokens).scaleb(-6)


def image_tokens_for(model: str, size: str, quality: str) -> int:
    """Image output tokens for one final image; "auto" size/quality at their most expensive.

    Raises SpecError for an unknown model, an invalid size or a quality the model lacks.
    """
    spec = image_model(model)
    if quality not in spec.qualities:
        raise SpecError(
            "quality",
            f"Invalid quality {quality!r} for {model}: use one of {', '.join(spec.qualities)}.",
        )
    concrete_quality = worst_case_quality(model, quality)
    resolved = validate_size(model, size)
    candidates = [resolved] if resolved is not None else list(AUTO_SIZE_CANDIDATES)
    return max(image_output_tokens(model, w, h, concrete_quality) for w, h in candidates)


def _rate(rates: ModelRates | None, kind: _Kind) -> tuple[Decimal | None, str, bool]:
    """(rate, owner, billable) for one kind; not billable means included in a unit price."""
    if rates is None:
        return None, UNKNOWN_OWNER, True
    rate: Decimal | None = getattr(rates, kind.rate_field)
    if rate is None and kind.fallback_field is not None:
        rate = getattr(rates, kind.fallback_field)
    if rate is not None:
        return rate, rates.owner, True
    if rates.has_unit_prices:
        return None, rates.owner, False
    return None, UNKNOWN_OWNER, True


def _token_line(
    kind: LineKind, model: str, tokens: int, rates: ModelRates | None, *, estimated: bool = False
) -> CostLine | None:
    if tokens <= 0:
        return None
    rate, owner, billable = _rate(rates, _KINDS[kind])
    if not billable:
        return None
    cost = None if rate is None else token_cost(tokens, rate)
    return CostLine(kind, model, tokens, rate, cost, owner, estimated)


def _unit_line(
    kind: LineKind, model: str, units: int, price: Decimal, owner: str, *, estimated: bool
) -> CostLine:
    return CostLine(kind, model, units, price, price * units, owner, estimated)


def _present(lines: Iterable[CostLine | None]) -> list[CostLine]:
    return [line for line in lines if line is not None]


def bill_turn(
    usage: ResponseUsage,
    *,
    mainline_model: str,
    image_model: str,
    prices: PriceBook,
    images: Sequence[ImageCost] = (),
    image_usage_reported: bool = True,
) -> TurnBill:
    """The bill for one turn's reported usage.

    ``images`` are the finished images (used for per-image prices, and to estimate image
    output when the API reported no image usage). Zero-token lines are left out; a model
    without a known price gives lines with rate and cost None, never $0.
    """
    text = usage.text
    main = prices.rates(mainline_model)
    if main is not None:
        main = main.for_input_tokens(text.input_tokens)
    cached = min(text.cached_input_tokens, text.input_tokens)
    lines = _present(
        [
            _token_line("text_input", mainline_model, text.input_tokens - cached, main),
            _token_line("text_cached_input", mainline_model, cached, main),
            _token_line("text_output", mainline_model, text.output_tokens, main),
        ]
    )
    if main is not None and main.per_call is not None and not text.is_empty:
        lines.append(
            _unit_line("per_call", mainline_model, 1, main.per_call, main.owner, estimated=False)
        )
    lines.extend(_image_lines(usage, image_model, prices, images, image_usage_reported))
    return TurnBill(tuple(lines))


def _image_lines(
    usage: ResponseUsage,
    model: str,
    prices: PriceBook,
    images: Sequence[ImageCost],
    reported: bool,
) -> list[CostLine]:
    img = usage.image
    rates = prices.rates(model)
    if rates is not None:
        rates = rates.for_input_tokens(img.input_text_tokens + img.input_image_tokens)
    cached_text = min(img.cached_text_tokens, img.input_text_tokens)
    cached_image = min(img.cached_image_tokens, img.input_image_tokens)
    lines = _present(
        [
            _token_line("image_text_input", model, img.input_text_tokens - cached_text, rates),
            _token_line("image_cached_text_input", model, cached_text, rates),
            _token_line("image_input", model, img.input_image_tokens - cached_image, rates),
            _token_line("image_cached_input", model, cached_image, rates),
        ]
    )
    if images and (not reported or img.is_empty):
        prompt = sum(image.prompt_tokens for image in images)
        if prompt and not img.input_text_tokens:
            # No tool_usage: the prompt the mainline handed the image model is estimated too.
            line = _token_line("image_text_input", model, prompt, rates, estimated=True)
            lines.extend(_present([line]))
        lines.extend(_estimated_output_lines(model, rates, images))
    else:
        lines.extend(_present([_token_line("image_output", model, img.output_image_tokens, rates)]))
    lines.extend(_present([_token_line("image_text_output", model, img.output_text_tokens, rates)]))
    if rates is not None and rates.per_image is not None:
        if images:
            lines.append(
                _unit_line(
                    "per_image", model, len(images), rates.per_image, rates.owner, estimated=False
                )
            )
        elif img.output_image_tokens:
            # Image output was reported but we were not told how many images were charged.
            lines.append(CostLine("per_image", model, 0, rates.per_image, None, UNKNOWN_OWNER))
    if rates is not None and rates.per_call is not None and images:
        lines.append(
            _unit_line("per_call", model, len(images), rates.per_call, rates.owner, estimated=False)
        )
    return lines


def _estimated_output_lines(
    model: str, rates: ModelRates | None, images: Sequence[ImageCost]
) -> list[CostLine]:
    """image_output computed from size and quality (+100 per partial), marked estimated."""
    try:
        tokens = sum(
            image_tokens_for(model, image.size, image.quality)
            + PARTIAL_IMAGE_TOKENS * image.partials
            for image in images
        )
    except SpecError:
        # No token formula for this model: the output is unknown, and says so.
        return [CostLine("image_output", model, 0, None, None, UNKNOWN_OWNER, estimated=True)]
    line = _token_line("image_output", model, tokens, rates, estimated=True)
    return [line] if line is not None else []


def estimate_turn(
    *,
    mainline_model: str,
    image_model: str,
    size: str,
    quality: str,
    partial_images: int,
    max_images: int,
    prompt_tokens: int,
    context_tokens: int,
    prices: PriceBook,
) -> TurnBill:
    """The most a turn can cost, before the call; every line is marked estimated.

    Worst case: all input uncached; "auto" size and quality at their most expensive;
    ``ESTIMATE_TEXT_OUTPUT_TOKENS`` of mainline output; ``max_images`` images with
    ``partial_images`` partials each. Raises SpecError for an invalid size or quality.
    """
    if min(partial_images, max_images, prompt_tokens, context_tokens) < 0:
        raise ValueError("estimate_turn needs non-negative counts")
    input_tokens = prompt_tokens + context_tokens
    main = prices.rates(mainline_model)
    if main is not None:
        main = main.for_input_tokens(input_tokens)
    lines = _present(
        [
            _token_line("text_input", mainline_model, input_tokens, main, estimated=True),
            _token_line(
                "text_output", mainline_model, ESTIMATE_TEXT_OUTPUT_TOKENS, main, estimated=True
            ),
        ]
    )
    if main is not None and main.per_call is not None:
        lines.append(
            _unit_line("per_call", mainline_model, 1, main.per_call, main.owner, estimated=True)
        )
    per_image_tokens = image_tokens_for(image_model, size, quality)
    if max_images == 0:
        return TurnBill(tuple(lines))
    rates = prices.rates(image_model)
    prompt_allowance = max(prompt_tokens, ESTIMATE_IMAGE_PROMPT_TOKENS) * max_images
    output = (per_image_tokens + PARTIAL_IMAGE_TOKENS * partial_images) * max_images
    lines.extend(
        _present(
            [
                _token_line(
                    "image_text_input", image_model, prompt_allowance, rates, estimated=True
                ),
                _token_line("image_output", image_model, output, rates, estimated=True),
            ]
        )
    )
    if rates is not None and rates.per_image is not None:
        lines.append(
            _unit_line(
                "per_image", image_model, max_images, rates.per_image, rates.owner, estimated=True
            )
        )
    if rates is not None and rates.per_call is not None:
        lines.append(
            _unit_line(
                "per_call", image_model, max_images, rates.per_call, rates.owner, estimated=True
            )
        )
    return TurnBill(tuple(lines))


class TurnTotal(NamedTuple):
    """One turn's place in a session bill; ``total_usd`` is None when a price is unknown."""

    turn: int
    status: TurnStatus
    total_usd: Decimal | None


class CumulativePoint(NamedTuple):
    """The session's known spend after ``turn``, for a running-total chart."""

    turn: int
    known_usd: Decimal


@dataclass(frozen=True)
class SessionBill:
    """A whole session's cost: totals by kind, by model and by turn, exactly summed."""

    total_usd: Decimal | None
    known_usd: Decimal
    by_kind: Mapping[str, Decimal]
    by_model: Mapping[str, Decimal]
    by_turn: tuple[TurnTotal, ...]
    cumulative: tuple[CumulativePoint, ...]
    unknown_models: frozenset[str] = frozenset()

    @property
    def has_unknown(self) -> bool:
        """True when some line of some turn could not be priced."""
        return self.total_usd is None

    @classmethod
    def from_turns(cls, turns: Sequence[TurnRecord]) -> SessionBill:
        """Sum every turn's bill (failed and cancelled turns included: they may have spent)."""
        ordered = sorted(turns, key=lambda t: t.turn)
        by_kind = {"text": Decimal(0), "images": Decimal(0)}
        by_model: dict[str, Decimal] = {}
        unknown: set[str] = set()
        by_turn: list[TurnTotal] = []
        cumulative: list[CumulativePoint] = []
        running = Decimal(0)
        for record in ordered:
            for kind, amount in record.bill.by_kind().items():
                by_kind[kind] += amount
            for line in record.bill.lines:
                if line.cost_usd is None:
                    unknown.add(line.model)
                else:
                    by_model[line.model] = by_model.get(line.model, Decimal(0)) + line.cost_usd
            running += record.bill.known_usd
            by_turn.append(TurnTotal(record.turn, record.status, record.bill.total_usd))
            cumulative.append(CumulativePoint(record.turn, running))
        return cls(
            total_usd=None if unknown else running,
            known_usd=running,
            by_kind=MappingProxyType(by_kind),
            by_model=MappingProxyType(by_model),
            by_turn=tuple(by_turn),
            cumulative=tuple(cumulative),
            unknown_models=frozenset(unknown),
        )
