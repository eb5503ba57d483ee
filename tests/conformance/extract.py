"""How the corpus was made: extract recordings from public repository snapshots.

Not a test and not run by CI (the snapshots are not in this repository). Run by hand with the
bare git directories of the source repositories (``fetch`` brings them to /work/.mirror):

    python tests/conformance/extract.py /work/.mirror    (needs PyYAML and Pillow)

Each source file becomes one JSON recording in ``recordings/``: the exchanges as recorded
(request body when the source has it, then the SSE events or the JSON body and HTTP status).
Image payloads bigger than a few kilobytes are replaced by a small valid image of the same
format and aspect ratio (``shrink``); everything else is verbatim. SOURCES.md lists them.
"""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from PIL import Image

OUT = Path(__file__).parent / "recordings"
BIG = 40_000  # characters: longer image payloads are replaced
STUB = 200  # characters: shorter ones are 1x1 placeholders the source put in
PIL_FORMAT = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
KEEP_TRUNCATED = False  # True for the verbatim copy that keeps the source's cut base64
COLORS = [(222, 120, 160), (60, 130, 200), (240, 200, 80)]


def small_image(fmt: str, size: str | None, shade: int) -> str:
    """A flat image, base64, in ``fmt`` at exactly ``size`` (few bytes: one colour)."""
    width, height = (int(v) for v in (size or "1024x1024").split("x"))
    mode = {"png": "L", "jpeg": "L", "webp": "RGB"}[fmt]
    colour: Any = COLORS[shade % 3] if mode != "L" else 80 + 60 * (shade % 3)
    image = Image.new("RGB", (width, height), colour if mode != "L" else (colour,) * 3)
    image = image.convert(mode) if mode != "RGB" else image
    buffer = io.BytesIO()
    image.save(buffer, PIL_FORMAT[fmt], **({"quality": 20} if fmt == "jpeg" else {}))
    return base64.b64encode(buffer.getvalue()).decode()


def shrink(node: Any, note: list[str], fmt: str = "png", size: str | None = None) -> Any:
    """Replace big image base64 (``result``, ``partial_image_b64``) with small valid images."""
    if isinstance(node, list):
        return [shrink(v, note, fmt, size) for v in node]
    if not isinstance(node, dict):
        return node
    fmt = str(node.get("output_format") or fmt)
    size = node.get("size") if isinstance(node.get("size"), str) else size
    out: dict[str, Any] = {}
    for key, value in node.items():
        truncated = isinstance(value, str) and "..." in value  # cut short by the source
        if key in ("result", "partial_image_b64") and isinstance(value, str) and KEEP_TRUNCATED:
            out[key] = value
        elif (
            key in ("result", "partial_image_b64")
            and isinstance(value, str)
            and (len(value) > BIG or truncated or len(value) < STUB)
        ):
            shade = int(node.get("partial_image_index", 2))
            out[key] = small_image(fmt, size if size != "auto" else None, shade)
            why = f"{len(value)} chars"
            if truncated:
                why = "truncated with '...' by the source"
            elif len(value) < STUB:
                why = "a 1x1 placeholder put in by the source"
            note.append(f"{key} ({fmt}, {why}) -> a flat {fmt} of the same size")
        elif key == "encrypted_content" and isinstance(value, str) and len(value) > BIG:
            out[key] = value[:200]
            note.append(f"encrypted_content ({len(value)} chars) cut to its first 200")
        else:
            out[key] = shrink(value, note, fmt, size)
    return out


def git_show(repo: Path, path: str) -> tuple[str, str]:
    """(commit, text) of ``path`` at HEAD of the bare repository ``repo``."""
    commit = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    text = subprocess.run(
        ["git", "-C", str(repo), "show", f"HEAD:{path}"], capture_output=True, text=True, check=True
    ).stdout
    return commit, text


