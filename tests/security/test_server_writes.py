# mypy: disable-error-code="no-untyped-call"
"""Issue 16 over a running server with two users: Bob cannot write into Alice's threads.

Alice draws in a thread and shares it; Bob, signed in with his own session, uses Chainlit's
own routes and socket events the way a curious user would (element PUT/DELETE, a message
reusing her step id, feedback by id). Alice's thread must come out unchanged. The server is
shared by this module's tests (starting one takes seconds).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from .support import ENV, load_harness, login, open_socket

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]


@dataclass
class World:
    """The running server, Alice's shared thread and both users' clients."""

    harness: Any
    server: Any
    alice: Any
    bob: Any
    thread_id: str
    data_dir: Path

    async def alices_thread(self) -> dict[str, Any]:
        response = await self.alice.http.get(f"/project/thread/{self.thread_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    harness = load_harness()
    data_dir = tmp_path_factory.mktemp("security") / "data"
    data_dir.mkdir()
    async with harness.run_server(data_dir, ENV) as server:
        alice = await login(harness, server, "alice", "pw1")
        bob = await login(harness, server, "bob", "pw2")
        try:
            await open_socket(alice)
            await alice.send("draw a lighthouse poster")
            await alice.action("refine")
            await alice.message("This turn $")
            thread_id = str((await alice.event("first_interaction", since=0))["thread_id"])
            shared = await alice.http.put(
                "/project/thread/share", json={"threadId": thread_id, "isShared": True}
            )
            assert shared.status_code == 200, shared.text
            await open_socket(bob)
            # Bob chats too: his session's writes now reach the data layer at once.
            mark = await bob.send("hello")
            await bob.message("This turn $", since=mark)
            yield World(harness, server, alice, bob, thread_id, data_dir)
        finally:
            await alice.close()
            await bob.close()


def _custom(element_id: str, thread_id: str, for_id: str) -> dict[str, Any]:
    return {
        "id": element_id,
        "type": "custom",
        "threadId": thread_id,
        "forId": for_id,
        "name": "Planted",
        "display": "inline",
        "props": {"blob": "x" * 200_000},
    }


async def test_element_routes_cannot_change_another_users_thread(world: World) -> None:
    before = await world.alices_thread()
    image = next(e for e in before["elements"] if e["type"] == "image")
    step_id = image["forId"]
    bob = world.bob
    replace = _custom(image["id"], world.thread_id, step_id)
    plant = _custom(str(uuid.uuid4()), world.thread_id, step_id)
    for payload in (replace, plant):
        await bob.http.put(
            "/project/element", json={"element": payload, "sessionId": bob.session_id}
        )
    await bob.http.request(
        "DELETE",
        "/project/element",
        json={"element": {**replace, "type": "custom"}, "sessionId": bob.session_id},
    )
    # Chainlit stores elements in background tasks: a whole turn of Bob's later, through
    # the same (first-come first-served) data-layer lock, they have landed or been refused.
    mark = await bob.send("again")
    await bob.message("This turn $", since=mark)
    after = await world.alices_thread()
    assert [(e["id"], e["type"], e["url"]) for e in after["elements"]] == [
        (e["id"], e["type"], e["url"]) for e in before["elements"]
    ]
    file = await world.alice.http.get(image["url"])
    assert file.status_code == 200 and file.content.startswith(b"\x89PNG")


async def test_a_message_reusing_anothers_step_id_does_not_move_it(world: World) -> None:
    before = await world.alices_thread()
    prompt = next(s for s in before["steps"] if s["type"] == "user_message")
    bob = world.bob
    mark = len(bob.recorder.events)
    await bob.sio.emit(
        "client_message",
        {
            "message": {
                "id": prompt["id"],
                "threadId": None,
                "type": "user_message",
                "output": "hijacked text",
                "createdAt": datetime.now(UTC).isoformat(),
                "name": "User",
            },
            "fileReferences": None,
        },
    )
    await bob.message("This turn $", since=mark)  # Bob's own turn ran and was billed
    after = await world.alices_thread()
    moved = next(s for s in after["steps"] if s["id"] == prompt["id"])
    assert (moved["threadId"], moved["output"]) == (world.thread_id, prompt["output"])


async def test_feedback_cannot_be_overwritten_or_deleted_by_another_user(world: World) -> None:
    thread = await world.alices_thread()
    step = next(s for s in thread["steps"] if s["type"] == "assistant_message")
    mine = await world.alice.http.put(
        "/feedback",
        json={"feedback": {"forId": step["id"], "value": 1, "comment": "lovely"}, "sessionId": "x"},
    )
    assert mine.status_code == 200, mine.text
    feedback_id = mine.json()["feedbackId"]
    bob = world.bob
    await bob.http.put(
        "/feedback",
        json={
            "feedback": {"id": feedback_id, "forId": step["id"], "value": 0, "comment": "ugly"},
            "sessionId": bob.session_id,
        },
    )
    await bob.http.request("DELETE", "/feedback", json={"feedbackId": feedback_id})
    after = await world.alices_thread()
    kept = next(s for s in after["steps"] if s["id"] == step["id"])
    assert kept["feedback"] == {
        "forId": step["id"],
        "id": feedback_id,
        "value": 1,
        "comment": "lovely",
    }


async def test_threads_one_may_not_see_answer_404_whether_they_exist_or_not(world: World) -> None:
    bob = world.bob
    existing = await bob.http.get(f"/project/thread/{world.thread_id}")
    missing = await bob.http.get(f"/project/thread/{uuid.uuid4()}")
    renamed = await bob.http.put(
        "/project/thread", json={"threadId": world.thread_id, "name": "mine"}
    )
    assert (existing.status_code, missing.status_code, renamed.status_code) == (404, 404, 404)
    assert existing.json() == missing.json()


async def test_a_closing_tab_does_not_undo_an_unshare(world: World) -> None:
    harness, alice = world.harness, world.alice
    tab = harness.Client(world.server)
    tab.http.cookies.update(alice.http.cookies)
    try:
        await open_socket(tab, thread_id=world.thread_id)  # resumed while the thread is shared
        await tab.event("resume_thread", since=0)
        off = await alice.http.put(
            "/project/thread/share", json={"threadId": world.thread_id, "isShared": False}
        )
        assert off.status_code == 200
    finally:
        await tab.close()  # Chainlit saves the tab's (stale) metadata on disconnect
    viewer = await world.bob.http.get(f"/project/share/{world.thread_id}")
    assert viewer.status_code == 404
    again = await alice.http.put(
        "/project/thread/share", json={"threadId": world.thread_id, "isShared": True}
    )
    assert again.status_code == 200


async def test_databases_and_secrets_are_private(world: World) -> None:
    private = [p for p in world.data_dir.iterdir() if p.suffix == ".db" or p.name == "auth_secret"]
    assert {p.name for p in private} >= {"atelier.db", "auth_secret"}
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in private} == {
        p.name: "0o600" for p in private
    }
