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


def test_short_ids_and_web_threads_everywhere(tmp_path: Path) -> None:
    # A web thread belongs to the web app's user (":local" in single-user mode).
    web = _run(["chat", "--jsonl", "--user", ":local"], tmp_path, "draw a lighthouse poster\n")
    assert web.returncode == 0, web.stderr
    image = next(json.loads(x) for x in web.stdout.splitlines() if '"image_ready"' in x)
    session_id, short = image["session_id"], image["session_id"][:8]
    mine = _run(["chat", "--jsonl"], tmp_path, "draw a cat illustration\n")
    assert mine.returncode == 0, mine.stderr

    listed = _run(["sessions"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    rows = listed.stdout.splitlines()[1:]
    assert len(rows) == 2
    web_row = next(row for row in rows if row.startswith(short))
    assert ":local" in web_row.split()[1]
    only_web = _run(["sessions", "--user", ":local", "--full-ids"], tmp_path)
    assert [row.split()[0] for row in only_web.stdout.splitlines()[1:]] == [session_id]

    # The short session id and the short image id work in every command; no --user needed.
    refined = _run(
        ["chat", "--jsonl", "--session", short], tmp_path, f"/refine {image['id'][-8:]} cooler\n"
    )
    assert refined.returncode == 0, refined.stderr
    ready = next(json.loads(x) for x in refined.stdout.splitlines() if '"image_ready"' in x)
    assert ready["parent_id"] == image["id"] and ready["session_id"] == session_id
    bill = _run(["bill", short, "--format", "json"], tmp_path)
    assert bill.returncode == 0 and json.loads(bill.stdout)["session_id"] == session_id
    exported = _run(["export", short, str(tmp_path / "web.zip")], tmp_path)
    assert exported.returncode == 0, exported.stderr

    # A mistyped image id is a clear message, and the chat goes on.
    typo = _run(["chat", "--session", short], tmp_path, "/refine zzzzzzzz warmer\n/images\n")
    assert typo.returncode == 0, typo.stderr
    assert "No image zzzzzzzz." in typo.stderr
    assert image["id"] in typo.stdout
    # Someone else's session stays theirs when a user is named.
    other = _run(["bill", short], tmp_path)
    assert other.returncode == 0
    refused = _run(["chat", "--session", short, "--user", "mallory"], tmp_path, "hi\n")
    assert refused.returncode == 2 and "No session" in refused.stderr


def test_export_manifest_counts_the_partial_images_the_bill_charges(tmp_path: Path) -> None:
    chat = _run(
        ["chat", "--jsonl", "--partial-images", "2", "--quality", "medium"],
        tmp_path,
        "draw a lighthouse poster\n",
    )
    assert chat.returncode == 0, chat.stderr
    events = [json.loads(line) for line in chat.stdout.splitlines()]
    partials = [e for e in events if e["type"] == "partial_image"]
    assert partials, "the engine sends partial images when asked"
    session_id = events[0]["session_id"]
    out = tmp_path / "partials.zip"
    assert _run(["export", session_id[:8], str(out)], tmp_path).returncode == 0
    with zipfile.ZipFile(out) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    (image,) = manifest["images"]
    (turn,) = manifest["turns"]
    assert image["final_image_tokens"] == 1756  # 1024x1024 medium
    assert image["partial_image_tokens"] == 100 * len(partials)
    assert image["output_image_tokens"] == turn["billed_image_output_tokens"]
    assert turn["billed_image_output_tokens"] == 1756 + 100 * len(partials)
