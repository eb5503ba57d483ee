"""A provider's own price file: per-image, per-call and per-token prices, and clear errors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from agent.billing.bills import ImageCost, bill_turn
from agent.billing.pricing import OPENAI_OWNER, PriceBook
from agent.billing.provider_prices import PriceFileError, load_price_file, parse_price_file
from agent.billing.usage import ImageGenUsage, ResponseUsage, TextUsage
from agent.config import Settings
from agent.errors import InvalidSettings

from .price_files import ACME_TOML

ACME_OWNER = "Acme AI price file"


def test_per_image_and_per_call_and_per_token_lines(acme_prices: PriceBook) -> None:
    usage = ResponseUsage(
        text=TextUsage(input_tokens=10_000, cached_input_tokens=4_000, output_tokens=500),
        image=ImageGenUsage(input_text_tokens=80, output_image_tokens=3_712),
    )
    bill = bill_turn(
        usage,
        mainline_model="gpt-5.1",
        image_model="gpt-image-2",
        prices=acme_prices,
        images=[ImageCost("1024x1024", "medium", 1), ImageCost("1024x1024", "medium", 1)],
    )
    got = {line.kind: (line.tokens, line.rate_per_mtok_usd, line.cost_usd) for line in bill.lines}
    assert got == {
        "text_input": (6_000, Decimal("1.0"), Decimal("0.006")),
        "text_cached_input": (4_000, Decimal("0.1"), Decimal("0.0004")),
        "text_output": (500, Decimal("8.0"), Decimal("0.004")),
        "per_call": (1, Decimal("0.001"), Decimal("0.001")),
        "per_image": (2, Decimal("0.04"), Decimal("0.08")),
    }
    assert {line.owner for line in bill.lines} == {ACME_OWNER}
    assert bill.total_usd == Decimal("0.0914")


def test_models_not_in_the_file_fall_back_to_openai_list_price(acme_prices: PriceBook) -> None:
    rates = acme_prices.rates("gpt-5-mini")
    assert rates is not None and rates.owner == OPENAI_OWNER


def test_fallback_can_be_switched_off() -> None:
    text = ACME_TOML.replace('name = "Acme AI"', 'name = "Acme AI"\nopenai_fallback = false')
    book = PriceBook(provider=parse_price_file(text, Path("p.toml")))
    assert book.rates("gpt-5-mini") is None
    assert book.rates("gpt-5.1") is not None


def test_file_applies_only_to_its_base_url(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "prices.toml"
    path.write_text(ACME_TOML, encoding="utf-8")
    matching = PriceBook.load(
        settings.model_copy(
            update={"prices_file": path, "openai_base_url": "https://API.acme.example/v1/"}
        )
    )
    rates = matching.rates("gpt-image-2")
    assert rates is not None and rates.owner == ACME_OWNER and rates.per_image == Decimal("0.04")
    assert "Acme AI price file" in matching.source
    other = PriceBook.load(
        settings.model_copy(
            update={"prices_file": path, "openai_base_url": "https://other.example/v1"}
        )
    )
    rates = other.rates("gpt-image-2")
    assert rates is not None and rates.owner == OPENAI_OWNER
    assert "OpenAI list price" in other.source


def test_file_without_base_url_applies_everywhere(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "prices.toml"
    path.write_text(
        ACME_TOML.replace('base_url = "https://api.acme.example/v1"\n', ""), encoding="utf-8"
    )
    book = PriceBook.load(
        settings.model_copy(update={"prices_file": path, "openai_base_url": None})
    )
    rates = book.rates("gpt-5.1")
    assert rates is not None and rates.owner == ACME_OWNER


BAD_FILES = [
    ("[provider\nname='x'", "is not valid TOML"),
    ('[models."gpt-5.1"]\ntext_input_mtok = "1"', "needs a [provider] table"),
    ('[provider]\nbase_url = "https://x.example"\n[models."m"]\nper_call = "1"', "needs name ="),
    ('[provider]\nname = "X"\n', "lists no models"),
    ('[provider]\nname = "X"\n[models."gpt-5.1"]\ninput = "1"', "unknown key 'input'"),
    ('[provider]\nname = "X"\n[models."gpt-5.1"]\nper_call = "cheap"', "is not a number"),
    ('[provider]\nname = "X"\n[models."gpt-5.1"]\nper_call = "-1"', "0 or more"),
    ('[provider]\nname = "X"\n[models."gpt-5.1"]\nper_call = true', "USD amount"),
    ('[provider]\nname = "X"\n[models."gpt-5.1"]\n', "sets no price"),
    ('[provider]\nname = "X"\nbase_url = "acme"\n[models."m"]\nper_call = "1"', "must be a URL"),
    ('[provider]\nname = "X"\ncolour = "red"\n[models."m"]\nper_call = "1"', "unknown key"),
    ('[provider]\nname = "X"\n[prices]\n', "unknown section"),
    ('provider = "X"\n', "must be a table"),
]


@pytest.mark.parametrize(("text", "problem"), BAD_FILES)
def test_bad_price_file_gives_a_clear_error(text: str, problem: str) -> None:
    with pytest.raises(PriceFileError) as info:
        parse_price_file(text, Path("/etc/atelier/prices.toml"))
    message = info.value.user_message
    assert message.startswith("Price file /etc/atelier/prices.toml ")
    assert problem in message
    assert isinstance(info.value, InvalidSettings) and info.value.param == "prices_file"


def test_missing_price_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(PriceFileError) as info:
        load_price_file(tmp_path / "nope.toml")
    assert "does not exist" in info.value.user_message
    assert "ATELIER_PRICES_FILE" in info.value.user_message


def test_integer_and_float_amounts_are_read_exactly() -> None:
    book = parse_price_file(
        '[provider]\nname = "X"\n[models."m"]\nper_image = 0.1\ntext_input_mtok = 3', Path("p")
    )
    rates = book.models["m"]
    assert rates.per_image == Decimal("0.1") and rates.text_input == Decimal(3)


def test_per_image_without_an_image_count_is_unknown(acme_prices: PriceBook) -> None:
    usage = ResponseUsage(image=ImageGenUsage(output_image_tokens=1_756))
    bill = bill_turn(usage, mainline_model="gpt-5.1", image_model="gpt-image-2", prices=acme_prices)
    (line,) = bill.lines
    assert line.kind == "per_image" and line.cost_usd is None
    assert bill.total_usd is None


def test_model_without_token_formula_gives_unknown_estimate() -> None:
    book = PriceBook(
        provider=parse_price_file(
            '[provider]\nname = "X"\n[models."acme-image"]\nimage_output_mtok = "20"', Path("p")
        )
    )
    bill = bill_turn(
        ResponseUsage(),
        mainline_model="gpt-5.1",
        image_model="acme-image",
        prices=book,
        images=[ImageCost("1024x1024", "medium")],
    )
    (line,) = bill.lines
    assert (line.kind, line.cost_usd, line.estimated) == ("image_output", None, True)
    assert line.owner == "unknown price"
