"""Two widely used clients against ``atelier engine`` over HTTP, offline.

openai-agents' ``Runner`` with ``ImageGenerationTool`` plus one ``@function_tool``, and
pydantic-ai's ``Agent`` with the ``ImageGeneration`` capability plus one tool: a generation
(after a function call), a refinement, and a streamed run each. The engine runs as the real
``atelier engine`` subprocess on a free loopback port.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from agents import (
    Agent,
    ImageGenerationTool,
    OpenAIResponsesModel,
    RunConfig,
    Runner,
    function_tool,
)
from openai import AsyncOpenAI
from pydantic_ai import Agent as PydanticAgent
from pydantic_ai import BinaryImage
from pydantic_ai.capabilities import ImageGeneration
from pydantic_ai.models.openai import OpenAIResponsesModel as PydanticResponsesModel
from pydantic_ai.providers.openai import OpenAIProvider

IMAGE_TOOL = {
    "type": "image_generation",
    "size": "1024x1024",
    "quality": "low",
    "partial_images": 1,
}
NO_TRACING = RunConfig(tracing_disabled=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        assert proc.poll() is None, "atelier engine exited"
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise AssertionError(f"atelier engine did not listen on {port}")


@pytest.fixture
def engine_process(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """``atelier engine`` as a subprocess on a free loopback port."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env["ATELIER_DATA_DIR"] = str(tmp_path / "engine-data")
    atelier = Path(sys.executable).parent / "atelier"
    proc = subprocess.Popen(
        [str(atelier), "engine", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        yield port, proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
async def client(engine_process: tuple[int, subprocess.Popen[bytes]]) -> AsyncIterator[AsyncOpenAI]:
    port, proc = engine_process
    await _wait_listening(port, proc)
    async with AsyncOpenAI(
        api_key="offline", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0
    ) as sdk:
        yield sdk


def _is_png(data: bytes) -> bool:
    return data[:8] == b"\x89PNG\r\n\x1a\n"


async def test_openai_agents_function_tool_then_image_then_refinement(client: AsyncOpenAI) -> None:
    moods: list[str] = []

    @function_tool
    def get_palette(mood: str) -> str:
        """Return a colour palette for a mood."""
        moods.append(mood)
        return "teal and coral"

    agent = Agent(
        name="studio",
        instructions="You are an image studio.",
        model=OpenAIResponsesModel("gpt-5", client),
        tools=[ImageGenerationTool(tool_config=IMAGE_TOOL), get_palette],  # type: ignore[arg-type]
    )
    first = await Runner.run(
        agent,
        "Call get_palette for a 'calm' mood, then draw a poster of a lighthouse",
        run_config=NO_TRACING,
    )
    assert moods == ["calm"]
    raws = [getattr(item, "raw_item", None) for item in first.new_items]
    kinds = [getattr(raw, "type", None) for raw in raws]
    assert kinds.count("function_call") == 1 and "image_generation_call" in kinds
    image = next(r for r in raws if getattr(r, "type", None) == "image_generation_call")
    assert _is_png(base64.b64decode(image.result))  # type: ignore[union-attr]
    assert isinstance(first.final_output, str) and first.final_output
    assert first.last_response_id

    refined = await Runner.run(
        agent, "make it warmer", previous_response_id=first.last_response_id, run_config=NO_TRACING
    )
    edits = [
        item.raw_item
        for item in refined.new_items
        if getattr(item.raw_item, "type", None) == "image_generation_call"
    ]
    assert [getattr(e, "action", None) for e in edits] == ["edit"]


async def test_openai_agents_streaming(client: AsyncOpenAI) -> None:
    agent = Agent(
        name="studio",
        model=OpenAIResponsesModel("gpt-5", client),
        tools=[ImageGenerationTool(tool_config=IMAGE_TOOL)],  # type: ignore[arg-type]
    )
    run = Runner.run_streamed(agent, "draw a fox poster", run_config=NO_TRACING)
    types = [e.data.type async for e in run.stream_events() if e.type == "raw_response_event"]
    assert "response.image_generation_call.partial_image" in types
    assert types[-1] == "response.completed"
    assert isinstance(run.final_output, str)


def _pydantic_agent(client: AsyncOpenAI, animals: list[str]) -> PydanticAgent[None, BinaryImage]:
    model = PydanticResponsesModel("gpt-5", provider=OpenAIProvider(openai_client=client))
    agent = PydanticAgent(
        model,
        capabilities=[ImageGeneration(quality="low", size="1024x1024", local=False)],
        output_type=BinaryImage,
    )

    @agent.tool_plain
    def get_animal() -> str:
        """The animal to draw."""
        animals.append("axolotl")
        return "axolotl"

    return agent


async def test_pydantic_ai_function_tool_then_image_then_refinement(client: AsyncOpenAI) -> None:
    animals: list[str] = []
    agent = _pydantic_agent(client, animals)
    first = await agent.run("Generate an image of the animal returned by the get_animal tool.")
    assert animals == ["axolotl"]
    assert first.output.media_type == "image/png" and _is_png(first.output.data)
    assert first.usage.requests == 2 and first.usage.input_tokens > 1_000
    refined = await agent.run("make it warmer", message_history=first.all_messages())
    assert _is_png(refined.output.data)
    assert refined.output.data != first.output.data


async def test_pydantic_ai_streaming(client: AsyncOpenAI) -> None:
    agent = _pydantic_agent(client, [])
    async with agent.run_stream("draw a fox poster") as run:
        output = await run.get_output()
    assert isinstance(output, BinaryImage) and _is_png(output.data)
