"""The engine under uvicorn on a real 127.0.0.1 port, through the SDK's default client."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import pytest
from openai import APITimeoutError, AsyncOpenAI

from agent.engine import EngineConfig, serve


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _wait_listening(port: int) -> None:
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.02)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise AssertionError(f"engine did not listen on {port}")


async def test_serve_over_http_then_shut_down() -> None:
    port = _free_port()
    server = asyncio.create_task(serve("127.0.0.1", port, EngineConfig(db_path=None)))
    try:
        await _wait_listening(port)
        async with AsyncOpenAI(
            api_key="t", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0
        ) as sdk:
            response = await sdk.responses.create(model="gpt-4.1", input="hello")
            assert "image studio" in response.output_text
            # Streaming over real HTTP: every event arrives, ending with response.completed.
            stream = await sdk.responses.create(
                model="gpt-4.1",
                input="draw a lighthouse poster",
                tools=[{"type": "image_generation", "size": "1024x1024", "partial_images": 1}],
                stream=True,
            )
            types = [event.type async for event in stream]
            assert types[-1] == "response.completed"
            assert "response.image_generation_call.partial_image" in types
            # The timeout fault stalls instead of ending the body at once.
            with pytest.raises(APITimeoutError):
                await sdk.responses.create(
                    model="gpt-4.1",
                    input="hello",
                    extra_headers={"x-atelier-fault": "timeout"},
                    timeout=0.5,
                )
    finally:
        server.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await server
    assert server.done()
    with socket.socket() as sock:  # the port is free again: the server closed its socket
        sock.bind(("127.0.0.1", port))
