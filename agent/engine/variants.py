"""Distinct directions for one brief, variations of one picture, and mixing two picks.

Each direction changes what a person sees first: palette and light, drawing style, and
composition (the subject's side, the horizon, its size). The brief's title and tagline stay
on every one, so each variant is on-brief.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from agent.engine.scene_model import KINDS, Element, Scene, with_elements


@dataclass(frozen=True)
class Direction:
    """One way to take a brief."""

    name: str
    palette: str
    style: str
    flip: bool  # mirror the composition
    horizon: float  # added to the horizon
    scale: float  # the main subject's size


DIRECTIONS = (
    Direction("Warm heritage", "golden", "vintage", False, 0.0, 1.0),
    Direction("Neon night", "neon", "painted", True, -0.06, 1.2),
    Direction("Minimal line", "pastel", "minimal", False, 0.08, 0.85),
    Direction("Watercolor", "ocean", "watercolor", True, 0.03, 1.1),
    Direction("Ink on paper", "noir", "ink", False, -0.04, 0.95),
    Direction("Flat forest", "forest", "flat", True, 0.05, 1.15),
    Direction("Pixel sunset", "sunset", "pixel", False, -0.08, 1.0),
    Direction("Frosty painted", "winter", "painted", True, 0.0, 0.9),
)
_TINTS = (
    ("Warmer and more vivid", (("warmer", 0.8), ("saturate", 0.6))),
    ("Cooler, with more contrast", (("cooler", 0.8), ("contrast", 0.6))),
    ("Vintage", (("vintage", 0.7),)),
    ("Brighter and softer", (("brighter", 0.6), ("mute", 0.5))),
    ("Darker and richer", (("darker", 0.6), ("saturate", 0.8))),
    ("Black and white", (("grayscale", 1.0),)),
    ("Dreamy and warm", (("soften", 1.0), ("warmer", 0.4))),
    ("Crisp and cool", (("sharpen", 1.0), ("cooler", 0.4), ("contrast", 0.3))),
)


def direction(scene: Scene, index: int) -> tuple[str, Scene]:
    """Direction ``index`` of a brief's scene: its name and its scene."""
    d = DIRECTIONS[index % len(DIRECTIONS)]
    elements = tuple(_shape(e, d) for e in scene.elements)
    if d.style == "minimal":
        elements = tuple(e for e in elements if e.kind not in ("stars", "birds", "clouds"))
    night = d.palette == "neon"
    swapped = tuple(
        replace(e, kind="moon", w=KINDS["moon"].w, h=KINDS["moon"].h)
        if night and e.kind == "sun"
        else e
        for e in elements
    )
    horizon = min(0.75, max(0.45, scene.horizon + d.horizon))
    shift = horizon - scene.horizon
    moved = tuple(
        replace(e, y=round(e.y + shift, 4)) if e.kind not in ("cat", "cup", "emblem") else e
        for e in swapped
    )
    if scene.layout == "logo" and index % len(DIRECTIONS) == 0 and moved:
        main = moved[0]  # a badge behind the subject: a different composition
        badge = Element("emblem", main.x, main.y + main.h * 0.12, main.w * 1.3, main.h * 1.3)
        moved = (badge, *moved) if main.kind != "emblem" else moved
    style = d.style if scene.layout != "logo" or d.style != "watercolor" else "flat"
    new = replace(scene, palette=d.palette, style=style, horizon=horizon, seed=scene.seed + index)
    return d.name, with_elements(new, moved)


def _shape(element: Element, d: Direction) -> Element:
    spec = KINDS[element.kind]
    x = 1 - element.x if d.flip and not spec.span else element.x
    if spec.span or element.kind in ("stars",):
        return replace(element, x=round(x, 4))
    return replace(element, x=round(x, 4), w=element.w * d.scale, h=element.h * d.scale)


def variation(scene: Scene, index: int) -> tuple[str, Scene]:
    """Variation ``index`` of a finished picture: same composition, a different mood."""
    name, filters = _TINTS[index % len(_TINTS)]
    return name, replace(scene, filters=(*scene.filters, *filters))


def variation_ops(index: int) -> tuple[str, tuple[tuple[str, float], ...]]:
    """The mood of variation ``index`` as tone edits (for pictures without a scene)."""
    return _TINTS[index % len(_TINTS)]


def mix(first: Scene, second: Scene) -> Scene:
    """The first pick's composition and text with the second's palette, light and style."""
    night = second.night()
    elements = tuple(
        replace(e, kind="moon", w=KINDS["moon"].w, h=KINDS["moon"].h)
        if night and e.kind == "sun"
        else replace(e, kind="sun", w=KINDS["sun"].w, h=KINDS["sun"].h)
        if not night and e.kind == "moon"
        else e
        for e in first.elements
    )
    return with_elements(
        replace(
            first,
            palette=second.palette,
            style=second.style,
            sky=second.sky,
            accent=second.accent,
            filters=second.filters,
        ),
        elements,
    )
