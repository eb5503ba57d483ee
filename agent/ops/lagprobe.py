"""An event-loop lag probe: a periodic timer that measures how late it wakes up.

If the loop is blocked (Pillow, base64, sync I/O on the loop), the timer fires late; the
drift is the lag every other coroutine suffered at that moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import time
from collections import deque
from typing import Any


class LagProbe:
    """Samples loop lag every ``interval_ms``; keeps the last ``window`` samples."""

    def __init__(self, interval_ms: int = 50, window: int = 20_000) -> None:
        self.interval_s = interval_ms / 1000
        self._samples: deque[float] = deque(maxlen=window)
        self._max_ms = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start sampling on the running loop (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="lag-probe")

    async def stop(self) -> None:
        """Stop sampling."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def reset(self) -> None:
        """Forget samples so far (a benchmark calls this before its measured phase)."""
        self._samples.clear()
        self._max_ms = 0.0

    async def _run(self) -> None:
        while True:
            expected = time.perf_counter() + self.interval_s
            await asyncio.sleep(self.interval_s)
            lag_ms = max(0.0, (time.perf_counter() - expected) * 1000)
            self._samples.append(lag_ms)
            self._max_ms = max(self._max_ms, lag_ms)

    def snapshot(self) -> dict[str, Any]:
        """Lag statistics (ms) and this process's peak and current RSS (MB)."""
        ordered = sorted(self._samples)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0
        return {
            "samples": len(ordered),
            "max_ms": round(self._max_ms, 2),
            "p99_ms": round(p99, 2),
            "rss_mb": round(current_rss_mb(), 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }


def current_rss_mb() -> float:
    """Resident set size of this process in MB (Linux /proc; falls back to the peak)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            pages = int(fh.read().split()[1])
        return pages * resource.getpagesize() / (1024 * 1024)
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
