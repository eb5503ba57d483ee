"""What an image request may ask for, and what its output costs in tokens.

One source of truth used by three callers: the embedded engine (to answer 400 like the real
API), the agent (to refuse bad settings before any call) and billing (to estimate).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PARTIAL_IMAGE_TOKENS = 100
"""Each partial image adds this many image output tokens."""

FORMATS = ("png", "jpeg", "webp")
BACKGROUNDS = ("auto", "opaque", "transparent")
MODERATIONS = ("auto", "low")
ACTIONS = ("auto", "generate", "edit")
TOOL_OPTIONS = frozenset(
    {
        "type",
        "model",
        "size",
        "quality",
        "output_format",
        "output_compression",
        "background",
        "partial_images",
        "moderation",
        "action",
        "input_image_mask",
        "input_fidelity",
    }
)


class SpecError(ValueError):
    """A request option breaks a rule. ``param`` names the offending option."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param
        self.message = message


@dataclass(frozen=True)
class ImageModel:
    """The rules one image model family follows."""

    family: str
    qualities: tuple[str, ...]
    base_tokens: Mapping[str, int] | None  # flexible-size family: tokens per quality
    fixed_sizes: Mapping[str, Mapping[str, int]] | None  # fixed-size family: size -> q -> tokens
    transparent: bool  # "transparent" background supported (preview counts as supported)
    input_fidelity: bool  # the input_fidelity option is accepted


_GPT2 = ImageModel(
    family="gpt-image-2",
    qualities=("low", "medium", "high", "auto"),
    base_tokens={"low": 16, "medium": 48, "high": 96},
    fixed_sizes=None,
    transparent=True,
    input_fidelity=False,
)
_GPT25 = ImageModel(
    family="gpt-image-2.5",
    qualities=("low", "medium", "high", "xhigh", "max", "auto"),
    base_tokens={"low": 16, "medium": 24, "high": 48, "xhigh": 64, "max": 96},
    fixed_sizes=None,
    transparent=True,
    input_fidelity=False,
)
# gpt-image-1.5 / 1-mini bill from OpenAI's published per-size table (same as gpt-image-1).
_FIXED_TABLE: Mapping[str, Mapping[str, int]] = {
    "1024x1024": {"low": 272, "medium": 1056, "high": 4160},
    "1024x1536": {"low": 408, "medium": 1584, "high": 6240},
    "1536x1024": {"low": 400, "medium": 1568, "high": 6208},
}
_GPT15 = ImageModel(
    family="gpt-image-1.5",
    qualities=("low", "medium", "high", "auto"),
    base_tokens=None,
    fixed_sizes=_FIXED_TABLE,
    transparent=True,
    input_fidelity=True,
)
_GPT1MINI = ImageModel(
    family="gpt-image-1-mini",
    qualities=("low", "medium", "high", "auto"),
    base_tokens=None,
    fixed_sizes=_FIXED_TABLE,
    transparent=True,
    input_fidelity=True,
)

IMAGE_MODEL_NAMES = (
    "gpt-image-2",
    "gpt-image-2-2026-04-21",
    "gpt-image-1.5",
    "gpt-image-1-mini",
    "chatgpt-image-latest",
    "gpt-image-2.5-flare",
    "gpt-image-2.5-sunburst",
)
"""Image models offered in pickers. Other gpt-image-2.5-*/2.6-* names are accepted too."""

SIZE_PRESETS = ("auto", "1024x1024", "1024x1536", "1536x1024", "2048x2048", "3840x2160")

_SIZE_RE = re.compile(r"^([0-9]{1,5})x([0-9]{1,5})$")  # the API form, ASCII digits only
MIN_PIXELS = 655_360
MAX_PIXELS = 8_294_400
MAX_EDGE = 3840
MAX_RATIO = 3.0


def image_model(name: str) -> ImageModel:
    """The rules for an image model name; raises SpecError for a model we cannot serve."""
    if name == "gpt-image-1":
        raise SpecError("model", "gpt-image-1 was shut down on 2026-10-23: use gpt-image-2.")
    if name in ("gpt-image-2", "chatgpt-image-latest") or name.startswith("gpt-image-2-"):
        return _GPT2
    if name.startswith(("gpt-image-2.5-", "gpt-image-2.6-")):
        return _GPT25
    if name.startswith("gpt-image-1.5"):
        return _GPT15
    if name.startswith("gpt-image-1-mini"):
        return _GPT1MINI
    raise SpecError(
        "model",
        f"Unknown image model {name!r}. Use one of: {', '.join(IMAGE_MODEL_NAMES)}.",
    )


