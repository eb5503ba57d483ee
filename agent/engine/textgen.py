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

from agent.engine.edit_outcome import article
from agent.engine.scene_model import Scene

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


def text_deltas(text: str, words_per_delta: int = 3) -> list[str]:
    """Split a reply into the small pieces streamed as output_text.delta events."""
    words = _WORD_RE.findall(text)
    if not words:
        return [text] if text else []
    return ["".join(words[i : i + words_per_delta]) for i in range(0, len(words), words_per_delta)]


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


def revised_edit_prompt(source_prompt: str | None, instruction: str) -> str:
    """The prompt of an edited image: what the source showed, plus the requested change."""
    base = (source_prompt or "The provided image").rstrip(".")
    change = subject_of(instruction)
    return f"{base}. Edited as requested: {change}."


def describe(scene: Scene) -> str:
    """What a scene shows, in one plain phrase (for revised prompts and replies)."""
    things = [e.kind for e in scene.elements if e.kind not in ("stars",)]
    names = []
    for kind in things:
        if kind not in names:
            names.append(kind)
    what = _listing([article(k) for k in names]) or "an open sky"
    brief = brief_of(scene.subject)
    if scene.layout == "logo":
        head = f"{brief or 'a logo'} with {what}"
    elif scene.layout == "poster":
        head = f"{brief or 'a poster'} showing {what}"
    elif brief and not brief.lower().startswith(what.lower()):
        head = f"{brief} \u2014 {what}"
    else:
        head = what
    where = {"water": " over the sea", "hills": " over hills"}.get(scene.ground, "")
    light = describe_palette(scene.palette)
    parts = [f"{head}{where if scene.layout != 'logo' else ''} {light}"]
    if scene.style != "painted":
        parts.append(f"{_STYLE_NAMES.get(scene.style, scene.style)} style")
    if scene.sky:
        parts.append("on a plain background")
    if scene.title:
        parts.append(f"titled \u201c{scene.title}\u201d")
    if scene.tagline:
        parts.append(f"with the tagline \u201c{scene.tagline}\u201d")
    text = ", ".join(parts)
    return text[0].upper() + text[1:]


_BRIEF_LEAD = re.compile(
    r"^(?:(?:please|now|ok|okay)\s+)*(?:(?:draw|design|make|create|generate|sketch|paint|"
    r"render|give|show|mock ?up|i want|i need|i'd like)\s+(?:me\s+|us\s+)?)?"
    r"(?:(?:\d+|one|two|three|four|a couple of)\s+(?:[\w-]+\s+){0,2}?"
    r"(?:options|variations|variants|versions|alternatives|takes|directions|ideas|concepts|"
    r"designs|drafts)\s+(?:for|of|on|about)\s+)?",
    re.IGNORECASE,
)


def brief_of(subject: str) -> str:
    """The brief's noun phrase ("a logo for a bakery") without the request's verb or count."""
    text = _BRIEF_LEAD.sub("", subject.strip()).strip(" .,")
    text = re.split(r"\s*[,;]\s*|\s+(?:in|with|at)\s+", text)[0]
    if not text or len(text) > 60:
        return ""
    return text if re.match(r"^(?:a|an|the)\b", text, re.I) else f"a {text}"


def describe_palette(name: str) -> str:
    """A palette or time of day in words ("at golden hour", "in a neon palette")."""
    return {
        "night": "at night",
        "golden": "at golden hour",
        "sunset": "at sunset",
        "dusk": "at dusk",
        "day": "in daylight",
    }.get(name, f"in a {name} palette")


_STYLE_NAMES = {
    "watercolor": "watercolor",
    "ink": "ink sketch",
    "flat": "flat vector",
    "pixel": "pixel art",
    "vintage": "vintage",
    "minimal": "minimal",
}


def _listing(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


API_NOTE = "A real image model would do that: set OPENAI_API_KEY to use one."


def edit_reply(done: list[str], failed: list[str], beyond: bool) -> str:
    """After an edit: exactly what changed, then plainly what could not be done."""
    parts: list[str] = []
    if done:
        parts.append(f"Edited the image: {_listing(done)}.")
    if failed:
        lead = "I couldn't" if done else "I didn't change the image: I couldn't"
        parts.append(f"{lead} {'; '.join(failed)}.")
        if beyond:
            parts.append(API_NOTE)
    return " ".join(parts)


def pick_reply(number: int, scene: Scene | None, failed: list[str], beyond: bool) -> str:
    """After "go with 3" alone: which option is now the one being refined (nothing changed)."""
    what = f": {describe(scene)[0].lower()}{describe(scene)[1:]}" if scene else ""
    parts = [f"Going with option {number}{what}."]
    if failed:
        parts.append(f"I couldn't {'; '.join(failed)}.")
        if beyond:
            parts.append(API_NOTE)
    parts.append("Tell me what to change next: the light, the background, the text, the format.")
    return " ".join(parts)


def image_reply(subjects: list[str], action: str, blocked: list[str]) -> str:
    """The short message after new images: what was drawn (numbered when several)."""
    made = len(subjects)
    parts: list[str] = []
    if made == 1 and action == "edit":
        parts.append(f"Edited the image: {subjects[0]}.")
    elif made == 1:
        parts.append(f"Generated: {subjects[0]}.")
    elif made > 1:
        listing = " ".join(f"{i + 1} \u00b7 {s}." for i, s in enumerate(subjects))
        noun = "variations" if action == "edit" else "distinct directions"
        parts.append(f"Here are {made} {noun}: {listing}")
    if blocked:
        parts.append(blocked_reply(blocked))
    if made:
        parts.append(
            "Tell me what to change: the light or time of day, the background, add or remove "
            "something, a title or tagline, or the format."
            if made == 1
            else "Which one should I take further? Say e.g. \u201cgo with 2\u201d or "
            "\u201cmix 1 and 3\u201d."
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
    "I can draw images from a description (posters, logos, icons, banners, illustrations), "
    "propose several directions at once, and edit the current image: add, remove, move, "
    "resize or recolour things in it, change the background, the time of day, the palette "
    "or the style, crop it or change its format, and set a title or tagline. Try: "
    "'draw a poster of a lighthouse titled HARBOR'."
)
REFINE_HELP = (
    "To refine an image, just say what to change, e.g. 'remove the moon', 'make the "
    "background cream', 'add the tagline \"Open late\"', 'at night' or 'make it square'. "
    "I edit the latest image unless you point at another one."
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
