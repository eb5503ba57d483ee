"""Reading a studio's everyday edit instructions and applying them to a scene.

``interpret(text, scene)`` splits the instruction into clauses ("remove the moon, make the
background cream and add the title HARBOR") and reads each one: text (titles, taglines,
bigger or smaller lettering), crops and formats, elements (remove, add, move, resize,
recolour), background and sky colour, time of day, palette, drawing style, then tone
("warmer", "black and white"). Every clause ends up either in ``done`` (the scene really
changed: checked by comparing it before and after) or in ``failed`` with the reason, so the
reply never claims an edit that did not happen.

Pictures the engine did not draw (uploads, real API images) have no scene: only their pixels
can change (tone, text, format), and element edits are reported as not possible.
"""

from __future__ import annotations

import re
from dataclasses import replace

from agent.engine.edit_ops import EditOp, parse_edit_ops
from agent.engine.edit_outcome import (
    BACKGROUND,
    Outcome,
    change,
    colour_in,
    kinds_in,
    needs_scene,
)
from agent.engine.edits import edited_size
from agent.engine.element_edits import BIGGER, REMOVE, SMALLER, element_clause
from agent.engine.palette import PALETTES, words_of
from agent.engine.scene_model import (
    ELEMENT_WORDS,
    KINDS,
    STYLES,
    TIME_WORDS,
    Element,
    Scene,
    place,
    style_in,
    with_elements,
)
from agent.engine.wording import lettering_of


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_TONE_KINDS = _words(
    "warmer cooler brighter darker grayscale contrast flatten soften sharpen saturate "
    "mute vintage border "
)
_SIZE_KINDS = frozenset(("wider", "taller", "square", "resize", "portrait", "landscape"))
_SPLIT = re.compile(r"[,;.!?\n]+|\b(?:and then|then|and also|also|plus|and|but)\b", re.IGNORECASE)
_ADD = re.compile(
    r"\b(?:add|put|place|draw|include|insert|throw in|give (?:it|me)|there should be|"
    r"show|paint in|sketch in|let there be|i want|with)\b"
)
_TEXT = re.compile(r"\b(?:text|title|titles|lettering|words|type|font|headline|letters)\b")
_TAGWORD = re.compile(r"\b(?:tag\s?line|caption|subtitle|slogan)\b")
_CROP = re.compile(
    r"\b(?:crop(?:ped)?(?: in)?(?: it)?(?: to| on| around)?|zoom(?:ed)? in(?: on| to)?|"
    r"focus on|close[- ]up (?:of|on)|frame)\b"
)
_UNCROP = re.compile(r"\b(?:zoom(?:ed)? out|show more|uncrop|full view|whole scene)\b")
_MINIMAL = re.compile(r"\b(?:minimal\w*|simpler|simplify|cleaner|less busy|less clutter\w*)\b")
_STYLE = re.compile(
    r"\b(?:water\s?colou?r|ink|sketch|pencil|line art|flat|vector|pixel(?: art)?|8-bit|"
    r"vintage|retro|painterly|painted|oil painting|realistic)\b"
)
_MONO = re.compile(r"\bblack\s*(?:and|&|n)\s*white\b|\bb\s*&\s*w\b", re.IGNORECASE)
_FILLER = _words(
    "please can could would you make it the a an this that now just also i let's lets ok "
    "okay so then more bit little slightly some be to me we us of is are its it's "
    "picture image one really very much like love prefer great nice cool good perfect "
    "thanks thank yes yeah go with "
)
_REFERS = re.compile(
    r"\b(?:move|shift|slide|left|right|up|down|higher|lower|bigger|larger|smaller|tinier|"
    r"taller|shorter|remove|delete|drop|red|blue|green|yellow|orange|pink|purple|white|black|"
    r"gold|teal|navy|cream)\b"
)
_SECONDARY = ("stars", "birds", "seagull", "clouds", "flowers")
_ADDABLE = tuple(sorted(set(ELEMENT_WORDS.values()) - {"emblem"}))


def clauses_of(text: str) -> list[str]:
    """The instruction cut into clauses at punctuation and joining words."""
    return [c.strip() for c in _SPLIT.split(text) if c and c.strip()]


def meaningful(clause: str) -> bool:
    """True when a clause says something beyond filler ("please", "ok", "now")."""
    return any(w not in _FILLER for w in re.findall(r"[a-z0-9]+", clause.lower()))