def parse_size(size: str) -> tuple[int, int]:
    """Parse ``WIDTHxHEIGHT`` into integers; raises SpecError with what to type instead."""
    match = _SIZE_RE.match(size)
    if not match:
        raise SpecError(
            "size", f"Invalid size {size!r}: write it as WIDTHxHEIGHT (e.g. 1024x1536) or 'auto'."
        )
    width, height = int(match.group(1)), int(match.group(2))
    if width < 16 or height < 16:
        raise SpecError("size", f"Invalid size {size!r}: each edge must be at least 16 pixels.")
    return width, height


def normalize_size(text: str) -> str:
    """A size as a person may type it ("1024 X 1536", "1024×1536", "AUTO") in the API form.

    Only spacing, case and the multiplication sign are forgiven; anything else is left for
    ``validate_size`` to refuse with a clear message.
    """
    compact = "".join(text.split()).lower().replace("×", "x")
    return compact if compact == "auto" or _SIZE_RE.match(compact) else text


def validate_size(model: str, size: str) -> tuple[int, int] | None:
    """Check ``size`` for ``model``. Returns (width, height), or None for "auto"."""
    spec = image_model(model)
    if size == "auto":
        return None
    width, height = parse_size(size)
    if spec.fixed_sizes is not None:
        normal = f"{width}x{height}"
        if normal not in spec.fixed_sizes:
            allowed = ", ".join(["auto", *spec.fixed_sizes])
            raise SpecError("size", f"{model} supports only these sizes: {allowed}.")
        return width, height
    if width % 16 or height % 16:
        raise SpecError(
            "size",
            f"Invalid size {width}x{height}: both edges must be multiples of 16 "
            f"(nearest: {_round16(width)}x{_round16(height)}).",
        )
    longest, shortest = max(width, height), min(width, height)
    if longest > MAX_EDGE:
        raise SpecError(
            "size", f"Invalid size {width}x{height}: the longest edge may be at most {MAX_EDGE}."
        )
    if longest / shortest > MAX_RATIO:
        raise SpecError(
            "size",
            f"Invalid size {width}x{height}: the long:short ratio may be at most 3:1.",
        )
    pixels = width * height
    if pixels < MIN_PIXELS or pixels > MAX_PIXELS:
        raise SpecError(
            "size",
            f"Invalid size {width}x{height}: total pixels must be between {MIN_PIXELS:,} "
            f"and {MAX_PIXELS:,} (this is {pixels:,}).",
        )
    return width, height


def _round16(value: int) -> int:
    return max(16, round(value / 16) * 16)