def cassette(repo: Path, path: str) -> tuple[str, list[dict[str, Any]], list[str]]:
    """A VCR cassette (pydantic-ai) as exchanges."""
    commit, text = git_show(repo, path)
    note: list[str] = []
    exchanges = []
    for interaction in yaml.safe_load(text)["interactions"]:
        request = interaction["request"]
        body = request.get("parsed_body") or json.loads(request["body"])
        response = interaction["response"]
        exchanges.append(
            {
                "request": shrink(body, note),
                "status": response["status"]["code"],
                "body": shrink(response["parsed_body"], note),
            }
        )
    return commit, exchanges, note


def chunks(repo: Path, path: str) -> tuple[str, list[dict[str, Any]], list[str]]:
    """A vercel/ai ``.chunks.txt`` stream (one event JSON per line) as one exchange."""
    commit, text = git_show(repo, path)
    note: list[str] = []
    events = [shrink(json.loads(line), note) for line in text.splitlines() if line.strip()]
    return commit, [{"request": None, "status": 200, "events": events}], note


def json_fixture(repo: Path, path: str) -> tuple[str, list[dict[str, Any]], list[str]]:
    """A vercel/ai ``.json`` response body as one exchange."""
    commit, text = git_show(repo, path)
    note: list[str] = []
    return commit, [{"request": None, "status": 200, "body": shrink(json.loads(text), note)}], note


PYD = "pydantic/pydantic-ai"
PYD_DIR = "tests/models/cassettes/test_openai_responses/"
VERCEL = "vercel/ai"
SOURCES: list[tuple[str, str, str, Any]] = [
    (
        "vercel_openai_gpt5_image_stream",
        VERCEL,
        "packages/openai/src/responses/__fixtures__/openai-image-generation-tool.1.chunks.txt",
        chunks,
    ),
    (
        "vercel_openai_gpt5_image_stream_verbatim",
        VERCEL,
        "packages/openai/src/responses/__fixtures__/openai-image-generation-tool.1.chunks.txt",
        chunks,
    ),
    (
        "vercel_openai_gpt5nano_image",
        VERCEL,
        "packages/openai/src/responses/__fixtures__/openai-image-generation-tool.1.json",
        json_fixture,
    ),
    (
        "vercel_azure_image_stream",
        VERCEL,
        "packages/azure/src/__fixtures__/azure-image-generation-tool.1.chunks.txt",
        chunks,
    ),
    (
        "vercel_azure_image",
        VERCEL,
        "packages/azure/src/__fixtures__/azure-image-generation-tool.1.json",
        json_fixture,
    ),
    (
        "pydantic_gpt5_jpeg",
        PYD,
        PYD_DIR + "test_openai_responses_image_generation_jpeg.yaml",
        cassette,
    ),
    (
        "pydantic_gpt5_function_then_image",
        PYD,
        PYD_DIR + "test_openai_responses_image_generation_with_tools.yaml",
        cassette,
    ),
    (
        "pydantic_gpt5_text_then_image",
        PYD,
        PYD_DIR + "test_openai_responses_image_or_text_output.yaml",
        cassette,
    ),
    (
        "pydantic_gpt5_image_replayed",
        PYD,
        PYD_DIR + "test_openai_responses_image_generation_tool_without_image_output.yaml",
        cassette,
    ),
    (
        "pydantic_gpt5_json_schema",
        PYD,
        PYD_DIR + "test_openai_responses_image_generation_with_native_output.yaml",
        cassette,
    ),
    ("pydantic_http_error", PYD, PYD_DIR + "test_openai_responses_model_http_error.yaml", cassette),
]


def main(mirrors: Path) -> None:
    """Write every recording and print one SOURCES.md row per file."""
    global KEEP_TRUNCATED
    for name, repo, path, reader in SOURCES:
        KEEP_TRUNCATED = name.endswith("_verbatim")
        git_dir = mirrors / repo.replace("/", "+") / "repo"
        commit, exchanges, note = reader(git_dir, path)
        record = {
            "source": {"repository": repo, "path": path, "commit": commit},
            "changes": sorted(set(note)),
            "exchanges": exchanges,
        }
        (OUT / f"{name}.json").write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
        print(f"| {name}.json | {repo} | {path} | {commit[:12]} | {len(note)} payloads shrunk |")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
