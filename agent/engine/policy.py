"""The deterministic "model": decides whether to call image_generation, how, and what to say.

Rules, in order:

1. No image tool, or ``tool_choice: "none"``: never call it.
2. A question about the app (costs, how to refine, what it can do) gets a short text answer;
   with a knowledge base in the instructions (Support), questions are answered from it, with
   one picture when a picture helps.
3. With an image in context, an instruction that is not a question and does not ask for a
   new picture is an edit (``understand.interpret``); a Brainstorm pick ("go with 3", "mix 1
   and 3") edits the picked variant. An edit that changes nothing makes no image and says why.
4. Otherwise it draws when the user asks for a visual (draw, poster, logo, ...), or always
   when ``tool_choice`` forces it. "3 options" / "three variations" make N calls (N <= 8),
   each a distinct direction; instructions saying "propose 3 distinct directions" do the same.
5. ``action`` is "edit" when it changes the image in context, else "generate"; the tool's own
   ``action`` option forces it.

Same input, same output: all choices derive from the text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from agent.engine import support_kb, textgen, understand, variants
from agent.engine.edit_ops import EditOp
from agent.engine.render import scene_for_prompt
from agent.engine.scene_model import Scene, scene_words
from agent.engine.wording import Pick, lettering_of, pick_of

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
_NEW_PICTURE = re.compile(
    r"\b(?:draw|create|generate|design|sketch|paint|render|make|give me|show me)\s+(?:me\s+)?"
    r"(?:a|an|another|some|new|\d|two|three|four)\b",
    re.IGNORECASE,
)
_EDIT_VERB = re.compile(
    r"^\s*(?:please\s+)?(?:add|put|remove|drop|delete|move|make|change|turn|set|crop|zoom|"
    r"paint|recolou?r|replace|swap)\b",
    re.IGNORECASE,
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
    context_scene: Scene | None = None  # the scene an engine-drawn context image carries
    partner_scene: Scene | None = None  # "mix 1 and 3": the second pick's scene
    picked: tuple[int, ...] = ()  # the earlier variants the text picked (1-based, resolved)
    context_size: tuple[int, int] | None = None  # the context image's size


@dataclass(frozen=True)
class ImagePlan:
    """One image_generation call to make."""

    action: str  # generate | edit
    prompt: str  # the revised prompt
    label: str  # a few words for the reply
    ops: tuple[EditOp, ...]  # edits to apply (edit action)
    blocked: tuple[str, ...]  # moderation categories; non-empty means the call fails
    scene: Scene | None = None  # draw this scene (generate, or edit of an engine picture)
    mixed: bool = False  # a mix of two picks: the second pick is not a palette reference


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
    visual = bool(_VISUAL.search(text)) or _names_a_picture(text)
    plain = not visual and not turn.context_image  # nothing to draw and nothing to edit
    if support_kb.has_kb(turn.instructions) and not forced and (_asks(text) or plain):
        return _support(turn, can_call)
    if not forced:
        help_reply = _help_reply(text)
        if help_reply is not None:
            return Plan(images=(), reply=help_reply)
    count = variant_count(text)
    pick = pick_of(text) if turn.context_image and turn.picked else None
    if pick is not None:
        pick = Pick(turn.picked, pick.rest)
    new_picture = bool(_NEW.search(text)) or (
        visual and bool(_NEW_PICTURE.search(text)) and not _EDIT_VERB.search(text)
    )
    editing = (
        turn.context_image
        and turn.tool_action != "generate"
        and (pick is not None or (not new_picture and not _asks(text)))
    )
    if editing and can_call:
        if count > 1 and pick is None:
            return _variations(turn, count)
        plan = _edit(turn, pick, forced)
        if plan.images or not visual or pick is not None:
            return plan
        # Nothing in it reads as a change, but it describes a picture: draw that instead.
    if not can_call or not (visual or forced or (count > 1 and turn.context_image)):
        if (visual or editing) and not can_call:
            return Plan(images=(), reply=textgen.NO_TOOL)
        return Plan(
            images=(), reply=textgen.GREETING if _GREETING.search(text) else textgen.FALLBACK
        )
    if turn.tool_action == "edit":
        _action(turn, False)
        return _edit(turn, pick, True)
    return _generate(turn, count, visual)


def _edit(turn: TurnInput, pick: Pick | None, forced: bool) -> Plan:
    """One edit of the image in context (or of the picked variant)."""
    instruction = pick.rest if pick is not None else turn.user_text
    outcome = understand.interpret(instruction, turn.context_scene, turn.context_size)
    lead: list[str] = []
    mixed = False
    if pick is not None and len(pick.indices) > 1:
        a, b = pick.indices[0], pick.indices[1]
        if turn.context_scene is not None and turn.partner_scene is not None:
            base = outcome.scene or turn.context_scene
            outcome.scene = variants.mix(base, turn.partner_scene)
            lead.append(
                f"mixed {a} and {b}: the composition of {a} with the palette and style of {b}"
            )
            mixed = True
        else:
            outcome.failed.append(f"mix {a} and {b} (I can only mix pictures I drew)")
            outcome.beyond = True
    elif pick is not None:
        lead.append(f"took option {pick.indices[0]} further")
    done = [*lead, *outcome.done]
    if not done and not forced:
        reply = textgen.edit_reply([], outcome.failed or ["tell what to change"], outcome.beyond)
        return Plan(images=(), reply=reply)
    scene = outcome.scene
    prompt = (
        textgen.describe(scene)
        if scene is not None
        else textgen.revised_edit_prompt(turn.context_prompt, instruction)
    )
    plan = ImagePlan(
        action="edit",
        prompt=prompt,
        label=_listing(done),
        ops=tuple(outcome.ops),
        blocked=moderate(turn.user_text, turn.blocklist),
        scene=scene,
        mixed=mixed,
    )
    if plan.blocked:
        return Plan(images=(plan,), reply=textgen.blocked_reply(list(plan.blocked)))
    if pick is not None and not mixed and not outcome.done:
        reply = textgen.pick_reply(pick.indices[0], scene, outcome.failed, outcome.beyond)
    else:
        reply = textgen.edit_reply(done, outcome.failed, outcome.beyond)
    return Plan(images=(plan,), reply=reply)


def _variations(turn: TurnInput, count: int) -> Plan:
    """N variations of the image in context: same composition, different moods."""
    count = max(1, min(count, MAX_VARIANTS))
    blocked = moderate(turn.user_text, turn.blocklist)
    plans = []
    for i in range(count):
        name, filters = variants.variation_ops(i)
        scene = variants.variation(turn.context_scene, i)[1] if turn.context_scene else None
        ops = () if scene else tuple(EditOp(k, amount=a) for k, a in filters)
        base = textgen.describe(scene) if scene else (turn.context_prompt or "The image")
        plans.append(
            ImagePlan(
                action="edit",
                prompt=f"{base.rstrip('.')}. Variation: {name.lower()}.",
                label=name,
                ops=ops,
                blocked=blocked,
                scene=scene,
            )
        )
    return _with_reply(tuple(plans), "edit")


def _generate(turn: TurnInput, count: int, visual: bool) -> Plan:
    """New pictures: one, or N distinct directions of the brief."""
    text = turn.user_text
    if count <= 1 and turn.instructions:
        match = _DIRECTIONS.search(turn.instructions)
        if match and visual:
            count = int(match.group(1))
    count = max(1, min(count, MAX_VARIANTS))
    base = text if visual or not turn.context_prompt else turn.context_prompt
    brief = scene_for_prompt(base, textgen.subject_of(lettering_of(base).rest))
    blocked = moderate(text, turn.blocklist)
    plans = []
    for i in range(count):
        name, scene = variants.direction(brief, i) if count > 1 else ("", brief)
        described = textgen.describe(scene)
        plans.append(
            ImagePlan(
                action="generate",
                prompt=described + ".",
                label=f"{name}: {described[0].lower()}{described[1:]}" if name else described,
                ops=(),
                blocked=blocked,
                scene=scene,
            )
        )
    return _with_reply(tuple(plans), "generate")


def _support(turn: TurnInput, can_call: bool) -> Plan:
    """A support answer from the knowledge base, with one picture when it helps."""
    found = support_kb.answer(turn.instructions, turn.user_text)
    if found.picture is None or not can_call:
        return Plan(images=(), reply=found.text)
    scene = Scene(
        layout="diagram",
        palette="day",
        ground="none",
        title=found.picture,
        tagline=found.article,
        style="flat",
        seed=textgen.seed_of(found.picture) % 100_000,
        subject=found.picture,
    )
    plan = ImagePlan(
        action="generate",
        prompt=f"A simple diagram of Atelier's screen pointing out: {found.picture}.",
        label=f"a diagram of {found.picture}",
        ops=(),
        blocked=(),
        scene=scene,
    )
    return Plan(images=(plan,), reply=f"{found.text}\n\nThe diagram below illustrates it.")


def _names_a_picture(text: str) -> bool:
    """A bare description ("a lighthouse at night titled HARBOR") asks for a picture too."""
    if _EDIT_VERB.search(text) or _asks(text):
        return False
    found = lettering_of(text)
    return bool(found.title or found.tagline) or bool(scene_words(text))


def _asks(text: str) -> bool:
    """True for a question (not an instruction phrased politely: "can you add a moon?")."""
    stripped = text.strip()
    polite = re.match(r"^\s*(?:can|could|would|will) you\b", stripped, re.IGNORECASE)
    if polite:
        return False
    return bool(_QUESTION_START.search(stripped)) or (
        stripped.endswith("?") and not _EDIT_VERB.search(stripped)
    )


def _listing(items: list[str]) -> str:
    return "; ".join(items)


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


def _with_reply(plans: tuple[ImagePlan, ...], action: str) -> Plan:
    made = [p.label for p in plans if not p.blocked]
    blocked = [c for p in plans for c in p.blocked]
    if not made:
        return Plan(images=plans, reply=textgen.blocked_reply(blocked))
    return Plan(images=plans, reply=textgen.image_reply(made, action, blocked))
