"""Token usage as value objects that add up.

``ResponseUsage`` is what one Responses API call reported: the mainline model's usage
(``response.usage``) and the image model's (``response.tool_usage.image_gen``). Values add
with ``+`` so a session total is just a sum.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openai.types.responses import Response


@dataclass(frozen=True)
class TextUsage:
    """The mainline (text) model's tokens. Reasoning tokens are part of output_tokens."""

    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0

    def __add__(self, other: TextUsage) -> TextUsage:
        return TextUsage(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    @property
    def is_empty(self) -> bool:
        """True when no tokens at all were reported."""
        return not (self.input_tokens or self.output_tokens)


@dataclass(frozen=True)
class ImageGenUsage:
    """The image model's tokens (``tool_usage.image_gen``).

    ``cached_text_tokens``/``cached_image_tokens`` are the cached parts of the input.
    ``output_image_tokens`` include 100 per partial image.
    """

    input_text_tokens: int = 0
    input_image_tokens: int = 0
    cached_text_tokens: int = 0
    cached_image_tokens: int = 0
    output_image_tokens: int = 0
    output_text_tokens: int = 0

    def __add__(self, other: ImageGenUsage) -> ImageGenUsage:
        return ImageGenUsage(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    @property
    def is_empty(self) -> bool:
        """True when the image model reported nothing."""
        return not any(getattr(self, f.name) for f in fields(self))


@dataclass(frozen=True)
class ResponseUsage:
    """Everything one response reported, for the mainline model and the image model."""

    text: TextUsage = field(default_factory=TextUsage)
    image: ImageGenUsage = field(default_factory=ImageGenUsage)

    def __add__(self, other: ResponseUsage) -> ResponseUsage:
        return ResponseUsage(text=self.text + other.text, image=self.image + other.image)

    def to_dict(self) -> dict[str, dict[str, int]]:
        """A JSON-ready form, stable for the ledger."""
        return {
            "text": {f.name: getattr(self.text, f.name) for f in fields(self.text)},
            "image": {f.name: getattr(self.image, f.name) for f in fields(self.image)},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Mapping[str, int]]) -> ResponseUsage:
        """Inverse of ``to_dict``."""
        return cls(
            text=TextUsage(**data.get("text", {})), image=ImageGenUsage(**data.get("image", {}))
        )


def _int(node: Any, *path: str) -> int:
    """The integer at ``path`` through typed SDK objects or raw dicts; 0 when absent."""
    for key in path:
        if node is None:
            return 0
        node = node.get(key) if isinstance(node, Mapping) else getattr(node, key, None)
    return int(node) if isinstance(node, int) and not isinstance(node, bool) else 0


def usage_from_response(response: Response) -> ResponseUsage:
    """What a response reported: ``usage`` (mainline) and ``tool_usage.image_gen`` (image model).

    Read from the SDK's types; ``tool_usage`` comes from the raw payload only where a client
    or provider left it untyped. Missing fields count as 0.
    """
    extra = response.model_extra or {}
    tool_usage: Any = response.tool_usage or extra.get("tool_usage")
    gen = tool_usage.get("image_gen") if isinstance(tool_usage, Mapping) else None
    if tool_usage is not None and gen is None:
        gen = getattr(tool_usage, "image_gen", None)
    return ResponseUsage(text=_text_usage(response.usage), image=_image_usage(gen))


def _text_usage(usage: Any) -> TextUsage:
    return TextUsage(
        input_tokens=_int(usage, "input_tokens"),
        cached_input_tokens=_int(usage, "input_tokens_details", "cached_tokens"),
        output_tokens=_int(usage, "output_tokens"),
        reasoning_tokens=_int(usage, "output_tokens_details", "reasoning_tokens"),
    )


def _image_usage(gen: Any) -> ImageGenUsage:
    """``tool_usage.image_gen`` as ImageGenUsage.

    Cached input comes as ``cached_tokens_details`` (text/image) or a flat ``cached_tokens``.
    """
    input_text = _int(gen, "input_tokens_details", "text_tokens")
    input_image = _int(gen, "input_tokens_details", "image_tokens")
    total_input = _int(gen, "input_tokens")
    if total_input and not (input_text or input_image):
        input_text = total_input
    cached_text = _int(gen, "cached_tokens_details", "cached_text_tokens")
    cached_image = _int(gen, "cached_tokens_details", "cached_image_tokens")
    if not (cached_text or cached_image):
        # Only the flat count was reported: attribute it to the larger input kind.
        flat = _int(gen, "cached_tokens")
        if input_image >= input_text:
            cached_image = min(flat, input_image) if input_image else 0
            cached_text = flat - cached_image
        else:
            cached_text = flat
    out_image = _int(gen, "output_tokens_details", "image_tokens")
    out_text = _int(gen, "output_tokens_details", "text_tokens")
    total_out = _int(gen, "output_tokens")
    if total_out and not (out_image or out_text):
        out_image = total_out
    return ImageGenUsage(
        input_text_tokens=input_text,
        input_image_tokens=input_image,
        cached_text_tokens=cached_text,
        cached_image_tokens=cached_image,
        output_image_tokens=out_image,
        output_text_tokens=out_text,
    )
