"""The engine's words: reply texts, revised prompts, and how many tokens text is "worth".

Token approximation (documented, deterministic; the real tokenizer is not available):

- text: ``ceil(characters / 4)`` tokens, the usual rule of thumb for English;
- every image the mainline model sees (an ``input_image`` part, an image_generation_call
  referenced by id, or an image generated earlier in a ``previous_response_id`` chain) counts a
  fixed ``CONTEXT_IMAGE_TOKENS`` (765, what a 1024x1024 picture costs a vision model at high
  detail);
- reasoning models "think" ``reasoning_tokens(...)`` tokens, a fixed function of the request.

Nothing here is random: the same text always yields the same reply and the same counts.
"""

from __future__ import annotations

import hashlib
import math
import re

CONTEXT_IMAGE_TOKENS = 765
"""Mainline input tokens charged per image in context."""

_WORD_RE = re.compile(r"\S+\s*")


def approx_tokens(text: str) -> int:
    """Approximate token count of ``text``: ceil(characters / 4)."""
    return math.ceil(len(text) / 4)


def reasoning_tokens(user_text: str, image_calls: int) -> int:
    """Reasoning tokens a reasoning model spends on a request (deterministic)."""
    return 64 + 2 * approx_tokens(user_text) + 96 * image_calls


def seed_of(*parts: str) -> int:
    """A stable integer seed derived from text (never Python's salted ``hash``)."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


def pick(options: tuple[str, ...], *seed_parts: str) -> str:
    """Pick one of ``options`` deterministically from ``seed_parts``."""
    return options[seed_of(*seed_parts) % len(options)]


def text_deltas(text: str, words_per_delta: int = 3) -> list[str]:
    """Split a reply into the small pieces streamed as output_text.delta events."""
    words = _WORD_RE.findall(text)
    if not words:
        return [text] if text else []
    return ["".join(words[i : i + words_per_delta]) for i in range(0, len(words), words_per_delta)]


_STYLES = (
    "clean vector illustration with crisp edges",
    "soft painterly style with visible brush texture",
    "bold graphic poster style with strong shapes",
    "warm cinematic photograph look with shallow depth of field",
    "minimal flat design with generous negative space",
    "detailed ink sketch with light watercolor washes",
)
_COMPOSITIONS = (
    "centered subject on a balanced layout",
    "rule-of-thirds composition with the subject on the left",
    "low-angle view that makes the subject feel monumental",
    "wide establishing view with layered depth",
    "close-up framing that fills the frame",
    "diagonal composition with a sense of motion",
)
_PALETTES = (
    "a warm sunset palette",
    "a cool teal and navy palette",
    "muted earth tones",
    "high-contrast complementary colors",
    "pastel colors with one vivid accent",
    "a monochrome palette with a single highlight color",
)
_LIGHTING = (
    "soft diffuse light",
    "golden-hour side light",
    "dramatic rim lighting",
    "even studio lighting",
    "moody low-key lighting",
)


def subject_of(user_text: str) -> str:
    """The subject of a visual request, with polite filler and count phrases trimmed."""
    text = re.sub(r"\s+", " ", user_text).strip().rstrip(".!?")
    text = re.sub(
        r"^(?:(?:hi|hello|hey)[,!.]?\s+)?(?:please\s+)?(?:can|could|would)\s+you\s+(?:please\s+)?",
        "",
        text,
        flags=re.IGNORECASE,
    )
    text = re.sub(r"\bplease\b,?\s*", "", text, flags=re.IGNORECASE).strip()
    return text or "an image"


def _look(subject: str, variant: int) -> tuple[str, str, str, str]:
    seed = seed_of(subject.lower())
    style = _STYLES[(seed + variant) % len(_STYLES)]
    composition = _COMPOSITIONS[(seed // 7 + variant * 2) % len(_COMPOSITIONS)]
    palette = _PALETTES[(seed // 49 + variant) % len(_PALETTES)]
    light = _LIGHTING[(seed // 343) % len(_LIGHTING)]
    return style, composition, palette, light


def revised_prompt(user_text: str, variant: int = 0, variants: int = 1) -> str:
    """A richer prompt than the user's text: subject plus style, composition, palette, light.

    Variants of one request get distinct compositions and styles.
    """
    subject = subject_of(user_text)
    style, composition, palette, light = _look(subject, variant)
    head = f"{subject[0].upper()}{subject[1:]}"
    if variants > 1:
        head = f"{head} (direction {variant + 1} of {variants})"
    return f"{head}: {style}, {composition}, {palette}, {light}, high detail."


def direction_label(user_text: str, variant: int) -> str:
    """A few words telling one variant apart from the others."""
    style, composition, palette, _ = _look(subject_of(user_text), variant)
    return f"{style}, {composition}, in {palette}"


def revised_edit_prompt(source_prompt: str | None, instruction: str) -> str:
    """The prompt of an edited image: what the source showed, plus the requested change."""
    base = (source_prompt or "The provided image").rstrip(".")
    change = subject_of(instruction)
    return f"{base}. Edited as requested: {change}."


def image_reply(subjects: list[str], action: str, blocked: list[str]) -> str:
    """The short message after the images: what was made and how to refine it."""
    made = len(subjects)
    parts: list[str] = []
    if made == 1 and action == "edit":
        parts.append(f"Done: I edited the image ({subjects[0]}).")
    elif made == 1:
        parts.append(f"Here it is: {subjects[0]}.")
    elif made > 1:
        listing = "; ".join(f"{i + 1}) {s}" for i, s in enumerate(subjects))
        parts.append(f"Here are {made} distinct directions: {listing}.")
    if blocked:
        parts.append(blocked_reply(blocked))
    if made:
        parts.append(
            "Tell me what to change: warmer or cooler colors, brighter, a tagline, a wider "
            "format, or remove something."
            if made == 1
            else "Pick one and tell me what to refine, or ask for more options."
        )
    return " ".join(parts)


def blocked_reply(categories: list[str]) -> str:
    """Why an image was not made."""
    cats = ", ".join(sorted(set(categories))) or "policy"
    return (
        f"I couldn't make that image: the request was blocked by moderation ({cats}). "
        "Rephrase it without that content and I'll try again."
    )


GREETING = (
    "Hi! I'm Atelier, your image studio. Describe a picture, poster, logo or illustration "
    "and I'll draw it; then tell me what to change and I'll refine it."
)
CAPABILITIES = (
    "I can draw images from a description (posters, logos, icons, banners, illustrations, "
    "mockups), propose several options at once, and edit the current image: make it warmer "
    "or brighter, add a tagline, remove something, or change its format. Try: "
    "'draw a poster for a jazz night'."
)
REFINE_HELP = (
    "To refine an image, just say what to change, e.g. 'make it warmer', 'add a tagline "
    "\"Open late\"', 'make it wider' or 'remove the text'. I edit the latest image unless "
    "you point at another one."
)
COST_HELP = (
    "Each turn is billed in tokens: my text (input and output) at the chat model's rates, "
    "and each image at the image model's rates, mostly image output tokens that grow with "
    "size and quality (a 1024x1024 medium image is 1,756 tokens). Partial previews add 100 "
    "tokens each. The running bill shows the exact cost of every turn."
)
FALLBACK = (
    "I'm an image studio: describe what you'd like to see (for example 'draw a cozy "
    "reading nook in watercolor') and I'll make it, or ask me how refining and costs work."
)
NO_TOOL = (
    "I can't make images in this conversation because the image tool is switched off. "
    "Enable it and ask again, or ask me how things work."
)


def image_input_tokens(width: int, height: int) -> int:
    """Image-model input tokens for a source or reference image (documented rule).

    Vision-style tiling: scale to fit 2048x2048, then so the short side is at most 768,
    and charge 85 plus 170 per 512-pixel tile (a 1024x1024 image is 765 tokens).
    """
    scale = min(1.0, 2048 / max(width, height))
    w, h = width * scale, height * scale
    scale = min(1.0, 768 / min(w, h))
    w, h = w * scale, h * scale
    tiles = math.ceil(w / 512) * math.ceil(h / 512)
    return 85 + 170 * tiles
