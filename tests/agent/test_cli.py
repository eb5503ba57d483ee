"""The `atelier` command, run as a user would run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

from PIL import Image

ATELIER = [sys.executable, "-m", "agent.cli"]


def _run(args: list[str], data_dir: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ATELIER_"))}
    env["ATELIER_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [*ATELIER, *args], input=stdin, capture_output=True, text=True, env=env, timeout=120
    )


def test_piped_chat_jsonl_refines_the_first_image(tmp_path: Path) -> None:
    result = _run(["chat", "--jsonl"], tmp_path, "draw a lighthouse poster\nmake it warmer\n")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert all("type" in e and e["session_id"] == events[0]["session_id"] for e in events)
    ready = [e for e in events if e["type"] == "image_ready"]
    assert len(ready) == 2
    assert ready[0]["parent_id"] is None
    assert ready[1]["parent_id"] == ready[0]["id"]
    assert Path(ready[1]["path"]).is_file()
    billed = [e for e in events if e["type"] == "turn_billed"]
    assert len(billed) == 2
    assert any(e["type"] == "text_delta" for e in events)
    first, second = (e["bill"]["total_usd"] for e in billed)

    assert Decimal(billed[1]["session_total_usd"]) == Decimal(first) + Decimal(second)

    session_id = events[0]["session_id"]
    bill = _run(["bill", session_id, "--format", "json"], tmp_path)
    assert bill.returncode == 0, bill.stderr
    data = json.loads(bill.stdout)
    assert data["session_id"] == session_id
    assert Decimal(data["total_usd"]) == Decimal(billed[1]["session_total_usd"])

    resumed = _run(["chat", "--jsonl", "--session", session_id], tmp_path, "add a border\n")
    ready3 = [json.loads(x) for x in resumed.stdout.splitlines() if '"image_ready"' in x]
    assert ready3[0]["parent_id"] == ready[1]["id"]

    out = tmp_path / "export.zip"
    exported = _run(["export", session_id, str(out)], tmp_path)
    assert exported.returncode == 0, exported.stderr

    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
    assert len([n for n in names if n.startswith("images/")]) == 3
    assert [t["turn"] for t in manifest["turns"]] == [1, 2, 3]


def test_refine_command_targets_an_image(tmp_path: Path) -> None:
    first = _run(["chat", "--jsonl"], tmp_path, "draw a cat illustration\n")
    image = next(json.loads(x) for x in first.stdout.splitlines() if '"image_ready"' in x)
    session_id = image["session_id"]
    second = _run(
        ["chat", "--jsonl", "--session", session_id], tmp_path, f"/refine {image['id']} cooler\n"
    )
    refined = next(json.loads(x) for x in second.stdout.splitlines() if '"image_ready"' in x)
    assert refined["parent_id"] == image["id"]


def test_price_calculator(tmp_path: Path) -> None:
    ok = _run(["price", "--size", "1024x1024", "--quality", "medium"], tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "1756" in ok.stdout and "0.05268" in ok.stdout
    bad = _run(["price", "--size", "1000x1000", "--quality", "medium"], tmp_path)
    assert bad.returncode != 0
    assert "multiples of 16" in bad.stderr


def test_bad_settings_are_clear_errors(tmp_path: Path) -> None:
    result = _run(["chat", "--size", "5000x100"], tmp_path, "draw\n")
    assert result.returncode == 2
    assert "size" in result.stderr.lower()
    unknown = _run(["bill", "nope"], tmp_path)
    assert unknown.returncode == 2 and "No session nope" in unknown.stderr


def _mask(path: Path, size: tuple[int, int]) -> Path:
    mask = Image.new("RGBA", size, (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, size[0] // 2, size[1] // 2))  # top-left may change
    mask.save(path, "PNG")
    return path


def test_refine_with_a_mask_changes_only_the_masked_area(tmp_path: Path) -> None:
    first = _run(["chat", "--jsonl"], tmp_path, "draw a cat illustration\n")
    image = next(json.loads(x) for x in first.stdout.splitlines() if '"image_ready"' in x)
    wrong = _mask(tmp_path / "small-mask.png", (512, 512))
    right = _mask(tmp_path / "mask.png", (1024, 1024))
    lines = "".join(f"/refine {image['id']} --mask {m} darker\n" for m in (wrong, right))
    second = _run(["chat", "--jsonl", "--session", image["session_id"]], tmp_path, lines)
    assert second.returncode == 0, second.stderr
    events = [json.loads(x) for x in second.stdout.splitlines()]
    refused = next(e for e in events if e["type"] == "turn_failed")
    assert "512x512" in refused["error"]["message"]
    refined = next(e for e in events if e["type"] == "image_ready")
    assert refined["parent_id"] == image["id"]
    with Image.open(image["path"]) as before, Image.open(refined["path"]) as after:
        assert before.convert("RGB").getpixel((900, 900)) == after.convert("RGB").getpixel(
            (900, 900)
        )
        assert before.convert("RGB").getpixel((100, 100)) != after.convert("RGB").getpixel(
            (100, 100)
        )
