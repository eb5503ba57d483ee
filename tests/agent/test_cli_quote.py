"""`atelier chat` and the quote: asked at a terminal, refused when piped unless --yes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

ATELIER = [sys.executable, "-m", "agent.cli"]
DEAR = ["--size", "2048x2048", "--quality", "high", "--partial-images", "0"]
ASK = "give me 3 options of a lighthouse poster\n"


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ATELIER_"))}
    env["ATELIER_DATA_DIR"] = str(data_dir)
    return env


def _run(args: list[str], data_dir: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ATELIER, *args], input=stdin, capture_output=True, text=True, env=_env(data_dir),
        timeout=120,
    )  # fmt: skip


def _events(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_piped_input_refuses_a_quoted_turn_without_yes(tmp_path: Path) -> None:
    result = _run(["chat", *DEAR], tmp_path, ASK + "draw a cat\n")
    assert result.returncode == 2
    assert "not sent: About $" in result.stderr and "--yes" in result.stderr
    assert "3 images at 2048x2048, high" in result.stderr
    # Nothing was sent: the engine made no image, no turn is recorded (the 2nd line never ran).
    assert "[image " not in result.stdout
    assert not list((tmp_path / "images").glob("**/*.png"))


def test_jsonl_prints_the_quote_event_then_refuses_without_yes(tmp_path: Path) -> None:
    result = _run(["chat", "--jsonl", *DEAR], tmp_path, ASK)
    assert result.returncode == 2, result.stderr
    (quote,) = _events(result.stdout)
    assert quote["type"] == "quote"
    assert quote["threshold_usd"] == "0.25"
    asked = quote["asked"]
    assert isinstance(asked, dict) and asked["images"] == 3 and asked["quality"] == "high"
    assert Decimal(str(asked["estimate_usd"])) > Decimal("0.25")
    cheaper = quote["cheaper"]
    assert isinstance(cheaper, dict) and Decimal(str(cheaper["estimate_usd"])) <= Decimal("0.25")


def test_jsonl_with_yes_sends_after_the_quote(tmp_path: Path) -> None:
    result = _run(["chat", "--jsonl", "--yes", *DEAR], tmp_path, ASK)
    assert result.returncode == 0, result.stderr
    events = _events(result.stdout)
    assert events[0]["type"] == "quote"
    assert [e["type"] for e in events].count("image_ready") == 3
    assert events[-1]["type"] == "turn_billed"


def test_a_cheap_turn_is_not_quoted_and_quote_above_off_never_asks(tmp_path: Path) -> None:
    cheap = _run(["chat", "--jsonl"], tmp_path, "draw a cat\n")
    assert cheap.returncode == 0, cheap.stderr
    assert "quote" not in [e["type"] for e in _events(cheap.stdout)]
    off = _run(["chat", "--jsonl", "--quote-above", "off", *DEAR], tmp_path, ASK)
    assert off.returncode == 0, off.stderr
    assert "quote" not in [e["type"] for e in _events(off.stdout)]
    bad = _run(["chat", "--quote-above", "lots"], tmp_path, "")
    assert bad.returncode == 2 and "A quote threshold is an amount in USD" in bad.stderr


def _interactive(data_dir: Path, answers: str) -> str:
    """Run `atelier chat` with a terminal as stdin; returns what it printed."""
    master, slave = os.openpty()
    with subprocess.Popen(
        [*ATELIER, "chat", *DEAR, "--variants", "3"], stdin=slave, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, env=_env(data_dir), text=True,
    ) as proc:  # fmt: skip
        os.close(slave)
        os.write(master, answers.encode())
        out, _ = proc.communicate(timeout=120)
    os.close(master)
    assert proc.returncode == 0, out
    return out


def test_at_a_terminal_the_quote_is_asked_and_cheaper_sends_the_cheaper_request(
    tmp_path: Path,
) -> None:
    out = _interactive(tmp_path, ASK + "c\n/quit\n")
    assert "3 images at 2048x2048, high" in out and "Cheaper: about $" in out
    assert "Send it? [y]es / [c]heaper / [n]o" in out
    assert out.count("[image ") == 3
    assert "2048x2048 · low" in out  # the cheaper quality was sent


def test_at_a_terminal_no_sends_nothing(tmp_path: Path) -> None:
    out = _interactive(tmp_path, ASK + "n\n/quit\n")
    assert "Cancelled: nothing was sent." in out
    assert "[image " not in out and "Generating" not in out
