# mypy: disable-error-code="no-untyped-call"
"""Issue 16 (and 12) across server modes: single-user tokens, removed users, remote binds.

- A token minted in single-user mode stops working once logins are turned on, and a user
  removed from ATELIER_USERS loses their session (same data dir, same secret, restarted).
- In single-user mode the widget token is a visitor of its own: widget chats never join
  the studio's history.
- Single-user mode refuses to start on a non-loopback address unless allowed by a setting.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import socketio

from .support import login, open_socket

pytestmark = pytest.mark.e2e


async def _threads(http: httpx.AsyncClient, **headers: str) -> list[str]:
    response = await http.post(
        "/project/threads",
        json={"pagination": {"first": 50, "cursor": None}, "filter": {}},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return [thread["id"] for thread in response.json()["data"]]


async def test_widget_visitors_are_kept_apart_from_the_studio(
    harness: ModuleType, data_dir: Path
) -> None:
    async with harness.run_server(data_dir, {"ATELIER_QUALITY": "low"}) as server:
        owner = harness.Client(server)
        try:
            await owner.connect()
            mark = await owner.send("hello studio")
            await owner.message("This turn $", since=mark)
            studio_thread = str((await owner.event("first_interaction", since=0))["thread_id"])
            token = (await owner.http.get("/atelier/copilot-token")).json()["token"]
            async with httpx.AsyncClient(base_url=server.url) as widget:
                bearer = {"Authorization": f"Bearer {token}"}
                visitor = (await widget.get("/user", headers=bearer)).json()
                assert visitor["identifier"] != (await owner.http.get("/user")).json()["identifier"]
                assert await _threads(widget, **bearer) == []
                opened = await widget.get(f"/project/thread/{studio_thread}", headers=bearer)
                assert opened.status_code == 404
            assert await _threads(owner.http) == [studio_thread]
        finally:
            await owner.close()


async def test_old_tokens_end_when_logins_turn_on_or_a_user_is_removed(
    harness: ModuleType, data_dir: Path
) -> None:
    async with harness.run_server(data_dir) as server:
        local = harness.Client(server)
        await local.connect()
        local_cookies = dict(local.http.cookies)
        await local.close()
    async with harness.run_server(data_dir, {"ATELIER_USERS": "alice:pw1,bob:pw2"}) as server:
        async with httpx.AsyncClient(base_url=server.url, cookies=local_cookies) as stale:
            assert (await stale.get("/user")).status_code == 401
            assert (
                await stale.post(
                    "/project/threads", json={"pagination": {"first": 5}, "filter": {}}
                )
            ).status_code == 401
        ghost = harness.Client(server)
        ghost.http.cookies.update(local_cookies)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await open_socket(ghost)
        await ghost.close()
        bob = await login(harness, server, "bob", "pw2")
        bob_cookies = dict(bob.http.cookies)
        await bob.close()
    async with harness.run_server(data_dir, {"ATELIER_USERS": "alice:pw1"}) as server:
        removed = httpx.AsyncClient(base_url=server.url, cookies=bob_cookies)
        assert (await removed.get("/user")).status_code == 401
        await removed.aclose()


async def _exit_of(harness: ModuleType, tmp_path: Path, host: str, extra: dict[str, str]) -> Any:
    port = harness.free_port()
    app_root = harness.make_app_root(tmp_path / f"app-root-{port}")
    env = harness.server_env(tmp_path / "data", extra)
    env["CHAINLIT_APP_ROOT"] = str(app_root)
    process = await asyncio.create_subprocess_exec(
        str(harness.CHAINLIT), "run", str(harness.REPO / "ui" / "app.py"), "--headless",
        "--port", str(port), "--host", host,
        cwd=app_root, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    lines: list[str] = []
    assert process.stdout is not None
    try:
        async with asyncio.timeout(90):
            async for raw in process.stdout:
                lines.append(raw.decode("utf-8", "replace"))
                if harness.READY_LINE in lines[-1]:
                    break
    finally:
        if process.returncode is None and any(harness.READY_LINE in line for line in lines):
            process.terminate()
        code = await process.wait()
    return code, "".join(lines)


async def test_single_user_mode_refuses_a_non_loopback_host(
    harness: ModuleType, tmp_path: Path
) -> None:
    code, output = await _exit_of(harness, tmp_path, "0.0.0.0", {})
    assert code != 0
    assert "refuses to start" in output and "ATELIER_ALLOW_REMOTE_SINGLE_USER" in output
    assert harness.READY_LINE not in output
