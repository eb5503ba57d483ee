"""Replay real recorded exchanges through the whole app: SDK -> SSE reader -> turn loop ->
store -> bill.

Each test serves recordings from a loopback replay server (tests/conformance/replay.py) and
opens Atelier with ``OPENAI_API_KEY``/``OPENAI_BASE_URL`` pointed at it, so the request goes
out through ``build_client``'s real-API path. Expected bills are computed here from the
recorded usage and genai-prices rates (``openai_list_rates``), not from the billing code.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from agent.billing.bills import image_tokens_for
from agent.billing.pricing import openai_list_rates
from agent.config import Settings
from agent.runtime import Atelier
from agent.session_settings import SessionSettings
from agent.store.records import CostLine
from agent.turn.events import (
    AgentEvent,
    ImageFailed,
    ImageReady,
    PartialImage,
    TurnBilled,
    TurnFailed,
)
from agent.turn.session import Session
from tests.conformance.replay import ReplayServer, all_names, final_response, load, serving

JsonDict = dict[str, Any]
CENT = Decimal("0.01")
GPT5_IMAGE = "ig_0df93c0bb83a72f20068c979f589c0819e9f0fc2d1a27aa1b8"
AZURE_IMAGE = "ig_0ca0ba552749d18c0069414e512d78819791ec2c3fe1d486b8"


@dataclass
class Replay:
    """An app on a replay server: the session, what the server received, the recordings."""

    app: Atelier
    session: Session
    server: ReplayServer
    exchanges: list[JsonDict]

    async def turn(self, text: str = "draw it", **kwargs: Any) -> list[AgentEvent]:
        """Run one turn and return all its events."""
        return [event async for event in self.session.run_turn(text, **kwargs)]


@asynccontextmanager
async def replaying(
    tmp_path: Path, exchanges: list[JsonDict], **chosen: Any
) -> AsyncIterator[Replay]:
    """Atelier on a loopback replay server of ``exchanges``; session settings ``chosen``."""
    server = ReplayServer(exchanges)
    async with serving(server) as base_url:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            data_dir=tmp_path / "data",
            openai_api_key="sk-replay",
            openai_base_url=base_url,
            max_retries=0,
        )
        app = await Atelier.open(settings)
        try:
            session = await app.new_session(
                user_id="replay", settings=SessionSettings(**{"partial_images": 2, **chosen})
            )
            yield Replay(app, session, server, exchanges)
        finally:
            await app.aclose()


def exchanges_of(*names: str, pick: tuple[int, ...] | None = None) -> list[JsonDict]:
    """The exchanges of recordings ``names`` in order (``pick``: indexes into that list)."""
    found = [x for name in names for x in load(name)["exchanges"]]
    return [found[i] for i in pick] if pick is not None else found


def closing(events: list[AgentEvent]) -> TurnBilled | TurnFailed:
    """The turn's last event, which is always TurnBilled or TurnFailed."""
    last = events[-1]
    assert isinstance(last, TurnBilled | TurnFailed), events
    return last


def of(events: list[AgentEvent], kind: type[Any]) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


def lines_by_kind(lines: tuple[CostLine, ...]) -> dict[str, CostLine]:
    by_kind = {line.kind: line for line in lines}
    assert len(by_kind) == len(lines), lines
    return by_kind


def expected_text_lines(model: str, usage: JsonDict) -> dict[str, tuple[int, Decimal | None]]:
    """(tokens, cost) per text line: recorded usage x genai-prices rates, done by hand."""
    rates = openai_list_rates(model)
    cached = usage.get("input_tokens_details", {}).get("cached_tokens", 0)
    tokens = {
        "text_input": usage["input_tokens"] - cached,
        "text_cached_input": cached,
        "text_output": usage["output_tokens"],
    }
    fields = {
        "text_input": "text_input",
        "text_cached_input": "cached_text_input",
        "text_output": "text_output",
    }
    out: dict[str, tuple[int, Decimal | None]] = {}
    for kind, count in tokens.items():
        if count:
            rate = getattr(rates, fields[kind]) if rates is not None else None
            out[kind] = (count, None if rate is None else rate * count / Decimal(1_000_000))
    return out


