"""Deleting a conversation: its content goes, its spend stays in the ledger."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agent.config import Settings
from agent.errors import NotFound
from agent.runtime import Atelier
from agent.turn.events import ImageReady, TurnBilled


async def test_delete_removes_images_prompts_and_log_but_keeps_spend(settings: Settings) -> None:
    app = await Atelier.open(settings)
    try:
        session = await app.new_session(user_id="ann", title="lighthouse")
        events = [e async for e in session.run_turn("draw a lighthouse poster")]
        (ready,) = [e for e in events if isinstance(e, ImageReady)]
        billed = events[-1]
        assert isinstance(billed, TurnBilled) and billed.bill.total_usd is not None
        keeper = await app.new_session(user_id="ann")
        [e async for e in keeper.run_turn("draw a lighthouse poster")]  # same bytes, same file
        other = await app.new_session(user_id="ann")
        other_events = [e async for e in other.run_turn("draw a rocket illustration")]
        (other_ready,) = [e for e in other_events if isinstance(e, ImageReady)]
        day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        spent_before = await app.store.user_spent_since("ann", day)

        with pytest.raises(NotFound):
            await app.delete_session(session.id, user_id="mallory")
        await app.delete_session(other.id, user_id="ann")
        await app.delete_session(session.id, user_id="ann")

        assert not other_ready.image.path.exists()  # its own file is gone
        assert ready.image.path.exists()  # still used by the identical image of `keeper`
        assert await app.store.get_image(ready.image.id) is None
        assert await app.store.exchanges(session.id) == []
        with pytest.raises(NotFound):
            await app.resume_session(session.id, user_id="ann")
        assert [s.id for s in await app.sessions("ann")] == [keeper.id]
        (turn,) = await app.store.turns(session.id)
        assert turn.user_text == "" and turn.bill.total_usd == billed.bill.total_usd
        assert await app.store.user_spent_since("ann", day) == spent_before
        assert await app.store.integrity_check() == "ok"
    finally:
        await app.aclose()
