"""Image work on threads of its own: Pillow, big base64 and big JSON never share a queue with
file and database work.

``asyncio.to_thread`` uses the loop's default executor, which Chainlit's file writes and the
app's file reads also use; a burst of previews there makes a file write wait. Image work
goes to this small pool instead (``IMAGE_WORKERS`` threads: the machine's cores, at most 4),
where it queues only behind other image work.
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")

IMAGE_WORKERS = max(1, min(4, os.cpu_count() or 1))

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None


def image_executor() -> ThreadPoolExecutor:
    """The process's image pool, made on first use."""
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(IMAGE_WORKERS, thread_name_prefix="atelier-image")
        return _executor


async def run_image_work(fn: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs) -> _R:
    """``fn(*args, **kwargs)`` on the image pool, awaited from the event loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(image_executor(), functools.partial(fn, *args, **kwargs))


def shutdown_image_pool() -> None:
    """Stop the pool's threads (after the work already queued); a later call makes a new one."""
    global _executor
    with _lock:
        executor, _executor = _executor, None
    if executor is not None:
        executor.shutdown(wait=True)
