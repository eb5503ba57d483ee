"""Reading the words people put in pictures, and which variant they pick.

- ``lettering_of``: the title and tagline a request asks for, quoted or not: "titled X",
  "that says X", "with the words X", "called X", "named X", "with the title HARBOR",
  "the tagline Open late"; unquoted text runs until punctuation or a joining word ("in
  watercolor", "with a tagline") ends it.
- ``pick_of``: a Brainstorm follow-up choosing variants: "the second one", "go with 3",
  "let's go with 3", "mix 1 and 3", "option 2", "#2".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_QUOTED = r"\"([^\"]+)\"|“([^”]+)”|'([^']{2,})'(?![a-z])"
_TAG_KEY = re.compile(
    r"\b(?:tag\s?line|caption|subtitle|slogan|strap\s?line|sub\s?heading|subhead|motto)"
    r"(?:\s+(?:text|line))?\s*(?::|=|saying|that says|that reads|which reads|reading|of|to|"
    r"with)?\s*",
    re.IGNORECASE,
)
_TITLE_KEY = re.compile(
    r"\b(?:(?:en)?titled|title\s*:|headline\s*:|that (?:says|reads)|which (?:says|reads)|"
    r"saying|reading|(?:is\s+)?called|named|"
    r"with (?:the |a )?(?:title|name|headline|heading|words?|text|lettering)|"
    r"(?:add|put|set|use|give it|letter)\s+(?:the |a |some )?"
    r"(?:title|headline|heading|name|text|words?|lettering)\s*(?::|of|to)?|"
    r"write\s+(?:the |a )?(?:title|headline|heading|name|text|words?)?\s*(?::|of)?|"
    r"change (?:the )?(?:title|headline|text|name|words?) to|rename (?:it )?to|title it|"
    r"(?:title|text|headline|sign|it) should (?:say|read)|"
    r"make (?:the )?(?:title|text|headline|sign|it) (?:say|read))\s*",
    re.IGNORECASE,
)
_STOP = frozenset(
    [
        "in",
        "on",
        "at",
        "with",
        "for",
        "featuring",
        "showing",
        "over",
        "under",
        "using",
        "as",
        "plus",
        "but",
        "then",
        "that",
        "which",
        "where",
        "while",
        "please",
        "tagline",
        "caption",
        "subtitle",
        "slogan",
        "and",
        "or",
        "to",
        "of",
        "by",
        "from",
        "into",
        "onto",
        "near",
        "below",
        "above",
        "beside",
        "behind",
        "style",
        "styled",
        "colors",
        "colours",
        "palette",
        "make",
        "making",
    ]
)
_JOINERS = frozenset(["and", "of", "the", "&", "de", "la", "du"])
_SIZE_WORDS = frozenset(
    [
        "bigger",
        "larger",
        "smaller",
        "tinier",
        "bold",
        "bolder",
        "big",
        "small",
        "large",
        "huge",
        "tiny",
        "it",
        "this",
        "that",
        "them",
    ]
)
_ORDINALS = {
    "first": 1,
    "1st": 1,
    "one": 1,
    "second": 2,
    "2nd": 2,
    "two": 2,
    "third": 3,
    "3rd": 3,
    "three": 3,
    "fourth": 4,
    "4th": 4,
    "four": 4,
    "last": -1,
}
_NUM = r"(\d|first|second|third|fourth|1st|2nd|3rd|4th|one|two|three|four|last)"
_PICK = re.compile(
    rf"(?:\b(?:go(?:ing)? with|pick|choose|take|prefer|select|refine|develop|continue with|"
    rf"let'?s do)\s+(?:the\s+)?(?:option|number|no\.?|#|"
    rf"direction|variant|version|image|design|idea)?\s*#?{_NUM}\b(?:\s+one)?)|"
    rf"(?:\b(?:option|number|direction|variant|version|no\.?)\s*#?{_NUM}\b)|"
    rf"(?:\bthe\s+{_NUM}\s+(?:one|option|direction|variant|version|image|design)\b)|"
    rf"(?:#\s*(\d)\b)|(?:^\s*{_NUM}\s*[.!]?\s*$)",
    re.IGNORECASE,
)
_MIX = re.compile(
    rf"\b(?:mix|combine|blend|merge|cross)\s+(?:the\s+)?(?:options?\s+|numbers?\s+)?{_NUM}"
    rf"(?:\s+one)?\s+(?:and|with|&|\+)\s+(?:the\s+)?{_NUM}\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Lettering:
    """Title and tagline found in a request, and the request with them cut out."""

    title: str | None
    tagline: str | None
    rest: str


@dataclass(frozen=True)
class Pick:
    """Variants a follow-up picks (1-based; -1 means the last), and what else it says."""

    indices: tuple[int, ...]
    rest: str


def _value_at(text: str, start: int) -> tuple[str | None, int]:
    """The text value starting at ``start``: a quoted string, or unquoted words."""
    quoted = re.compile(r"\s*(?:" + _QUOTED + ")")
    match = quoted.match(text, start)
    if match:
        value = next(g for g in match.groups() if g is not None).strip()
        return (value or None), match.end()
    tokens = list(re.finditer(r"[^\s,.;:!?()]+", text[start:]))
    taken: list[str] = []
    end = start
    for i, token in enumerate(tokens):
        gap = text[end : start + token.start()] if taken else ""
        if taken and re.search(r"[,.;:!?()]", gap):
            break
        word = token.group(0)
        low = word.lower()
        if low in _STOP:
            following = tokens[i + 1].group(0) if i + 1 < len(tokens) else ""
            capital_run = taken and all(t[:1].isupper() for t in taken)
            joined = low in _JOINERS and capital_run and following[:1].isupper()
            numbered = low in ("at", "on", "from", "to", "by") and following[:1].isdigit()
            if not (joined or numbered):
                break
        taken.append(word)
        end = start + token.end()
        if len(taken) >= 6:
            break
    if not taken or (len(taken) == 1 and taken[0].lower() in _SIZE_WORDS):
        return None, start
    value = " ".join(taken).strip("'\"")
    if value.islower():
        value = value.title()
    return value, end


def lettering_of(text: str) -> Lettering:
    """The title and tagline ``text`` asks for (None when it asks for none)."""
    rest = text
    tagline: str | None = None
    match = _TAG_KEY.search(rest)
    if match:
        value, end = _value_at(rest, match.end())
        if value:
            tagline = value
            rest = rest[: match.start()] + " " + rest[end:]
    title: str | None = None
    for match in _TITLE_KEY.finditer(rest):
        value, end = _value_at(rest, match.end())
        if value:
            title = value
            rest = rest[: match.start()] + " " + rest[end:]
            break
    quotes = [
        next(g for g in m.groups() if g is not None).strip() for m in re.finditer(_QUOTED, rest)
    ]
    quotes = [q for q in quotes if q]
    if title is None and quotes:
        title = quotes.pop(0)
    if tagline is None and quotes:
        tagline = quotes.pop(0)
    rest = re.sub(_QUOTED, " ", rest)
    rest = _DANGLING.sub(" ", rest)
    return Lettering(title, tagline, " ".join(rest.split()))


_DANGLING = re.compile(
    r"(?:\s+|^)(?:(?:with|and|add|put|plus|the|a|an)\s*)+(?=$|[,.;!?])", re.IGNORECASE
)


def _number(word: str) -> int:
    low = word.lower()
    return int(low) if low.isdigit() else _ORDINALS[low]


def pick_of(text: str) -> Pick | None:
    """The variants a follow-up picks ("go with 3", "mix 1 and 3"), or None."""
    match = _MIX.search(text)
    if match:
        first, second = _number(match.group(1)), _number(match.group(2))
        rest = text[: match.start()] + text[match.end() :]
        return Pick((first, second), " ".join(rest.split()))
    match = _PICK.search(text)
    if match is None:
        return None
    word = next(g for g in match.groups() if g is not None)
    rest = text[: match.start()] + text[match.end() :]
    rest = re.sub(
        r"^\s*(?:let'?s|ok(?:ay)?|great|nice|cool|i think)\b[,!.]?\s*", "", rest, flags=re.I
    )
    rest = re.sub(r"^\s*(?:and|but|,|then)\s*", "", rest.strip(" ,.!"), flags=re.I)
    return Pick((_number(word),), " ".join(rest.split()))