def validate_tool(tool: Mapping[str, Any]) -> None:
    """Validate an ``image_generation`` tool definition exactly as the Responses API does.

    Raises SpecError naming the parameter (``tools[0].size`` style is the caller's job).
    """
    for key in tool:
        if key not in TOOL_OPTIONS:
            raise SpecError(key, f"Unknown parameter: '{key}' is not an image_generation option.")
    model = str(tool.get("model", "gpt-image-2"))
    spec = image_model(model)
    size = tool.get("size", "auto")
    if not isinstance(size, str):
        raise SpecError("size", "size must be a string such as '1024x1024' or 'auto'.")
    validate_size(model, size)
    quality = tool.get("quality", "auto")
    if quality not in spec.qualities:
        raise SpecError(
            "quality",
            f"Invalid quality {quality!r} for {model}: use one of {', '.join(spec.qualities)}.",
        )
    fmt = tool.get("output_format", "png")
    if fmt not in FORMATS:
        raise SpecError("output_format", f"Invalid output_format {fmt!r}: use png, jpeg or webp.")
    compression = tool.get("output_compression")
    if compression is not None:
        if isinstance(compression, bool) or not isinstance(compression, int):
            raise SpecError("output_compression", "output_compression must be an integer 0-100.")
        if not 0 <= compression <= 100:
            raise SpecError("output_compression", "output_compression must be between 0 and 100.")
        if fmt == "png":
            raise SpecError(
                "output_compression",
                "output_compression applies only to jpeg and webp output, not png.",
            )
    background = tool.get("background", "auto")
    if background not in BACKGROUNDS:
        raise SpecError(
            "background", f"Invalid background {background!r}: use auto, opaque or transparent."
        )
    if background == "transparent":
        if fmt == "jpeg":
            raise SpecError(
                "background",
                "A transparent background needs png or webp output: jpeg has no alpha.",
            )
        if not spec.transparent:
            raise SpecError("background", f"{model} does not support transparent backgrounds.")
    partials = tool.get("partial_images", 0)
    if isinstance(partials, bool) or not isinstance(partials, int) or not 0 <= partials <= 3:
        raise SpecError("partial_images", "partial_images must be an integer from 0 to 3.")
    moderation = tool.get("moderation", "auto")
    if moderation not in MODERATIONS:
        raise SpecError("moderation", f"Invalid moderation {moderation!r}: use auto or low.")
    action = tool.get("action", "auto")
    if action not in ACTIONS:
        raise SpecError("action", f"Invalid action {action!r}: use auto, generate or edit.")
    if "input_fidelity" in tool and not spec.input_fidelity:
        raise SpecError(
            "input_fidelity",
            f"input_fidelity is not supported for {model}: omit it "
            "(gpt-image-2 always uses high fidelity for input images).",
        )
    mask = tool.get("input_image_mask")
    if mask is not None and (
        not isinstance(mask, Mapping) or not ({"image_url", "file_id"} & set(mask))
    ):
        raise SpecError("input_image_mask", "input_image_mask needs an image_url or a file_id.")


def _round_half_even(value: float) -> int:
    return round(value)  # Python's round() is banker's rounding: ties go to even


def image_output_tokens(model: str, width: int, height: int, quality: str) -> int:
    """Image output tokens for one final image, as OpenAI's calculator computes them.

    ``quality`` must be concrete (not "auto"): callers resolve auto first.
    """
    spec = image_model(model)
    if spec.fixed_sizes is not None:
        table = spec.fixed_sizes.get(f"{width}x{height}")
        if table is None or quality not in table:
            raise SpecError("size", f"{model} has no token table entry for {width}x{height}.")
        return table[quality]
    assert spec.base_tokens is not None
    if quality not in spec.base_tokens:
        raise SpecError("quality", f"No token rate for quality {quality!r} on {model}.")
    base = spec.base_tokens[quality]
    longest, shortest = max(width, height), min(width, height)
    scaled = _round_half_even(base / (longest / shortest))
    return math.ceil(base * scaled * (2_000_000 + width * height) / 4_000_000)


def worst_case_quality(model: str, quality: str) -> str:
    """The quality to assume when estimating: "auto" may pick the most expensive one."""
    spec = image_model(model)
    if quality != "auto":
        return quality
    if spec.base_tokens is not None:
        return max(spec.base_tokens, key=lambda q: spec.base_tokens[q] if spec.base_tokens else 0)
    return "high"


AUTO_SIZES = ((1024, 1024), (1024, 1536), (1536, 1024))
"""The sizes "auto" may resolve to."""


def worst_case_size(model: str, size: str, quality: str = "high") -> tuple[int, int]:
    """The size to assume when estimating: for "auto", the dearest size it may pick."""
    resolved = validate_size(model, size)
    if resolved is not None:
        return resolved
    concrete = worst_case_quality(model, quality)
    return max(AUTO_SIZES, key=lambda wh: image_output_tokens(model, wh[0], wh[1], concrete))


def auto_size_for(prompt: str) -> tuple[int, int]:
    """How "auto" size resolves for a prompt: portrait for posters, landscape for banners."""
    text = prompt.lower()
    if any(w in text for w in ("poster", "portrait", "book cover", "phone wallpaper", "flyer")):
        return AUTO_SIZES[1]
    if any(w in text for w in ("banner", "landscape", "wide", "panorama", "header", "cinematic")):
        return AUTO_SIZES[2]
    return AUTO_SIZES[0]