def interpret(text: str, scene: Scene | None, size: tuple[int, int] | None = None) -> Outcome:
    """Apply the edits ``text`` asks for to ``scene`` (None: a picture without a scene).

    ``size`` is the picture's size: a format change that would not change it is reported as
    not done.
    """
    text = _MONO.sub("monochrome", text)
    lettering = lettering_of(text)
    out = Outcome(scene=scene)
    if lettering.title or lettering.tagline:
        _set_text(out, lettering.title, lettering.tagline)
    for clause in clauses_of(lettering.rest):
        if meaningful(clause):
            _clause(out, clause.lower())
    if size is not None:
        _check_size(out, size)
    return out


def _check_size(out: Outcome, size: tuple[int, int]) -> None:
    """Keep only the format changes that really change the size."""
    current = size
    for op in [op for op in out.ops if op.kind in _SIZE_KINDS]:
        new = edited_size(current, [op])
        if new == current:
            index = out.ops.index(op)
            out.ops.pop(index)
            label = _size_name(op)
            if label in out.done:
                out.done.remove(label)
            asked = label.replace("made it", "make it").replace("turned it to", "turn it to")
            out.failed.append(f"{asked} (it already is)")
        current = new


# --------------------------------------------------------------------------- dispatch


def _clause(out: Outcome, clause: str) -> None:
    kinds = kinds_in(clause)
    if kinds:
        out.last = kinds[0]
    elif out.last and re.search(r"\b(?:it|them)\b", clause) and _REFERS.search(clause):
        clause = re.sub(r"\b(?:it|them)\b", f"the {out.last}", clause, count=1)
    handlers = (
        _text_clause,
        _crop_clause,
        element_clause,
        _background_clause,
        _time_clause,
        _palette_clause,
        _style_clause,
        _tone_clause,
    )
    for handler in handlers:
        if handler(out, clause):
            return
    noun = _add_target(clause)
    out.beyond = True
    if noun:
        out.failed.append(f"add {noun} (the demo renderer only draws {', '.join(_ADDABLE)})")
    else:
        out.failed.append(f"\u201c{clause}\u201d (the demo renderer can't do that)")


def _add_target(clause: str) -> str | None:
    match = re.search(
        r"\b(?:add|put|place|draw|include|insert)\s+(?:an?|some|the|two|three)?\s*"
        r"([a-z][a-z -]{1,30})",
        clause,
    )
    if match is None:
        return None
    noun = re.split(r"\b(?:on|in|at|over|under|near|to|next|above|below|behind)\b", match.group(1))[
        0
    ]
    noun = noun.strip()
    return f"a {noun}" if noun else None


def _set_text(out: Outcome, title: str | None, tagline: str | None) -> None:
    if out.scene is None:
        for text in (title, tagline):
            if text:
                out.ops.append(EditOp("add_text", text=text))
                out.done.append(f"added the text \u201c{text}\u201d")
        return
    new = out.scene
    if title:
        new = replace(new, title=title)
    if tagline:
        new = replace(new, tagline=tagline)
    parts = [
        f"the title \u201c{title}\u201d" if title else "",
        f"the tagline \u201c{tagline}\u201d" if tagline else "",
    ]
    what = " and ".join(p for p in parts if p)
    change(out, new, f"set {what}", f"{what} was already there")


def _text_clause(out: Outcome, clause: str) -> bool:
    tag = bool(_TAGWORD.search(clause))
    if not (_TEXT.search(clause) or tag):
        return False
    scene = out.scene
    if REMOVE.search(clause):
        if scene is None:
            out.ops.append(EditOp("remove_text"))
            out.done.append("removed the text")
            return True
        if tag:
            change(out, replace(scene, tagline=None), "removed the tagline", "there is no tagline")
        elif "title" in clause and scene.tagline:
            change(out, replace(scene, title=None), "removed the title", "there is no title")
        else:
            change(
                out,
                replace(scene, title=None, tagline=None),
                "removed the text",
                "there is no text to remove",
            )
        return True
    grow = BIGGER.search(clause) or re.search(r"\btoo (?:small|tiny|little)\b", clause)
    shrink = SMALLER.search(clause) or re.search(r"\btoo (?:big|large|huge)\b", clause)
    step = 1.3 if grow else 1 / 1.3 if shrink else None
    if step is None:
        return False
    if needs_scene(out, "resize the text"):
        return True
    assert scene is not None
    if not (scene.title or scene.tagline):
        out.failed.append("resize the text: there is no text yet (say e.g. 'add the title HARBOR')")
        return True
    scale = round(min(1.8, max(0.6, scene.text_scale * step)), 3)
    word = "bigger" if step > 1 else "smaller"
    change(
        out,
        replace(scene, text_scale=scale),
        f"made the text {word}",
        f"the text is already as {'big' if step > 1 else 'small'} as the layout allows",
    )
    return True


