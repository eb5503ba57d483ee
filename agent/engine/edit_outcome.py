"""What an edit instruction did: the new scene, size changes, what was and was not done."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent.engine.edit_ops import EditOp
from agent.engine.palette import COLOUR_NAMES, colour_named, hex_of, words_of
from agent.engine.scene_model import ELEMENT_WORDS, Scene

BACKGROUND = re.compile(r"\b(?:background|backdrop|sky|backround|bg)\b")


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


def change(out: Outcome, new: Scene, did: str, already: str) -> None:
    """Record ``did`` when the scene really changed, else the reason nothing did."""
    if out.scene is not None and new != out.scene:
        out.scene = new
        out.done.append(did)
    else:
        out.failed.append(already)


def needs_scene(out: Outcome, what: str) -> bool:
    if out.scene is None:
        out.failed.append(
            f"{what} (this picture wasn't drawn by the demo renderer, so only its colours, "
            "light, text and format can change)"
        )
        out.beyond = True
        return True
    return False


def kinds_in(clause: str) -> list[str]:
    found: list[str] = []
    for word in words_of(clause):
        kind = ELEMENT_WORDS.get(word)
        if kind and kind not in found:
            found.append(kind)
    return found


def colour_in(clause: str) -> tuple[str, str] | None:
    for word in words_of(clause):
        if word in COLOUR_NAMES:
            rgb = colour_named(word)
            if rgb is not None:
                return word, hex_of(rgb)
    return None


def article(kind: str) -> str:
    """The kind with its article: "a boat", "clouds"."""
    return kind if kind.endswith("s") else f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


# --------------------------------------------------------------------------- text