def assert_text_bill(lines: tuple[CostLine, ...], model: str, usage: JsonDict) -> None:
    """The bill's text lines equal the recorded usage times the rates, to the token and cent."""
    got = {k: v for k, v in lines_by_kind(lines).items() if k.startswith("text_")}
    want = expected_text_lines(model, usage)
    assert {k: line.tokens for k, line in got.items()} == {k: t for k, (t, _) in want.items()}
    for kind, (_, cost) in want.items():
        assert got[kind].cost_usd == cost, kind
        assert got[kind].estimated is False
    total = sum((c for _, c in want.values() if c is not None), Decimal(0))
    billed = sum((line.cost_usd or Decimal(0) for line in got.values()), Decimal(0))
    assert billed.quantize(CENT) == total.quantize(CENT)


def recorded_usage(exchange: JsonDict) -> JsonDict:
    response = final_response(exchange)
    assert response is not None
    usage: JsonDict = response["usage"]
    return usage


# --------------------------------------------------------------------- gpt-5 with partials


async def test_gpt5_stream_keeps_image_with_its_id_and_real_format(tmp_path: Path) -> None:
    """vercel/ai's live gpt-5 stream: webp image with one partial, cached input."""
    exchanges = exchanges_of("vercel_openai_gpt5_image_stream")
    async with replaying(tmp_path, exchanges, mainline_model="gpt-5") as replay:
        events = await replay.turn("draw an echidna swimming")
        ready = of(events, ImageReady)
        assert [r.image.id for r in ready] == [GPT5_IMAGE]
        image = ready[0].image
        assert (image.output_format, image.size, image.quality) == ("webp", "1536x1024", "low")
        assert image.parent_id is None and image.action == "generate"
        assert image.reasoning_item_id == "rs_0df93c0bb83a72f20068c979db90b4819e94cedbfda2d49af6"
        billed = closing(events)
        assert isinstance(billed, TurnBilled)
        assert billed.response_id == "resp_0df93c0bb83a72f20068c979db26ac819e8b5a444fad3f0d7f"
        assert_text_bill(billed.bill.lines, "gpt-5", recorded_usage(exchanges[0]))
        stored = await replay.session.images()
        assert [(i.id, i.output_format) for i in stored] == [(image.id, "webp")]
        assert Path(image.path).read_bytes()[8:12] == b"WEBP"


async def test_partial_image_format_comes_from_the_event(tmp_path: Path) -> None:
    """The partial is webp on the wire; the session asked for png."""
    exchanges = exchanges_of("vercel_openai_gpt5_image_stream")
    async with replaying(tmp_path, exchanges, mainline_model="gpt-5", output_format="png") as r:
        events = await r.turn()
        partials = of(events, PartialImage)
        assert len(partials) == 1
        assert partials[0].data[8:12] == b"WEBP"
        assert partials[0].output_format == "webp"


async def test_missing_tool_usage_is_estimated_from_the_image(tmp_path: Path) -> None:
    """No ``tool_usage`` in the recording: image output and the image model's text input are
    estimated (and say so), never silently $0."""
    exchanges = exchanges_of("vercel_openai_gpt5_image_stream")
    async with replaying(tmp_path, exchanges, mainline_model="gpt-5") as replay:
        billed = closing(await replay.turn())
        assert isinstance(billed, TurnBilled)
        lines = lines_by_kind(billed.bill.lines)
        model = replay.session.settings.image_model
        out = lines["image_output"]
        assert out.estimated and out.model == model
        assert out.tokens == image_tokens_for(model, "1536x1024", "low") + 100  # one partial
        rates = openai_list_rates(model)
        assert rates is not None and rates.image_output is not None
        assert out.cost_usd == rates.image_output * out.tokens / Decimal(1_000_000)
        text_in = lines["image_text_input"]
        assert text_in.estimated and text_in.tokens > 0 and text_in.cost_usd


# ---------------------------------------------------------------- Azure: status "generating"


async def test_azure_stream_image_with_status_generating_is_kept(tmp_path: Path) -> None:
    """Azure's stream: no image_generation_call.completed, output_item.done says
    "generating" with a full result. The image is kept and billed."""
    exchanges = exchanges_of("vercel_azure_image_stream")
    async with replaying(tmp_path, exchanges, mainline_model="gpt-4.1-mini") as replay:
        events = await replay.turn("draw a raccoon waving hello")
        assert not of(events, ImageFailed)
        ready = of(events, ImageReady)
        assert [r.image.id for r in ready] == [AZURE_IMAGE]
        assert (ready[0].image.output_format, ready[0].image.size) == ("png", "1024x1024")
        billed = closing(events)
        assert isinstance(billed, TurnBilled)
        assert_text_bill(billed.bill.lines, "gpt-4.1-mini", recorded_usage(exchanges[0]))
        image_lines = [line for line in billed.bill.lines if line.kind.startswith("image")]
        assert image_lines and all(line.cost_usd for line in image_lines)
        assert [i.id for i in await replay.session.images()] == [ready[0].image.id]


