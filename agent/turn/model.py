"""The model seam: the one thing the turn loop knows about whoever answers a request.

A ``Model`` takes a Responses API request (the keyword arguments of ``responses.create``,
without ``stream``) and yields the typed stream events of its answer. Failures leave it as
``AtelierError`` (one mapper, ``agent.errors.translate``). Implementations: ``OpenAIModel``
(the SDK client, on the real API or on the embedded engine in process) and
``agent.turn.testing.ScriptedModel`` for tests.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any, Protocol

from openai import AsyncOpenAI
from openai.types.responses import ResponseStreamEvent

from agent.errors import mapped_errors
from agent.turn.sse import iter_events


class Model(Protocol):
    """Whoever answers the turn loop's requests."""

    def stream(self, request: dict[str, Any]) -> AsyncGenerator[ResponseStreamEvent, None]:
        """The events of one streamed response; raises AtelierError for any failure."""
        ...


class OpenAIModel:
    """The AsyncOpenAI client, read with our fast SSE reader (``agent.turn.sse``)."""

    def __init__(self, client: AsyncOpenAI) -> None:
        self.client = client
        _ = client.responses.with_streaming_response  # the SDK imports its resources lazily

    async def stream(self, request: dict[str, Any]) -> AsyncGenerator[ResponseStreamEvent, None]:
        """Send ``request`` with ``stream=True`` and yield its typed events."""
        create: Any = self.client.responses.with_streaming_response.create
        with mapped_errors():
            async with create(**request, stream=True) as response:
                async for event in iter_events(response.iter_bytes()):
                    yield event
