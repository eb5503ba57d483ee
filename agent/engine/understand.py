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
from dataclasses import dataclass, field, replace

from agent.engine.edit_ops import EditOp, parse_edit_ops
from agent.engine.edits import edited_size
from agent.engine.palette import COLOUR_NAMES, PALETTES, colour_named, hex_of, words_of
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

_TONE_KINDS = frozenset(
    [
        "warmer",
        "cooler",
        "brighter",
        "darker",
        "grayscale",
        "contrast",
        "flatten",
        "soften",
        "sharpen",
        "saturate",
        "mute",
        "vintage",
        "border",
    ]
)
_SIZE_KINDS = frozenset(("wider", "taller", "square", "resize", "portrait", "landscape"))
_SPLIT = re.compile(r"[,;.!?\n]+|\b(?:and then|then|and also|also|plus|and|but)\b", re.IGNORECASE)
_REMOVE = re.compile(
    r"\b(?:remove|delete|drop|erase|lose|hide|cut|ditch|take (?:out|away)|get rid of|"
    r"no more|without|no)\b"
)
_ADD = re.compile(
    r"\b(?:add|put|place|draw|include|insert|throw in|give (?:it|me)|there should be|"
    r"show|paint in|sketch in|let there be|i want|with)\b"
)
_MOVE = re.compile(
    r"\b(?:move|shift|slide|push|nudge|drag|bring|put|place|reposition|raise|lower|lift|drop)\b"
)
_BIGGER = re.compile(
    r"\b(?:bigger|larger|huge|enlarge|grow|scale (?:it )?up|more prominent|increase)\b"
)
_SMALLER = re.compile(r"\b(?:smaller|tinier|tiny|shrink|scale (?:it )?down|reduce|decrease)\b")
_TALLER = re.compile(r"\b(?:taller|higher tower|stretch(?:ed)? up|longer)\b")
_SHORTER = re.compile(r"\b(?:shorter|squat(?:ter)?|lower tower)\b")
_TEXT = re.compile(r"\b(?:text|title|titles|lettering|words|type|font|headline|letters)\b")
_TAGWORD = re.compile(r"\b(?:tag\s?line|caption|subtitle|slogan)\b")
_BACKGROUND = re.compile(r"\b(?:background|backdrop|sky|backround|bg)\b")
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
_FILLER = frozenset(
    [
        "please",
        "can",
        "could",
        "would",
        "you",
        "make",
        "it",
        "the",
        "a",
        "an",
        "this",
        "that",
        "now",
        "just",
        "also",
        "i",
        "let's",
        "lets",
        "ok",
        "okay",
        "so",
        "then",
        "more",
        "bit",
        "little",
        "slightly",
        "some",
        "be",
        "to",
        "me",
        "we",
        "us",
        "of",
        "is",
        "are",
        "its",
        "it's",
        "picture",
        "image",
        "one",
        "really",
        "very",
        "much",
    ]
)
_REFERS = re.compile(
    r"\b(?:move|shift|slide|left|right|up|down|higher|lower|bigger|larger|smaller|tinier|"
    r"taller|shorter|remove|delete|drop|red|blue|green|yellow|orange|pink|purple|white|black|"
    r"gold|teal|navy|cream)\b"
)
_SECONDARY = ("stars", "birds", "seagull", "clouds", "flowers")
_POSITIONS = {
    "left": (-0.28, 0.0),
    "right": (0.28, 0.0),
    "up": (0.0, -0.12),
    "higher": (0.0, -0.12),
    "down": (0.0, 0.1),
    "lower": (0.0, 0.1),
    "raise": (0.0, -0.12),
    "lift": (0.0, -0.12),
}
_ADDABLE = tuple(sorted(set(ELEMENT_WORDS.values()) - {"emblem"}))


