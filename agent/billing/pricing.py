"""Rates per model: who sets them, and what a million tokens of each kind costs.

OpenAI list prices come from the ``genai-prices`` bundled snapshot (offline; its update
functions are never called). ``genai_prices.calc_price`` fuzzy-matches model names
(``gpt-5.1-mini`` silently becomes ``gpt-5.1-codex-mini``), so this module reads the
snapshot's ``ModelPrice`` itself and accepts a model only when the requested name is its
id, or one of its ``equals`` match clauses that is a variant of that id: a dated snapshot
(``gpt-image-2-2026-04-21``), a suffixed name (``gpt-5.1-chat-latest``) or the dashed
spelling (``gpt-5-1``). Aliases naming a different model are refused: the snapshot lists
``gpt-5.1-mini`` under ``gpt-5.1-codex-mini``, and pricing one as the other would be a
guess. Anything else is unknown (None).

Mapping from genai-prices keys to our rates:

- ``input_mtok`` / ``cache_read_mtok`` / ``output_mtok`` → text input / cached / output.
- ``input_image_mtok`` / ``cache_image_read_mtok`` → image input / cached image input.
- ``output_image_mtok`` → image output. Image models listed without it (gpt-image-2 and
  the 2.5 family) carry their image output rate in ``output_mtok``; their rare text output
  tokens are then priced at that same output rate, since no separate rate is published.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from agent.config import Settings

if TYPE_CHECKING:
    from agent.billing.provider_prices import ProviderPrices

OPENAI_OWNER = "OpenAI list price"
UNKNOWN_OWNER = "unknown price"
OPENAI_PROVIDER_ID = "openai"

RATE_FIELDS = (
    "text_input",
    "cached_text_input",
    "text_output",
    "image_input",
    "cached_image_input",
    "image_output",
)
"""The per-million-token rate fields of ModelRates."""


@dataclass(frozen=True)
class RateTier:
    """A higher rate for ``field`` once a request's input exceeds ``above_input_tokens``.

    Crossing the threshold applies the tier rate to all tokens of that kind (the "cliff"
    model OpenAI uses for long-context prices).
    """

    field: str
    above_input_tokens: int
    rate: Decimal


@dataclass(frozen=True)
class ModelRates:
    """One model's prices in USD: per million tokens, plus optional per-unit prices.

    ``None`` means that kind of token has no known price. ``per_image`` is charged for each
    finished image, ``per_call`` for each call; ``tiers`` hold long-context rates.
    """

    model: str
    owner: str
    text_input: Decimal | None = None
    cached_text_input: Decimal | None = None
    text_output: Decimal | None = None
    image_input: Decimal | None = None
    cached_image_input: Decimal | None = None
    image_output: Decimal | None = None
    per_image: Decimal | None = None
    per_call: Decimal | None = None
    tiers: tuple[RateTier, ...] = field(default=())

    @property
    def has_unit_prices(self) -> bool:
        """True when the model is (also) priced per image or per call."""
        return self.per_image is not None or self.per_call is not None

    def for_input_tokens(self, input_tokens: int) -> ModelRates:
        """These rates as they apply to a request with ``input_tokens`` input tokens."""
        changes: dict[str, Any] = {}
        for tier in sorted(self.tiers, key=lambda t: t.above_input_tokens):
            if input_tokens > tier.above_input_tokens:
                changes[tier.field] = tier.rate
        return replace(self, **changes) if changes else self


def is_image_model_name(model: str) -> bool:
    """True for names of image-generation models (gpt-image-*, chatgpt-image-*)."""
    return model.startswith(("gpt-image-", "chatgpt-image-"))


def _exact_names(match: Any) -> set[str]:
    """Names a genai-prices match clause accepts by plain equality (or-clauses included)."""
    equals = getattr(match, "equals", None)
    if isinstance(equals, str):
        return {equals}
    alternatives = getattr(match, "or_", None)
    if isinstance(alternatives, list):
        names: set[str] = set()
        for clause in alternatives:
            names |= _exact_names(clause)
        return names
    return set()  # starts_with / contains / regex / and: never an exact match


def _names_model(model_id: str, aliases: set[str], name: str) -> bool:
    """True when ``name`` is ``model_id`` or an exact alias that is a variant of it."""
    if name == model_id:
        return True
    if name not in aliases:
        return False
    dashed = model_id.replace(".", "-")
    return name == dashed or name.startswith((f"{model_id}-", f"{dashed}-"))


def _price_parts(value: Any, name: str) -> tuple[Decimal | None, list[RateTier]]:
    """Split a genai-prices price (Decimal or TieredPrices) into a base rate and tiers."""
    if value is None:
        return None, []
    if isinstance(value, Decimal):
        return value, []
    base = getattr(value, "base", None)
    tiers = getattr(value, "tiers", None)
    if isinstance(base, Decimal) and isinstance(tiers, list):
        return base, [RateTier(name, int(t.start), Decimal(t.price)) for t in tiers]
    raise TypeError(f"Unexpected genai-prices price value for {name}: {value!r}")


def openai_list_rates(model: str, *, at: datetime | None = None) -> ModelRates | None:
    """OpenAI's list price for exactly ``model`` from the bundled genai-prices snapshot.

    Returns None when no OpenAI model is named exactly ``model``.
    """
    from genai_prices.data_snapshot import get_snapshot

    provider = next(
        (p for p in get_snapshot().providers if p.id == OPENAI_PROVIDER_ID),
        None,
    )
    if provider is None:
        return None
    for info in provider.models:
        if _names_model(info.id, _exact_names(info.match), model):
            price = info.get_prices(at or datetime.now(tz=UTC))
            return _rates_from_model_price(model, price)
    return None


def _rates_from_model_price(model: str, price: Any) -> ModelRates:
    sources = {
        "text_input": "input_mtok",
        "cached_text_input": "cache_read_mtok",
        "text_output": "output_mtok",
        "image_input": "input_image_mtok",
        "cached_image_input": "cache_image_read_mtok",
        "image_output": "output_image_mtok",
    }
    values: dict[str, Decimal | None] = {}
    tiers: list[RateTier] = []
    for ours, theirs in sources.items():
        base, extra = _price_parts(getattr(price, theirs, None), ours)
        values[ours] = base
        tiers.extend(extra)
    if values["image_output"] is None and is_image_model_name(model):
        # gpt-image-2 style listing: output_mtok *is* the image output rate.
        values["image_output"] = values["text_output"]
        tiers.extend(replace(t, field="image_output") for t in tiers if t.field == "text_output")
    return ModelRates(model=model, owner=OPENAI_OWNER, tiers=tuple(tiers), **values)


class PriceBook:
    """Where every model's rates come from, with a per-model cache.

    A provider price file (when it applies to the configured base URL) wins for the models
    it lists. Other models get OpenAI list prices, unless the file says
    ``openai_fallback = false``, in which case they are unknown.
    """

    def __init__(self, *, provider: ProviderPrices | None = None) -> None:
        self.provider = provider
        self._cache: dict[str, ModelRates | None] = {}

    @classmethod
    def load(cls, settings: Settings) -> PriceBook:
        """Build the price book for these settings (reads the price file if configured)."""
        # Imported here: provider_prices builds ModelRates, so it imports this module.
        from agent.billing.provider_prices import load_price_file

        provider = None
        if settings.prices_file is not None:
            candidate = load_price_file(settings.prices_file)
            if candidate.applies_to(settings.openai_base_url):
                provider = candidate
        return cls(provider=provider)

    @property
    def source(self) -> str:
        """A one-line description of where prices come from, for status lines."""
        if self.provider is None:
            return f"{OPENAI_OWNER} (genai-prices snapshot)"
        return f"{self.provider.owner} ({self.provider.path})"

    def rates(self, model: str) -> ModelRates | None:
        """The rates for exactly ``model``, or None when its price is unknown."""
        if model not in self._cache:
            self._cache[model] = self._lookup(model)
        return self._cache[model]

    def _lookup(self, model: str) -> ModelRates | None:
        if self.provider is not None:
            own = self.provider.models.get(model)
            if own is not None:
                return own
            if not self.provider.openai_fallback:
                return None
        return openai_list_rates(model)
