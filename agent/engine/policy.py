"""The deterministic "model": decides whether to call image_generation, how, and what to say.

Rules, in order:

1. No image tool, or ``tool_choice: "none"``: never call it.
2. A question about the app (costs, how to refine, what it can do) gets a short text answer.
3. It calls the tool when the user asks for a visual (draw, poster, logo, ...), when the
   text asks to change the image in context (anything ``render.parse_edit_ops`` recognises),
   or always when ``tool_choice`` forces it.
4. "3 options" / "three variations" / "4 versions" make N calls (N <= 8), each a distinct
   direction; instructions saying "propose 3 distinct directions" do the same for a plain
   visual request.
5. ``action`` is "edit" when it changes the image in context, else "generate"; the tool's own
   ``action`` option forces it.

Same input, same output: all choices derive from the text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from agent.engine import textgen
from agent.engine.render import EditOp, parse_edit_ops

MAX_VARIANTS = 8

_VISUAL = re.compile(
    r"\b(draw|drawing|image|images|picture|pictures|pic|photo|photograph|poster|posters|logo|"
    r"logos|illustration|illustrate|mockup|mock-up|sketch|render|banner|icon|icons|wallpaper|"
    r"painting|paint|artwork|art|thumbnail|sticker|flyer|cover|infographic|emblem|mascot|"
    r"portrait|scene|visual|visualize|visualise|comic)\b",
    re.IGNORECASE,
)
_REQUEST = re.compile(
    r"\b(draw|make|create|generate|design|render|sketch|paint|produce|illustrate|imagine|"
    r"mock ?up|give me|show me|i want|i'd like|i need)\b",
    re.IGNORECASE,
)
_QUESTION_START = re.compile(
    r"^\s*(how|what|why|which|when|does|do|is|are|explain)\b", re.IGNORECASE
)
_COST = re.compile(
    r"\b(cost|costs|price|prices|pricing|bill|billing|billed|tokens?|how much|expensive|"
    r"cheap|budget)\b",
    re.IGNORECASE,
)
_REFINE = re.compile(r"\bhow\b.*\b(refine|edit|change|tweak|improve|adjust)\b", re.IGNORECASE)
_CAPABILITIES = re.compile(
    r"\b(what can you do|what do you do|help|capabilities|who are you|what are you)\b",
    re.IGNORECASE,
)
_GREETING = re.compile(
    r"^\s*(hi|hello|hey|hiya|yo|greetings|good (morning|afternoon|evening))\b", re.IGNORECASE
)
_NEW = re.compile(r"\b(new|another|fresh|from scratch)\b", re.IGNORECASE)
_NUMBERS = {
    **{"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8},
    "a couple of": 2,
}
_VARIANTS = re.compile(
    r"\b(\d+|one|two|three|four|five|six|seven|eight|a couple of)\s+(?:[\w-]+\s+){0,2}?"
    r"(options|variations|variants|versions|alternatives|takes|directions|ideas|concepts|"
    r"designs|drafts|logos|posters|images|pictures|icons|banners|sketches)\b",
    re.IGNORECASE,
)
_DIRECTIONS = re.compile(r"(\d) distinct directions", re.IGNORECASE)
# Variations of one image: each keeps the picture and changes its mood a different way.
_VARIATION_OPS: tuple[tuple[EditOp, ...], ...] = (
    (EditOp("warmer", amount=0.8), EditOp("saturate", amount=0.6)),
    (EditOp("cooler", amount=0.8), EditOp("contrast", amount=0.6)),
    (EditOp("vintage", amount=0.7),),
    (EditOp("brighter", amount=0.6), EditOp("mute", amount=0.5)),
    (EditOp("darker", amount=0.6), EditOp("saturate", amount=0.8)),
    (EditOp("grayscale", amount=1.0),),
    (EditOp("soften", amount=1.0), EditOp("warmer", amount=0.4)),
    (EditOp("sharpen", amount=1.0), EditOp("cooler", amount=0.4), EditOp("border")),
)

_CATEGORIES = {
    "gore": "violence",
    "beheading": "violence",
    "blood": "violence",
    "nsfw": "sexual",
    "nudity": "sexual",
    "explicit nudity": "sexual",
}


class PolicyError(ValueError):
    """The request cannot be served as asked (e.g. an edit with no image in context)."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param
        self.message = message


@dataclass(frozen=True)
class TurnInput:
    """What the policy looks at."""

    user_text: str
    instructions: str | None
    has_tool: bool
    tool_choice: str  # auto | none | required
    tool_action: str  # auto | generate | edit
    context_image: bool  # an image is in context (reference, upload or chain)
    context_prompt: str | None  # what that image shows, when known
    blocklist: Sequence[str]


