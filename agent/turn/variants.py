"""How many images a turn asks for: "give me 6 options", the Variations count, Brainstorm's.

The one place that reads a count out of the user's words and decides a turn's planned image
count; the request (instructions) and the preflight (quote, budget) both use it.
"""

from __future__ import annotations

import re

from agent.config import MAX_VARIANTS, MIN_VARIANTS, Profile

_WORDS = {
    "a couple of": 2,
    "a pair of": 2,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twelve": 12,
    "a dozen": 12,
}
_NUMBER = r"\d{1,3}|" + "|".join(sorted(_WORDS, key=len, reverse=True))
_COUNT = re.compile(
    rf"\b({_NUMBER})\s+(?:[\w-]+\s+){{0,2}}?"
    r"(options|variations|variants|versions|alternatives|takes|directions|ideas|concepts|"
    r"designs|drafts|logos|posters|images|pictures|icons|banners|sketches)\b",
    re.IGNORECASE,
)
DIRECTIONS = "{directions}"
"""The placeholder a profile's prompt uses for its number of directions (prompts/brainstorm.md)."""


def parse_count(text: str) -> int | None:
    """The number of images the words ask for ("6 options", "eight variations"), clamped to
    MIN_VARIANTS..MAX_VARIANTS; None when they ask for no particular number above one."""
    match = _COUNT.search(text)
    if match is None:
        return None
    word = match.group(1).lower()
    count = int(word) if word.isdigit() else _WORDS[word]
    if count < MIN_VARIANTS:
        return None
    return min(count, MAX_VARIANTS)


def planned_images(
    profile: Profile, text: str, *, variations: bool, refining: bool, setting: int
) -> int:
    """How many images one turn asks the model for.

    Support makes one image at most. A count in the words wins; otherwise Variations and a
    fresh Brainstorm request make ``setting`` (the session's ``variants``); refining one image
    makes one.
    """
    if profile == "support":
        return 1
    asked = parse_count(text)
    if asked is not None:
        return asked
    if variations or (profile == "brainstorm" and not refining):
        return setting
    return 1


def variations_text(count: int) -> str:
    """What a Variations turn without words of its own asks for."""
    return f"{count} variations of this image"


def instructions_for(instructions: str, *, directions: int, planned: int) -> str:
    """A profile's instructions with its number of directions filled in, plus, when the turn
    asks for several images, how many to make."""
    text = instructions.replace(DIRECTIONS, str(directions))
    if planned >= MIN_VARIANTS:
        text += (
            f"\n\nThis turn: make exactly {planned} images (one image_generation call each), "
            "each a distinct option."
        )
    return text