# --------------------------------------------------------------------------- crop, format


def _crop_clause(out: Outcome, clause: str) -> bool:
    if _UNCROP.search(clause):
        if not needs_scene(out, "show the whole scene"):
            assert out.scene is not None
            change(
                out,
                replace(out.scene, view=(0.0, 0.0, 1.0, 1.0)),
                "showed the whole scene again",
                "the whole scene is already in view",
            )
        return True
    kinds = kinds_in(clause)
    if _CROP.search(clause) and kinds:
        if needs_scene(out, f"crop to the {kinds[0]}"):
            return True
        assert out.scene is not None
        element = out.scene.get(kinds[0])
        if element is None:
            out.failed.append(f"crop to the {kinds[0]}: there is no {kinds[0]} in this picture")
            return True
        change(
            out,
            replace(out.scene, view=_view_around(out.scene, element)),
            f"cropped in on the {kinds[0]}",
            f"already cropped to the {kinds[0]}",
        )
        return True
    if "it" in words_of(clause) or not kinds:
        size_ops = [op for op in parse_edit_ops(clause) if op.kind in _SIZE_KINDS]
        if re.search(r"\b(?:portrait|vertical|9\s*:\s*16)\b", clause):
            size_ops = [EditOp("portrait")]
        elif re.search(r"\b(?:landscape|horizontal|16\s*:\s*9)\b", clause):
            size_ops = [EditOp("landscape")]
        if size_ops:
            out.ops.extend(size_ops)
            out.done.extend(_size_name(op) for op in size_ops)
            return True
    return False


_SIZE_NAMES = {
    "wider": "made it wider",
    "taller": "made it taller",
    "square": "made it square",
    "portrait": "turned it to portrait",
    "landscape": "turned it to landscape",
}


def _size_name(op: EditOp) -> str:
    if op.kind == "resize" and op.size is not None:
        return f"resized it to {op.size[0]}x{op.size[1]}"
    return _SIZE_NAMES.get(op.kind, "resized it")


def _view_around(scene: Scene, element: Element) -> tuple[float, float, float, float]:
    """A view (fractions of the whole scene) framing ``element`` with some room around it."""
    spec = KINDS[element.kind]
    unit = 1.0  # fractions of the shorter edge ~ fractions of a square picture
    half = max(0.18, max(element.w, element.h) * unit * 0.6) if not spec.span else 0.5
    cy = element.y - element.h / 2
    x0 = min(max(0.0, element.x - half), 1 - 2 * half) if half < 0.5 else 0.0
    y0 = min(max(0.0, cy - half), 1 - 2 * half) if half < 0.5 else 0.0
    side = min(1.0, 2 * half)
    return (
        round(max(0.0, x0), 3),
        round(max(0.0, y0), 3),
        round(max(0.0, x0) + side, 3),
        round(max(0.0, y0) + side, 3),
    )


# --------------------------------------------------------------------------- elements


def _background_clause(out: Outcome, clause: str) -> bool:
    colour = colour_in(clause)
    if not (BACKGROUND.search(clause) and colour):
        return False
    if needs_scene(out, f"make the background {colour[0]}"):
        return True
    assert out.scene is not None
    change(
        out,
        replace(out.scene, sky=colour[1]),
        f"made the background {colour[0]}",
        f"the background is already {colour[0]}",
    )
    return True


def _time_clause(out: Outcome, clause: str) -> bool:
    words = words_of(clause)
    palette = next((TIME_WORDS[w] for w in words if w in TIME_WORDS), None)
    if palette is None:
        return False
    if out.scene is None:
        out.ops.append(EditOp("darker" if palette == "night" else "warmer", amount=1.0))
        out.done.append("darkened it for night" if palette == "night" else "warmed the light")
        return True
    scene = out.scene
    night = PALETTES[palette].night
    light, other = ("moon", "sun") if night else ("sun", "moon")
    elements = [e for e in scene.elements if not (not night and e.kind == "stars")]
    swapped = [
        replace(e, kind=light, w=KINDS[light].w, h=KINDS[light].h) if e.kind == other else e
        for e in elements
    ]
    if night and not any(e.kind == "stars" for e in swapped):
        swapped.append(place("stars", scene.horizon))
    label = {
        "night": "night",
        "golden": "golden hour",
        "sunset": "sunset",
        "dusk": "dusk",
        "day": "daytime",
    }[palette]
    new = with_elements(replace(scene, palette=palette, sky=None), tuple(swapped))
    change(out, new, f"changed the light to {label}", f"it is already {label}")
    return True


