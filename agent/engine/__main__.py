"""``python -m agent.engine --host 127.0.0.1 --port 8900``: serve the engine over HTTP."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from agent.config import Settings
from agent.engine import EngineConfig, serve


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m agent.engine",
        description="Serve Atelier's Responses-API-compatible engine over HTTP "
        "(point any OpenAI client at OPENAI_BASE_URL=http://HOST:PORT/v1).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    args = parser.parse_args(argv)
    config = EngineConfig.from_settings(Settings())
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, config))


if __name__ == "__main__":
    main()