@dataclass
class Outcome:
    """What an instruction did to a picture."""

    scene: Scene | None
    ops: list[EditOp] = field(default_factory=list)  # size changes (and pixel edits w/o scene)
    done: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    beyond: bool = False  # something failed that a real image model could do
    last: str | None = None  # the element the previous clause named ("... and move it left")

    @property
    def changed(self) -> bool:
        """True when the picture will differ from its source."""
        return bool(self.done)


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
    kinds = _kinds_in(clause)
    if kinds:
        out.last = kinds[0]
    elif out.last and re.search(r"\b(?:it|them)\b", clause) and _REFERS.search(clause):
        clause = re.sub(r"\b(?:it|them)\b", f"the {out.last}", clause, count=1)
    handlers = (
        _text_clause,
        _crop_clause,
        _element_clause,
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


def _change(out: Outcome, new: Scene, did: str, already: str) -> None:
    """Record ``did`` when the scene really changed, else the reason nothing did."""
    if out.scene is not None and new != out.scene:
        out.scene = new
        out.done.append(did)
    else:
        out.failed.append(already)


def _needs_scene(out: Outcome, what: str) -> bool:
    if out.scene is None:
        out.failed.append(
            f"{what} (this picture wasn't drawn by the demo renderer, so only its colours, "
            "light, text and format can change)"
        )
        out.beyond = True
        return True
    return False


def _kinds_in(clause: str) -> list[str]:
    found: list[str] = []
    for word in words_of(clause):
        kind = ELEMENT_WORDS.get(word)
        if kind and kind not in found:
            found.append(kind)
    return found


def _colour_in(clause: str) -> tuple[str, str] | None:
    for word in words_of(clause):
        if word in COLOUR_NAMES:
            rgb = colour_named(word)
            if rgb is not None:
                return word, hex_of(rgb)
    return None


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


def _a(kind: str) -> str:
    """The kind with its article: "a boat", "clouds"."""
    return kind if kind.endswith("s") else f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


# --------------------------------------------------------------------------- text


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
    _change(out, new, f"set {what}", f"{what} was already there")


def _text_clause(out: Outcome, clause: str) -> bool:
    tag = bool(_TAGWORD.search(clause))
    if not (_TEXT.search(clause) or tag):
        return False
    scene = out.scene
    if _REMOVE.search(clause):
        if scene is None:
            out.ops.append(EditOp("remove_text"))
            out.done.append("removed the text")
            return True
        if tag:
            _change(out, replace(scene, tagline=None), "removed the tagline", "there is no tagline")
        elif "title" in clause and scene.tagline:
            _change(out, replace(scene, title=None), "removed the title", "there is no title")
        else:
            _change(
                out,
                replace(scene, title=None, tagline=None),
                "removed the text",
                "there is no text to remove",
            )
        return True
    step = 1.3 if _BIGGER.search(clause) else 1 / 1.3 if _SMALLER.search(clause) else None
    if step is None:
        return False
    if _needs_scene(out, "resize the text"):
        return True
    assert scene is not None
    if not (scene.title or scene.tagline):
        out.failed.append("resize the text: there is no text yet (say e.g. 'add the title HARBOR')")
        return True
    scale = round(min(1.8, max(0.6, scene.text_scale * step)), 3)
    word = "bigger" if step > 1 else "smaller"
    _change(
        out,
        replace(scene, text_scale=scale),
        f"made the text {word}",
        f"the text is already as {'big' if step > 1 else 'small'} as the layout allows",
    )
    return True


# --------------------------------------------------------------------------- crop, format


def _crop_clause(out: Outcome, clause: str) -> bool:
    if _UNCROP.search(clause):
        if not _needs_scene(out, "show the whole scene"):
            assert out.scene is not None
            _change(
                out,
                replace(out.scene, view=(0.0, 0.0, 1.0, 1.0)),
                "showed the whole scene again",
                "the whole scene is already in view",
            )
        return True
    kinds = _kinds_in(clause)
    if _CROP.search(clause) and kinds:
        if _needs_scene(out, f"crop to the {kinds[0]}"):
            return True
        assert out.scene is not None
        element = out.scene.get(kinds[0])
        if element is None:
            out.failed.append(f"crop to the {kinds[0]}: there is no {kinds[0]} in this picture")
            return True
        _change(
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


def _element_clause(out: Outcome, clause: str) -> bool:
    kinds = _kinds_in(clause)
    if not kinds:
        return False
    kind = kinds[0]
    if _BACKGROUND.search(clause) and _colour_in(clause) and kind not in ("sun", "moon"):
        return False
    swap = re.search(r"\b(?:swap|replace|exchange|change|turn)\b.*\b(?:for|with|into|to)\b", clause)
    if swap and len(kinds) >= 2:
        old = out.scene.get(kind) if out.scene else None
        _remove(out, kind)
        _add(out, kinds[1], clause[swap.end() :], [], at=old.x if old else None)
        return True
    if _REMOVE.search(clause):
        for k in kinds:
            _remove(out, k)
        return True
    if re.search(
        r"\b(?:add|include|insert|draw|throw in|there should be|let there be)\b", clause
    ) or re.search(r"\b(?:put|place)\s+(?:an?|some|two|three)\b", clause):
        _add(out, kind, clause, kinds[1:])
        return True
    if _MOVE.search(clause) or re.search(
        r"\b(?:to|towards) the (?:left|right|middle|cent)", clause
    ):
        _move(out, kind, clause)
        return True
    if (
        _BIGGER.search(clause)
        or _SMALLER.search(clause)
        or _TALLER.search(clause)
        or _SHORTER.search(clause)
        or re.search(r"\b(?:wider|narrower)\b", clause)
    ):
        _resize(out, kind, clause)
        return True
    colour = _colour_in(clause)
    if colour:
        _recolour(out, kind, colour)
        return True
    return False


def _remove(out: Outcome, kind: str) -> None:
    if _needs_scene(out, f"remove the {kind}"):
        return
    assert out.scene is not None
    kept = tuple(e for e in out.scene.elements if e.kind != kind)
    _change(
        out,
        with_elements(out.scene, kept),
        f"removed the {kind}",
        f"remove the {kind}: there is no {kind} in this picture",
    )


def _add(out: Outcome, kind: str, clause: str, others: list[str], at: float | None = None) -> None:
    if _needs_scene(out, f"add {_a(kind)}"):
        return
    scene = out.scene
    assert scene is not None
    if scene.layout == "logo" and kind not in ("stars", "sun", "moon"):
        out.failed.append(f"add {_a(kind)} (a logo keeps one subject in the demo renderer)")
        out.beyond = True
        return
    if scene.has(kind) and KINDS[kind].span:
        out.failed.append(f"add {kind} (the picture already has {kind})")
        return
    count = sum(1 for e in scene.elements if e.kind == kind)
    element = place(kind, scene.horizon, seed=scene.seed % 997 + 31 * (count + 1))
    anchor = next((scene.get(k) for k in others if scene.get(k) is not None), None)
    element = _position(element, clause, anchor, scene)
    if at is not None:  # in place of what it replaces
        element = replace(element, x=at)
    if kind == "boat" and scene.ground != "water":
        out.failed.append("add a boat (there is no water in this picture)")
        out.beyond = True
        return
    words = " ".join(words_of(clause))
    where = next((w for w in ("left", "right", "middle") if w in words), "")
    _change(
        out,
        with_elements(scene, (*scene.elements, element)),
        f"added {_a(kind)}{' on the ' + where if where else ''}",
        f"add {_a(kind)}",
    )


def _position(element: Element, clause: str, anchor: Element | None, scene: Scene) -> Element:
    words = set(words_of(clause))
    x, y = element.x, element.y
    if anchor is not None and re.search(r"\b(?:over|above|on top of)\b", clause):
        x = anchor.x
        top = anchor.y - anchor.h
        y = top - 0.04 if KINDS[anchor.kind].span is False else min(y, top)
    if "left" in words:
        x = 0.2
    elif "right" in words:
        x = 0.8
    elif words & {"middle", "center", "centre"}:
        x = 0.5
    if "sky" in words and KINDS[element.kind].sky:
        y = scene.horizon - 0.25
    if anchor is None and not words & {"left", "right", "middle", "center", "centre"}:
        taken = [e.x for e in scene.elements if not KINDS[e.kind].span and e.kind != element.kind]
        if any(abs(t - x) < 0.16 for t in taken):
            x = round(1 - x, 3) if all(abs(t - (1 - x)) >= 0.16 for t in taken) else x
    return replace(element, x=round(x, 3), y=round(max(element.h * 0.5, y), 3))


def _move(out: Outcome, kind: str, clause: str) -> None:
    if _needs_scene(out, f"move the {kind}"):
        return
    scene = out.scene
    assert scene is not None
    element = scene.get(kind)
    if element is None:
        out.failed.append(f"move the {kind}: there is no {kind} in this picture")
        return
    words = set(words_of(clause))
    x, y = element.x, element.y
    moved = []
    for word, (dx, dy) in _POSITIONS.items():
        if word in words:
            x, y = x + dx, y + dy
            moved.append(
                {"raise": "up", "lift": "up", "higher": "up", "lower": "down"}.get(word, word)
            )
    if words & {"middle", "center", "centre"}:
        x, moved = 0.5, ["to the middle"]
    if KINDS[kind].span and not words & {"up", "down", "higher", "lower"}:
        x = element.x
    elif x != element.x:
        x = _free_x(scene, element, x)
    x = min(0.92, max(0.08, x))
    if not moved:
        out.failed.append(f"move the {kind}: say where (left, right, up, down, to the middle)")
        return
    new = replace(element, x=round(x, 3), y=round(y, 3))
    elements = tuple(new if e is element else e for e in scene.elements)
    way = (
        moved[0]
        if moved[0].startswith("to ")
        else f"to the {moved[0]}"
        if moved[0] in ("left", "right")
        else moved[0]
    )
    _change(
        out,
        with_elements(scene, elements),
        f"moved the {kind} {way}",
        f"move the {kind} {way}: it is already as far as it goes",
    )


def _free_x(scene: Scene, element: Element, x: float) -> float:
    """``x``, or the nearest spot on the same side where the element overlaps nothing."""
    others = [e for e in scene.elements if e is not element and not KINDS[e.kind].span]

    def clear(at: float) -> bool:
        return all(abs(at - o.x) >= (o.w + element.w) / 2 + 0.02 for o in others)

    step = -0.05 if x < element.x else 0.05
    at = x
    while 0.06 <= at <= 0.94:
        if clear(at):
            return at
        at += step
    at = x
    while (at - element.x) * step < 0:  # back towards where it was: stop before the obstacle
        at -= step
        if clear(at):
            return at
    return x


def _resize(out: Outcome, kind: str, clause: str) -> None:
    if _needs_scene(out, f"resize the {kind}"):
        return
    scene = out.scene
    assert scene is not None
    element = scene.get(kind)
    if element is None:
        out.failed.append(f"resize the {kind}: there is no {kind} in this picture")
        return
    big = 1.5 if re.search(r"\b(?:much|a lot|way|huge)\b", clause) else 1.3
    w, h, did = element.w, element.h, ""
    if _TALLER.search(clause):
        h, did = h * big, "taller"
    elif _SHORTER.search(clause):
        h, did = h / big, "shorter"
    elif re.search(r"\bwider\b", clause):
        w, did = w * big, "wider"
    elif re.search(r"\bnarrower\b", clause):
        w, did = w / big, "narrower"
    elif _SMALLER.search(clause):
        w, h, did = w / big, h / big, "smaller"
    else:
        w, h, did = w * big, h * big, "bigger"
    limit = 0.95
    w, h = min(limit, w), min(limit, h)
    y = element.y
    if KINDS[kind].sky:  # grow around the centre
        y = element.y + (h - element.h) / 2
    new = replace(element, w=round(w, 4), h=round(h, 4), y=round(y, 4))
    elements = tuple(new if e is element else e for e in scene.elements)
    _change(
        out,
        with_elements(scene, elements),
        f"made the {kind} {did}",
        f"make the {kind} {did}: it is already at the limit",
    )


def _recolour(out: Outcome, kind: str, colour: tuple[str, str]) -> None:
    if _needs_scene(out, f"recolour the {kind}"):
        return
    scene = out.scene
    assert scene is not None
    if not scene.has(kind):
        out.failed.append(f"make the {kind} {colour[0]}: there is no {kind} in this picture")
        return
    elements = tuple(replace(e, colour=colour[1]) if e.kind == kind else e for e in scene.elements)
    _change(
        out,
        with_elements(scene, elements),
        f"made the {kind} {colour[0]}",
        f"the {kind} is already {colour[0]}",
    )


# --------------------------------------------------------------------------- whole picture


def _background_clause(out: Outcome, clause: str) -> bool:
    colour = _colour_in(clause)
    if not (_BACKGROUND.search(clause) and colour):
        return False
    if _needs_scene(out, f"make the background {colour[0]}"):
        return True
    assert out.scene is not None
    _change(
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
    _change(out, new, f"changed the light to {label}", f"it is already {label}")
    return True


_PALETTE_WORDS = {
    "pastel": "pastel",
    "neon": "neon",
    "autumn": "autumn",
    "autumnal": "autumn",
    "wintry": "winter",
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
        colour = _colour_in(clause)
        if colour and re.search(r"\b(?:palette|tones?|colou?rs?|accents?|all)\b", clause):
            if _needs_scene(out, f"use {colour[0]} accents"):
                return True
            assert out.scene is not None
            _change(
                out,
                replace(out.scene, accent=colour[1]),
                f"used {colour[0]} accents",
                f"the accents are already {colour[0]}",
            )
            return True
        return False
    if _needs_scene(out, f"switch to a {name} palette"):
        return True
    assert out.scene is not None
    _change(
        out,
        replace(out.scene, palette=name, sky=None),
        f"switched to a {name} palette",
        f"the palette is already {name}",
    )
    return True


def _style_clause(out: Outcome, clause: str) -> bool:
    words = words_of(clause)
    if _MINIMAL.search(clause):
        if _needs_scene(out, "make it more minimal"):
            return True
        scene = out.scene
        assert scene is not None
        kept = tuple(e for e in scene.elements if e.kind not in _SECONDARY)
        dropped = sorted({e.kind for e in scene.elements if e.kind in _SECONDARY})
        new = with_elements(replace(scene, style="minimal", filters=()), kept)
        extra = f" (dropped the {', '.join(dropped)})" if dropped else ""
        _change(out, new, f"made it more minimal{extra}", "it is already as minimal as it gets")
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
        _needs_scene(out, f"redraw it in {style}")
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
    _change(
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
                _change(
                    out,
                    replace(out.scene, filters=filters),
                    f"made it {words[op.kind]}",
                    f"make it {words[op.kind]}",
                )
        elif op.kind in ("add_text", "remove_text"):
            _text_clause(out, clause) if op.kind == "remove_text" else None
    return True
