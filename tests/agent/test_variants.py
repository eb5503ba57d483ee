"""Up to 8 variants: the count in words, the planned images, the request and the engine."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from agent.config import Settings
from agent.runtime import Atelier
from agent.session_settings import SessionSettings
from agent.turn import events as ev
from agent.turn.session import Session
from agent.turn.testing import Image, ScriptedModel
from agent.turn.turn import Turn, TurnInput
from agent.turn.variants import instructions_for, parse_count, planned_images


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("give me 6 options", 6),
        ("8 variations", 8),
        ("eight variations please", 8),
        ("Show me six different versions of the logo", 6),
        ("a couple of alternatives", 2),
        ("three bold poster directions", 3),
        ("5 logos for a bakery", 5),
        ("12 variations", 8),  # clamped to the most one turn makes
        ("a dozen ideas", 8),
        ("one option", None),  # one is not a variants request
        ("draw a lighthouse", None),
        ("make it 2 times brighter", None),
        ("a 2048x2048 poster", None),
        ("option 3 please", None),
        ("", None),
    ],
)
def test_the_count_in_words(text: str, count: int | None) -> None:
    assert parse_count(text) == count


@pytest.mark.parametrize(
    ("profile", "text", "variations", "refining", "planned"),
    [
        ("studio", "draw a cat", False, False, 1),
        ("studio", "give me 6 options of a cat", False, False, 6),
        ("studio", "", True, False, 5),  # Variations button: the setting
        ("studio", "8 variations", True, False, 8),  # words win over the setting
        ("brainstorm", "a lighthouse poster", False, False, 5),
        ("brainstorm", "make it warmer", False, True, 1),  # refining one image
        ("support", "give me 6 options", False, False, 1),
    ],
)
def test_planned_images(
    profile: str, text: str, variations: bool, refining: bool, planned: int
) -> None:
    got = planned_images(
        profile,  # type: ignore[arg-type]
        text,
        variations=variations,
        refining=refining,
        setting=5,
    )
    assert got == planned


def test_instructions_name_the_count() -> None:
    text = instructions_for("propose {directions} distinct directions.", directions=6, planned=6)
    assert text.startswith("propose 6 distinct directions.")
    assert "make exactly 6 images" in text
    assert instructions_for("Studio.", directions=3, planned=1) == "Studio."


@pytest.mark.parametrize("bad", [1, 9, 0])
def test_the_setting_is_two_to_eight(bad: int) -> None:
    with pytest.raises(ValueError, match="variants"):
        SessionSettings(variants=bad)


async def _images(session: Session, text: str, **kwargs: object) -> list[ev.ImageReady]:
    events = [e async for e in session.start_turn(text, confirmed=True, **kwargs)]  # type: ignore[arg-type]
    assert isinstance(events[-1], ev.TurnBilled), events[-1]
    return [e for e in events if isinstance(e, ev.ImageReady)]


def _distinct(made: Sequence[ev.ImageReady]) -> int:
    return len({m.image.sha256 for m in made})


async def test_variations_ask_for_the_setting_and_the_budget_counts_them(
    settings: Settings,
) -> None:
    model = ScriptedModel([Image()], [Image(action="edit")] * 7)
    async with await Atelier.open(settings, model=model) as app:
        session = await app.new_session(user_id="ann")
        await session.update_settings(variants=7)
        (first,) = await _images(session, "a cat")
        turn = session.start_turn("", variations_of=first.image.id, confirmed=True)
        await turn.wait()
        assert turn.planned == 7 and turn.text == "7 variations of this image"
        request = model.requests[1]
        assert request["input"][0]["content"][0]["text"] == "7 variations of this image"
        assert "make exactly 7 images" in request["instructions"]
        # The reservation counts 7 images: more than a 4-image studio turn costs.
        plain = Turn(session, TurnInput("a dog"))  # prepared, never started
        assert turn.estimate is not None
        await plain.prepare()
        assert plain.estimate is not None and turn.estimate > plain.estimate


async def test_the_engine_makes_eight_distinct_brainstorm_directions(settings: Settings) -> None:
    async with await Atelier.open(settings) as app:
        session = await app.new_session(
            user_id="team",
            profile="brainstorm",
            settings=SessionSettings.defaults(settings, "brainstorm").updated(
                variants=8, quality="low", partial_images=0
            ),
        )
        made = await _images(session, "a lighthouse poster")
        assert len(made) == 8 and _distinct(made) == 8


async def test_the_engine_makes_eight_distinct_variations_in_words(settings: Settings) -> None:
    async with await Atelier.open(settings) as app:
        session = await app.new_session(
            user_id="ann",
            settings=SessionSettings.defaults(settings).updated(quality="low", partial_images=0),
        )
        (first,) = await _images(session, "draw a lighthouse poster")
        made = await _images(session, "eight variations", variations_of=first.image.id)
        assert len(made) == 8 and _distinct(made) == 8
        assert all(m.image.parent_id == first.image.id for m in made)
