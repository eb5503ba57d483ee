"""Edits to named elements: remove, add, move, resize and recolour them."""

from __future__ import annotations

import re
from dataclasses import replace

from agent.engine.edit_outcome import (
    BACKGROUND,
    Outcome,
    article,
    change,
    colour_in,
    kinds_in,
    needs_scene,
)
from agent.engine.palette import words_of
from agent.engine.scene_model import KINDS, Element, Scene, place, with_elements

REMOVE = re.compile(
    r"\b(?:remove|delete|drop|erase|lose|hide|cut|ditch|take (?:out|away)|get rid of|"
    r"no more|without|no)\b"
)
MOVE = re.compile(
    r"\b(?:move|shift|slide|push|nudge|drag|bring|put|place|reposition|raise|lower|lift|drop)\b"
)
BIGGER = re.compile(
    r"\b(?:bigger|larger|huge|enlarge|grow|scale (?:it )?up|more prominent|increase)\b"
)
SMALLER = re.compile(r"\b(?:smaller|tinier|tiny|shrink|scale (?:it )?down|reduce|decrease)\b")
TALLER = re.compile(r"\b(?:taller|higher tower|stretch(?:ed)? up|longer)\b")
SHORTER = re.compile(r"\b(?:shorter|squat(?:ter)?|lower tower)\b")
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


def element_clause(out: Outcome, clause: str) -> bool:
    kinds = kinds_in(clause)
    if not kinds:
        return False
    kind = kinds[0]
    if BACKGROUND.search(clause) and colour_in(clause) and kind not in ("sun", "moon"):
        return False
    swap = re.search(r"\b(?:swap|replace|exchange|change|turn)\b.*\b(?:for|with|into|to)\b", clause)
    if swap and len(kinds) >= 2:
        old = out.scene.get(kind) if out.scene else None
        _remove(out, kind)
        _add(out, kinds[1], clause[swap.end() :], [], at=old.x if old else None)
        return True
    if REMOVE.search(clause):
        for k in kinds:
            _remove(out, k)
        return True
    if re.search(
        r"\b(?:add|include|insert|draw|throw in|there should be|let there be)\b", clause
    ) or re.search(r"\b(?:put|place)\s+(?:an?|some|two|three)\b", clause):
        _add(out, kind, clause, kinds[1:])
        return True
    if MOVE.search(clause) or re.search(r"\b(?:to|towards) the (?:left|right|middle|cent)", clause):
        _move(out, kind, clause)
        return True
    if (
        BIGGER.search(clause)
        or SMALLER.search(clause)
        or TALLER.search(clause)
        or SHORTER.search(clause)
        or re.search(r"\b(?:wider|narrower)\b", clause)
    ):
        _resize(out, kind, clause)
        return True
    colour = colour_in(clause)
    if colour:
        _recolour(out, kind, colour)
        return True
    return False


def _remove(out: Outcome, kind: str) -> None:
    if needs_scene(out, f"remove the {kind}"):
        return
    assert out.scene is not None
    kept = tuple(e for e in out.scene.elements if e.kind != kind)
    change(
        out,
        with_elements(out.scene, kept),
        f"removed the {kind}",
        f"remove the {kind}: there is no {kind} in this picture",
    )


def _add(out: Outcome, kind: str, clause: str, others: list[str], at: float | None = None) -> None:
    if needs_scene(out, f"add {article(kind)}"):
        return
    scene = out.scene
    assert scene is not None
    if scene.layout == "logo" and kind not in ("stars", "sun", "moon"):
        out.failed.append(f"add {article(kind)} (a logo keeps one subject in the demo renderer)")
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
    colour = colour_in(clause)
    if colour is not None:
        element = replace(element, colour=colour[1])
    words = " ".join(words_of(clause))
    where = next((w for w in ("left", "right", "middle") if w in words), "")
    change(
        out,
        with_elements(scene, (*scene.elements, element)),
        f"added {article(kind) if colour is None else article(colour[0] + ' ' + kind)}"
        f"{' on the ' + where if where else ''}",
        f"add {article(kind)}",
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
    if needs_scene(out, f"move the {kind}"):
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
    change(
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
    if needs_scene(out, f"resize the {kind}"):
        return
    scene = out.scene
    assert scene is not None
    element = scene.get(kind)
    if element is None:
        out.failed.append(f"resize the {kind}: there is no {kind} in this picture")
        return
    big = 1.5 if re.search(r"\b(?:much|a lot|way|huge)\b", clause) else 1.3
    w, h, did = element.w, element.h, ""
    if TALLER.search(clause):
        h, did = h * big, "taller"
    elif SHORTER.search(clause):
        h, did = h / big, "shorter"
    elif re.search(r"\bwider\b", clause):
        w, did = w * big, "wider"
    elif re.search(r"\bnarrower\b", clause):
        w, did = w / big, "narrower"
    elif SMALLER.search(clause):
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
    change(
        out,
        with_elements(scene, elements),
        f"made the {kind} {did}",
        f"make the {kind} {did}: it is already at the limit",
    )


def _recolour(out: Outcome, kind: str, colour: tuple[str, str]) -> None:
    if needs_scene(out, f"recolour the {kind}"):
        return
    scene = out.scene
    assert scene is not None
    if not scene.has(kind):
        out.failed.append(f"make the {kind} {colour[0]}: there is no {kind} in this picture")
        return
    elements = tuple(replace(e, colour=colour[1]) if e.kind == kind else e for e in scene.elements)
    change(
        out,
        with_elements(scene, elements),
        f"made the {kind} {colour[0]}",
        f"the {kind} is already {colour[0]}",
    )


# --------------------------------------------------------------------------- whole picture
