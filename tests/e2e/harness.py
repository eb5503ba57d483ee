# mypy: disable-error-code="no-untyped-call"
# (python-socketio is untyped.)
"""End-to-end harness: a real ``chainlit run ui/app.py`` subprocess and socket.io clients.

Loaded by path from tests/e2e/conftest.py and tests/browser/conftest.py (a dependency ships
a top-level ``tests`` package, so ``tests.e2e`` cannot be imported by name); tests get it
through fixtures.

The server runs headless with CI unset (Chainlit's CLI would otherwise fake an API key) and
no OPENAI_API_KEY, so turns go to the embedded engine. Readiness is the server's own "Your
app is available at" log line; clients wait on recorded socket events, never on sleeps.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import socketio

REPO = Path(__file__).resolve().parents[2]


def executable(name: str) -> Path:
    """A console script of the running interpreter's environment (any virtualenv), or PATH's."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return beside
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is neither next to {sys.executable} nor on PATH")
    return Path(found)


CHAINLIT = executable("chainlit")
READY_LINE = "Your app is available at"
START_TIMEOUT_S = 90.0
EVENT_TIMEOUT_S = 60.0

Event = tuple[str, Any]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    """A running Chainlit server and everything it printed."""

    process: asyncio.subprocess.Process
    port: int
    lines: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return "\n".join(self.lines[-80:])


def make_app_root(where: Path) -> Path:
    """A private Chainlit app root: the repo's config, readme and public files, own .files.

    Chainlit keeps uploads and element bytes in ``<app root>/.files`` and deletes that whole
    folder when a server shuts down, so two servers sharing the repo as app root break each
    other's turns. Each test server gets its own root instead.
    """
    where.mkdir(parents=True)
    (where / ".chainlit").mkdir()
    shutil.copy(REPO / ".chainlit" / "config.toml", where / ".chainlit" / "config.toml")
    (where / "chainlit.md").symlink_to(REPO / "chainlit.md")
    (where / "public").symlink_to(REPO / "public")
    return where


def server_env(data_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The server's environment: no CI, no OpenAI variables, a private data dir."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("CI", "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID")
        and not key.startswith(("ATELIER_", "CHAINLIT_"))
    }
    env.update({"ATELIER_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"})
    env.update(extra or {})
    return env


