"""Reading an edit instruction ("a bit warmer, add the tagline "Hello"") into edit operations."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.engine.scene import quoted_texts


@dataclass(frozen=True)
class EditOp:
    """One change to an image.

    kind: warmer, cooler, brighter, darker, grayscale, contrast, flatten, soften, sharpen,
    add_text (text), remove_text, border, saturate, mute, vintage, wider, taller, square,
    portrait, landscape, resize (size). amount: 0.5 for "a bit", 1.0 normal, 1.5 for "much".
    """

    kind: str
    text: str | None = None
    amount: float = 1.0
    size: tuple[int, int] | None = None


KINDS = (
    "warmer",
    "cooler",
    "brighter",
    "darker",
    "grayscale",
    "contrast",
    "flatten",
    "soften",
    "sharpen",
    "add_text",
    "remove_text",
    "border",
    "saturate",
    "mute",
    "vintage",
    "wider",
    "taller",
    "square",
    "resize",
    "portrait",
    "landscape",
)

# Checked in this order inside each clause; a match's span is consumed so that, for example,
# "less saturated" is not also read as "saturated".
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (kind, re.compile(pattern))
    for kind, pattern in (
        ("resize", r"\b(\d{2,5})\s*(?:x|×|by)\s*(\d{2,5})\b"),
        (
            "remove_text",
            r"\b(?:remove|delete|erase|drop|get rid of|without|no|strip|clear)\b"
            r"(?:\s+(?:the|all|any|that|this))*\s+(?:text|title|titles|caption|captions|words|"
            r"lettering|tagline|headline|writing|label|type)\b",
        ),
        (
            "mute",
            r"\b(?:less|not as|fewer)\s+(?:saturat\w*|vivid|colou?rful|colou?rs?)|"
            r"\b(?:muted?|desaturat\w*|washed[- ]out|subdued|tone(?:d)? down|duller|dull)\b",
        ),
        ("flatten", r"\b(?:less|lower|reduce(?:d)?)\s+contrast\b|\bflatter\b"),
        (
            "cooler",
            r"\b(?:less|not as)\s+warm\w*|\bcool(?:er)?\b|\bcolder\b|\bbluer\b|"
            r"\bicier\b|\bmore blue\b",
        ),
        (
            "darker",
            r"\b(?:less|not as)\s+bright\w*|\bdark(?:er|en)?\b|\bdimmer\b|\bdim\b|"
            r"\bmoodier\b",
        ),
        (
            "warmer",
            r"\b(?:less|not as)\s+(?:cool|cold)\w*|\bwarm(?:er|th)?\b|\bgolden\b|"
            r"\bmore orange\b",
        ),
        ("brighter", r"\bbright(?:er|en)?\b|\blighter\b|\blighten\b|\bmore light\b"),
        (
            "grayscale",
            r"\b(?:black|b)\s*(?:and|&|n)\s*(?:white|w)\b|\bgr[ae]y\s*scale\b|"
            r"\bmonochrome\b|\bmono\b|\bdesaturate completely\b",
        ),
        ("vintage", r"\bvintage\b|\bsepia\b|\bretro\b|\bold[- ]photo\b|\bfaded\b|\bfilm look\b"),
        ("contrast", r"\bcontrast(?:y)?\b|\bpunch(?:ier|y)?\b|\bmore pop\b|\bmake it pop\b"),
        ("soften", r"\bsoft(?:er|en)?\b|\bblur(?:red|ry)?\b|\bdreamier\b|\bhazier\b"),
        ("sharpen", r"\bsharp(?:er|en)?\b|\bcrisp(?:er)?\b|\bmore detail(?:ed)?\b|\bclearer\b"),
        (
            "saturate",
            r"\bsaturat\w*\b|\bvivid\b|\bvibrant\b|\bmore colou?rful\b|"
            r"\bricher colou?rs?\b|\bmore colou?r\b",
        ),
        ("border", r"\bborder(?:ed)?\b|\bframe(?:d)?\b|\bmatte?\b|\bpassepartout\b"),
        (
            "wider",
            r"\bwider\b|\bwiden\b|\bwidescreen\b|\bpanoram\w*\b|\blandscape "
            r"(?:format|orientation|mode)\b|\bhorizontal\b|\b16\s*:\s*9\b",
        ),
        (
            "taller",
            r"\btaller\b|\bportrait(?: format| orientation| mode)?\b|\bvertical\b|"
            r"\b9\s*:\s*16\b",
        ),
        ("square", r"\bsquare\b|\b1\s*:\s*1\b"),
    )
]

_ADD_TEXT_RE = re.compile(
    r"\b(?:add|put|write|writ\w+|text|tagline|caption|title|headline|label|say|says|saying|"
    r"reads?|reading|slogan|words?|lettering|change|replace|rename|with)\b"
)
_SOFT_AMOUNT_RE = re.compile(
    r"\b(?:a (?:bit|little|touch|tad)|slightly|slight|subtle|subtly|somewhat|a little bit|"
    r"gently|lightly)\b"
)
_STRONG_AMOUNT_RE = re.compile(
    r"\b(?:much|very|a lot|lots|way|really|significantly|strongly|heavily|extremely|"
    r"dramatically|super)\b"
)
_CLAUSE_SPLIT_RE = re.compile(r"[,;.!?\n]+|\b(?:and then|then|and|also|plus|but)\b")
_PLACEHOLDER = "\x00{}\x00"
_PLACEHOLDER_RE = re.compile(r"\x00(\d+)\x00")
_QUOTED_RE = re.compile(r"\"[^\"]+\"|“[^”]+”|'[^']{2,}'(?![a-z])")


def _amount(clause: str) -> float:
    if _SOFT_AMOUNT_RE.search(clause):
        return 0.5
    if _STRONG_AMOUNT_RE.search(clause):
        return 1.5
    return 1.0


def _normalise(instruction: str) -> tuple[str, list[str]]:
    """Lower-case the text and swap quoted strings for placeholders (their case is kept aside)."""
    quotes: list[str] = []

    def keep(match: re.Match[str]) -> str:
        found = quoted_texts(match.group(0))
        quotes.append(found[0] if found else match.group(0).strip("\"'“”"))
        return " " + _PLACEHOLDER.format(len(quotes) - 1) + " "

    text = _QUOTED_RE.sub(keep, instruction)
    text = text.lower().replace("b&w", "black and white")
    text = re.sub(r"\bblack\s*(?:and|&|n)\s*white\b", "monochrome", text)
    return text, quotes


def _clause_ops(clause: str, quotes: list[str]) -> list[tuple[int, EditOp]]:
    amount = _amount(clause)
    found: list[tuple[int, EditOp]] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(clause):
            start, end = match.span()
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            taken.append((start, end))
            if kind == "resize":
                size = (int(match.group(1)), int(match.group(2)))
                found.append((start, EditOp("resize", size=size)))
            elif not any(op.kind == kind for _, op in found):
                found.append((start, EditOp(kind, amount=amount)))
    holder = _PLACEHOLDER_RE.search(clause)
    if holder is not None and _ADD_TEXT_RE.search(clause):
        text = quotes[int(holder.group(1))]
        found.append((holder.start(), EditOp("add_text", text=text)))
    return found


def parse_edit_ops(instruction: str) -> list[EditOp]:
    """The edits ``instruction`` asks for, in the order it names them; [] when none."""
    text, quotes = _normalise(instruction)
    ops: list[EditOp] = []
    for clause in _CLAUSE_SPLIT_RE.split(text):
        if clause.strip():
            ops.extend(op for _, op in sorted(_clause_ops(clause, quotes), key=lambda p: p[0]))
    return ops