@dataclass(frozen=True)
class ImagePlan:
    """One image_generation call to make."""

    action: str  # generate | edit
    prompt: str  # the revised prompt
    label: str  # a few words for the reply
    ops: tuple[EditOp, ...]  # edits to apply (edit action)
    blocked: tuple[str, ...]  # moderation categories; non-empty means the call fails


@dataclass(frozen=True)
class Plan:
    """What the response will contain."""

    images: tuple[ImagePlan, ...]
    reply: str


def decide(turn: TurnInput) -> Plan:
    """The deterministic decision for one turn."""
    text = turn.user_text
    can_call = turn.has_tool and turn.tool_choice != "none"
    forced = can_call and turn.tool_choice == "required"
    if not forced:
        help_reply = _help_reply(text)
        if help_reply is not None:
            return Plan(images=(), reply=help_reply)
    visual = bool(_VISUAL.search(text))
    count = variant_count(text)
    ops = tuple(parse_edit_ops(text)) if turn.context_image else ()
    editing = bool(ops) and not _NEW.search(text) and count <= 1
    wants_image = visual or editing or (count > 1 and turn.context_image)
    if not can_call or not (wants_image or forced):
        if visual and not can_call:
            return Plan(images=(), reply=textgen.NO_TOOL)
        return Plan(
            images=(), reply=textgen.GREETING if _GREETING.search(text) else textgen.FALLBACK
        )
    action = _action(turn, editing)
    if action == "edit":
        prompt = textgen.revised_edit_prompt(turn.context_prompt, text)
        count = max(1, min(count, MAX_VARIANTS))
        plans = tuple(
            ImagePlan(
                action="edit",
                prompt=prompt if count == 1 else f"{prompt} (variation {i + 1} of {count})",
                label=textgen.subject_of(text).lower(),
                ops=ops if count == 1 else (*ops, *_VARIATION_OPS[i % len(_VARIATION_OPS)]),
                blocked=moderate(text, turn.blocklist),
            )
            for i in range(count)
        )
        return _with_reply(plans, "edit")
    if count <= 1 and turn.instructions:
        match = _DIRECTIONS.search(turn.instructions)
        if match and visual:
            count = int(match.group(1))
    count = max(1, min(count, MAX_VARIANTS))
    base = text if visual or not turn.context_prompt else turn.context_prompt
    blocked = moderate(text, turn.blocklist)
    plans = tuple(
        ImagePlan(
            action="generate",
            prompt=textgen.revised_prompt(base, i, count),
            label=textgen.direction_label(base, i) if count > 1 else _short(base),
            ops=(),
            blocked=blocked,
        )
        for i in range(count)
    )
    return _with_reply(plans, "generate")


def variant_count(text: str) -> int:
    """How many options the text asks for (1 when it asks for none in particular)."""
    match = _VARIANTS.search(text)
    if not match:
        return 1
    word = match.group(1).lower()
    return int(word) if word.isdigit() else _NUMBERS[word]


def moderate(text: str, blocklist: Sequence[str]) -> tuple[str, ...]:
    """Moderation categories the text trips (empty when it is fine)."""
    lowered = text.lower()
    hits = [
        _CATEGORIES.get(term, "policy")
        for term in blocklist
        if term and re.search(rf"\b{re.escape(term)}\b", lowered)
    ]
    return tuple(sorted(set(hits)))


def _action(turn: TurnInput, editing: bool) -> str:
    if turn.tool_action == "edit":
        if not turn.context_image:
            raise PolicyError(
                "tools[0].action",
                "action 'edit' needs an image to edit: reference an image_generation_call "
                "by id, attach an input_image, or chain with previous_response_id.",
            )
        return "edit"
    if turn.tool_action == "generate":
        return "generate"
    return "edit" if editing else "generate"


def _help_reply(text: str) -> str | None:
    asks = bool(_QUESTION_START.search(text)) or not _REQUEST.search(text)
    if not asks:
        return None
    if _COST.search(text):
        return textgen.COST_HELP
    if _REFINE.search(text):
        return textgen.REFINE_HELP
    if _CAPABILITIES.search(text):
        return textgen.CAPABILITIES
    return None


def _short(text: str) -> str:
    subject = textgen.subject_of(text)
    return subject if len(subject) <= 80 else subject[:77].rstrip() + "..."


def _with_reply(plans: tuple[ImagePlan, ...], action: str) -> Plan:
    made = [p.label for p in plans if not p.blocked]
    blocked = [c for p in plans for c in p.blocked]
    if not made:
        return Plan(images=plans, reply=textgen.blocked_reply(blocked))
    return Plan(images=plans, reply=textgen.image_reply(made, action, blocked))
