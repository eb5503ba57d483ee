"""The quote before spending, on the ScriptedModel: nothing is sent before Go."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agent.config import Settings
from agent.errors import QuoteRequired
from agent.runtime import Atelier
from agent.session_settings import SessionSettings
from agent.turn import events as ev
from agent.turn.event_json import event_json
from agent.turn.quote import TurnQuote
from agent.turn.testing import Image, ScriptedModel


def _dear(settings: Settings, **changes: object) -> SessionSettings:
    """3 images at 2048x2048, high: far above the default $0.25."""
    return SessionSettings.defaults(settings).updated(
        size="2048x2048", quality="high", variants=3, **changes
    )


async def test_an_expensive_turn_is_quoted_and_nothing_is_sent_before_go(
    settings: Settings,
) -> None:
    model = ScriptedModel([Image(), Image(), Image()])
    async with await Atelier.open(settings, model=model) as app:
        session = await app.new_session(user_id="ann", settings=_dear(settings))
        quote = await session.quote("give me 3 options of a lighthouse")
        assert isinstance(quote, TurnQuote)
        assert quote.estimate_usd > Decimal("0.25") == quote.threshold_usd
        assert quote.asked.images == 3
        assert quote.summary.startswith("About $")
        assert ": 3 images at 2048x2048, high" in quote.summary
        assert model.requests == []  # quoting sends nothing
        # Started without Go: refused before any request, nothing recorded.
        events = [e async for e in session.start_turn("give me 3 options of a lighthouse")]
        (failed,) = events
        assert isinstance(failed, ev.TurnFailed) and isinstance(failed.error, QuoteRequired)
        assert failed.turn == 0 and "Confirm it first" in failed.error.user_message
        assert model.requests == [] and await session.turns() == []
        # Go: sent as asked.
        events = [
            e async for e in session.start_turn("give me 3 options of a lighthouse", confirmed=True)
        ]
        assert isinstance(events[-1], ev.TurnBilled)
        assert len(model.requests) == 1
        assert model.requests[0]["tools"][0]["quality"] == "high"


async def test_cheaper_fits_under_the_threshold_and_runs_the_same_request(
    settings: Settings,
) -> None:
    model = ScriptedModel([Image(), Image(), Image()])
    async with await Atelier.open(settings, model=model) as app:
        session = await app.new_session(user_id="ann", settings=_dear(settings))
        text = "give me 3 options of a lighthouse"
        quote = await session.quote(text)
        assert quote is not None and quote.cheaper is not None
        cheaper = quote.cheaper
        assert cheaper.estimate_usd <= quote.threshold_usd < quote.estimate_usd
        assert cheaper.images == 3  # the same request, not fewer images
        # Asked again at the cheaper settings, it needs no Go.
        assert await session.quote(text, settings=cheaper.changes) is None
        events = [e async for e in session.start_turn(text, settings=cheaper.changes)]
        assert isinstance(events[-1], ev.TurnBilled)
        (request,) = model.requests
        assert request["tools"][0]["size"] == cheaper.size
        assert request["tools"][0]["quality"] == cheaper.quality
        assert request["input"][0]["content"][0]["text"] == text
        # The session's own settings are unchanged: Cheaper is for that turn only.
        assert session.settings.quality == "high" and session.settings.size == "2048x2048"


@pytest.mark.parametrize(
    ("text", "changes", "cheaper"),
    [
        ("draw a cat", {"size": "2048x2048", "quality": "high"}, ("2048x2048", "medium")),
        ("3 options", {"size": "2048x2048", "quality": "high"}, ("2048x2048", "low")),
        ("3 options", {"size": "3840x2160", "quality": "high"}, ("3840x2160", "low")),
        # 8 images at 2048x2048 are above $0.25 even at low: a smaller size of that shape.
        ("8 options", {"size": "2048x2048", "quality": "high"}, ("1024x1024", "low")),
        ("8 options", {"size": "3840x2160", "quality": "medium"}, ("1536x1024", "low")),
        ("8 options", {"size": "auto", "quality": "auto"}, ("1024x1024", "low")),
    ],
)
async def test_cheaper_keeps_the_best_quality_and_size_that_fit(
    settings: Settings, text: str, changes: dict[str, object], cheaper: tuple[str, str]
) -> None:
    async with await Atelier.open(settings, model=ScriptedModel()) as app:
        session = await app.new_session(
            user_id="ann", settings=SessionSettings.defaults(settings).updated(**changes)
        )
        quote = await session.quote(text)
        assert quote is not None and quote.cheaper is not None
        assert (quote.cheaper.size, quote.cheaper.quality) == cheaper
        assert quote.cheaper.estimate_usd <= quote.threshold_usd


async def test_no_quote_under_the_threshold_or_with_it_off(settings: Settings) -> None:
    async with await Atelier.open(settings, model=ScriptedModel()) as app:
        session = await app.new_session(user_id="ann")
        assert await session.quote("draw a cat") is None  # 1 image, medium: ~$0.14
        await session.update_settings(quality="high", size="2048x2048")
        assert await session.quote("draw a cat") is not None
        await session.update_settings(quote_above_usd=None)
        assert await session.quote("draw a cat") is None
        resumed = await app.resume_session(session.id, user_id="ann")
        assert resumed.settings.quote_above_usd is None


async def test_nothing_fits_means_no_cheaper(settings: Settings) -> None:
    async with await Atelier.open(settings, model=ScriptedModel()) as app:
        session = await app.new_session(
            user_id="ann",
            settings=_dear(settings, quote_above_usd=Decimal("0.01")),
        )
        quote = await session.quote("draw a cat")
        assert quote is not None and quote.cheaper is None


async def test_the_quote_event_goes_through_the_one_serializer(settings: Settings) -> None:
    async with await Atelier.open(settings, model=ScriptedModel()) as app:
        session = await app.new_session(user_id="ann", settings=_dear(settings))
        quote = await session.quote("give me 3 options")
        assert quote is not None
        data = event_json(ev.Quoted(session.id, quote))
        assert data["type"] == "quote" and data["session_id"] == session.id
        assert data["threshold_usd"] == "0.25"
        assert data["asked"]["images"] == 3 and data["asked"]["quality"] == "high"
        assert Decimal(data["asked"]["estimate_usd"]) == quote.estimate_usd
        assert data["cheaper"]["quality"] == "low"
        assert Decimal(data["cheaper"]["estimate_usd"]) <= Decimal("0.25")
