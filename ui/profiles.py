"""The chat profiles in the picker (one per prompts/<profile>.md) and their starters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import chainlit as cl

from agent.config import PROFILES, Profile


@dataclass(frozen=True)
class ProfileCard:
    """How a profile is presented: its picker name, description, icon and starters."""

    profile: Profile
    name: str
    description: str
    icon: str
    starters: tuple[tuple[str, str], ...]  # (label, message)


CARDS: dict[Profile, ProfileCard] = {
    "studio": ProfileCard(
        "studio",
        "Studio",
        "**One picture, many turns.** Generate an image, then refine it step by step: "
        "every image keeps its id, its lineage and its cost.",
        "palette",
        (
            ("Lighthouse poster", "A lighthouse poster at dusk"),
            ("Product photo", "A product photo of a ceramic mug on linen, soft light"),
            ("Storybook fox", "A watercolor illustration of a fox reading under a lamp"),
        ),
    ),
    "brainstorm": ProfileCard(
        "brainstorm",
        "Brainstorm",
        "**Many directions, fast.** Quick low-cost sketches of several ideas side by side; "
        "pick one and take it to the studio.",
        "lightbulb",
        (
            ("Coffee brand logo", "Three directions for a coffee brand logo"),
            ("Album cover", "Four moods for an indie album cover called 'Tidal'"),
            ("App icon", "Three app icon ideas for a habit tracker"),
        ),
    ),
    "support": ProfileCard(
        "support",
        "Support",
        "**Help with Atelier.** How refining, settings, uploads and the bill work, "
        "with a small example image when it helps.",
        "life-buoy",
        (
            ("Refining", "How do I refine an image?"),
            ("Costs", "How is the cost of an image counted?"),
            ("Uploads", "Can I upload my own photo and edit it?"),
        ),
    ),
}


# Settings a profile starts with on top of the app's defaults (the user can change them).
# Brainstorm promises quick low-cost sketches.
PROFILE_SETTINGS: dict[Profile, dict[str, Any]] = {"brainstorm": {"quality": "low"}}


def profile_for(name: str | None, *, client_type: str) -> Profile:
    """The agent profile for a picker name; the Copilot widget always uses Support."""
    if client_type == "copilot":
        return "support"
    for card in CARDS.values():
        if name is not None and name.lower() in (card.name.lower(), card.profile):
            return card.profile
    return "studio"


def chat_profiles() -> list[cl.ChatProfile]:
    """The picker entries, Studio first and default."""
    return [
        cl.ChatProfile(
            name=CARDS[profile].name,
            markdown_description=CARDS[profile].description,
            icon=f"/public/icons/{CARDS[profile].icon}.svg",
            default=profile == "studio",
            starters=[
                cl.Starter(label=label, message=message)
                for label, message in CARDS[profile].starters
            ],
        )
        for profile in PROFILES
    ]
