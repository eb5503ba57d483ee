"""The turn loop on the ScriptedModel: real Responses events from a script, no prompt words."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image as PILImage

from agent.config import Settings
from agent.errors import (
    BudgetExceeded,
    Cancelled,
    ContentBlocked,
    Incomplete,
    UpstreamError,
)
from agent.runtime import Atelier
from agent.session_settings import SessionSettings
from agent.turn import events as ev
from agent.turn.session import Session
from agent.turn.testing import (
    Cut,
    ErrorEvent,
    FailedImage,
    Hold,
    HttpError,
    Image,
    ScriptedModel,
    Text,
    ToolUsage,
    Usage,
)
from agent.turn.testing import (
    Incomplete as IncompleteStep,
)


def _fast(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(update={"retry_max_wait_s": 0.05, **changes})


async def collect(session: Session, text: str, **kwargs: object) -> list[ev.AgentEvent]:
    return [event async for event in session.start_turn(text, **kwargs)]  # type: ignore[arg-type]


def ready(events: Sequence[ev.AgentEvent]) -> list[ev.ImageReady]:
    return [e for e in events if isinstance(e, ev.ImageReady)]


def closing(events: Sequence[ev.AgentEvent]) -> ev.TurnBilled | ev.TurnFailed:
    assert isinstance(events[-1], ev.TurnBilled | ev.TurnFailed), events[-1]
    return events[-1]


async def test_text_partials_and_an_image_billed_from_reported_usage(settings: Settings) -> None:
    model = ScriptedModel(
        [
            Text("Here is your poster."),
            Image(partials=2, output_format="webp"),
            Usage(2000, 800),
            ToolUsage(text_input=50, output=1756),
        ]
    )
    async with await Atelier.open(settings, model=model) as app:
        session = await app.new_session(user_id="ann")
        events = await collect(session, "a poster")
        kinds = [type(e) for e in events]
        assert kinds[0] is ev.TurnStarted and ev.TextDelta in kinds
        assert (
            kinds.index(ev.ImageCallStarted)
            < kinds.index(ev.PartialImage)
            < kinds.index(ev.ImageReady)
        )
        partials = [e for e in events if isinstance(e, ev.PartialImage)]
        assert [p.index for p in partials] == [0, 1]
        assert {p.output_format for p in partials} == {"webp"}  # the event's, not the settings'
        (made,) = ready(events)
        assert made.image.output_format == "png"  # the bytes decide the stored format
        billed = closing(events)
        assert isinstance(billed, ev.TurnBilled) and not billed.bill.estimated
        tokens = {line.kind: line.tokens for line in billed.bill.lines}
        assert tokens["text_input"] == 2000 and tokens["image_output"] == 1756
        assert tokens["image_text_input"] == 50
        assert model.requests[0]["metadata"]["turn"] == "1"
        (turn,) = await session.turns()
        assert turn.status == "ok" and turn.image_ids == (made.image.id,)
        (exchange,) = await app.store.exchanges(session.id)
        assert exchange["response"]["id"] == billed.response_id


async def test_moderation_failure_is_an_image_failed_with_its_category(settings: Settings) -> None:
    model = ScriptedModel([FailedImage(categories=("violence",)), Text("Sorry.")])
    async with await Atelier.open(settings, model=model) as app:
        session = await app.new_session(user_id="ann")
        events = await collect(session, "anything")
        (failed,) = [e for e in events if isinstance(e, ev.ImageFailed)]
        assert isinstance(failed.error, ContentBlocked)
        assert (
            "violence" in failed.error.user_message
            and failed.error.api_code == "moderation_blocked"
        )
        assert isinstance(closing(events), ev.TurnBilled)
        assert await session.images() == []
        (turn,) = await session.turns()
        assert turn.settings["failed_images"][0]["id"] == failed.call_id


async def test_several_images_in_one_turn_then_variations(settings: Settings) -> None:
    model = ScriptedModel([Image(), Image(), Image()], [Image(action="edit")] * 3)
    async with await Atelier.open(settings, model=model) as app:
        session = await app.new_session(user_id="team", profile="brainstorm")
        # 3 directions at medium are above the default quote threshold: Go is given.
        made = ready(await collect(session, "logos", confirmed=True))
        assert len(made) == 3 and len({m.image.sha256 for m in made}) == 3
        outcome = closing(
            await collect(session, "", variations_of=made[1].image.id, confirmed=True)
        )
        assert isinstance(outcome, ev.TurnBilled)
        assert model.requests[1]["tool_choice"] == {"type": "image_generation"}
        kids = [i for i in await session.images() if i.parent_id == made[1].image.id]
        assert len(kids) == 3


async def test_an_image_labelled_generating_with_a_result_is_an_image(settings: Settings) -> None:
    """Azure (and some live streams): status "generating", no .completed event."""
    model = ScriptedModel([Image(status="generating", completed_event=False), ToolUsage()])
    async with await Atelier.open(settings, model=model) as app:
        session = await app.new_session(user_id="ann")
        events = await collect(session, "a cat")
        assert len(ready(events)) == 1
        billed = closing(events)
        assert isinstance(billed, ev.TurnBilled) and billed.bill.by_kind()["images"] > 0


@pytest.mark.parametrize("result", ["not base64 at all!!", "aGVsbG8gd29ybGQ=", ""])
async def test_an_image_that_never_decodes_is_image_failed_and_recorded(
    settings: Settings, result: str
) -> None:
    model = ScriptedModel([Image(partials=1, result=result), ToolUsage()])
    async with await Atelier.open(settings, model=model) as app:
        session = await app.new_session(user_id="ann")
        events = await collect(session, "a cat")
        (failed,) = [e for e in events if isinstance(e, ev.ImageFailed)]
        assert failed.error.user_message.startswith(
            ("The image arrived damaged", "The image could")
        )
        outcome = closing(events)
        assert isinstance(outcome, ev.TurnBilled)  # the turn went on; what was spent is billed
        assert outcome.bill.by_kind()["images"] > 0
        (turn,) = await session.turns()
        assert turn.status == "ok" and turn.image_ids == ()


async def test_a_damaged_image_without_tool_usage_is_billed_as_estimated(
    settings: Settings,
) -> None:
    model = ScriptedModel([Image(result="bm90IGFuIGltYWdl")])  # valid base64, not an image
    async with await Atelier.open(settings, model=model) as app:
        session = await app.new_session(user_id="ann")
        billed = closing(await collect(session, "a cat"))
        assert isinstance(billed, ev.TurnBilled)
        (output,) = [line for line in billed.bill.lines if line.kind == "image_output"]
        assert output.estimated and output.tokens > 0


async def test_a_call_the_response_never_finishes_is_image_failed(settings: Settings) -> None:
    model = ScriptedModel([Image(), ToolUsage()])
    async with await Atelier.open(settings, model=model) as app:
        session = await app.new_session(user_id="ann")
        # A wire stream where the call was added and never done: drop its done event.
        original = model._image

        def without_done(
            *args: object, **kwargs: object
        ) -> tuple[list[dict[str, object]], dict[str, object]]:
            events, item = original(*args, **kwargs)  # type: ignore[arg-type]
            return [e for e in events if e["type"] != "response.output_item.done"], item

        model._image = without_done  # type: ignore[method-assign]
        events = await collect(session, "a cat")
        (failed,) = [e for e in events if isinstance(e, ev.ImageFailed)]
        assert "ended without it" in failed.error.user_message
        assert isinstance(closing(events), ev.TurnBilled)


async def test_missing_tool_usage_estimates_the_image_prompt_and_output(settings: Settings) -> None:
    model = ScriptedModel([Image()])
    async with await Atelier.open(settings, model=model) as app:
        session = await app.new_session(user_id="ann")
        billed = closing(await collect(session, "a cat"))
        assert isinstance(billed, ev.TurnBilled) and billed.bill.estimated
        lines = {line.kind: line for line in billed.bill.lines}
        assert lines["image_text_input"].estimated and lines["image_text_input"].tokens > 0
        assert lines["image_output"].estimated and not lines["text_input"].estimated


async def test_incomplete_keeps_its_images_and_is_not_billed_as_success(settings: Settings) -> None:
    model = ScriptedModel(
        [Image(), Usage(1800, 900), ToolUsage(), IncompleteStep("max_output_tokens")]
    )
    async with await Atelier.open(settings, model=model) as app:
        session = await app.new_session(user_id="ann")
        events = await collect(session, "a cat")
        (made,) = ready(events)
        outcome = closing(events)
        assert isinstance(outcome, ev.TurnFailed) and isinstance(outcome.error, Incomplete)
        assert "max_output_tokens" in outcome.error.user_message
        assert outcome.images_kept == (made.image.id,)
        assert outcome.spent.known_usd > 0 and not outcome.spent.estimated
        (turn,) = await session.turns()
        assert turn.status == "incomplete" and turn.usage.text.output_tokens == 900
        assert session.last_response_id is None  # an incomplete answer is not chained
        assert session.latest_image_id == made.image.id


async def test_429_retry_after_ms_then_success_sends_the_same_request(settings: Settings) -> None:
    model = ScriptedModel(
        [HttpError(429, headers={"retry-after-ms": "20"}, code="rate_limit_exceeded")],
        [Image()],
    )
    async with await Atelier.open(_fast(settings, retry_max_wait_s=1.0), model=model) as app:
        session = await app.new_session(user_id="ann")
        events = await collect(session, "a cat")
        assert isinstance(closing(events), ev.TurnBilled)
        assert len(model.requests) == 2 and model.requests[0] == model.requests[1]
        assert sum(isinstance(e, ev.TurnStarted) for e in events) == 1


async def test_500_that_persists_keeps_status_code_and_body(settings: Settings) -> None:
    boom = HttpError(500, code="server_error", message="The server had an error")
    model = ScriptedModel([boom], [boom])
    async with await Atelier.open(_fast(settings, max_retries=1), model=model) as app:
        session = await app.new_session(user_id="ann")
        failed = closing(await collect(session, "a cat"))
        assert isinstance(failed, ev.TurnFailed) and isinstance(failed.error, UpstreamError)
        error = failed.error
        assert (error.status, error.api_code) == (500, "server_error")
        assert isinstance(error.body, dict) and error.body["error"]["message"] == boom.message
        assert len(model.requests) == 2
        (turn,) = await session.turns()
        assert turn.status == "failed" and turn.bill.known_usd == 0


async def test_a_refused_stored_reference_is_resent_inline(settings: Settings) -> None:
    missing = HttpError(400, param="input", message="Item with id 'ig' not found.")
    model = ScriptedModel([Image()], [missing], [Image(action="edit")])
    async with await Atelier.open(settings, model=model) as app:
        session = await app.new_session(user_id="ann")
        (first,) = ready(await collect(session, "a cat"))
        (edit,) = ready(await collect(session, "warmer", target_image=first.image.id))
        assert edit.image.parent_id == first.image.id
        by_id, inline = model.requests[1]["input"], model.requests[2]["input"]
        assert any(item.get("type") == "image_generation_call" for item in by_id)
        parts = inline[0]["content"]
        assert parts[-1]["type"] == "input_image" and parts[-1]["image_url"].startswith("data:")


async def test_a_stream_cut_mid_image_fails_once_and_counts_the_started_image(
    settings: Settings,
) -> None:
    model = ScriptedModel([Text("Drawing"), Cut()], [Image()])
    async with await Atelier.open(_fast(settings), model=model) as app:
        session = await app.new_session(user_id="ann")
        failed = closing(await collect(session, "a cat"))
        assert isinstance(failed, ev.TurnFailed) and isinstance(failed.error, UpstreamError)
        assert len(model.requests) == 1  # something arrived: never re-sent
        assert isinstance(closing(await collect(session, "a cat")), ev.TurnBilled)
        assert [t.status for t in await session.turns()] == ["failed", "ok"]


async def test_error_events_map_by_code(settings: Settings) -> None:
    model = ScriptedModel(
        [ErrorEvent("blocked", code="moderation_blocked")], [ErrorEvent("oops", code="x")]
    )
    async with await Atelier.open(settings, model=model) as app:
        session = await app.new_session(user_id="ann")
        first = closing(await collect(session, "a"))
        second = closing(await collect(session, "b"))
        assert isinstance(first, ev.TurnFailed) and isinstance(first.error, ContentBlocked)
        assert isinstance(second, ev.TurnFailed) and type(second.error) is UpstreamError


async def test_an_exception_in_the_model_is_a_recorded_failure(settings: Settings) -> None:
    model = ScriptedModel()  # no reply at all: the model raises RuntimeError
    async with await Atelier.open(settings, model=model) as app:
        session = await app.new_session(user_id="ann")
        failed = closing(await collect(session, "a cat"))
        assert isinstance(failed, ev.TurnFailed) and "no reply left" in failed.error.user_message
        assert [t.status for t in await session.turns()] == ["failed"]


async def test_cancel_records_the_turn_as_cancelled(settings: Settings) -> None:
    model = ScriptedModel([Text("Drawing"), Hold(), Image()])
    async with await Atelier.open(settings, model=model) as app:
        session = await app.new_session(user_id="ann")
        turn = session.start_turn("a cat")
        await model.holding.wait()
        turn.cancel()
        outcome = await turn.wait()
        assert isinstance(outcome, ev.TurnFailed) and isinstance(outcome.error, Cancelled)
        events = [event async for event in turn]
        assert events[-1] is outcome  # what the consumer reads ends the same way
        (record,) = await session.turns()
        assert record.status == "cancelled" and record.error_code == "cancelled"


async def test_a_reader_that_leaves_cancels_and_numbers_stay_apart(settings: Settings) -> None:
    model = ScriptedModel([Text("Drawing"), Hold(), Image()], [Image()])
    async with await Atelier.open(settings, model=model) as app:
        session = await app.new_session(user_id="ann")
        turn = session.start_turn("a cat")
        async for event in turn:
            if isinstance(event, ev.TextDelta):
                break  # the listener went away
        await turn.wait()
        assert isinstance(closing(await collect(session, "a dog")), ev.TurnBilled)
        turns = await session.turns()
        assert [(t.turn, t.status) for t in turns] == [(1, "cancelled"), (2, "ok")]


async def test_aclose_stops_running_turns_and_records_them(settings: Settings) -> None:
    model = ScriptedModel([Hold()])
    app = await Atelier.open(settings, model=model)
    session = await app.new_session(user_id="ann")
    turn = session.start_turn("a cat")
    await model.holding.wait()
    await app.aclose()
    assert isinstance((await turn.wait()).error, Cancelled)  # type: ignore[union-attr]
    async with await Atelier.open(settings, model=ScriptedModel()) as again:
        assert [t.status for t in await again.store.turns(session.id)] == ["cancelled"]


async def test_ten_concurrent_turns_against_a_budget_for_one(
    settings: Settings, tmp_path: Path
) -> None:
    async with await Atelier.open(settings, model=ScriptedModel(lambda r: [Image()])) as probe:
        first = (await collect(await probe.new_session(user_id="x"), "a cat"))[0]
    assert isinstance(first, ev.TurnStarted) and first.estimate_usd is not None
    budget = first.estimate_usd * Decimal("1.5")
    capped = settings.model_copy(
        update={"data_dir": tmp_path / "capped", "session_budget_usd": budget}
    )
    model = ScriptedModel(lambda request: [Hold(), Image()])
    async with await Atelier.open(capped, model=model) as app:
        session = await app.new_session(user_id="ann")
        tabs = [await app.resume_session(session.id) for _ in range(10)]  # ten tabs, one thread
        turns = [tab.start_turn("a cat") for tab in tabs]
        readers = [turn.events() for turn in turns]  # kept: a reader that leaves cancels
        firsts = await asyncio.gather(*(anext(reader) for reader in readers))
        started = [e for e in firsts if isinstance(e, ev.TurnStarted)]
        refused = [e for e in firsts if isinstance(e, ev.TurnFailed)]
        assert len(started) == 1 and len(refused) == 9
        assert all(isinstance(e.error, BudgetExceeded) for e in refused)
        model.release.set()
        outcomes = await asyncio.gather(*(turn.wait() for turn in turns))
        assert sum(isinstance(outcome, ev.TurnBilled) for outcome in outcomes) == 1
        assert len(readers) == 10
        records = await session.turns()
        assert sorted(t.turn for t in records) == list(range(1, 11))
        assert sum(t.status == "ok" for t in records) == 1
        assert (await session.bill()).known_usd <= budget


async def test_concurrent_turns_in_one_thread_over_two_connections(settings: Settings) -> None:
    model = ScriptedModel(lambda request: [Image()])
    async with (
        await Atelier.open(settings, model=model) as one,
        await Atelier.open(settings, model=model) as two,
    ):
        session = await one.new_session(user_id="ann", settings=SessionSettings(quality="low"))
        tabs = [await app.resume_session(session.id) for app in (one, two) for _ in range(3)]
        outcomes = await asyncio.gather(*(tab.start_turn("a cat").wait() for tab in tabs))
        assert sorted(o.turn for o in outcomes) == [1, 2, 3, 4, 5, 6]
        records = await session.turns()
        assert [t.turn for t in records] == [1, 2, 3, 4, 5, 6]
        assert len(await session.images()) == 6  # nothing replaced
        total = sum((t.bill.known_usd for t in records), Decimal(0))
        assert (await session.bill()).known_usd == total


async def test_a_mask_of_the_wrong_size_is_refused_before_any_request(settings: Settings) -> None:
    import io

    from agent.images.uploads import validate_mask

    buffer = io.BytesIO()
    PILImage.new("RGBA", (512, 512), (0, 0, 0, 0)).save(buffer, "PNG")
    mask = validate_mask("mask.png", buffer.getvalue())
    model = ScriptedModel([Image()])
    async with await Atelier.open(settings, model=model) as app:
        session = await app.new_session(user_id="ann")
        (made,) = ready(await collect(session, "a cat"))
        failed = closing(await collect(session, "red sky", target_image=made.image.id, mask=mask))
        assert isinstance(failed, ev.TurnFailed) and "512x512" in failed.error.user_message
        assert len(model.requests) == 1
        assert (await session.turns())[-1].status == "refused"


async def test_a_turn_waiting_behind_another_can_be_cancelled(settings: Settings) -> None:
    model = ScriptedModel([Hold(), Image()], [Image()])
    async with await Atelier.open(settings, model=model) as app:
        session = await app.new_session(user_id="ann")
        first = session.start_turn("a cat")
        await model.holding.wait()
        second = session.start_turn("a dog")  # waits: one Session object, one turn at a time
        second.cancel()
        outcome = await second.wait()
        assert isinstance(outcome, ev.TurnFailed) and isinstance(outcome.error, Cancelled)
        assert [event async for event in second] == [outcome]  # its reader ends too
        model.release.set()
        assert isinstance(await first.wait(), ev.TurnBilled)
        assert [(t.turn, t.status) for t in await session.turns()] == [(1, "ok")]
