"""The one place an ``AsyncOpenAI`` client is built.

With no API key the client talks to the embedded engine in-process (streaming ASGI
transport, no network); with a key it is the real client. Either way ``max_retries=0``: the
agent loop does its own bounded retries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import httpx
from openai import AsyncOpenAI

from agent.config import Settings

if TYPE_CHECKING:
    from agent.engine import Engine

EMBEDDED_BASE_URL = "http://atelier-engine/v1"
EMBEDDED_API_KEY = "atelier-embedded"


def build_client(settings: Settings, engine: Engine | None = None) -> AsyncOpenAI:
    """An AsyncOpenAI client for ``settings``.

    Embedded mode (no key) needs the engine to talk to; pass the one the app owns (and closes).
    If none is given, one is created from the settings, and the caller owns nothing to close
    beyond the client (its database opens lazily; prefer passing an engine in long-lived code).
    """
    timeout = httpx.Timeout(settings.request_timeout_s, connect=10.0)
    if settings.use_embedded_engine:
        from agent.engine import Engine, EngineConfig  # only when used: never with a key
        from agent.engine.transport import StreamingASGITransport

        target = engine if engine is not None else Engine(EngineConfig.from_settings(settings))
        return AsyncOpenAI(
            api_key=EMBEDDED_API_KEY,
            base_url=EMBEDDED_BASE_URL,
            # The SDK (on httpx2) accepts a classic httpx client at runtime; its stubs do not.
            http_client=cast(
                Any,
                httpx.AsyncClient(transport=StreamingASGITransport(target.asgi), timeout=timeout),
            ),
            max_retries=0,
        )
    assert settings.openai_api_key is not None
    return AsyncOpenAI(
        api_key=settings.openai_api_key.get_secret_value(),
        base_url=settings.openai_base_url,
        organization=settings.openai_org_id,
        max_retries=0,
        timeout=settings.request_timeout_s,
    )