# ------------------------------------------------------------ text turn after an image turn


async def test_text_only_turn_after_image_turn(tmp_path: Path) -> None:
    """An image turn (vercel/ai gpt-5 stream) then a text-only turn (pydantic-ai, gpt-5 with
    the image tool): the second is chained and billed for text only."""
    exchanges = exchanges_of(
        "vercel_openai_gpt5_image_stream", "pydantic_gpt5_text_then_image", pick=(0, 1)
    )
    async with replaying(tmp_path, exchanges, mainline_model="gpt-5") as replay:
        first = closing(await replay.turn("draw an echidna"))
        assert isinstance(first, TurnBilled)
        events = await replay.turn("tell me a two-sentence story about it")
        second = closing(events)
        assert isinstance(second, TurnBilled)
        assert not of(events, ImageReady)
        assert replay.server.requests[1]["previous_response_id"] == first.response_id
        assert {line.kind for line in second.bill.lines} <= {
            "text_input",
            "text_cached_input",
            "text_output",
        }
        assert_text_bill(second.bill.lines, "gpt-5", recorded_usage(exchanges[1]))
        assert second.usage.image.is_empty
        assert len(await replay.session.images()) == 1


# ------------------------------------------------------------------ refinement keeps parent


async def test_refinement_keeps_parent_and_replays_reasoning(tmp_path: Path) -> None:
    """pydantic-ai's two gpt-5 image responses, the second one refining: the new image's
    parent is the first, and the request named the first image and its reasoning item."""
    exchanges = exchanges_of("pydantic_gpt5_image_replayed")
    async with replaying(tmp_path, exchanges, mainline_model="gpt-5") as replay:
        first_events = await replay.turn("Generate an image of an axolotl.")
        first = of(first_events, ImageReady)[0].image
        assert first.id == "ig_68cdec307db4819fbc6af5c42bc6f373079003437d26d0c0"
        events = await replay.turn("make it more detailed", target_image=first.id)
        second = of(events, ImageReady)[0].image
        assert second.id == "ig_68cdec701280819fab216c216ff58efe079003437d26d0c0"
        assert second.parent_id == first.id and second.action == "edit"
        assert (second.output_format, second.size, second.quality) == ("png", "1024x1024", "high")
        sent = replay.server.requests[1]["input"]
        assert {"type": "image_generation_call", "id": first.id} in sent
        replayed = [i.get("id") for i in sent if i.get("type") == "reasoning"]
        assert first.reasoning_item_id in replayed
        billed = closing(events)
        assert isinstance(billed, TurnBilled)
        assert_text_bill(billed.bill.lines, "gpt-5", recorded_usage(exchanges[1]))
        lineage = await replay.session.lineage(second.id)
        assert [i.id for i in lineage][-2:] in ([first.id, second.id], [second.id, first.id])


async def test_jpeg_image_keeps_its_format(tmp_path: Path) -> None:
    exchanges = exchanges_of("pydantic_gpt5_jpeg")
    async with replaying(tmp_path, exchanges, mainline_model="gpt-5") as replay:
        events = await replay.turn("Generate an image of axolotl.")
        image = of(events, ImageReady)[0].image
        assert (image.output_format, image.size, image.quality) == ("jpeg", "1536x1024", "high")
        assert Path(image.path).read_bytes()[:3] == b"\xff\xd8\xff"
        billed = closing(events)
        assert isinstance(billed, TurnBilled)
        assert_text_bill(billed.bill.lines, "gpt-5", recorded_usage(exchanges[0]))


async def test_reasoning_item_before_the_image_is_the_one_kept(tmp_path: Path) -> None:
    """gpt-5-nano's response has a reasoning item before and another after the image."""
    exchanges = exchanges_of("vercel_openai_gpt5nano_image")
    async with replaying(tmp_path, exchanges, mainline_model="gpt-5-nano") as replay:
        events = await replay.turn("draw a cat on a windowsill")
        image = of(events, ImageReady)[0].image
        assert image.reasoning_item_id == "rs_0a33d15155cb126d0068c96c5527808195a933b468ccb5dfd9"
        assert image.output_format == "webp"
        billed = closing(events)
        assert isinstance(billed, TurnBilled)
        assert_text_bill(billed.bill.lines, "gpt-5-nano", recorded_usage(exchanges[0]))


