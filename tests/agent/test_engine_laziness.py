"""With OPENAI_API_KEY set, starting the app or `atelier chat` imports no agent.engine module."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Import the Chainlit app, open Atelier as its startup hook does, and run `atelier chat` on an
# empty stdin (opens the app, a session, reads EOF, closes): then list agent.engine modules.
SCRIPT = """
import asyncio, json, sys
import ui.app
from agent.cli import main
from agent.config import Settings
from agent.runtime import Atelier

async def start_and_stop():
    async with await Atelier.open(Settings()):
        pass

asyncio.run(start_and_stop())
code = main(["chat", "--jsonl"])
engine = sorted(m for m in sys.modules if m.startswith("agent.engine"))
print(json.dumps({"code": code, "engine": engine}))
"""


def _engine_modules(tmp_path: Path, key: str | None) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ATELIER_"))}
    env["ATELIER_DATA_DIR"] = str(tmp_path)
    env.pop("CI", None)
    if key is not None:
        env["OPENAI_API_KEY"] = key
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=REPO,
        input="",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["code"] == 0
    return list(outcome["engine"])


def test_with_a_key_no_engine_module_is_imported(tmp_path: Path) -> None:
    assert _engine_modules(tmp_path, "sk-test-not-a-real-key") == []


def test_without_a_key_the_engine_is_imported_when_used(tmp_path: Path) -> None:
    assert "agent.engine" in _engine_modules(tmp_path, None)
