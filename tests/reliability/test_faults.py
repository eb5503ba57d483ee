"""The fault matrix over the real SDK and the embedded engine, at the Session API.

Each fault is injected engine-wide (``Settings.engine_fault``); every test then checks what
the user saw, how many requests the engine received (no double sends, no sends at all for
refused turns), that the next turn works, and that the database and image folder are
consistent (``harness.assert_consistent``).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.config import Settings
from agent.errors import (
    ContentBlocked,
    InvalidSettings,
    NotFound,
    RateLimited,
    TurnTimeout,
    UpstreamError,
)
from agent.runtime import Atelier
from agent.session_settings import SessionSettings
from agent.store.records import SessionRecord
from agent.turn.events import (
    ImageFailed,
    ImageReady,
    PartialImage,
    TurnBilled,
    TurnFailed,
    TurnStarted,
)
from agent.turn.testing import FailedImage, Image, ScriptedModel, Text

from . import files
from .harness import assert_consistent, closing, collect, open_atelier, ready, recorder


def _with(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(update=changes)


@pytest.fixture
def fast(settings: Settings) -> Settings:
    """Low quality, one partial image: the fastest real turns the engine makes."""
    return _with(settings, quality="low", partial_images=1, retry_max_wait_s=0.05)


async def test_429_with_retry_after_is_honoured_then_the_turn_succeeds_once(
    fast: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _with(fast, engine_fault="rate_limit;times=2;retry_after=0.25", retry_max_wait_s=5.0)
    app = await open_atelier(settings, monkeypatch)
    try:
        session = await app.new_session(user_id="ann")
        events = await collect(session, "draw a lighthouse")
        assert isinstance(closing(events), TurnBilled)
        assert len(ready(events)) == 1
        creates = recorder(app).creates
        assert len(creates) == 3  # two refused, one served
        assert creates[0].json() == creates[2].json()  # the retry is the same request
        # The wait is the server's Retry-After (0.25 s), not the 0.4-0.6 s first backoff.
        gaps = [b.at - a.at for a, b in itertools.pairwise(creates)]
        assert all(0.25 <= gap < 0.4 for gap in gaps), gaps
        (turn,) = await session.turns()  # one turn, billed once
        assert turn.status == "ok" and len(turn.image_ids) == 1
        assert sum(isinstance(e, TurnStarted) for e in events) == 1
        await assert_consistent(app)
    finally:
        await app.aclose()


async def test_429_that_never_clears_is_a_clear_rate_limit_message(
    fast: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _with(fast, engine_fault="rate_limit;times=3;retry_after=0.01", max_retries=2)
    app = await open_atelier(settings, monkeypatch)
    try:
        session = await app.new_session(user_id="ann")
        failed = closing(await collect(session, "draw a lighthouse"))
        assert isinstance(failed, TurnFailed) and isinstance(failed.error, RateLimited)
        assert "Wait a moment" in failed.error.user_message
        assert failed.spent.known_usd == 0  # nothing was served, nothing is billed
        assert len(recorder(app).creates) == 3
        after = await collect(session, "draw a lighthouse")  # the fault has run out
        assert isinstance(closing(after), TurnBilled)
        turns = await session.turns()
        assert [t.status for t in turns] == ["failed", "ok"]
        assert turns[0].error_code == "rate_limited"
        await assert_consistent(app)
    finally:
        await app.aclose()


async def test_500_is_retried_then_fails_clearly_and_the_session_recovers(
    fast: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _with(fast, engine_fault="server_error;times=3", max_retries=2)
    app = await open_atelier(settings, monkeypatch)
    try:
        session = await app.new_session(user_id="ann")
        failed = closing(await collect(session, "draw a lighthouse"))
        assert isinstance(failed, TurnFailed) and isinstance(failed.error, UpstreamError)
        assert "500" in failed.error.user_message and "Try again" in failed.error.user_message
        assert len(recorder(app).creates) == 3  # first try + max_retries
        assert session.last_response_id is None
        after = await collect(session, "draw a lighthouse")
        assert isinstance(closing(after), TurnBilled)
        assert "previous_response_id" not in recorder(app).creates[-1].json()
        await assert_consistent(app)
    finally:
        await app.aclose()


async def test_timeout_fails_clearly_without_retrying_and_the_session_recovers(
    fast: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _with(fast, engine_fault="timeout;times=1", request_timeout_s=1.5)
    app = await open_atelier(settings, monkeypatch)
    try:
        session = await app.new_session(user_id="ann")
        failed = closing(await collect(session, "draw a lighthouse"))
        assert isinstance(failed, TurnFailed) and isinstance(failed.error, TurnTimeout)
        assert "did not answer in time" in failed.error.user_message
        assert len(recorder(app).creates) == 1
        assert isinstance(closing(await collect(session, "draw a lighthouse")), TurnBilled)
        await assert_consistent(app)
    finally:
        await app.aclose()


async def test_cut_stream_on_a_refine_keeps_the_earlier_image_and_is_never_resent(
    fast: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cut comes on turn 2 (a refine): one request only (no paid duplicate), the partial
    is never presented as final, turn 1's image and chain survive, the spend is counted."""
    settings = _with(fast, partial_images=2)
    app = await open_atelier(settings, monkeypatch)
    try:
        session = await app.new_session(user_id="ann")
        (first,) = ready(await collect(session, "draw a lighthouse poster"))
        chain_head = session.last_response_id
        before_total = (await session.bill()).total_usd
        assert before_total is not None

        recorder(app).fault = "cut_stream;times=1"  # the next request only
        events = await collect(session, "make it warmer")
        failed = closing(events)
        assert isinstance(failed, TurnFailed) and isinstance(failed.error, UpstreamError)
        assert sum(isinstance(e, PartialImage) for e in events) == 1
        assert not any(isinstance(e, ImageReady) for e in events)
        assert len(recorder(app).creates) == 2  # the cut turn was sent exactly once
        assert failed.spent.estimated and failed.spent.known_usd > 0
        assert failed.session_total_usd == before_total + failed.spent.known_usd

        assert session.last_response_id == chain_head  # the broken response is not chained
        assert session.latest_image_id == first.image.id
        assert Path(first.image.path).is_file()
        assert [i.id for i in await session.images()] == [first.image.id]

        (warmer,) = ready(await collect(session, "make it warmer"))
        assert warmer.image.parent_id == first.image.id
        assert recorder(app).creates[-1].json()["previous_response_id"] == chain_head
        turns = await session.turns()
        assert [t.status for t in turns] == ["ok", "failed", "ok"]
        await assert_consistent(app)
    finally:
        await app.aclose()


