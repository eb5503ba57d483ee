"""Injected faults, per request by header, seen through the real SDK."""

from __future__ import annotations

import asyncio
import time
from contextlib import aclosing
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI

from agent.engine import Engine, EngineConfig
from agent.engine.faults import FaultBook, FaultSpecError
from agent.engine.transport import StreamingASGITransport
from tests.engine.helpers import sdk, tool

DRAW: dict[str, Any] = {
    "model": "gpt-4.1",
    "input": "draw a boat",
    "tools": [tool(partial_images=2)],
}


def _fault(spec: str) -> dict[str, Any]:
    return {"extra_headers": {"x-atelier-fault": spec}}


async def test_rate_limit_with_retry_after_then_recovers(client: AsyncOpenAI) -> None:
    spec = "rate_limit;times=1;retry_after=2.5"
    with pytest.raises(openai.RateLimitError) as info:
        await client.responses.create(**DRAW, **_fault(spec))
    assert info.value.status_code == 429
    assert info.value.response.headers["retry-after"] == "2.5"
    assert info.value.response.headers["retry-after-ms"] == "2500"
    assert isinstance(info.value.body, dict) and info.value.body["code"] == "rate_limit_exceeded"
    again = await client.responses.create(**DRAW, **_fault(spec))
    assert again.status == "completed"


async def test_server_error(client: AsyncOpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as info:
        await client.responses.create(**DRAW, **_fault("server_error"))
    assert info.value.status_code == 500
    assert isinstance(info.value.body, dict) and info.value.body["type"] == "server_error"


async def test_timeout_gives_up_at_the_client_timeout(client: AsyncOpenAI) -> None:
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        await client.responses.create(**DRAW, **_fault("timeout"), timeout=0.3)
    assert 0.25 < time.monotonic() - started < 3


async def test_cut_stream_after_first_partial(client: AsyncOpenAI) -> None:
    seen: list[str] = []
    stream = await client.responses.create(**DRAW, stream=True, **_fault("cut_stream"))
    with pytest.raises((httpx.RemoteProtocolError, openai.APIConnectionError)):
        async with stream:
            async for event in stream:
                seen.append(event.type)
    assert seen[-1] == "response.image_generation_call.partial_image"
    assert seen.count("response.image_generation_call.partial_image") == 1
    assert "response.completed" not in seen


async def test_latency_orders_partials_and_final(client: AsyncOpenAI) -> None:
    started = time.monotonic()
    arrivals: dict[str, list[float]] = {}
    stream = await client.responses.create(
        **DRAW,
        stream=True,
        **_fault("latency=400,800"),
    )
    async with stream:
        async for event in stream:
            arrivals.setdefault(event.type, []).append(time.monotonic() - started)
    first, second = arrivals["response.image_generation_call.partial_image"]
    (final,) = arrivals["response.image_generation_call.completed"]
    assert 0.38 <= first < second < final
    assert second >= 0.58  # spread between 400 and 800 ms
    assert final >= 0.78


async def test_engine_wide_default_fault() -> None:
    engine = Engine(EngineConfig(db_path=None, default_fault="server_error;times=1"))
    try:
        async with httpx.AsyncClient(transport=StreamingASGITransport(engine.asgi)) as http:
            client = sdk(http)
            with pytest.raises(openai.InternalServerError):
                await client.responses.create(model="gpt-4.1", input="hi")
            ok = await client.responses.create(model="gpt-4.1", input="hi")
            assert ok.status == "completed"
    finally:
        await engine.aclose()


def test_fault_grammar() -> None:
    book = FaultBook()
    plan = book.plan_for("latency=1000,2000+cut_stream")
    assert plan.latency == (1000, 2000) and plan.cut_stream
    assert book.plan_for("rate_limit;times=2").rate_limit is not None
    assert book.plan_for("rate_limit;times=2").rate_limit is not None
    assert book.plan_for("rate_limit;times=2").rate_limit is None
    assert not book.plan_for(None).any
    for bad in ("explode", "latency=5", "rate_limit;times=x", "timeout=3", "latency=2,1"):
        with pytest.raises(FaultSpecError):
            FaultBook().plan_for(bad)


async def test_bad_fault_header_is_a_clear_400(client: AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        await client.responses.create(**DRAW, **_fault("explode"))
    assert "Unknown fault 'explode'" in info.value.message


async def test_early_close_cancels_the_app_without_leaks(http: httpx.AsyncClient) -> None:
    before = asyncio.all_tasks()
    # The line iterator is closed explicitly: left to the garbage collector, its aclose()
    # would be a task of its own that may still be pending when we look.
    async with (
        http.stream(
            "POST",
            "/responses",
            json={**DRAW, "stream": True},
            headers={"x-atelier-fault": "latency=5000,10000"},
        ) as response,
        aclosing(response.aiter_lines()) as lines,
    ):
        async for line in lines:
            if line.startswith("data: "):
                break  # leave after response.created; the engine is stalled on latency
    # A generator the garbage collector finalises gets an aclose() task of its own: give
    # such tasks a moment to finish. A leak is a task that is still running after that.
    started = asyncio.all_tasks() - before
    if started:
        await asyncio.wait(started, timeout=5)
    assert {task for task in started if not task.done()} == set()
