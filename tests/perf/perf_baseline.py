"""The baseline: the same requests straight to the engine with the openai SDK, no app.

Why a standalone ``atelier engine`` subprocess: on the app side the engine runs inside the
server process while the simulated users run in this (driver) process, so the server gets a
core and an interpreter lock of its own. The baseline keeps that shape: the engine alone in
its own process, the SDK clients here. Running the engine in-process with 100 SDK streams
would make engine and clients share one GIL and slow the baseline down (measured: the app
then looked 35% *faster* than its own engine). The price is one loopback HTTP hop (uvicorn)
the app does not make: it makes the baseline a little slower, so latency ratios lean
slightly in the app's favour; it is small next to second-long turns. The partial delay is
timed from the engine's own emission on both sides.

The requests are the app's own: ``agent.turn.requests.build_request`` with the studio profile's
instructions and default settings, chained by ``previous_response_id`` like a session does,
through ``agent.turn.client.build_client`` (so the SDK is configured as the app's). The
stream is read light: events are split and parsed as JSON with the big base64 strings
spliced out (``agent.images.b64.loads``), never built into typed SDK objects. The SDK's own
decoder, and even the app's typed reader, made the load generator use more than half a core
at N=100 burst, and the baseline then measured the generator, not the engine.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from perf_plan import LoadConfig
from perf_proc import HOST, ServerProcess, free_port, own_cpu_s
from perf_stats import SideResult
from perf_trace import read_trace
from pydantic import SecretStr

from agent.config import Settings
from agent.images import b64
from agent.prompts import PromptBook
from agent.session_settings import SessionSettings
from agent.turn.client import build_client
from agent.turn.requests import build_request


def engine_server(cfg: LoadConfig, workdir: Path, name: str = "engine") -> ServerProcess:
    """The engine alone over HTTP (as ``atelier engine``) on a free port, same latency."""
    port = free_port()
    env = {
        "ATELIER_DATA_DIR": str(workdir / f"{name}-data"),
        "ATELIER_ENGINE_FAULT": cfg.fault,
        "ATELIER_LOG_LEVEL": "WARNING",
        "ATELIER_PERF_TRACE": str(workdir / f"{name}-emissions.jsonl"),
    }
    command = ["engine", "--host", HOST, "--port", str(port)]
    return ServerProcess(
        command, env, port=port, ready_path="/v1/models", log_path=workdir / f"{name}.log"
    )


def client_settings(cfg: LoadConfig, base_url: str) -> Settings:
    """Settings for the SDK client: the engine's URL, the app server's image settings."""
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        openai_api_key=SecretStr("atelier-perf"),
        openai_base_url=f"{base_url}/v1",
        size=cfg.size,
        partial_images=cfg.partial_images,
    )


class _Baseline:
    def __init__(self, cfg: LoadConfig, settings: Settings) -> None:
        self.cfg = cfg
        self.client = build_client(settings)
        self.instructions = PromptBook.load(settings.prompts_dir).for_profile("studio")
        self.session_settings = SessionSettings.defaults(settings, "studio")
        self.received: list[tuple[str, int, float]] = []

    async def user(self, result: SideResult, index: int, texts: list[str], delay_s: float) -> None:
        await asyncio.sleep(delay_s)  # the ramp: this user's start time, not a wait-for-event
        session_id = uuid.uuid4().hex
        previous: str | None = None
        for turn, text in enumerate(texts, start=1):
            if turn > 1 and self.cfg.think_s:
                await asyncio.sleep(self.cfg.think_s)  # the user looks at the result
            request = build_request(
                settings=self.session_settings,
                instructions=self.instructions,
                text=text,
                previous_response_id=previous,
                metadata={"atelier_session": session_id, "turn": str(turn)},
            )
            started = time.monotonic()
            try:
                async with asyncio.timeout(self.cfg.turn_timeout_s):
                    previous = await self._turn(request)
            except TimeoutError:
                result.errors.append(f"baseline user {index} turn {turn}: timed out")
                return
            except Exception as exc:  # every failure is counted, with its text
                result.errors.append(f"baseline user {index} turn {turn}: {exc!r}"[:300])
                return
            result.turn_latency_ms.append((time.monotonic() - started) * 1000)
            result.turns_ok += 1

    async def _turn(self, request: dict[str, Any]) -> str:
        """Stream one response; returns its id. Raises on a failed response or no image."""
        response_id: str | None = None
        images = 0
        create: Any = self.client.responses.with_streaming_response.create
        async with create(**request, stream=True) as response:
            async for event in light_events(response.iter_bytes()):
                kind = event.get("type")
                if kind == PARTIAL_EVENT:
                    self.received.append(
                        (event["item_id"], int(event["partial_image_index"]), time.monotonic())
                    )
                elif kind == "response.output_item.done":
                    item = event["item"]
                    if item.get("type") == "image_generation_call":
                        if item.get("status") != "completed" or not item.get("result"):
                            raise RuntimeError(f"image call {item.get('id')} ended badly")
                        images += 1
                elif kind == "response.completed":
                    response_id = str(event["response"]["id"])
                elif kind in ("response.failed", "error"):
                    raise RuntimeError(f"stream says {kind}: {event!r}"[:300])
        if response_id is None:
            raise RuntimeError("the stream ended without response.completed")
        if images == 0:
            raise RuntimeError("the response made no image")
        return response_id


PARTIAL_EVENT = "response.image_generation_call.partial_image"
_BIG_FIELDS = ("partial_image_b64", "result")


async def light_events(chunks: AsyncIterator[bytes]) -> AsyncIterator[dict[str, Any]]:
    """Server-sent events as plain dicts, big base64 strings kept out of the JSON parser."""
    buffer = bytearray()
    async for chunk in chunks:
        scan = max(0, len(buffer) - 1)
        buffer += chunk
        start = 0
        while (end := buffer.find(b"\n\n", max(start, scan))) >= 0:
            block = bytes(buffer[start:end])
            start = end + 2
            at = block.find(b"data:")
            if at >= 0:
                data = block[at + 5 :].strip().decode("utf-8")
                if data != "[DONE]":
                    yield b64.loads(data, _BIG_FIELDS)
        del buffer[:start]


async def run_baseline(cfg: LoadConfig, workdir: Path) -> SideResult:
    """Start the engine, warm up, run ``cfg.users`` concurrent users on it, stop it."""
    server = engine_server(cfg, workdir)
    result = SideResult()
    await server.start()
    base = _Baseline(cfg, client_settings(cfg, server.base_url))
    try:
        texts = cfg.texts()
        if cfg.warmup_turns:
            warm = SideResult()
            await base.user(warm, -1, texts[: cfg.warmup_turns], 0.0)
            result.errors.extend(f"warm-up: {e}" for e in warm.errors)
            base.received.clear()
        began, cpu_before = time.monotonic(), own_cpu_s()
        try:
            async with asyncio.timeout(cfg.time_limit_s):
                await asyncio.gather(
                    *(base.user(result, i, texts, cfg.start_offset_s(i)) for i in range(cfg.users))
                )
        except TimeoutError:
            result.errors.append(f"baseline: time limit of {cfg.time_limit_s} s reached")
        result.wall_s = time.monotonic() - began
        result.generator_core_share = round((own_cpu_s() - cpu_before) / result.wall_s, 3)
    finally:
        await base.client.close()
        await server.stop()
    emitted = await asyncio.to_thread(read_trace, Path(server.env["ATELIER_PERF_TRACE"]))
    for item_id, index, t in base.received:
        sent = emitted.get((item_id, index))
        if sent is None:
            result.partials_unmatched += 1
        else:
            delay = (t - sent) * 1000
            result.partial_delay_ms.append(delay)
            result.partial_fetch_ms.append(delay)  # an SSE event carries the bytes themselves
    if result.errors:
        print(f"engine log tail:\n{server.log_tail(20)}", file=sys.stderr)
    return result
