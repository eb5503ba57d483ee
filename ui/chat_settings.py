"""The chat settings panel: widgets built from SessionSettings, and widget values back to changes.

Chainlit sends every widget's value on each update; ``changes_from`` turns that into only the
fields that differ, so ``Session.update_settings`` validates exactly what the user changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chainlit.input_widget import InputWidget, Select, Slider, TextInput

from agent.config import MAX_VARIANTS, MIN_VARIANTS
from agent.errors import InvalidSettings
from agent.images.spec import IMAGE_MODEL_NAMES, SIZE_PRESETS
from agent.session_settings import SessionSettings
from agent.turn.quote import parse_threshold

MAINLINE_MODELS = ("gpt-5.1", "gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-4.1")
QUALITIES = ("low", "medium", "high", "auto", "xhigh", "max")
FORMATS = ("png", "jpeg", "webp")
BACKGROUNDS = ("auto", "opaque", "transparent")
MODERATIONS = ("auto", "low")
CUSTOM_SIZE = "custom_size"
DEFAULT_COMPRESSION = 100


def _choices(options: tuple[str, ...], current: str) -> list[str]:
    """The options, with the current value first-class even when it is not a preset."""
    return list(options) if current in options else [current, *options]


def build_widgets(settings: SessionSettings) -> list[InputWidget]:
    """The settings panel for a session's current settings."""
    preset = settings.size in SIZE_PRESETS
    return [
        Select(
            id="image_model",
            label="Image model",
            values=_choices(IMAGE_MODEL_NAMES, settings.image_model),
            initial_value=settings.image_model,
        ),
        Select(
            id="size",
            label="Size",
            values=list(SIZE_PRESETS),
            initial_value=settings.size if preset else "1024x1024",
            description="A preset; a custom size below wins when filled in.",
        ),
        TextInput(
            id=CUSTOM_SIZE,
            label="Custom size (WxH)",
            initial="" if preset else settings.size,
            placeholder="e.g. 1792x1024 — edges multiples of 16",
        ),
        Select(
            id="quality",
            label="Quality",
            values=_choices(QUALITIES, settings.quality),
            initial_value=settings.quality,
            description="xhigh and max exist only on gpt-image-2.5 models.",
        ),
        Select(
            id="output_format",
            label="Format",
            values=list(FORMATS),
            initial_value=settings.output_format,
        ),
        Slider(
            id="output_compression",
            label="Compression (jpeg/webp)",
            initial=(
                settings.output_compression
                if settings.output_compression is not None
                else DEFAULT_COMPRESSION
            ),
            min=0,
            max=100,
            step=5,
        ),
        Select(
            id="background",
            label="Background",
            values=list(BACKGROUNDS),
            initial_value=settings.background,
        ),
        Slider(
            id="partial_images",
            label="Partial images while generating",
            initial=settings.partial_images,
            min=0,
            max=3,
            step=1,
        ),
        Select(
            id="moderation",
            label="Moderation",
            values=list(MODERATIONS),
            initial_value=settings.moderation,
        ),
        Slider(
            id="variants",
            label="Variations and Brainstorm directions per turn",
            initial=settings.variants,
            min=MIN_VARIANTS,
            max=MAX_VARIANTS,
            step=1,
        ),
        TextInput(
            id="quote_above_usd",
            label="Ask before turns above (USD)",
            initial="off" if settings.quote_above_usd is None else str(settings.quote_above_usd),
            placeholder="e.g. 0.25 — or off to never ask",
            description="A turn whose estimate is higher shows its price first: Go, Cheaper "
            "or Cancel.",
        ),
        Select(
            id="mainline_model",
            label="Chat model",
            values=_choices(MAINLINE_MODELS, settings.mainline_model),
            initial_value=settings.mainline_model,
        ),
    ]


def _wanted(values: Mapping[str, Any], current: SessionSettings) -> dict[str, Any]:
    """What the panel asks for, as SessionSettings fields."""
    wanted: dict[str, Any] = {}
    for key in ("image_model", "quality", "output_format", "background", "moderation"):
        if isinstance(values.get(key), str) and values[key]:
            wanted[key] = values[key]
    if isinstance(values.get("mainline_model"), str) and values["mainline_model"]:
        wanted["mainline_model"] = values["mainline_model"]
    custom = str(values.get(CUSTOM_SIZE) or "").strip().lower().replace(" ", "")
    if custom:
        wanted["size"] = custom
    elif isinstance(values.get("size"), str) and values["size"]:
        wanted["size"] = values["size"]
    for key in ("partial_images", "variants"):
        if values.get(key) is not None:
            wanted[key] = int(values[key])
    threshold = values.get("quote_above_usd")
    if isinstance(threshold, str):
        try:
            wanted["quote_above_usd"] = parse_threshold(threshold or "off")
        except InvalidSettings:
            wanted["quote_above_usd"] = threshold  # refused, with its reason, on update
    compression = values.get("output_compression")
    if compression is not None:
        keep_default = current.output_compression is None and int(compression) == (
            DEFAULT_COMPRESSION
        )
        wanted["output_compression"] = None if keep_default else int(compression)
    return wanted


def changes_from(values: Mapping[str, Any], current: SessionSettings) -> dict[str, Any]:
    """Only the fields the panel changes relative to ``current``."""
    return {
        key: value
        for key, value in _wanted(values, current).items()
        if getattr(current, key) != value
    }