_PALETTE_WORDS = {
    "pastel": "pastel",
    "neon": "neon",
    "autumn": "autumn",
    "autumnal": "autumn",
    "wintry": "winter",
    "snowy": "winter",
    "snow": "winter",
    "winter": "winter",
    "desert": "desert",
    "earthy": "desert",
    "earth": "desert",
    "spring": "spring",
    "forest": "forest",
    "ocean": "ocean",
    "noir": "noir",
    "cyberpunk": "neon",
    "synthwave": "neon",
}


def _palette_clause(out: Outcome, clause: str) -> bool:
    words = words_of(clause)
    name = next((_PALETTE_WORDS[w] for w in words if w in _PALETTE_WORDS), None)
    if name is None:
        colour = colour_in(clause)
        if colour and re.search(r"\b(?:palette|tones?|colou?rs?|accents?|all)\b", clause):
            if needs_scene(out, f"use {colour[0]} accents"):
                return True
            assert out.scene is not None
            change(
                out,
                replace(out.scene, accent=colour[1]),
                f"used {colour[0]} accents",
                f"the accents are already {colour[0]}",
            )
            return True
        return False
    if needs_scene(out, f"switch to a {name} palette"):
        return True
    assert out.scene is not None
    change(
        out,
        replace(out.scene, palette=name, sky=None),
        f"switched to a {name} palette",
        f"the palette is already {name}",
    )
    return True


def _style_clause(out: Outcome, clause: str) -> bool:
    words = words_of(clause)
    if _MINIMAL.search(clause):
        if needs_scene(out, "make it more minimal"):
            return True
        scene = out.scene
        assert scene is not None
        kept = tuple(e for e in scene.elements if e.kind not in _SECONDARY)
        dropped = sorted({e.kind for e in scene.elements if e.kind in _SECONDARY})
        new = with_elements(replace(scene, style="minimal", filters=()), kept)
        extra = f" (dropped the {', '.join(dropped)})" if dropped else ""
        change(out, new, f"made it more minimal{extra}", "it is already as minimal as it gets")
        return True
    if not _STYLE.search(clause):
        return False
    style = style_in(words)
    if style is None:
        joined = " ".join(words)
        style = (
            "pixel"
            if "pixel" in joined or "8" in clause
            else "painted"
            if re.search(r"paint|oil|realistic", joined)
            else "ink"
        )
    if style not in STYLES:
        return False
    if out.scene is None:
        if style == "vintage":
            out.ops.append(EditOp("vintage"))
            out.done.append("gave it a vintage look")
            return True
        needs_scene(out, f"redraw it in {style}")
        return True
    names = {
        "watercolor": "watercolor",
        "ink": "ink sketch",
        "flat": "flat vector",
        "pixel": "pixel art",
        "vintage": "vintage",
        "painted": "painted",
        "minimal": "minimal",
    }
    change(
        out,
        replace(out.scene, style=style),
        f"redrew it as {names[style]}",
        f"it is already {names[style]}",
    )
    return True


def _tone_clause(out: Outcome, clause: str) -> bool:
    ops = parse_edit_ops(clause)
    if not ops:
        return False
    words = {
        "warmer": "warmer",
        "cooler": "cooler",
        "brighter": "brighter",
        "darker": "darker",
        "grayscale": "black and white",
        "contrast": "more contrasty",
        "flatten": "flatter",
        "soften": "softer",
        "sharpen": "sharper",
        "saturate": "more vivid",
        "mute": "more muted",
        "vintage": "vintage",
        "border": "framed with a border",
    }
    for op in ops:
        if op.kind in _SIZE_KINDS:
            out.ops.append(op)
            out.done.append(_size_name(op))
        elif op.kind in _TONE_KINDS:
            if out.scene is None:
                out.ops.append(op)
                out.done.append(f"made it {words[op.kind]}")
            else:
                filters = (*out.scene.filters, (op.kind, op.amount))
                change(
                    out,
                    replace(out.scene, filters=filters),
                    f"made it {words[op.kind]}",
                    f"make it {words[op.kind]}",
                )
        elif op.kind in ("add_text", "remove_text"):
            _text_clause(out, clause) if op.kind == "remove_text" else None
    return True
