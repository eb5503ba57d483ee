"""Widget visitors' turns through the real turn loop: their limits are checked in the same
locked transaction that numbers the turn and holds its estimate; over a limit the turn is
refused with the visitor's sentence, before any request, and nothing is spent."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from agent.billing.quotas import QuotaExceeded
from agent.config import Settings
from agent.runtime import Atelier
from agent.turn import events as ev
from agent.turn.testing import Image, ScriptedModel, Text, Usage

VISITOR = "visitor:v_test"


def _answer(request: object) -> list[object]:
    return [Text("Here."), Image(), Usage(100, 50)]


async def _turn(app: Atelier, user_id: str, session_id: str | None = None) -> ev.AgentEvent:
    session = (
        await app.resume_session(session_id)
        if session_id
        else await app.new_session(user_id=user_id, profile="support")
    )
    events = [event async for event in session.start_turn("a small logo")]
    return events[-1]


async def test_a_visitor_over_turns_per_minute_is_refused_before_any_request(
    settings: Settings,
) -> None:
    limited = settings.model_copy(update={"visitor_turns_per_minute": 2})
    model = ScriptedModel(_answer)
    async with await Atelier.open(limited, model=model) as app:
        assert isinstance(await _turn(app, VISITOR), ev.TurnBilled)
        assert isinstance(await _turn(app, VISITOR), ev.TurnBilled)
        sent = len(model.requests)
        midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        spent = await app.store.user_spent_since(VISITOR, midnight)
        assert spent > 0
        refused = await _turn(app, VISITOR)
        assert isinstance(refused, ev.TurnFailed), refused
        assert isinstance(refused.error, QuotaExceeded)
        assert "in the last minute" in refused.error.user_message
        assert len(model.requests) == sent  # no request was made
        assert await app.store.user_spent_since(VISITOR, midnight) == spent  # nothing spent
        assert await app.store.held_usd() == 0  # and nothing held
        # A studio user is not a visitor: no such limit.
        assert isinstance(await _turn(app, "ann"), ev.TurnBilled)
        assert isinstance(await _turn(app, "ann"), ev.TurnBilled)
        assert isinstance(await _turn(app, "ann"), ev.TurnBilled)


async def test_a_visitor_budget_and_image_quota_refuse_with_their_sentences(
    settings: Settings,
) -> None:
    tight = settings.model_copy(
        update={"visitor_daily_budget_usd": Decimal("0.000001"), "visitor_turns_per_minute": 50}
    )
    model = ScriptedModel(_answer)
    async with await Atelier.open(tight, model=model) as app:
        refused = await _turn(app, VISITOR)
        assert isinstance(refused, ev.TurnFailed) and isinstance(refused.error, QuotaExceeded)
        assert "your daily budget" in refused.error.user_message
        assert model.requests == []
    no_images = settings.model_copy(
        update={"visitor_images_per_day": 1, "visitor_turns_per_minute": 50}
    )
    async with await Atelier.open(no_images, model=ScriptedModel(_answer)) as app:
        assert isinstance(await _turn(app, VISITOR), ev.TurnBilled)
        refused = await _turn(app, VISITOR)
        assert isinstance(refused, ev.TurnFailed) and isinstance(refused.error, QuotaExceeded)
        assert "of today's 1 left" in refused.error.user_message
