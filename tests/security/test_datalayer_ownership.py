"""Issue 16: nobody writes into another user's threads through the data layer.

Alice owns a thread (shared read-only); Bob, acting through a request or a socket session,
tries what Chainlit's routes let a client ask for: replace, delete or plant elements, move a
step into his thread, overwrite or delete feedback, and re-share by saving metadata.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from chainlit.context import init_http_context
from chainlit.element import CustomElement, Image
from chainlit.types import Feedback
from chainlit.user import User

from ui.datalayer import SQLiteDataLayer, Writer, WriteRefused, acting_as
from ui.storage import LocalStorageClient

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
ALICE, BOB = Writer("alice"), Writer("bob")


@pytest.fixture
async def layer(tmp_path: Path, db_target: Path | str) -> AsyncIterator[SQLiteDataLayer]:
    init_http_context()
    data_layer = SQLiteDataLayer(db_target, LocalStorageClient(tmp_path / "files"))
    alice = await data_layer.create_user(User(identifier="alice"))
    bob = await data_layer.create_user(User(identifier="bob"))
    assert alice is not None and bob is not None
    await data_layer.update_thread("ta", name="alice's", user_id=alice.id)
    await data_layer.update_thread("tb", name="bob's", user_id=bob.id)
    with acting_as(ALICE):
        await data_layer.create_step(
            {"id": "sa", "threadId": "ta", "type": "user_message", "output": "hers"}  # type: ignore[typeddict-item]
        )
        await data_layer.create_element(
            Image(id="ea", name="a.png", content=PNG, thread_id="ta", for_id="sa", mime="image/png")
        )
    await data_layer.share_thread("ta", "alice")
    yield data_layer
    await data_layer.close()


def _files(tmp_path: Path) -> list[str]:
    root = tmp_path / "files"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


async def test_element_in_anothers_thread_is_refused_before_any_bytes(
    layer: SQLiteDataLayer, tmp_path: Path
) -> None:
    before = _files(tmp_path)
    planted = Image(name="big.png", content=PNG * 1000, thread_id="ta", for_id="sa")
    replaced = CustomElement(id="ea", name="x", props={}, thread_id="tb", for_id="sb")
    with acting_as(BOB):
        await layer.create_element(planted)
        await layer.create_element(replaced)  # Alice's element id, Bob's thread
        await layer.delete_element("ea", "ta")
        await layer.delete_element("ea")
    thread = await layer.get_thread("ta")
    assert thread is not None
    assert [(e["id"], e["type"], e["threadId"]) for e in thread["elements"]] == [
        ("ea", "image", "ta")
    ]
    assert _files(tmp_path) == before  # nothing planted, nothing deleted


async def test_step_id_of_another_thread_is_refused_never_moved(layer: SQLiteDataLayer) -> None:
    with acting_as(BOB):
        await layer.create_step({"id": "sa", "threadId": "tb", "output": "mine now"})  # type: ignore[typeddict-item]
        await layer.update_step({"id": "sa", "threadId": "ta", "output": "edited"})  # type: ignore[typeddict-item]
        await layer.delete_step("sa")
    thread = await layer.get_thread("ta")
    assert thread is not None and [(s["id"], s["output"]) for s in thread["steps"]] == [
        ("sa", "hers")
    ]
    bobs = await layer.get_thread("tb")
    assert bobs is not None and bobs["steps"] == []


async def test_feedback_only_on_own_threads(layer: SQLiteDataLayer) -> None:
    with acting_as(ALICE):
        feedback_id = await layer.upsert_feedback(Feedback(forId="sa", value=1, comment="good"))
    with acting_as(BOB), pytest.raises(WriteRefused):
        await layer.upsert_feedback(Feedback(id=feedback_id, forId="sa", value=0, comment="bad"))
    with acting_as(BOB):
        assert not await layer.delete_feedback(feedback_id)
    thread = await layer.get_thread("ta")
    assert thread is not None
    assert thread["steps"][0]["feedback"] == {
        "forId": "sa",
        "id": feedback_id,
        "value": 1,
        "comment": "good",
    }


async def test_thread_updates_only_by_owner(layer: SQLiteDataLayer) -> None:
    with acting_as(BOB):
        await layer.update_thread("ta", name="pwned", metadata={"x": 1})
    with acting_as(BOB), pytest.raises(WriteRefused):
        await layer.delete_thread("ta")
    thread = await layer.get_thread("ta")
    assert thread is not None and thread["name"] == "alice's" and "x" not in thread["metadata"]


async def test_saving_session_metadata_does_not_reshare(layer: SQLiteDataLayer) -> None:
    stale = (await layer.get_thread("ta") or {}).get("metadata") or {}
    assert stale["is_shared"] is True
    await layer.unshare_thread("ta", "alice")
    with acting_as(ALICE):  # the owner's tab closing: Chainlit saves the session's metadata
        await layer.update_thread("ta", metadata={**stale, "chat_profile": "Studio"})
    assert not await layer.is_shared("ta")
    thread = await layer.get_thread("ta")
    assert thread is not None and thread["metadata"]["is_shared"] is False
    assert thread["metadata"]["chat_profile"] == "Studio"
    with acting_as(Writer("alice", path="/project/thread/share")):  # Chainlit's share toggle
        await layer.update_thread("ta", metadata={"is_shared": True})
    assert await layer.is_shared("ta")


async def test_first_writer_claims_a_new_thread(layer: SQLiteDataLayer) -> None:
    with acting_as(BOB):
        await layer.create_step({"id": "sn", "threadId": "tn", "output": "new"})  # type: ignore[typeddict-item]
    with acting_as(ALICE):
        await layer.create_step({"id": "sx", "threadId": "tn", "output": "intruder"})  # type: ignore[typeddict-item]
    assert await layer.get_thread_author("tn") == "bob"
    thread = await layer.get_thread("tn")
    assert thread is not None and [s["id"] for s in thread["steps"]] == ["sn"]


async def test_anonymous_request_writes_nothing(layer: SQLiteDataLayer) -> None:
    with acting_as(Writer(None)):
        await layer.create_step({"id": "s0", "threadId": "tz", "output": "anon"})  # type: ignore[typeddict-item]
    assert await layer.get_thread("tz") is None
