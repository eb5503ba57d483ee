# mypy: disable-error-code="no-untyped-call"
# (python-socketio is untyped.)
"""Two users on one server (``ATELIER_USERS="alice:pw1,bob:pw2"``): nothing of Alice's reaches
Bob — not her threads (list, open, resume, share), not her image files by URL, not her images
through action payloads — and the file route answers 401 to anyone without a session.

Each test runs twice: on the data dir's SQLite file, and with ``ATELIER_DATABASE_URL`` on a
fresh PostgreSQL database of the throwaway cluster (the store, the ledger and the Chainlit
data layer all there; no SQLite file is made).
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import socketio

pytestmark = pytest.mark.e2e

ENV = {
    "ATELIER_USERS": "alice:pw1,bob:pw2",
    "ATELIER_QUALITY": "low",
    "ATELIER_PARTIAL_IMAGES": "1",
}


async def _login(harness: ModuleType, server: Any, user: str, password: str) -> Any:
    """A harness client signed in with a password (instead of single-user header auth)."""
    client = harness.Client(server)
    response = await client.http.post("/login", data={"username": user, "password": password})
    assert response.status_code == 200, response.text
    return client


async def _open_socket(client: Any, thread_id: str | None = None) -> None:
    cookie = "; ".join(f"{k}={v}" for k, v in client.http.cookies.items())
    await client.sio.connect(
        client.server.url,
        socketio_path="/ws/socket.io",
        transports=["websocket"],
        headers={"Cookie": cookie},
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


async def _threads(client: Any) -> list[dict[str, Any]]:
    response = await client.http.post(
        "/project/threads",
        json={"pagination": {"first": 50, "cursor": None}, "filter": {}},
    )
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


async def test_users_cannot_reach_each_others_threads_or_images(
    harness: ModuleType, data_dir: Path, database_env: dict[str, str]
) -> None:
    async with harness.run_server(data_dir, {**ENV, **database_env}) as server:
        bad = harness.Client(server)
        wrong = await bad.http.post("/login", data={"username": "alice", "password": "nope"})
        assert wrong.status_code == 401
        await bad.close()

        alice = await _login(harness, server, "alice", "pw1")
        bob = await _login(harness, server, "bob", "pw2")
        anonymous = harness.Client(server)
        try:
            await _open_socket(alice)
            await alice.send("draw a lighthouse poster")
            refine = await alice.action("refine")
            image_id = str(refine["payload"]["image_id"])
            await alice.message("This turn $")
            thread_id = str((await alice.event("first_interaction", since=0))["thread_id"])
            alice_session = alice.session_id

            # Alice sees her thread and its image file (positive controls).
            assert [t["id"] for t in await _threads(alice)] == [thread_id]
            opened = await alice.http.get(f"/project/thread/{thread_id}")
            assert opened.status_code == 200
            urls = [el["url"] for el in opened.json()["elements"] if el.get("url")]
            assert urls, opened.json()["elements"]
            own = await alice.http.get(urls[0])
            assert own.status_code == 200 and own.headers["content-type"].startswith("image/")

            # Bob: not listed, not opened, not renamed, not shared, not deleted.
            assert await _threads(bob) == []
            assert (await bob.http.get(f"/project/thread/{thread_id}")).status_code != 200
            share = await bob.http.put(
                "/project/thread/share", json={"threadId": thread_id, "isShared": True}
            )
            assert share.status_code != 200
            assert (await bob.http.get(f"/project/share/{thread_id}")).status_code == 404
            rename = await bob.http.put(
                "/project/thread", json={"threadId": thread_id, "name": "mine now"}
            )
            assert rename.status_code != 200
            delete = await bob.http.request(
                "DELETE", "/project/thread", json={"threadId": thread_id}
            )
            assert delete.status_code != 200
            # Her image files: 404 for Bob (existence not revealed), 401 with no session.
            for url in urls:
                assert (await bob.http.get(url)).status_code == 404
                assert (await anonymous.http.get(url)).status_code == 401
            prefix = urls[0].split("/threads/", 1)[0]
            for escape in (
                "threads/..%2F..%2Fatelier.db",
                "%2E%2E/%2E%2E/atelier.db",
                "threads/%2e%2e/%2e%2e/%2e%2e/atelier.db",
                "..%5C..%5Catelier.db",
            ):
                probe = await bob.http.get(f"{prefix}/{escape}")
                assert b"SQLite format 3" not in probe.content, escape
                assert probe.status_code in (401, 404) or probe.headers.get(
                    "content-type", ""
                ).startswith("text/html"), (escape, probe.status_code)  # fmt: skip

            # Bob cannot resume her thread over the socket.
            with pytest.raises(socketio.exceptions.ConnectionError):
                await _open_socket(bob, thread_id=thread_id)
            bob.sio = socketio.AsyncClient(reconnection=False)
            bob.sio.on("*", bob.recorder.add)

            # In his own chat, her image id in an action payload is refused.
            await _open_socket(bob)
            await bob.send("draw a kite")
            await bob.message("This turn $")
            for name in ("refine", "variations", "download", "lineage"):
                _, response = await bob.call_action(
                    {"name": name, "payload": {"image_id": image_id}, "id": f"x-{name}"}
                )
                assert response.status_code == 200, response.text
                await bob.message("not part of this conversation")
            # ...and he cannot press buttons in her socket session.
            hijack = await bob.http.post(
                "/project/action",
                json={
                    "action": {"name": "download", "payload": {"image_id": image_id}, "id": "y"},
                    "sessionId": alice_session,
                },
            )
            assert hijack.status_code == 401
            seen_by_bob = str(bob.recorder.events)
            assert image_id not in seen_by_bob.replace(f"'image_id': '{image_id}'", "")
            assert "lighthouse" not in seen_by_bob

            # Alice's thread is unchanged and still hers alone.
            mine = await _threads(alice)
            assert [t["id"] for t in mine] == [thread_id] and mine[0]["name"] != "mine now"
            assert len(await _threads(bob)) == 1
        finally:
            for client in (alice, bob, anonymous):
                await client.close()
    # On PostgreSQL nothing fell back to a SQLite file in the data dir.
    assert (data_dir / "atelier.db").exists() == (not database_env)


async def test_file_route_needs_a_session_in_single_user_mode(
    harness: ModuleType, data_dir: Path, database_env: dict[str, str]
) -> None:
    async with harness.run_server(data_dir, {"ATELIER_QUALITY": "low", **database_env}) as server:
        client = harness.Client(server)
        stranger = harness.Client(server)
        try:
            await client.connect(profile="Studio")
            await client.send("draw a lighthouse")
            await client.message("This turn $")
            thread_id = str((await client.event("first_interaction", since=0))["thread_id"])
            # The web client posts its session id for the HttpOnly session cookie first.
            cookie = await client.http.post(
                "/set-session-cookie", json={"session_id": client.session_id}
            )
            assert cookie.status_code == 200, cookie.text
            thread = await client.http.get(f"/project/thread/{thread_id}")
            urls = [el["url"] for el in thread.json()["elements"] if el.get("url")]
            assert urls
            assert (await client.http.get(urls[0])).status_code == 200
            assert (await stranger.http.get(urls[0])).status_code == 401
            stranger.http.cookies.set("X-Chainlit-Session-id", "not-a-live-session")
            forged = await stranger.http.get(urls[0])
            assert forged.status_code == 401
        finally:
            await client.close()
            await stranger.close()
