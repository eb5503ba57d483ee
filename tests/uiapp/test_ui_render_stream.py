"""The renderer's cheap paths: coalesced text, superseded partials, previews before the end.

Chainlit's socket emitter is the boundary: a recording emitter stands in for the browser,
everything above it (messages, elements, files in a temp ``.files``) is Chainlit's own.
"""

from __future__ import annotations

import asyncio
import base64
import io
import uuid
from pathlib import Path
from typing import Any

import chainlit.config
import pytest
from chainlit.context import ChainlitContext, context_var
from chainlit.emitter import BaseChainlitEmitter
from chainlit.session import HTTPSession
from PIL import Image

from agent.errors import UpstreamError
from agent.turn import events as ev
from ui.render import TEXT_FLUSH_S, TurnRenderer

SID = "session-1"
CALL = "ig_0123456789abcdef"


class RecordingEmitter(BaseChainlitEmitter):
    """Keeps what would go over the socket, in order."""

    def __init__(self, session: HTTPSession) -> None:
        super().__init__(session)
        self.sent: list[tuple[str, Any]] = []
        self.element_sent = asyncio.Event()

    async def send_step(self, step_dict: Any) -> None:
        self.sent.append(("send_step", step_dict))

    async def update_step(self, step_dict: Any) -> None:
        self.sent.append(("update_step", step_dict))

    async def stream_start(self, step_dict: Any) -> None:
        self.sent.append(("token", step_dict["output"]))

    async def send_token(self, id: str, token: str, is_sequence: bool = False, **_: Any) -> None:
        self.sent.append(("token", token))

    async def send_element(self, element_dict: Any) -> None:
        self.sent.append(("element", element_dict))
        self.element_sent.set()

    async def emit(self, event: str, data: Any) -> None:
        self.sent.append((event, data))


@pytest.fixture(autouse=True)
def _files_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chainlit.config, "FILES_DIRECTORY", tmp_path)


def _browser() -> RecordingEmitter:
    """A Chainlit context for this test's task, whose socket is a recording emitter."""
    session = HTTPSession(id=str(uuid.uuid4()), client_type="webapp", thread_id="t1")
    recorder = RecordingEmitter(session)
    context_var.set(ChainlitContext(session, recorder))
    return recorder


def _png(shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (shade, shade, shade)).save(buffer, "PNG")
    return buffer.getvalue()


async def test_text_deltas_are_coalesced_and_sent_before_the_next_event() -> None:
    emitter = _browser()
    renderer = TurnRenderer()
    words = [f"word{n} " for n in range(40)]
    for word in words:  # 40 deltas well within one flush interval
        await renderer.render(ev.TextDelta(SID, word))
    await renderer.render(ev.ImageCallStarted(SID, CALL, "generate", "1024x1024", "low", None))
    tokens = [data for kind, data in emitter.sent if kind == "token"]
    assert "".join(tokens) == "".join(words)
    assert len(tokens) <= 2  # one socket message now, at most one more per TEXT_FLUSH_S
    first_step = next(i for i, (kind, _) in enumerate(emitter.sent) if kind == "send_step")
    last_token = max(i for i, (kind, _) in enumerate(emitter.sent) if kind == "token")
    assert last_token < first_step  # the text is out before the image message
    assert TEXT_FLUSH_S <= 0.05


async def test_a_newer_partial_replaces_one_not_drawn_and_none_follows_the_end() -> None:
    emitter = _browser()
    renderer = TurnRenderer()
    await renderer.render(ev.ImageCallStarted(SID, CALL, "generate", "1024x1024", "low", None))
    # Two partials back to back: the first has not been drawn when the second arrives.
    await renderer.render(ev.PartialImage(SID, CALL, 0, _png(40), "png"))
    await renderer.render(ev.PartialImage(SID, CALL, 1, _png(90), "png"))
    async with asyncio.timeout(10):
        await emitter.element_sent.wait()
    # A partial still waiting when the call ends is dropped, never drawn after the end.
    await renderer.render(ev.PartialImage(SID, CALL, 2, _png(140), "png"))
    await renderer.render(ev.ImageFailed(SID, CALL, UpstreamError("no image")))
    elements = [data for kind, data in emitter.sent if kind == "element"]
    assert [e["name"] for e in elements] == [f"partial-2-{CALL[-8:]}"]
    # A small partial is passed through, its bytes inline: nothing staged, nothing to fetch.
    assert elements[0]["mime"] == "image/png" and elements[0]["chainlitKey"] is None
    assert base64.b64decode(elements[0]["url"].split(",", 1)[1]) == _png(90)
    kinds = [kind for kind, _ in emitter.sent]
    assert kinds.index("element") < kinds.index("remove_element")  # the end comes last
    statuses = [d["output"] for k, d in emitter.sent if k == "update_step"]
    assert any("Sharpening" in s for s in statuses)