@asynccontextmanager
async def run_server(
    data_dir: Path, extra_env: dict[str, str] | None = None
) -> AsyncIterator[Server]:
    """Start ``chainlit run ui/app.py --headless`` and yield once it says it is serving."""
    port = free_port()
    app_root = make_app_root(data_dir.parent / f"app-root-{port}")
    env = server_env(data_dir, extra_env)
    env["CHAINLIT_APP_ROOT"] = str(app_root)
    process = await asyncio.create_subprocess_exec(
        str(CHAINLIT), "run", str(REPO / "ui" / "app.py"), "--headless", "--port", str(port),
        "--host", "127.0.0.1",
        cwd=app_root,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    server = Server(process, port)
    ready = asyncio.Event()

    async def drain() -> None:
        assert process.stdout is not None
        async for raw in process.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            server.lines.append(line)
            if READY_LINE in line:
                ready.set()

    reader = asyncio.create_task(drain())
    try:
        waiter = asyncio.create_task(ready.wait())
        done, _ = await asyncio.wait(
            {waiter, reader}, timeout=START_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED
        )
        if waiter not in done:
            waiter.cancel()
            raise AssertionError(f"chainlit did not start:\n{server.log()}")
        yield server
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()
        await reader


class Recorder:
    """Every socket.io event a client receives, and a way to wait for one."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Condition()

    async def add(self, name: str, data: Any) -> None:
        async with self._changed:
            self.events.append((name, data))
            self._changed.notify_all()

    async def wait_for(self, match: Callable[[str, Any], bool], *, since: int = 0) -> Event:
        """The first event from index ``since`` on that ``match`` accepts (waits for it)."""

        def found() -> Event | None:
            return next((ev for ev in self.events[since:] if match(*ev)), None)

        async with asyncio.timeout(EVENT_TIMEOUT_S):
            async with self._changed:
                await self._changed.wait_for(lambda: found() is not None)
        event = found()
        assert event is not None
        return event

    def find(self, match: Callable[[str, Any], bool]) -> Any:
        """The data of the latest recorded event ``match`` accepts."""
        found = [data for name, data in self.events if match(name, data)]
        assert found, "no such event recorded"
        return found[-1]


def is_message(text: str) -> Callable[[str, Any], bool]:
    """Matches a message (new or updated) whose output contains ``text``."""

    def match(name: str, data: Any) -> bool:
        return (
            name in ("new_message", "update_message")
            and isinstance(data, dict)
            and text in str(data.get("output", ""))
        )

    return match


def is_action(name_: str, exclude: set[str] | None = None) -> Callable[[str, Any], bool]:
    """Matches an action button ``name_`` (optionally not for images in ``exclude``)."""

    def match(name: str, data: Any) -> bool:
        return (
            name == "action"
            and data.get("name") == name_
            and data.get("payload", {}).get("image_id") not in (exclude or set())
        )

    return match


class Client:
    """One browser tab's worth of Chainlit: an auth cookie, a socket, and HTTP actions."""

    def __init__(self, server: Server, *, client_type: str = "webapp") -> None:
        self.mark = 0
        self.server = server
        self.client_type = client_type
        self.session_id = str(uuid.uuid4())
        self.http = httpx.AsyncClient(base_url=server.url, timeout=30)
        self.sio = socketio.AsyncClient(reconnection=False)
        self.recorder = Recorder()
        self.sio.on("*", self.recorder.add)
        self.thread_id: str | None = None

    async def connect(self, *, profile: str = "Studio", thread_id: str | None = None) -> None:
        """Log in (single-user header auth), open the socket, and say hello like the web app."""
        login = await self.http.post("/auth/header", json={})
        assert login.status_code == 200, login.text
        cookie = "; ".join(f"{k}={v}" for k, v in self.http.cookies.items())
        await self.sio.connect(
            self.server.url,
            socketio_path="/ws/socket.io",
            transports=["websocket"],
            headers={"Cookie": cookie},
            # The server's connect handler checks the token and loads the thread: under load
            # (20 users on two workers) that takes longer than the client's 1 s default.
            wait_timeout=15,
            auth={
                "sessionId": self.session_id,
                "clientType": self.client_type,
                "userEnv": "{}",
                "chatProfile": profile,
                "threadId": thread_id,
            },
        )
        self.thread_id = thread_id
        await self.sio.emit("connection_successful")

    async def upload(self, name: str, data: bytes, mime: str) -> str:
        """Upload a file the way the composer's paperclip does; returns its file id."""
        response = await self.http.post(
            "/project/file",
            params={"session_id": self.session_id},
            files={"file": (name, data, mime)},
        )
        assert response.status_code == 200, response.text
        return str(response.json()["id"])

    async def send(self, text: str, file_ids: tuple[str, ...] = ()) -> int:
        """Send a user message; later waits start from here. Returns that event index."""
        mark = self.mark = len(self.recorder.events)
        await self.sio.emit(
            "client_message",
            {
                "message": {
                    "id": str(uuid.uuid4()),
                    "threadId": self.thread_id,
                    "type": "user_message",
                    "output": text,
                    "createdAt": datetime.now(UTC).isoformat(),
                    "name": "User",
                },
                "fileReferences": [{"id": file_id} for file_id in file_ids] or None,
            },
        )
        return mark

    async def call_action(self, action: dict[str, Any]) -> tuple[int, httpx.Response]:
        """Press an action button the way the web app does (POST /project/action)."""
        mark = self.mark = len(self.recorder.events)
        response = await self.http.post(
            "/project/action", json={"action": action, "sessionId": self.session_id}
        )
        return mark, response

    async def message(self, text: str, *, since: int | None = None) -> dict[str, Any]:
        """Wait for a message containing ``text`` (from ``since``, default the last mark)."""
        _, data = await self.recorder.wait_for(is_message(text), since=self._since(since))
        return dict(data)

    async def event(self, event: str, *, since: int | None = None) -> Any:
        """Wait for a socket event by name."""
        _, data = await self.recorder.wait_for(
            lambda name, _data: name == event, since=self._since(since)
        )
        return data

    async def action(
        self, name: str, *, exclude: set[str] | None = None, since: int | None = None
    ) -> dict[str, Any]:
        """Wait for an action button ``name`` not about an image in ``exclude``."""
        _, data = await self.recorder.wait_for(is_action(name, exclude), since=self._since(since))
        return dict(data)

    def button(self, name: str, image_id: str | None = None) -> dict[str, Any]:
        """The latest button ``name`` shown (for ``image_id`` when given)."""
        return dict(
            self.recorder.find(
                lambda event, data: (
                    event == "action"
                    and data.get("name") == name
                    and (image_id is None or data.get("payload", {}).get("image_id") == image_id)
                )
            )
        )

    def _since(self, since: int | None) -> int:
        return self.mark if since is None else since

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()
        await self.http.aclose()
