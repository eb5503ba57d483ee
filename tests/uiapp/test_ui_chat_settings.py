"""The settings panel round-trips SessionSettings and reports only real changes."""

from __future__ import annotations

import pytest

from agent.errors import InvalidSettings
from agent.session_settings import SessionSettings
from ui.chat_settings import CUSTOM_SIZE, build_widgets, changes_from


def _panel_values(settings: SessionSettings) -> dict[str, object]:
    return {widget.id: widget.initial for widget in build_widgets(settings)}


def test_untouched_panel_changes_nothing() -> None:
    current = SessionSettings()
    assert changes_from(_panel_values(current), current) == {}


def test_custom_size_wins_over_the_preset() -> None:
    current = SessionSettings()
    values = {**_panel_values(current), CUSTOM_SIZE: " 1792 x 1024 ", "quality": "high"}
    assert changes_from(values, current) == {"size": "1792x1024", "quality": "high"}


def test_custom_size_setting_is_shown_in_the_text_field() -> None:
    current = SessionSettings(size="1792x1024")
    values = _panel_values(current)
    assert values[CUSTOM_SIZE] == "1792x1024"
    assert changes_from(values, current) == {}


def test_sliders_become_ints_and_compression_is_kept() -> None:
    current = SessionSettings(output_format="webp")
    values = {**_panel_values(current), "partial_images": 3.0, "output_compression": 55.0}
    assert changes_from(values, current) == {"partial_images": 3, "output_compression": 55}


def test_a_bad_change_is_refused_with_what_to_do() -> None:
    current = SessionSettings()
    changes = changes_from({**_panel_values(current), CUSTOM_SIZE: "1000x1000"}, current)
    with pytest.raises(InvalidSettings) as caught:
        current.updated(**changes)
    assert "16" in caught.value.user_message


def test_variants_and_the_quote_threshold_round_trip() -> None:
    from decimal import Decimal

    current = SessionSettings()
    values = _panel_values(current)
    assert values["variants"] == 3 and values["quote_above_usd"] == "0.25"
    assert changes_from(values, current) == {}
    changed = {**values, "variants": 8.0, "quote_above_usd": " $1.50 "}
    assert changes_from(changed, current) == {"variants": 8, "quote_above_usd": Decimal("1.50")}
    assert changes_from({**values, "quote_above_usd": "off"}, current) == {"quote_above_usd": None}
    off = SessionSettings(quote_above_usd=None)
    assert _panel_values(off)["quote_above_usd"] == "off"
    with pytest.raises(InvalidSettings):
        current.updated(**changes_from({**values, "quote_above_usd": "lots"}, current))