# ------------------------------------------------------- store false, tool_usage, no header


async def test_store_false_with_tool_usage_and_no_created_event(tmp_path: Path) -> None:
    """windai's gpt-5.4 stream (store false, effort none, tool_usage all zero) starts at the
    first output item: no response.created. Only function calls came back."""
    exchanges = exchanges_of("windai_gpt54_store_false_functions_stream")
    async with replaying(tmp_path, exchanges, mainline_model="gpt-5.4", store=False) as replay:
        events = await replay.turn("what is the weather in Shanghai")
        billed = closing(events)
        assert isinstance(billed, TurnBilled)
        assert replay.server.requests[0]["store"] is False
        assert billed.response_id == "resp_03c724975b1dc3ab0169f9f800e9ac819196212334c1889489"
        assert billed.usage.image.is_empty
        assert (billed.usage.text.input_tokens, billed.usage.text.output_tokens) == (146, 51)
        assert_text_bill(billed.bill.lines, "gpt-5.4", recorded_usage(exchanges[0]))
        assert not [line for line in billed.bill.lines if line.kind.startswith("image")]


async def test_function_call_only_response_is_billed(tmp_path: Path) -> None:
    """pydantic-ai's first gpt-5 response: reasoning and a function call, no message."""
    exchanges = exchanges_of("pydantic_gpt5_function_then_image", pick=(0,))
    async with replaying(tmp_path, exchanges, mainline_model="gpt-5") as replay:
        events = await replay.turn("Generate an image of the animal returned by get_animal.")
        billed = closing(events)
        assert isinstance(billed, TurnBilled)
        assert not of(events, ImageReady)
        assert_text_bill(billed.bill.lines, "gpt-5", recorded_usage(exchanges[0]))


# -------------------------------------------------------------------------- odd and errors


async def test_undecodable_result_is_an_image_failed_and_the_turn_is_recorded(
    tmp_path: Path,
) -> None:
    """vercel/ai's fixture as published: its base64 was cut with '...'. The call becomes an
    ImageFailed with a clear message; the turn is recorded and billed for its text."""
    exchanges = exchanges_of("vercel_openai_gpt5_image_stream_verbatim")
    async with replaying(tmp_path, exchanges, mainline_model="gpt-5") as replay:
        events = await replay.turn("draw an echidna")
        failed = of(events, ImageFailed)
        assert [f.call_id for f in failed] == [GPT5_IMAGE]
        assert "image" in failed[0].error.user_message.lower()
        assert not of(events, ImageReady)
        last = closing(events)
        lines = last.bill.lines if isinstance(last, TurnBilled) else last.spent.lines
        assert_text_bill(lines, "gpt-5", recorded_usage(exchanges[0]))
        turns = await replay.session.turns()
        assert len(turns) == 1 and turns[0].bill.lines == lines


async def test_recorded_400_is_a_clear_failure(tmp_path: Path) -> None:
    """pydantic-ai's recorded 400 (temperature below 0): one request, no retry, the API's
    message kept, the turn recorded as failed with nothing billed."""
    exchanges = exchanges_of("pydantic_http_error")
    async with replaying(tmp_path, exchanges, mainline_model="gpt-4o") as replay:
        events = await replay.turn("What is the capital of France?")
        failed = closing(events)
        assert isinstance(failed, TurnFailed)
        assert "temperature" in failed.error.user_message
        assert len(replay.server.requests) == 1
        assert failed.spent.lines == ()
        turns = await replay.session.turns()
        assert [t.status for t in turns] == ["failed"]


@pytest.mark.parametrize("name", all_names())
async def test_every_recording_replays_without_crashing(tmp_path: Path, name: str) -> None:
    """Each exchange of each recording, as one turn: it always ends in TurnBilled or
    TurnFailed, and the turn is in the store."""
    exchanges = load(name)["exchanges"]
    async with replaying(tmp_path, exchanges, mainline_model="gpt-5") as replay:
        for _ in exchanges:
            closing(await replay.turn("draw it"))
        assert len(await replay.session.turns()) == len(exchanges)
