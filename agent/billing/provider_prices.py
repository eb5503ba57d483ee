"""A provider's own prices, read from a TOML price file (``prices.toml``).

When ``OPENAI_BASE_URL`` points at another provider, OpenAI's list prices are not what you
pay. The price file says what that provider charges::

    [provider]
    name = "Acme AI"
    base_url = "https://api.acme.example/v1"   # optional: omit to apply to any base URL
    openai_fallback = true                     # optional: unlisted models at OpenAI list price

    [models."gpt-image-2"]
    per_image = "0.04"

    [models."gpt-5.1"]
    text_input_mtok = "1.0"
    text_output_mtok = "8.0"
    cached_text_input_mtok = "0.1"
    per_call = "0.001"

Amounts are USD, written as strings (exact decimals) or integers. Token rates are per
million tokens. For a model priced per image or per call, token kinds the file does not
price are taken to be included in that unit price. For a model with token rates only, a
missing cached rate means cached tokens cost the uncached rate (no discount published).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from agent.billing.pricing import ModelRates
from agent.errors import InvalidSettings

MODEL_KEYS: Mapping[str, str] = {
    "text_input_mtok": "text_input",
    "cached_text_input_mtok": "cached_text_input",
    "text_output_mtok": "text_output",
    "image_input_mtok": "image_input",
    "cached_image_input_mtok": "cached_image_input",
    "image_output_mtok": "image_output",
    "per_image": "per_image",
    "per_call": "per_call",
}
"""Keys a ``[models."<name>"]`` table may hold, and the ModelRates field each sets."""

PROVIDER_KEYS = ("name", "base_url", "openai_fallback")


class PriceFileError(InvalidSettings):
    """The price file is missing, unreadable or malformed. The message says how to fix it."""


@dataclass(frozen=True)
class ProviderPrices:
    """Everything one price file says: the provider, its URL and its models' rates."""

    name: str
    base_url: str | None
    models: Mapping[str, ModelRates]
    path: Path
    openai_fallback: bool = True

    @property
    def owner(self) -> str:
        """The owner string every line priced from this file carries."""
        return f"{self.name} price file"

    def applies_to(self, base_url: str | None) -> bool:
        """True when this file prices requests sent to ``base_url``.

        A file without ``base_url`` applies to any endpoint; otherwise the URLs must match
        (scheme and host case-insensitively, trailing slashes ignored).
        """
        if self.base_url is None:
            return True
        if base_url is None:
            return False
        return normalize_url(self.base_url) == normalize_url(base_url)


def normalize_url(url: str) -> str:
    """Lower-case scheme and host, drop trailing slashes: a comparable base URL."""
    url = url.strip().rstrip("/")
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url.lower()
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path}"


def load_price_file(path: Path) -> ProviderPrices:
    """Read and validate the price file at ``path``; raises PriceFileError saying what to fix."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise PriceFileError(
            f"Price file {path} does not exist. Create it, or unset ATELIER_PRICES_FILE to use "
            "OpenAI list prices.",
            param="prices_file",
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise PriceFileError(
            f"Price file {path} cannot be read ({exc}). Check the path and that it is UTF-8 text.",
            param="prices_file",
        ) from exc
    return parse_price_file(text, path)


def parse_price_file(text: str, path: Path) -> ProviderPrices:
    """Parse price-file TOML ``text`` (``path`` is named in errors)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _error(path, f"is not valid TOML: {exc}") from exc
    unknown = set(data) - {"provider", "models"}
    if unknown:
        raise _error(
            path, f"has unknown section(s) {_names(unknown)}: only [provider] and [models.*]."
        )
    provider = _table(data.get("provider"), path, "[provider]")
    if provider is None:
        raise _error(path, 'needs a [provider] table with name = "<provider name>".')
    for key in provider:
        if key not in PROVIDER_KEYS:
            raise _error(
                path, f"[provider] has unknown key {key!r}: allowed are {', '.join(PROVIDER_KEYS)}."
            )
    name = provider.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _error(path, '[provider] needs name = "<provider name>" (a non-empty string).')
    base_url = provider.get("base_url")
    if base_url is not None and (not isinstance(base_url, str) or "://" not in base_url):
        raise _error(
            path,
            '[provider] base_url must be a URL string such as "https://api.acme.example/v1".',
        )
    fallback = provider.get("openai_fallback", True)
    if not isinstance(fallback, bool):
        raise _error(path, "[provider] openai_fallback must be true or false.")
    owner = f"{name.strip()} price file"
    models_table = _table(data.get("models"), path, "[models]") or {}
    if not models_table:
        raise _error(path, 'lists no models: add at least one [models."<model>"] table.')
    models = {model: _model_rates(model, raw, path, owner) for model, raw in models_table.items()}
    return ProviderPrices(
        name=name.strip(),
        base_url=base_url,
        models=models,
        path=path,
        openai_fallback=fallback,
    )


def _model_rates(model: str, raw: Any, path: Path, owner: str) -> ModelRates:
    where = f'[models."{model}"]'
    table = _table(raw, path, where)
    if not table:
        raise _error(
            path,
            f"{where} sets no price: add per_image, per_call or *_mtok rates, e.g. "
            'text_input_mtok = "1.25".',
        )
    values: dict[str, Any] = {}
    for key, value in table.items():
        field = MODEL_KEYS.get(key)
        if field is None:
            raise _error(
                path, f"{where} has unknown key {key!r}: allowed are {', '.join(MODEL_KEYS)}."
            )
        values[field] = _amount(value, path, f"{where} {key}")
    return ModelRates(model=model, owner=owner, **values)


def _amount(value: Any, path: Path, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _error(path, f'{where} must be a USD amount written as a string, e.g. "0.04".')
    try:
        # floats go through str() so 0.1 stays 0.1, not its binary approximation
        amount = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise _error(
            path, f'{where} = {value!r} is not a number: write a USD amount like "0.04".'
        ) from exc
    if not amount.is_finite() or amount < 0:
        raise _error(path, f"{where} = {value!r} must be a finite amount of 0 or more.")
    return amount


def _table(value: Any, path: Path, where: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _error(path, f"{where} must be a table (a [section]), not a plain value.")
    return value


def _names(keys: set[str]) -> str:
    return ", ".join(repr(k) for k in sorted(keys))


def _error(path: Path, problem: str) -> PriceFileError:
    return PriceFileError(f"Price file {path} {problem}", param="prices_file")