async def test_moderation_block_names_the_category_and_saves_nothing(fast: Settings) -> None:
    """A blocked image call (scripted: no prompt words steer it) saves no file and is listed."""
    model = ScriptedModel([FailedImage(categories=("violence",)), Text("I cannot draw that.")])
    model_then_ok = ScriptedModel(lambda request: [Image()])
    async with await Atelier.open(fast, model=model) as app:
        session = await app.new_session(user_id="ann")
        events = await collect(session, "draw a scene")
        (blocked,) = [e for e in events if isinstance(e, ImageFailed)]
        assert isinstance(blocked.error, ContentBlocked)
        message = blocked.error.user_message
        assert "moderation" in message and "violence" in message and "Rephrase" in message
        assert not ready(events)
        assert isinstance(closing(events), TurnBilled)
        (turn,) = await session.turns()
        assert turn.settings["failed_images"][0]["id"] == blocked.call_id
        assert not any(app.settings.images_dir.rglob("*.*"))  # no file for a blocked image
        await assert_consistent(app)
    async with await Atelier.open(fast, model=model_then_ok) as app:
        session = await app.resume_session(session.id)
        assert isinstance(closing(await collect(session, "draw a lighthouse")), TurnBilled)
        await assert_consistent(app)


async def test_invalid_settings_never_reach_the_engine(
    fast: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Settings that break a rule are refused before any request, wherever they come from."""
    app = await open_atelier(fast, monkeypatch)
    try:
        with pytest.raises(InvalidSettings, match="multiples of 16"):
            await app.new_session(user_id="ann", settings=SessionSettings(size="1000x1000"))
        session = await app.new_session(user_id="ann")
        with pytest.raises(InvalidSettings, match="png or webp"):
            await session.update_settings(background="transparent", output_format="jpeg")
        # A stored session whose settings are no longer valid (e.g. written by an older
        # version): its turn is refused, recorded as refused, and nothing is sent.
        stale = SessionSettings().model_dump() | {"image_model": "gpt-image-1"}
        record = SessionRecord(
            id="stale",
            user_id="ann",
            profile="studio",
            title="",
            settings=stale,
            last_response_id=None,
            created_at=_now(),
            updated_at=_now(),
        )
        await app.store.create_session(record)
        resumed = await app.resume_session("stale", user_id="ann")
        failed = closing(await collect(resumed, "draw a lighthouse"))
        assert isinstance(failed, TurnFailed) and isinstance(failed.error, InvalidSettings)
        assert "gpt-image-2" in failed.error.user_message  # says what to use instead
        (turn,) = await resumed.turns()
        assert turn.status == "refused"
        assert recorder(app).creates == []
        await assert_consistent(app)
    finally:
        await app.aclose()


def _now() -> datetime:
    return datetime.now(UTC)


async def test_mask_problems_are_caught_before_any_request(
    fast: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent.images.uploads import validate_mask

    app = await open_atelier(fast, monkeypatch)
    try:
        session = await app.new_session(user_id="ann")
        mask = validate_mask("mask.png", files.mask_png((1024, 1024)))
        failed = closing(await collect(session, "make the sky red", mask=mask))
        assert isinstance(failed, TurnFailed) and isinstance(failed.error, InvalidSettings)
        assert "make or pick an image first" in failed.error.user_message
        assert recorder(app).creates == []
        await assert_consistent(app)
    finally:
        await app.aclose()


async def test_a_mask_of_the_wrong_size_is_refused_before_any_request(
    fast: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app validates a mask without knowing its target (``validate_mask(name, data)``),
    so the turn must compare the mask with the image it edits before sending anything."""
    from agent.images.uploads import validate_mask

    app = await open_atelier(fast, monkeypatch)
    try:
        session = await app.new_session(user_id="ann")
        (made,) = ready(await collect(session, "draw a lighthouse"))
        sent = len(recorder(app).creates)
        mask = validate_mask("mask.png", files.mask_png((512, 512)))  # image is 1024x1024
        events = await collect(session, "make the sky red", target_image=made.image.id, mask=mask)
        failed = closing(events)
        assert isinstance(failed, TurnFailed), failed
        assert isinstance(failed.error, InvalidSettings)
        assert "512x512" in failed.error.user_message
        assert len(recorder(app).creates) == sent
        await assert_consistent(app)
    finally:
        await app.aclose()


async def test_another_sessions_image_is_not_found_and_nothing_is_sent(
    fast: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = await open_atelier(fast, monkeypatch)
    try:
        alice = await app.new_session(user_id="alice")
        (theirs,) = ready(await collect(alice, "draw a lighthouse"))
        bob = await app.new_session(user_id="bob")
        sent = len(recorder(app).creates)
        for kwargs in ({"target_image": theirs.image.id}, {"variations_of": theirs.image.id}):
            failed = closing(await collect(bob, "make it mine", **kwargs))
            assert isinstance(failed, TurnFailed) and isinstance(failed.error, NotFound)
        assert len(recorder(app).creates) == sent
        assert await bob.images() == []
        await assert_consistent(app)
    finally:
        await app.aclose()


async def test_faults_in_a_row_leave_one_consistent_history(
    fast: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One session through every fault in turn, then a clean turn: every row adds up."""
    settings = _with(fast, max_retries=1, request_timeout_s=1.5)
    app = await open_atelier(settings, monkeypatch)
    try:
        session = await app.new_session(user_id="ann")
        outcomes = []
        for spec in (
            "rate_limit;times=1;retry_after=0.01",
            "server_error;times=2",
            "timeout;times=1",
            "cut_stream;times=1",
            None,
        ):
            recorder(app).fault = spec
            outcomes.append(closing(await collect(session, "draw a lighthouse")))
        kinds = [type(o).__name__ for o in outcomes]
        assert kinds == ["TurnBilled", "TurnFailed", "TurnFailed", "TurnFailed", "TurnBilled"]
        turns = await session.turns()
        assert [t.status for t in turns] == ["ok", "failed", "failed", "failed", "ok"]
        assert len(await session.images()) == 2
        bill = await session.bill()
        assert bill.known_usd == sum((t.bill.known_usd for t in turns), start=bill.known_usd * 0)
        assert outcomes[-1].session_total_usd == bill.total_usd
        await assert_consistent(app)
    finally:
        await app.aclose()
