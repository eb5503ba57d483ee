"""Colour palettes for the engine's renderer, picked from the mood and colour words of a prompt."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Palette:
    """The colours of one scene: sky gradient, light source, land layers far to near, accents."""

    name: str
    sky_top: RGB
    sky_bottom: RGB
    sun: RGB
    far: RGB
    near: RGB
    accent: RGB
    ink: RGB
    night: bool = False


def _hex(value: str) -> RGB:
    value = value.lstrip("#")
    return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16))


def _palette(name: str, *colours: str, night: bool = False) -> Palette:
    sky_top, sky_bottom, sun, far, near, accent, ink = (_hex(c) for c in colours)
    return Palette(name, sky_top, sky_bottom, sun, far, near, accent, ink, night)


PALETTES: dict[str, Palette] = {
    p.name: p
    for p in (
        _palette(
            "dusk", "#2e3a6e", "#f2a488", "#ffe3b3", "#6b5b95", "#2b2d4f", "#ffb26b", "#fff8ee"
        ),
        _palette(
            "sunset", "#3b1d5a", "#ff8a4c", "#ffd36e", "#b0476a", "#3a1838", "#ffc15e", "#fff4e0"
        ),
        _palette(
            "ocean", "#0b3c5d", "#7fd1d9", "#f4f1de", "#2a7f8f", "#0d2f45", "#f2c14e", "#f7fbfc"
        ),
        _palette(
            "forest", "#1f3b2d", "#a7c4a0", "#f6e8b1", "#4f7a5a", "#15291e", "#e0a458", "#f5f3e7"
        ),
        _palette(
            "neon",
            "#0d0221",
            "#541388",
            "#ff2a6d",
            "#2e1760",
            "#0a0118",
            "#05d9e8",
            "#f6f7ff",
            night=True,
        ),
        _palette(
            "pastel", "#bde0fe", "#ffd6e8", "#fff1c1", "#cdb4db", "#a2d2ff", "#ff8fab", "#3d3552"
        ),
        _palette(
            "noir",
            "#0e0e10",
            "#4a4a52",
            "#e8e8e8",
            "#2a2a30",
            "#08080a",
            "#c9c9c9",
            "#f2f2f2",
            night=True,
        ),
        _palette(
            "autumn", "#5c2a1e", "#f4a259", "#ffe0a3", "#a44a3f", "#3d1f16", "#e9c46a", "#fff5e6"
        ),
        _palette(
            "winter", "#5b7db1", "#e3eef7", "#ffffff", "#9fb7d4", "#4a6487", "#d94f4f", "#1e2a3a"
        ),
        _palette(
            "desert", "#e07a5f", "#f9dcb0", "#fff3d6", "#d49a6a", "#8c4f32", "#3d405b", "#2b1d14"
        ),
        _palette(
            "spring", "#8ecae6", "#fde2e4", "#fffbe6", "#b5e48c", "#52b788", "#f28482", "#22333b"
        ),
        _palette(
            "day", "#3f8fd8", "#cfe8f6", "#fff6d8", "#7fa7b8", "#3c6e57", "#f29e4c", "#1d2733"
        ),
        _palette(
            "golden", "#6a4c93", "#ffb347", "#fff0b3", "#c77d4a", "#4a2c2a", "#ffd166", "#fff8e7"
        ),
        _palette(
            "night",
            "#060b26",
            "#27336b",
            "#f1f0e8",
            "#1d2550",
            "#070a1c",
            "#ffd166",
            "#f1f0e8",
            night=True,
        ),
    )
}

DEFAULT_PALETTE = "dusk"

# Mood words mapped to a palette; the earliest such word in the prompt wins.
_MOOD_WORDS: dict[str, str] = {
    "warm": "sunset",
    "sunset": "sunset",
    "sunrise": "sunset",
    "amber": "sunset",
    "golden": "golden",
    "dawn": "sunset",
    "fire": "sunset",
    "teal": "ocean",
    "ocean": "ocean",
    "sea": "ocean",
    "beach": "ocean",
    "coast": "ocean",
    "aqua": "ocean",
    "tropical": "ocean",
    "lake": "ocean",
    "underwater": "ocean",
    "forest": "forest",
    "jungle": "forest",
    "woods": "forest",
    "green": "forest",
    "emerald": "forest",
    "moss": "forest",
    "meadow": "spring",
    "neon": "neon",
    "cyberpunk": "neon",
    "synthwave": "neon",
    "vaporwave": "neon",
    "retro": "neon",
    "futuristic": "neon",
    "cyber": "neon",
    "pastel": "pastel",
    "soft": "pastel",
    "dreamy": "pastel",
    "cute": "pastel",
    "kawaii": "pastel",
    "whimsical": "pastel",
    "noir": "noir",
    "monochrome": "noir",
    "moody": "noir",
    "gothic": "noir",
    "dark": "noir",
    "autumn": "autumn",
    "fall": "autumn",
    "rust": "autumn",
    "cozy": "autumn",
    "cosy": "autumn",
    "harvest": "autumn",
    "winter": "winter",
    "snow": "winter",
    "snowy": "winter",
    "ice": "winter",
    "icy": "winter",
    "frost": "winter",
    "cool": "winter",
    "cold": "winter",
    "arctic": "winter",
    "desert": "desert",
    "sand": "desert",
    "dune": "desert",
    "dunes": "desert",
    "terracotta": "desert",
    "spring": "spring",
    "cherry": "spring",
    "blossom": "spring",
    "fresh": "spring",
    "night": "night",
    "midnight": "night",
    "moon": "night",
    "moonlit": "night",
    "starry": "night",
    "stars": "night",
    "galaxy": "night",
    "space": "night",
    "cosmic": "night",
}

# Plain colour words tint the accent (emblems, lamps, title band).
_COLOUR_WORDS: dict[str, str] = {
    "red": "#e63946",
    "crimson": "#c1121f",
    "orange": "#f77f00",
    "yellow": "#ffd60a",
    "gold": "#f4c430",
    "green": "#2a9d8f",
    "blue": "#3a86ff",
    "navy": "#1d3557",
    "purple": "#8338ec",
    "violet": "#7b2cbf",
    "pink": "#ff70a6",
    "magenta": "#d0006f",
    "teal": "#14b8a6",
    "turquoise": "#2ec4b6",
    "white": "#f8f9fa",
    "black": "#161616",
    "silver": "#c0c0c0",
    "brown": "#8d5524",
    "coral": "#ff7f50",
    "mint": "#98f5e1",
    "lavender": "#b8a1e3",
    "cyan": "#00b4d8",
    "cream": "#f3ead3",
    "beige": "#e8dcc4",
    "ivory": "#f8f4e6",
    "sand": "#e2cfa7",
    "grey": "#8d939b",
    "gray": "#8d939b",
    "charcoal": "#33363b",
    "olive": "#7a8a3c",
    "peach": "#ffc8a2",
    "lilac": "#c8a2c8",
    "indigo": "#3f37c9",
    "maroon": "#7b1e2b",
    "mustard": "#e1ad01",
    "rose": "#f4a6b7",
    "lime": "#a7d948",
}

COLOUR_NAMES: tuple[str, ...] = tuple(_COLOUR_WORDS)
"""Every colour word the renderer knows, for the language reader."""


def colour_named(word: str) -> RGB | None:
    """The RGB of a plain colour word ("cream", "navy"), or None."""
    value = _COLOUR_WORDS.get(word.lower())
    return _hex(value) if value else None


def hex_of(colour: RGB) -> str:
    """``#rrggbb`` for an RGB triple."""
    return "#{:02x}{:02x}{:02x}".format(*colour)


def rgb_of(value: str) -> RGB:
    """An RGB triple from ``#rrggbb``."""
    return _hex(value)


_WORD_RE = re.compile(r"[a-z]+")


def words_of(text: str) -> list[str]:
    """Lower-case words of ``text`` in order (letters only)."""
    return _WORD_RE.findall(text.lower())


def palette_for(prompt: str) -> Palette:
    """Pick the palette for ``prompt``: the earliest mood word decides, a colour word tints it."""
    words = words_of(prompt)
    chosen = PALETTES[DEFAULT_PALETTE]
    for word in words:
        if word in _MOOD_WORDS:
            chosen = PALETTES[_MOOD_WORDS[word]]
            break
    for word in words:
        if word in _COLOUR_WORDS:
            return replace(chosen, accent=_hex(_COLOUR_WORDS[word]))
    return chosen


def mix(a: RGB, b: RGB, t: float) -> RGB:
    """Linear blend from ``a`` (t=0) to ``b`` (t=1)."""
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def luminance(colour: RGB) -> float:
    """Relative brightness 0..255 (Rec. 601 weights)."""
    return 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]
