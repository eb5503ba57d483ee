"""A picture as data: named elements on a stage, a palette, a style, and its lettering.

The engine draws every picture from a ``Scene`` and embeds the scene (JSON) in the image
file it returns, so a later edit changes the scene ("remove the moon", "make the lighthouse
taller") and draws it again: edits are real, and nothing else moves.

Geometry: an element's ``x`` is its centre and ``y`` its bottom, as fractions of the
picture's width and height; ``w`` and ``h`` are fractions of the picture's shorter edge, so
shapes keep their proportions when the format changes. Spanning elements (mountains, city,
trees, flowers, stars, flocks) run across the whole width.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from agent.engine.palette import PALETTES, palette_for, words_of

SCENE_KEY = "atelier-scene"
"""The image metadata key (PNG text chunk, JPEG comment, WebP XMP) holding the scene JSON."""


@dataclass(frozen=True)
class Kind:
    """What the renderer knows about one kind of element."""

    x: float
    y: float  # bottom; for sky elements relative to the horizon (see ``place``)
    w: float
    h: float
    sky: bool = False  # lives in the sky: its y is measured up from the horizon
    span: bool = False  # runs across the whole width
    layer: int = 5  # drawing order, back to front


KINDS: dict[str, Kind] = {
    "stars": Kind(0.5, 0.0, 1.0, 0.0, sky=True, span=True, layer=0),
    "sun": Kind(0.7, 0.1, 0.17, 0.17, sky=True, layer=1),
    "moon": Kind(0.72, 0.14, 0.14, 0.14, sky=True, layer=1),
    "clouds": Kind(0.3, 0.3, 0.34, 0.12, sky=True, layer=2),
    "mountains": Kind(0.5, 0.06, 1.0, 0.42, span=True, layer=3),
    "city": Kind(0.5, 0.02, 1.0, 0.34, span=True, layer=3),
    "lighthouse": Kind(0.78, 0.1, 0.16, 0.5, layer=5),
    "house": Kind(0.25, 0.07, 0.17, 0.17, layer=5),
    "boat": Kind(0.45, 0.09, 0.18, 0.2, layer=6),
    "trees": Kind(0.5, 0.45, 1.0, 0.48, span=True, layer=6),
    "cat": Kind(0.28, 0.36, 0.22, 0.3, layer=7),
    "rocket": Kind(0.32, 0.0, 0.3, 0.55, sky=True, layer=7),
    "cup": Kind(0.5, 0.38, 0.42, 0.42, layer=7),
    "flowers": Kind(0.5, 0.4, 1.0, 0.2, span=True, layer=8),
    "birds": Kind(0.5, 0.22, 0.8, 0.22, sky=True, layer=9),
    "seagull": Kind(0.4, 0.2, 0.13, 0.06, sky=True, layer=9),
    "emblem": Kind(0.5, 0.78, 0.56, 0.56, layer=4),
}

# Words people use for each kind (singular and plural forms, near synonyms).
ELEMENT_WORDS: dict[str, str] = {
    "star": "stars",
    "stars": "stars",
    "starry": "stars",
    "sun": "sun",
    "sunshine": "sun",
    "moon": "moon",
    "moonlight": "moon",
    "cloud": "clouds",
    "clouds": "clouds",
    "cloudy": "clouds",
    "mountain": "mountains",
    "mountains": "mountains",
    "peak": "mountains",
    "peaks": "mountains",
    "alps": "mountains",
    "volcano": "mountains",
    "city": "city",
    "skyline": "city",
    "town": "city",
    "buildings": "city",
    "downtown": "city",
    "skyscrapers": "city",
    "lighthouse": "lighthouse",
    "house": "house",
    "cabin": "house",
    "cottage": "house",
    "hut": "house",
    "home": "house",
    "boat": "boat",
    "sailboat": "boat",
    "ship": "boat",
    "yacht": "boat",
    "tree": "trees",
    "trees": "trees",
    "forest": "trees",
    "woods": "trees",
    "pine": "trees",
    "pines": "trees",
    "cat": "cat",
    "kitten": "cat",
    "kitty": "cat",
    "rocket": "rocket",
    "spaceship": "rocket",
    "spacecraft": "rocket",
    "cup": "cup",
    "mug": "cup",
    "coffee": "cup",
    "latte": "cup",
    "espresso": "cup",
    "tea": "cup",
    "cafe": "cup",
    "flower": "flowers",
    "flowers": "flowers",
    "garden": "flowers",
    "tulips": "flowers",
    "roses": "flowers",
    "wildflowers": "flowers",
    "bird": "birds",
    "birds": "birds",
    "flock": "birds",
    "seagull": "seagull",
    "seagulls": "birds",
    "gull": "seagull",
    "gulls": "birds",
    "emblem": "emblem",
    "badge": "emblem",
    "monogram": "emblem",
}

WATER_WORDS = frozenset(
    [
        "sea",
        "ocean",
        "beach",
        "lake",
        "waves",
        "wave",
        "coast",
        "coastal",
        "harbor",
        "harbour",
        "bay",
        "shore",
        "lighthouse",
        "boat",
        "sailboat",
        "ship",
        "yacht",
        "island",
        "river",
        "underwater",
        "seaside",
        "port",
        "pier",
        "marina",
    ]
)
_POSTER_WORDS = frozenset(["poster", "posters", "flyer", "cover", "banner"])
_LOGO_WORDS = frozenset(
    ["logo", "logos", "icon", "badge", "monogram", "brand", "sticker", "emblem"]
)
STYLES = ("painted", "watercolor", "minimal", "ink", "flat", "pixel", "vintage")
_STYLE_WORDS: dict[str, str] = {
    "watercolor": "watercolor",
    "watercolour": "watercolor",
    "minimal": "minimal",
    "minimalist": "minimal",
    "ink": "ink",
    "sketch": "ink",
    "pencil": "ink",
    "flat": "flat",
    "vector": "flat",
    "pixel": "pixel",
    "vintage": "vintage",
    "retro": "vintage",
}


@dataclass(frozen=True)
class Element:
    """One named thing in the picture."""

    kind: str
    x: float
    y: float
    w: float
    h: float
    colour: str | None = None  # "#rrggbb": recoloured by the user
    seed: int = 0


@dataclass(frozen=True)
class Scene:
    """Everything that decides a picture, in words the language reader can change."""

    layout: str  # scene | poster | logo
    palette: str
    ground: str = "hills"  # hills | water
    horizon: float = 0.6
    sky: str | None = None  # "#rrggbb": a background colour the user chose
    accent: str | None = None
    style: str = "painted"
    elements: tuple[Element, ...] = ()
    title: str | None = None
    tagline: str | None = None
    text_scale: float = 1.0
    view: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)
    filters: tuple[tuple[str, float], ...] = ()  # tone edits applied after drawing
    seed: int = 0
    subject: str = ""
    notes: tuple[str, ...] = field(default=())  # free words kept for the prompt text

    def has(self, kind: str) -> bool:
        """True when an element of ``kind`` is in the picture."""
        return any(e.kind == kind for e in self.elements)

    def get(self, kind: str) -> Element | None:
        """The first element of ``kind``, or None."""
        return next((e for e in self.elements if e.kind == kind), None)

    def night(self) -> bool:
        """True for a night palette."""
        return PALETTES[self.palette].night

    def to_json(self) -> str:
        """The scene as compact JSON (what image files carry)."""
        return json.dumps(asdict(self), separators=(",", ":"))


def scene_from_json(text: str) -> Scene | None:
    """A scene back from its JSON, or None when the text is not a scene we wrote."""
    try:
        data: dict[str, Any] = json.loads(text)
        elements = tuple(Element(**e) for e in data.pop("elements", []))
        view = tuple(float(v) for v in data.pop("view", (0, 0, 1, 1)))
        filters = tuple((str(k), float(a)) for k, a in data.pop("filters", []))
        notes = tuple(str(n) for n in data.pop("notes", []))
        scene = Scene(
            **data,
            elements=elements,
            view=(view[0], view[1], view[2], view[3]),
            filters=filters,
            notes=notes,
        )
    except (ValueError, TypeError, KeyError, IndexError):
        return None
    if scene.palette not in PALETTES or any(e.kind not in KINDS for e in scene.elements):
        return None
    return scene


def scene_words(text: str) -> list[str]:
    """The element kinds ``text`` names, in order."""
    found: list[str] = []
    for word in words_of(text):
        kind = ELEMENT_WORDS.get(word)
        if kind is not None and kind not in found:
            found.append(kind)
    return found


def place(kind: str, horizon: float, x: float | None = None, seed: int = 0) -> Element:
    """A new element of ``kind`` at its usual place (or centred on ``x``)."""
    spec = KINDS[kind]
    if kind in ("sun", "moon", "clouds", "seagull", "birds"):
        y = horizon - spec.y
    elif kind == "rocket":
        y = 0.06 + spec.h
    elif kind in ("cat", "cup", "flowers", "trees", "emblem"):
        y = 1.0 - (0.04 if kind == "cat" else 0.02 if kind != "emblem" else 0.22)
    elif spec.sky:
        y = horizon
    else:
        y = horizon + spec.y
    return Element(kind, spec.x if x is None else x, y, spec.w, spec.h, seed=seed)


def sort_elements(elements: tuple[Element, ...]) -> tuple[Element, ...]:
    """Elements in drawing order (back to front), stable for equal layers."""
    return tuple(sorted(elements, key=lambda e: KINDS[e.kind].layer))


def with_elements(scene: Scene, elements: tuple[Element, ...]) -> Scene:
    """``scene`` with ``elements`` (kept in drawing order)."""
    return replace(scene, elements=sort_elements(elements))


TIME_WORDS: dict[str, str] = {
    "night": "night",
    "nighttime": "night",
    "midnight": "night",
    "moonlit": "night",
    "golden": "golden",
    "sunset": "sunset",
    "dusk": "dusk",
    "twilight": "dusk",
    "sunrise": "golden",
    "dawn": "golden",
    "day": "day",
    "daytime": "day",
    "midday": "day",
    "noon": "day",
    "sunny": "day",
    "daylight": "day",
    "evening": "dusk",
    "morning": "golden",
    "afternoon": "day",
}


def time_palette(words: list[str]) -> str | None:
    """The palette a time-of-day word asks for ("at night", "golden hour"), if any."""
    return next((TIME_WORDS[w] for w in words if w in TIME_WORDS), None)


def style_in(words: list[str]) -> str | None:
    """The drawing style the words name, if any."""
    return next((_STYLE_WORDS[w] for w in words if w in _STYLE_WORDS), None)


def scene_from_prompt(
    prompt: str, title: str | None, tagline: str | None, seed: int, subject: str = ""
) -> Scene:
    """The scene a generation prompt describes: layout, palette, ground, elements, text."""
    words = words_of(prompt)
    wordset = set(words)
    palette = time_palette(words) or palette_for(prompt).name
    layout = "logo" if wordset & _LOGO_WORDS else "poster" if wordset & _POSTER_WORDS else "scene"
    kinds = [k for k in scene_words(prompt) if k != "emblem"]
    if layout == "logo":
        main = next((k for k in kinds if not KINDS[k].span and KINDS[k].layer >= 5), "emblem")
        return Scene(
            layout="logo",
            palette=palette,
            ground="none",
            elements=(Element(main, 0.5, 0.7 if title else 0.78, 0.52, 0.52, seed=seed % 997),),
            title=title,
            tagline=tagline,
            style=style_in(words) or "flat",
            seed=seed,
            subject=subject,
        )
    night = PALETTES[palette].night
    ground = "water" if wordset & WATER_WORDS else "hills"
    horizon = 0.56 + (seed % 11) / 100
    side = 0.22 if seed % 2 else 0.78
    elements: list[Element] = []
    if night or "rocket" in kinds:
        elements.append(place("stars", horizon))
    light = "moon" if night else "sun"
    if light not in kinds:
        kinds.insert(0, light)
    for i, kind in enumerate(kinds):
        if kind == "boat" and ground != "water":
            continue
        x = None
        if kind in ("lighthouse", "house"):
            x = side if kind == "lighthouse" or "lighthouse" not in kinds else 1 - side
        elif kind in ("sun", "moon"):
            tall = [1 - side for k in kinds if k in ("cat", "rocket")]
            tall += [side for k in kinds if k == "lighthouse"]
            x = 0.72 if all(abs(0.72 - t) > 0.25 for t in tall) else 0.28
        elif kind in ("cat", "rocket"):
            x = 1 - side
        elif kind == "boat":
            x = 0.4 + (seed % 20) / 100
        element = place(kind, horizon, x, seed=(seed + 7 * i) % 9973)
        if kind in ("sun", "moon") and ("mountains" in kinds or "city" in kinds):
            element = replace(element, y=round(horizon - 0.36, 3))  # above the peaks
        elements.append(element)
    return Scene(
        layout=layout,
        palette=palette,
        ground=ground,
        horizon=horizon,
        elements=sort_elements(tuple(elements)),
        title=title,
        tagline=tagline,
        style=style_in(words) or "painted",
        seed=seed,
        subject=subject,
    )
