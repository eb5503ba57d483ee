"""The API key never leaves the server process's memory.

API mode really runs: a standalone engine (``atelier engine``) stands in for OpenAI at
``OPENAI_BASE_URL`` and the app gets a known fake key. After a turn, the bill and a ZIP export,
the key must not appear in the server's output, in any file of the data dir (database with
its WAL, images, secrets), in the exports, in any socket.io message or in the pages and JSON
the browser loads.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from io import BytesIO
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from openai import AsyncOpenAI

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def _engine(harness: ModuleType, data_dir: Path) -> AsyncIterator[tuple[str, list[str]]]:
    """``atelier engine`` on a free port; yields its base URL and its output lines."""
    port = harness.free_port()
    command = [
        str(harness.executable("atelier")),
        "engine",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATELIER_", "OPENAI_"))}
    env.update({"ATELIER_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"})
    process = await asyncio.create_subprocess_exec(
        *command, cwd=REPO, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    lines: list[str] = []
    started = asyncio.Event()

    async def drain() -> None:
        assert process.stdout is not None
        async for raw in process.stdout:
            lines.append(raw.decode("utf-8", "replace").rstrip())
            if "Uvicorn running" in lines[-1] or "Engine on" in lines[-1]:
                started.set()

    reader = asyncio.create_task(drain())
    base = f"http://127.0.0.1:{port}/v1"
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            async with asyncio.timeout(60):
                await started.wait()
                while True:  # the banner prints before uvicorn binds: ask until it answers
                    try:
                        if (await http.get(f"{base}/models")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.05)
        yield base, lines
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()
        await reader


async def test_atelier_engine_streams_over_http(harness: ModuleType, tmp_path: Path) -> None:
    """``atelier engine`` must serve streaming responses to any OpenAI client over HTTP.

    (Found broken: its event-stream responses declared ``content-length: 0``, so uvicorn
    aborted every stream at the first event; fixed in 0cb4c9c.)
    """
    async with _engine(harness, tmp_path / "engine-data") as (base_url, lines):
        client = AsyncOpenAI(api_key="sk-test-FAKE" + "0" * 24, base_url=base_url, max_retries=0)
        try:
            stream = await client.responses.create(
                model="gpt-5.1", input="what does an image cost?", stream=True
            )
            kinds = [event.type async for event in stream]
        finally:
            await client.close()
    assert kinds and kinds[-1] == "response.completed", (kinds, lines[-5:])


def _files_containing(root: Path, needle: bytes) -> list[str]:
    return [
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and needle in path.read_bytes()
    ]


async def test_the_api_key_is_never_logged_stored_exported_or_sent(
    harness: ModuleType, data_dir: Path, tmp_path: Path
) -> None:
    key = "sk-test-FAKE" + secrets.token_hex(24)
    engine_dir = tmp_path / "engine-data"
    async with _engine(harness, engine_dir) as (base_url, engine_lines):
        env = {
            "OPENAI_API_KEY": key,
            "OPENAI_BASE_URL": base_url,
            "ATELIER_QUALITY": "low",
            "ATELIER_PARTIAL_IMAGES": "1",
            "ATELIER_LOG_LEVEL": "DEBUG",
        }
        async with harness.run_server(data_dir, env) as server:
            client = harness.Client(server)
            try:
                await client.connect(profile="Studio")
                await client.send("draw a lighthouse poster")
                await client.action("refine")
                await client.message("This turn $")
                await client.send("what does an image cost?")
                await client.message("This turn $")

                _, response = await client.call_action(client.button("bill"))
                assert response.status_code == 200
                await client.message("Session bill")
                exported: list[bytes] = []
                for fmt in ("zip", "json", "csv"):
                    _, response = await client.call_action(
                        {"name": "export", "payload": {"format": fmt}, "id": f"export-{fmt}"}
                    )
                    assert response.status_code == 200, response.text
                    element = await client.recorder.wait_for(
                        lambda name, data, fmt=fmt: (
                            name == "element" and str(data.get("name", "")).endswith(f".{fmt}")
                        ),
                        since=client.mark,
                    )
                    exported.append(await _element_bytes(client, element[1]))
                pages = [
                    await client.http.get("/"),
                    await client.http.get("/project/settings", params={"language": "en-US"}),
                    await client.http.get("/auth/config"),
                    await client.http.get("/user"),
                    await client.http.get("/atelier/metrics"),
                ]
            finally:
                await client.close()
        server_output = "\n".join(server.lines)

    # API mode really ran: the standalone engine stored the responses, the app has no engine.
    assert (engine_dir / "engine.db").is_file()
    assert not (data_dir / "engine.db").exists()

    needle = key.encode()
    assert key not in server_output
    assert key not in "\n".join(engine_lines)
    assert _files_containing(data_dir, needle) == []
    for blob in exported:
        assert needle not in blob
    with zipfile.ZipFile(BytesIO(exported[0])) as archive:
        assert "manifest.json" in archive.namelist()
        for name in archive.namelist():
            assert needle not in archive.read(name), name
    assert key not in json.dumps(client.recorder.events, default=str)
    for page in pages:
        assert page.status_code == 200, (page.url, page.status_code)
        assert needle not in page.content, page.url
    # Nor its tail, as a "sk-...abcd" hint would leak it in part.
    assert key[-12:] not in server_output and key[-12:] not in json.dumps(
        client.recorder.events, default=str
    )


async def _element_bytes(client: Any, element: dict[str, Any]) -> bytes:
    """Fetch an element's content the way the browser does."""
    if element.get("url"):
        response = await client.http.get(element["url"])
    else:
        response = await client.http.get(
            f"/project/file/{element['chainlitKey']}", params={"session_id": client.session_id}
        )
    assert response.status_code == 200, (element, response.status_code)
    return bytes(response.content)
