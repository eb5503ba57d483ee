"""The turn loop over the real openai SDK and the embedded engine (no network, no mocks).

Loop behaviour (moderation, several images, cancelling, client rules) is tested on the
ScriptedModel in test_turn_loop.py; these check the same loop end to end on the engine.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from agent.config import Settings
from agent.errors import (
    BudgetExceeded,
    InvalidSettings,
    NotFound,
    TurnTimeout,
    UpstreamError,
)
from agent.images.uploads import validate_mask, validate_upload
from agent.runtime import Atelier
from agent.session_settings import SessionSettings
from agent.turn import events as ev
from agent.turn.session import Session


def _settings(base: Settings, **changes: object) -> Settings:
    return base.model_copy(update=changes)


@pytest.fixture
async def atelier(settings: Settings) -> AsyncIterator[Atelier]:
    app = await Atelier.open(settings)
    yield app
    await app.aclose()


async def _open(settings: Settings, **changes: object) -> Atelier:
    return await Atelier.open(_settings(settings, **changes))


async def collect(session: Session, text: str, **kwargs: object) -> list[ev.AgentEvent]:
    return [event async for event in session.run_turn(text, **kwargs)]  # type: ignore[arg-type]


def images(events: Sequence[ev.AgentEvent]) -> list[ev.ImageReady]:
    return [e for e in events if isinstance(e, ev.ImageReady)]


def closing(events: Sequence[ev.AgentEvent]) -> ev.TurnBilled | ev.TurnFailed:
    last = events[-1]
    assert isinstance(last, ev.TurnBilled | ev.TurnFailed), last
    return last


def _png(size: tuple[int, int], colour: tuple[int, ...], mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, "PNG")
    return buffer.getvalue()


async def test_generate_then_refine_by_chain(atelier: Atelier) -> None:
    session = await atelier.new_session(user_id="ann")
    first = await collect(session, "draw a lighthouse poster")
    assert isinstance(first[0], ev.TurnStarted)
    assert any(isinstance(e, ev.TextDelta) for e in first)
    image_events = [e for e in first if isinstance(e, ev.ImageCallStarted | ev.PartialImage)]
    assert isinstance(image_events[0], ev.ImageCallStarted)
    assert sum(isinstance(e, ev.PartialImage) for e in first) == 2
    (made,) = images(first)
    billed = closing(first)
    assert isinstance(billed, ev.TurnBilled)
    assert made.image.parent_id is None and made.image.action == "generate"
    assert Path(made.image.path).is_file()
    with Image.open(made.image.path) as picture:
        assert picture.size == (made.image.width, made.image.height) == (1024, 1024)
    assert billed.bill.total_usd is not None and billed.bill.total_usd > 0
    assert billed.session_total_usd == billed.bill.total_usd

    second = await collect(session, "make it warmer")
    (warmer,) = images(second)
    assert warmer.image.parent_id == made.image.id
    assert warmer.image.action == "edit"
    assert warmer.image.sha256 != made.image.sha256
    total = closing(second)
    assert isinstance(total, ev.TurnBilled)
    assert total.session_total_usd == billed.bill.total_usd + total.bill.total_usd  # type: ignore[operator]


async def test_refine_an_older_image_by_id_records_its_lineage(atelier: Atelier) -> None:
    session = await atelier.new_session(user_id="ann")
    first = await collect(session, "draw a lighthouse poster")
    (a,) = images(first)
    chained = await collect(session, "make it cooler")
    (b,) = images(chained)
    targeted = await collect(session, "add a border", target_image=a.image.id)
    (c,) = images(targeted)
    started = [
        next(e for e in turn if isinstance(e, ev.ImageCallStarted))
        for turn in (first, chained, targeted)
    ]
    # At call start only an explicit target says "edit"; a chained turn is not known yet.
    assert [(s.action, s.parent_id) for s in started] == [
        ("auto", None),
        ("auto", None),
        ("edit", a.image.id),
    ]
    assert b.image.parent_id == a.image.id
    assert c.image.parent_id == a.image.id
    lineage = await session.lineage(c.image.id)
    assert [image.id for image in lineage] == [a.image.id, c.image.id]
    (d,) = images(await collect(session, "brighter"))
    assert d.image.parent_id == c.image.id  # the chain continues from the targeted edit


async def test_store_false_sends_the_saved_image_back_inline(settings: Settings) -> None:
    app = await _open(settings, store=False)
    try:
        session = await app.new_session(user_id="zdr")
        assert session.settings.store is False
        (a,) = images(await collect(session, "draw a mountain illustration"))
        (b,) = images(await collect(session, "black and white", target_image=a.image.id))
        assert b.image.parent_id == a.image.id
        assert b.image.action == "edit"
    finally:
        await app.aclose()


async def test_uploads_and_mask(atelier: Atelier) -> None:
    session = await atelier.new_session(user_id="ann")
    reference = validate_upload("ref.png", _png((640, 640), (200, 40, 40)))
    (a,) = images(await collect(session, "draw a poster in this palette", attachments=[reference]))
    mask_bytes = _png((1024, 1024), (0, 0, 0, 255), "RGBA")
    with Image.open(io.BytesIO(mask_bytes)) as m:
        m = m.copy()
    m.paste((0, 0, 0, 0), (0, 0, 512, 512))  # top-left quarter is editable
    buffer = io.BytesIO()
    m.save(buffer, "PNG")
    mask = validate_mask("mask.png", buffer.getvalue(), for_size=(1024, 1024))
    (b,) = images(await collect(session, "make it darker", target_image=a.image.id, mask=mask))
    with Image.open(a.image.path) as before, Image.open(b.image.path) as after:
        before_px = before.convert("RGB").getpixel((900, 900))
        after_px = after.convert("RGB").getpixel((900, 900))
        assert before_px == after_px  # outside the mask nothing changed
        assert before.convert("RGB").getpixel((100, 100)) != after.convert("RGB").getpixel(
            (100, 100)
        )


async def test_rate_limit_is_retried_then_succeeds(settings: Settings) -> None:
    app = await _open(settings, engine_fault="rate_limit;times=2;retry_after=0.01")
    try:
        session = await app.new_session(user_id="ann")
        events = await collect(session, "draw a cat")
        assert isinstance(closing(events), ev.TurnBilled)
        assert len(images(events)) == 1
    finally:
        await app.aclose()


async def test_server_error_retried_then_a_clear_failure(settings: Settings) -> None:
    app = await _open(settings, engine_fault="server_error", max_retries=1)
    try:
        session = await app.new_session(user_id="ann")
        failed = closing(await collect(session, "draw a cat"))
        assert isinstance(failed, ev.TurnFailed)
        assert isinstance(failed.error, UpstreamError)
        assert "500" in failed.error.user_message
        (turn,) = await session.turns()
        assert turn.status == "failed" and turn.error_code == "upstream_error"
    finally:
        await app.aclose()


async def test_timeout(settings: Settings) -> None:
    app = await _open(settings, engine_fault="timeout", request_timeout_s=0.3)
    try:
        session = await app.new_session(user_id="ann")
        failed = closing(await collect(session, "draw a cat"))
        assert isinstance(failed, ev.TurnFailed) and isinstance(failed.error, TurnTimeout)
    finally:
        await app.aclose()


async def test_cut_stream_keeps_what_was_spent_and_presents_no_final(settings: Settings) -> None:
    app = await _open(settings, engine_fault="cut_stream;times=1")
    try:
        session = await app.new_session(user_id="ann")
        events = await collect(session, "draw a cat")
        failed = closing(events)
        assert isinstance(failed, ev.TurnFailed) and isinstance(failed.error, UpstreamError)
        assert sum(isinstance(e, ev.PartialImage) for e in events) == 1
        assert images(events) == []
        assert failed.spent.estimated and failed.spent.known_usd > 0
        (turn,) = await session.turns()
        assert turn.status == "failed" and turn.bill.known_usd == failed.spent.known_usd
        assert await session.images() == []
        after = await collect(session, "draw a cat")  # the session still works
        assert isinstance(closing(after), ev.TurnBilled)
    finally:
        await app.aclose()


async def test_invalid_settings_are_refused_before_any_call(atelier: Atelier) -> None:
    session = await atelier.new_session(user_id="ann")
    with pytest.raises(InvalidSettings, match="multiples of 16"):
        await session.update_settings(size="1000x1000")
    assert session.settings.size == "1024x1024"
    with pytest.raises(InvalidSettings, match="png or webp"):
        await session.update_settings(background="transparent", output_format="jpeg")


async def test_budget_refusal_happens_before_any_request(settings: Settings) -> None:
    app = await _open(settings, session_budget_usd=Decimal("0.01"))
    try:
        session = await app.new_session(user_id="ann")
        failed = closing(await collect(session, "draw a cat"))
        assert isinstance(failed, ev.TurnFailed) and isinstance(failed.error, BudgetExceeded)
        assert app.engine is not None and app.engine.request_count == 0
        (turn,) = await session.turns()
        assert turn.status == "refused"
    finally:
        await app.aclose()


async def test_unknown_target_image_is_a_clear_error(atelier: Atelier) -> None:
    session = await atelier.new_session(user_id="ann")
    failed = closing(await collect(session, "warmer", target_image="ig_nope"))
    assert isinstance(failed, ev.TurnFailed) and isinstance(failed.error, NotFound)


async def test_resume_after_reopening_the_database(settings: Settings) -> None:
    app = await Atelier.open(settings)
    session = await app.new_session(user_id="ann", settings=SessionSettings(quality="low"))
    (a,) = images(await collect(session, "draw a rocket poster"))
    await app.aclose()

    app = await Atelier.open(settings)
    try:
        resumed = await app.resume_session(session.id, user_id="ann")
        assert resumed.settings.quality == "low"
        assert resumed.last_response_id == session.last_response_id
        (b,) = images(await collect(resumed, "make it warmer"))
        assert b.image.parent_id == a.image.id
        with pytest.raises(NotFound):
            await app.resume_session(session.id, user_id="mallory")
    finally:
        await app.aclose()
