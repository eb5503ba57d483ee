"""Helpers shared by the security tests: sign in with a password, open a socket as a tab."""

from __future__ import annotations

from types import ModuleType
from typing import Any

ENV = {
    "ATELIER_USERS": "alice:pw1,bob:pw2,carol:pw3",
    "ATELIER_ADMINS": "alice",
    "ATELIER_QUALITY": "low",
    "ATELIER_PARTIAL_IMAGES": "0",
}


async def login(harness: ModuleType, server: Any, user: str, password: str) -> Any:
    """A harness client signed in with a password."""
    client = harness.Client(server)
    response = await client.http.post("/login", data={"username": user, "password": password})
    assert response.status_code == 200, response.text
    return client


def cookie_of(client: Any) -> str:
    """The client's cookies as one Cookie header."""
    return "; ".join(f"{k}={v}" for k, v in client.http.cookies.items())


async def open_socket(client: Any, thread_id: str | None = None, origin: str | None = None) -> None:
    """Connect the client's socket like the web app (optionally from another Origin)."""
    headers = {"Cookie": cookie_of(client)}
    if origin is not None:
        headers["Origin"] = origin
    await client.sio.connect(
        client.server.url,
        socketio_path="/ws/socket.io",
        transports=["websocket"],
        headers=headers,
        auth={
            "sessionId": client.session_id,
            "clientType": "webapp",
            "userEnv": "{}",
            "chatProfile": "Studio",
            "threadId": thread_id,
        },
    )
    client.thread_id = thread_id
    await client.sio.emit("connection_successful")


def load_harness() -> ModuleType:
    """tests/e2e/harness.py, loaded once (the same module the ``harness`` fixture gives)."""
    import importlib.util
    import sys
    from pathlib import Path

    name = "atelier_e2e_harness"  # the name tests/conftest.py registers it under
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parents[1] / "e2e" / "harness.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
