"""When did the engine emit each partial image? A read-only hook on the engine's runner.

``install`` wraps ``TurnRunner.events`` (the engine's stream of Responses API events) and
calls ``record(item_id, partial_index, monotonic_s)`` the moment the runner yields each
``response.image_generation_call.partial_image`` event, i.e. when the engine hands it to its
wire. The events themselves pass through untouched.

``time.monotonic`` is CLOCK_MONOTONIC on Linux: one clock for every process on the host, so
a server process's emission time and the load driver's receipt time can be subtracted.

``FileSink`` writes records as JSON lines from a background thread, so the server's event
loop only pays for a queue put.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

PARTIAL_EVENT = "response.image_generation_call.partial_image"

Recorder = Callable[[str, int, float], None]


def install(record: Recorder) -> Callable[[], None]:
    """Start recording partial-image emissions; returns a function that undoes it."""
    from agent.engine.runner import TurnRunner

    original = TurnRunner.events

    async def traced(self: TurnRunner, turn: Any, faults: Any) -> AsyncIterator[dict[str, Any]]:
        async with contextlib.aclosing(original(self, turn, faults)) as events:
            async for event in events:
                if event.get("type") == PARTIAL_EVENT:
                    record(
                        str(event["item_id"]), int(event["partial_image_index"]), time.monotonic()
                    )
                yield event

    TurnRunner.events = traced  # type: ignore[method-assign,assignment]

    def uninstall() -> None:
        TurnRunner.events = original  # type: ignore[method-assign]

    return uninstall


class FileSink:
    """Appends ``{"item_id", "index", "t"}`` JSON lines to ``path`` from a worker thread."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._queue: queue.SimpleQueue[tuple[str, int, float] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._drain, name="perf-trace", daemon=True)
        self._thread.start()

    def __call__(self, item_id: str, index: int, t: float) -> None:
        self._queue.put((item_id, index, t))

    def close(self) -> None:
        """Flush what is queued and stop the thread."""
        self._queue.put(None)
        self._thread.join(timeout=5)

    def _drain(self) -> None:
        with self._path.open("a", encoding="utf-8") as fh:
            while True:
                entry = self._queue.get()
                if entry is None:
                    return
                batch = [entry]
                while True:  # write everything already queued in one go, then flush
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        self._write(fh, batch)
                        return
                    batch.append(more)
                self._write(fh, batch)

    @staticmethod
    def _write(fh: Any, batch: list[tuple[str, int, float]]) -> None:
        for item_id, index, t in batch:
            fh.write(json.dumps({"item_id": item_id, "index": index, "t": t}) + "\n")
        fh.flush()


def read_trace(path: Path) -> dict[tuple[str, int], float]:
    """The emissions a FileSink wrote: (item_id, index) -> monotonic seconds."""
    found: dict[tuple[str, int], float] = {}
    if not path.exists():
        return found
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            found[(str(row["item_id"]), int(row["index"]))] = float(row["t"])
    return found
