"""Fixtures: an in-memory engine and the real AsyncOpenAI SDK on the streaming transport."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from openai import AsyncOpenAI

from agent.engine import Engine, EngineConfig
from agent.engine.transport import StreamingASGITransport
from tests.engine.helpers import BASE_URL, BLOCKLIST, sdk


@pytest.fixture
async def engine() -> AsyncIterator[Engine]:
    eng = Engine(EngineConfig(db_path=None, blocklist=BLOCKLIST))
    yield eng
    await eng.aclose()


@pytest.fixture
async def http(engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=StreamingASGITransport(engine.asgi), base_url=BASE_URL, timeout=60
    ) as client:
        yield client


@pytest.fixture
async def client(http: httpx.AsyncClient) -> AsyncIterator[AsyncOpenAI]:
    client = sdk(http)
    yield client
    await client.close()
