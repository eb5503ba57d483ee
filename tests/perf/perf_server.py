"""The benchmark's servers, with the engine's partial-image emissions recorded.

load.py starts both servers through this file:

- ``python perf_server.py chainlit run ui/app.py --headless --port N``: the app, exactly as
  the ``chainlit`` console script runs it.
- ``python perf_server.py serve --workers N --port N``: ``atelier serve`` (the workers are
  plain ``chainlit run``: use an external engine, which carries the trace).
- ``python perf_server.py engine --port N``: the embedded engine alone over HTTP (the
  baseline), as ``atelier engine`` serves it (``agent.engine.Engine`` under uvicorn, settings
  from the environment).

With ``ATELIER_PERF_TRACE=<file>`` set, every partial image the engine emits is appended to
that file (see perf_trace). The app resets its own lag samples through
``POST /atelier/metrics/reset`` before the measured phase. Nothing else changes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from perf_trace import FileSink, install

ASGIApp = Any


def _log_slow_callbacks(threshold_ms: float) -> None:
    """Print every event-loop callback that runs longer than ``threshold_ms`` (diagnostics:
    Chainlit's nest_asyncio loop has no slow-callback log of its own)."""
    original = asyncio.events.Handle._run

    def timed(self: asyncio.events.Handle) -> None:
        started = time.perf_counter()
        original(self)
        took_ms = (time.perf_counter() - started) * 1000
        if took_ms > threshold_ms:
            # For a task step, where the task stopped next is what names the slow code.
            owner = getattr(self._callback, "__self__", None)  # type: ignore[attr-defined]
            where = repr(self)
            if isinstance(owner, asyncio.Task):
                where = _await_chain(owner.get_coro()) or repr(owner)
            print(f"perf: slow callback {took_ms:.0f} ms: {where}"[:900], file=sys.stderr)

    asyncio.events.Handle._run = timed  # type: ignore[method-assign]


def _await_chain(coro: Any) -> str:
    """Where a task is suspended, outermost first, following ``cr_await``/``ag_await``."""
    parts: list[str] = []
    for _ in range(40):
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "ag_frame", None)
        if frame is not None:
            code = frame.f_code
            parts.append(f"{code.co_name}@{code.co_filename.rsplit('/', 2)[-1]}:{frame.f_lineno}")
        coro = getattr(coro, "cr_await", None) or getattr(coro, "ag_await", None)
        if coro is None:
            break
    return " > ".join(parts)


def _install_memory_route() -> None:
    """With ATELIER_PERF_TRACEMALLOC set, GET /perf/memory lists the biggest allocations."""
    if not os.environ.get("ATELIER_PERF_TRACEMALLOC"):
        return
    from chainlit.server import app
    from starlette.routing import Route

    tracemalloc.start(8)
    # In front of Chainlit's catch-all route, like the app's own routes.
    app.router.routes.insert(0, Route("/perf/memory", _memory, methods=["GET"]))


async def _memory(request: Any) -> Any:
    """The biggest live allocation sites (tracemalloc), for finding what a session keeps."""
    from starlette.responses import JSONResponse

    limit = int(request.query_params.get("limit", "15"))
    snapshot = await asyncio.to_thread(tracemalloc.take_snapshot)
    stats = snapshot.statistics("traceback")[:limit]
    return JSONResponse(
        [
            {
                "mb": round(stat.size / 2**20, 2),
                "count": stat.count,
                "where": stat.traceback.format(),
            }
            for stat in stats
        ]
    )


async def _serve_engine(host: str, port: int) -> None:
    import uvicorn

    from agent.config import Settings
    from agent.engine import Engine, EngineConfig

    engine = Engine(EngineConfig.from_settings(Settings()))
    config = uvicorn.Config(engine.asgi, host=host, port=port, lifespan="off", log_level="warning")
    try:
        await uvicorn.Server(config).serve()
    finally:
        await engine.aclose()


def main(argv: list[str]) -> int:
    """Install the trace (when asked) and run the named server."""
    if not argv or argv[0] not in ("chainlit", "engine", "serve"):
        print(
            "usage: perf_server.py chainlit <args...> | engine --port N | serve <args...>",
            file=sys.stderr,
        )
        return 2
    if argv[0] == "serve":  # N workers behind haproxy; the workers are plain chainlit
        from agent.cli import main as atelier

        return atelier(list(argv))
    trace = os.environ.get("ATELIER_PERF_TRACE")
    if trace:
        install(FileSink(Path(trace)))
    if argv[0] == "engine":
        parser = argparse.ArgumentParser(prog="perf_server.py engine")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, required=True)
        args = parser.parse_args(argv[1:])
        asyncio.run(_serve_engine(args.host, args.port))
        return 0
    _install_memory_route()
    if slow_ms := os.environ.get("ATELIER_PERF_SLOW_MS"):
        _log_slow_callbacks(float(slow_ms))
    from chainlit.cli import cli

    sys.argv = list(argv)
    return int(cli() or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
