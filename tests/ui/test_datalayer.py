"""The data layer: Chainlit's persistence contract, called directly, on SQLite and PostgreSQL.

Every test that takes ``db_target`` runs twice: on a fresh SQLite file and on a fresh
database of the throwaway PostgreSQL cluster (tests/scale/services.py).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from chainlit.context import init_http_context, init_ws_context
from chainlit.element import File, Image
from chainlit.session import WebsocketSession
from chainlit.step import StepDict
from chainlit.types import Feedback, Pagination, ThreadFilter
from chainlit.user import PersistedUser, User

from agent.errors import NotFound
from agent.store.database import open_database
from ui.datalayer import SQLiteDataLayer, normalize_timestamp
from ui.storage import SINGLE_USER_IDENTIFIER, LocalStorageClient

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorageClient:
    return LocalStorageClient(tmp_path / "files")


@pytest.fixture
async def layer(
    db_target: Path | str, storage: LocalStorageClient
) -> AsyncIterator[SQLiteDataLayer]:
    init_http_context()  # step/element writes need a Chainlit context (HTTP: run at once)
    data_layer = SQLiteDataLayer(db_target, storage)
    yield data_layer
    await data_layer.close()


async def make_user(layer: SQLiteDataLayer, name: str) -> PersistedUser:
    user = await layer.create_user(User(identifier=name))
    assert user is not None
    return user


async def make_thread(
    layer: SQLiteDataLayer, thread_id: str, user: PersistedUser | None, name: str = "chat"
) -> None:
    await layer.update_thread(thread_id, name=name, user_id=user.id if user else None)


def step(step_id: str, thread_id: str, **fields: Any) -> StepDict:
    base: dict[str, Any] = {"id": step_id, "threadId": thread_id, "type": "assistant_message"}
    base.update(fields)
    return base  # type: ignore[return-value]


def sqlite_rows(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db_path) as conn:
        result = conn.execute(sql, params).fetchall()
    conn.close()
    return result


async def rows(target: Path | str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """A query's rows as tuples, through a second connection to either backend."""
    db = await open_database(target)
    try:
        return [tuple(row) for row in await db.fetch(sql, params)]
    finally:
        await db.close()


async def test_schema_is_migrated_lazily_in_wal_mode(tmp_path: Path) -> None:
    db_path = tmp_path / "atelier.db"
    layer = SQLiteDataLayer(db_path)
    assert not db_path.exists()  # lazy: nothing opened yet
    assert await layer.get_user("nobody") is None
    await layer.close()
    listed = sqlite_rows(db_path, "SELECT name FROM sqlite_master WHERE type='table'")
    tables = {r[0] for r in listed}
    assert {
        "cl_users",
        "cl_threads",
        "cl_steps",
        "cl_elements",
        "cl_feedbacks",
        "cl_thread_shares",
        "_ui_migrations",
    } <= tables
    assert sqlite_rows(db_path, "PRAGMA journal_mode") == [("wal",)]
    again = SQLiteDataLayer(db_path)
    assert await again.get_user("nobody") is None  # re-opening does not re-run migrations
    await again.close()
    assert sqlite_rows(db_path, "SELECT name FROM _ui_migrations ORDER BY name") == [
        ("m001_chainlit_tables",),
        ("m002_index_step_sequence",),
        ("m003_token_versions",),
        ("m004_step_sequence",),
    ]


async def test_closed_layer_refuses_use(layer: SQLiteDataLayer) -> None:
    await layer.close()
    await layer.close()  # twice is fine
    with pytest.raises(RuntimeError, match="closed"):
        await layer.get_user("alice")


async def test_users_round_trip_and_upsert_keeps_id(layer: SQLiteDataLayer) -> None:
    created = await layer.create_user(User(identifier="alice", metadata={"role": "admin"}))
    assert created is not None
    fetched = await layer.get_user("alice")
    assert fetched == created
    assert fetched.metadata == {"role": "admin"}
    again = await layer.create_user(User(identifier="alice", metadata={"role": "user"}))
    assert again is not None
    assert again.id == created.id
    assert again.metadata == {"role": "user"}
    assert await layer.get_user("bob") is None


async def test_step_round_trip_keeps_every_field(layer: SQLiteDataLayer) -> None:
    alice = await make_user(layer, "alice")
    await make_thread(layer, "t1", alice)
    full = step(
        "s1",
        "t1",
        name="image_generation",
        type="tool",
        parentId=None,
        command="draw",
        modes={"quality": "high"},
        streaming=False,
        waitForAnswer=True,
        isError=True,
        metadata={"image_id": "ig_1", "icon": "brush"},
        tags=["image"],
        input='{"prompt": "a cat"}',
        output="done",
        createdAt="2026-01-02T03:04:05.123456Z",
        start="2026-01-02T03:04:05.200000Z",
        end="2026-01-02T03:04:09Z",
        generation={"provider": "openai", "model": "gpt-image-2"},
        showInput="json",
        defaultOpen=True,
        autoCollapse=True,
        language="json",
    )
    await layer.create_step(full)
    thread = await layer.get_thread("t1")
    assert thread is not None
    (got,) = thread["steps"]
    for key in (
        "id",
        "threadId",
        "name",
        "type",
        "command",
        "modes",
        "waitForAnswer",
        "isError",
        "metadata",
        "tags",
        "input",
        "output",
        "createdAt",
        "start",
        "generation",
        "showInput",
        "defaultOpen",
        "autoCollapse",
        "language",
    ):
        assert got[key] == full[key], key
    assert got["end"] == "2026-01-02T03:04:09.000000Z"  # normalised, same instant
    assert got["icon"] == "brush"  # Chainlit moves the icon into metadata; we surface it
    assert got["feedback"] is None
    assert got["parentId"] is None


async def test_update_step_merges_like_chainlit(layer: SQLiteDataLayer) -> None:
    await layer.create_step(
        step("s1", "t1", output="", createdAt="2026-01-01T00:00:00Z", metadata={"a": 1})
    )
    await layer.update_step(step("s1", "t1", output="streamed text", streaming=False))
    await layer.update_step(step("s1", "t1", type="run", output="", metadata={}))
    thread = await layer.get_thread("t1")
    assert thread is not None
    (got,) = thread["steps"]
    assert got["output"] == "streamed text"  # an empty update never erases
    assert got["type"] == "assistant_message"  # "run" never overrides a real type
    assert got["metadata"] == {"a": 1}  # an empty metadata never erases
    assert got["createdAt"] == "2026-01-01T00:00:00.000000Z"


async def test_steps_come_back_in_creation_order(layer: SQLiteDataLayer) -> None:
    # Written out of order; Chainlit's utc_now() drops ".000000" on whole seconds.
    await layer.create_step(step("late", "t1", createdAt="2026-01-01T00:00:01.5Z"))
    await layer.create_step(step("first", "t1", createdAt="2026-01-01T00:00:01Z"))
    await layer.create_step(step("tie-a", "t1", createdAt="2026-01-01T00:00:02Z"))
    await layer.create_step(step("tie-b", "t1", createdAt="2026-01-01T00:00:02Z"))
    thread = await layer.get_thread("t1")
    assert thread is not None
    assert [s["id"] for s in thread["steps"]] == ["first", "late", "tie-a", "tie-b"]


async def test_missing_parent_gets_a_placeholder_run_step(layer: SQLiteDataLayer) -> None:
    await layer.create_step(step("child", "t1", parentId="parent", type="tool"))
    thread = await layer.get_thread("t1")
    assert thread is not None
    by_id = {s["id"]: s for s in thread["steps"]}
    assert by_id["parent"]["type"] == "run"
    assert by_id["child"]["parentId"] == "parent"
    # When the real parent arrives it takes over the placeholder.
    await layer.create_step(step("parent", "t1", type="assistant_message", output="hi"))
    thread = await layer.get_thread("t1")
    assert thread is not None
    parent = next(s for s in thread["steps"] if s["id"] == "parent")
    assert (parent["type"], parent["output"]) == ("assistant_message", "hi")


def test_normalize_timestamp_forms() -> None:
    assert normalize_timestamp("2026-01-01T00:00:00Z") == "2026-01-01T00:00:00.000000Z"
    assert normalize_timestamp("2026-01-01T01:00:00+01:00") == "2026-01-01T00:00:00.000000Z"
    assert normalize_timestamp(None) is None
    assert normalize_timestamp("yesterday") == "yesterday"


async def test_update_thread_merges_metadata_and_sets_owner(layer: SQLiteDataLayer) -> None:
    alice = await make_user(layer, "alice")
    await layer.update_thread("t1", metadata={"chat_profile": "studio", "env": {"x": 1}})
    await layer.update_thread(
        "t1", name="n" * 300, user_id=alice.id, metadata={"env": None, "k": 2}, tags=["studio"]
    )
    thread = await layer.get_thread("t1")
    assert thread is not None
    assert thread["metadata"] == {"chat_profile": "studio", "k": 2}
    assert thread["name"] == "n" * 255
    assert thread["userId"] == alice.id
    assert thread["userIdentifier"] == "alice"
    assert thread["tags"] == ["studio"]
    assert await layer.get_thread_author("t1") == "alice"
    # The name may come from metadata, as in Chainlit's layer.
    await layer.update_thread("t1", metadata={"name": "from metadata"})
    renamed = await layer.get_thread("t1")
    assert renamed is not None and renamed["name"] == "from metadata"


async def test_update_thread_without_changes_leaves_it_alone(
    layer: SQLiteDataLayer, db_target: Path | str
) -> None:
    await layer.update_thread("t1", name="x")
    before = await rows(db_target, "SELECT updated_at FROM cl_threads")
    await layer.update_thread("t1")
    assert await rows(db_target, "SELECT updated_at FROM cl_threads") == before


async def test_update_thread_with_unknown_user_is_refused(layer: SQLiteDataLayer) -> None:
    with pytest.raises(NotFound):
        await layer.update_thread("t1", user_id="no-such-user")
    assert await layer.get_thread("t1") is None


async def test_unknown_thread(layer: SQLiteDataLayer) -> None:
    assert await layer.get_thread("nope") is None
    assert await layer.get_thread_author("nope") == ""
    assert await layer.get_element("nope", "e") is None


async def test_list_threads_pages_through_one_users_threads(layer: SQLiteDataLayer) -> None:
    alice, bob = await make_user(layer, "alice"), await make_user(layer, "bob")
    for index in range(5):
        await make_thread(layer, f"a{index}", alice, name=f"alice {index}")
    await make_thread(layer, "b0", bob, name="bob 0")
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await layer.list_threads(
            Pagination(first=2, cursor=cursor), ThreadFilter(userId=alice.id)
        )
        pages += 1
        seen += [t["id"] for t in page.data]
        assert all(t["userIdentifier"] == "alice" for t in page.data)
        if not page.pageInfo.hasNextPage:
            break
        assert page.pageInfo.endCursor == page.data[-1]["id"]
        cursor = page.pageInfo.endCursor
    assert pages == 3
    assert seen == ["a4", "a3", "a2", "a1", "a0"]  # most recently updated first
    # Activity moves a thread to the top.
    await layer.create_step(step("s", "a1", output="new"))
    top = await layer.list_threads(Pagination(first=1), ThreadFilter(userId=alice.id))
    assert [t["id"] for t in top.data] == ["a1"]
    assert top.pageInfo.hasNextPage


async def test_list_threads_never_lists_everyone(layer: SQLiteDataLayer) -> None:
    alice = await make_user(layer, "alice")
    await make_thread(layer, "a0", alice)
    await make_thread(layer, "anon", None)
    page = await layer.list_threads(Pagination(first=20), ThreadFilter())
    assert page.data == []
    assert not page.pageInfo.hasNextPage


async def test_list_threads_search_and_feedback_filters(layer: SQLiteDataLayer) -> None:
    alice = await make_user(layer, "alice")
    await make_thread(layer, "t1", alice, name="Red Fox sketch")
    await make_thread(layer, "t2", alice, name="blue whale 100%")
    await make_thread(layer, "t3", alice, name="green frog")
    await layer.create_step(step("s1", "t1"))
    await layer.create_step(step("s2", "t2"))
    await layer.upsert_feedback(Feedback(forId="s1", value=1))
    await layer.upsert_feedback(Feedback(forId="s2", value=0))

    async def ids(**filters: Any) -> list[str]:
        page = await layer.list_threads(
            Pagination(first=20), ThreadFilter(userId=alice.id, **filters)
        )
        return sorted(t["id"] for t in page.data)

    assert await ids(search="fox") == ["t1"]  # case-insensitive
    assert await ids(search="0%") == ["t2"]  # "%" is literal, not a wildcard
    assert await ids(search="%") == ["t2"]
    assert await ids(feedback=1) == ["t1"]
    assert await ids(feedback=0) == ["t2"]
    assert await ids() == ["t1", "t2", "t3"]


async def test_feedback_upsert_is_one_per_step(layer: SQLiteDataLayer) -> None:
    await layer.create_step(step("s1", "t1"))
    first = await layer.upsert_feedback(Feedback(forId="s1", value=1, comment="nice"))
    second = await layer.upsert_feedback(Feedback(forId="s1", value=0, comment="changed"))
    assert first == second
    third = await layer.upsert_feedback(Feedback(id=first, forId="s1", value=1, comment=None))
    assert third == first
    thread = await layer.get_thread("t1")
    assert thread is not None
    assert thread["steps"][0]["feedback"] == {
        "forId": "s1",
        "id": first,
        "value": 1,
        "comment": None,
    }
    assert await layer.delete_feedback(first)
    assert not await layer.delete_feedback(first)
    thread = await layer.get_thread("t1")
    assert thread is not None and thread["steps"][0]["feedback"] is None


async def test_image_element_goes_through_storage(
    layer: SQLiteDataLayer, storage: LocalStorageClient
) -> None:
    await layer.create_step(step("s1", "t1"))
    image = Image(name="cat.png", content=PNG, thread_id="t1", for_id="s1", mime="image/png")
    await layer.create_element(image)
    key = f"threads/t1/files/{image.id}"
    assert storage.path_for(key).read_bytes() == PNG
    got = await layer.get_element("t1", image.id)
    assert got is not None
    assert got["objectKey"] == key
    assert got["url"] == f"/atelier/files/{key}"
    assert (got["type"], got["mime"], got["name"], got["forId"]) == (
        "image",
        "image/png",
        "cat.png",
        "s1",
    )
    thread = await layer.get_thread("t1")
    assert thread is not None and thread["elements"] == [got]
    await layer.delete_element(image.id, "t1")
    assert await layer.get_element("t1", image.id) is None
    assert not storage.path_for(key).exists()


async def test_element_from_path_and_from_url(
    layer: SQLiteDataLayer, storage: LocalStorageClient, tmp_path: Path
) -> None:
    source = tmp_path / "notes.txt"
    source.write_text("hello", encoding="utf-8")
    on_disk = File(name="notes.txt", path=str(source), thread_id="t1", for_id="s1")
    remote = Image(name="r.png", url="https://example.com/r.png", thread_id="t1", for_id="s1")
    await layer.create_element(on_disk)
    await layer.create_element(remote)
    assert storage.path_for(f"threads/t1/files/{on_disk.id}").read_text() == "hello"
    got_remote = await layer.get_element("t1", remote.id)
    assert got_remote is not None
    assert got_remote["url"] == "https://example.com/r.png"  # kept, nothing uploaded
    assert got_remote["objectKey"] is None
    thread = await layer.get_thread("t1")
    assert thread is not None
    assert {s["id"] for s in thread["steps"]} == {"s1"}  # placeholder step for the element


async def test_element_without_step_is_not_persisted(layer: SQLiteDataLayer) -> None:
    image = Image(name="x.png", content=PNG, thread_id="t1")
    await layer.create_element(image)
    assert await layer.get_thread("t1") is None


async def test_elements_without_storage_keep_metadata_only(db_target: Path | str) -> None:
    init_http_context()
    layer = SQLiteDataLayer(db_target)
    image = Image(name="x.png", content=PNG, thread_id="t1", for_id="s1", mime="image/png")
    await layer.create_element(image)
    got = await layer.get_element("t1", image.id)
    await layer.close()
    assert got is not None
    assert (got["objectKey"], got["url"]) == (None, None)


async def test_delete_step_takes_children_elements_and_feedback(
    layer: SQLiteDataLayer, storage: LocalStorageClient
) -> None:
    await layer.create_step(step("keep", "t1"))
    await layer.create_step(step("root", "t1"))
    await layer.create_step(step("child", "t1", parentId="root"))
    await layer.create_step(step("grandchild", "t1", parentId="child"))
    image = Image(name="x.png", content=PNG, thread_id="t1", for_id="grandchild")
    await layer.create_element(image)
    await layer.upsert_feedback(Feedback(forId="child", value=1))
    await layer.delete_step("root")
    thread = await layer.get_thread("t1")
    assert thread is not None
    assert [s["id"] for s in thread["steps"]] == ["keep"]
    assert thread["elements"] == []
    assert not storage.path_for(f"threads/t1/files/{image.id}").exists()
    page = await layer.list_threads(Pagination(first=5), ThreadFilter(userId="x", feedback=1))
    assert page.data == []


async def test_delete_thread_removes_everything(
    layer: SQLiteDataLayer, storage: LocalStorageClient, db_target: Path | str
) -> None:
    alice = await make_user(layer, "alice")
    await make_thread(layer, "t1", alice)
    await make_thread(layer, "t2", alice)
    await layer.create_step(step("s1", "t1"))
    await layer.create_step(step("s2", "t2"))
    image = Image(name="x.png", content=PNG, thread_id="t1", for_id="s1")
    await layer.create_element(image)
    await layer.upsert_feedback(Feedback(forId="s1", value=1))
    await layer.share_thread("t1", "alice")
    await layer.delete_thread("t1")
    assert await layer.get_thread("t1") is None
    assert await layer.get_thread_author("t1") == ""
    assert not await layer.is_shared("t1")
    assert not storage.path_for(f"threads/t1/files/{image.id}").exists()
    assert not (storage.root / "threads" / "t1").exists()  # the emptied folder is gone
    for table in ("cl_steps", "cl_elements", "cl_feedbacks", "cl_thread_shares"):
        counted = await rows(db_target, f"SELECT COUNT(*) FROM {table} WHERE thread_id = 't1'")
        assert counted == [(0,)], table
    assert await layer.get_thread("t2") is not None


async def test_deleting_a_thread_tells_the_app(db_target: Path | str) -> None:
    deleted: list[str] = []

    async def record(thread_id: str) -> None:
        deleted.append(thread_id)

    layer = SQLiteDataLayer(db_target, on_thread_deleted=record)
    try:
        alice = await make_user(layer, "alice")
        await make_thread(layer, "t1", alice)
        await layer.delete_thread("t1")
        assert deleted == ["t1"]
    finally:
        await layer.close()


async def test_sharing_is_owner_only_and_opens_files(layer: SQLiteDataLayer) -> None:
    alice = await make_user(layer, "alice")
    await make_user(layer, "bob")
    await make_thread(layer, "t1", alice)
    image = Image(name="x.png", content=PNG, thread_id="t1", for_id="s1")
    await layer.create_element(image)
    key = f"threads/t1/files/{image.id}"
    assert await layer.can_read_object("alice", key)
    assert not await layer.can_read_object("bob", key)
    assert not await layer.can_read_object(SINGLE_USER_IDENTIFIER, key)
    assert not await layer.can_read_object("alice", "threads/t1/files/unknown")
    with pytest.raises(NotFound):
        await layer.share_thread("t1", "bob")
    with pytest.raises(NotFound):
        await layer.share_thread("missing", "alice")
    assert not await layer.is_shared("t1")

    await layer.share_thread("t1", "alice")
    assert await layer.is_shared("t1")
    assert await layer.can_read_object("bob", key)
    assert await layer.can_read_thread("bob", "t1")
    thread = await layer.get_thread("t1")
    assert thread is not None and thread["metadata"] is not None
    assert thread["metadata"]["is_shared"] is True  # Chainlit's /share page reads this
    assert "shared_at" in thread["metadata"]

    with pytest.raises(NotFound):
        await layer.unshare_thread("t1", "bob")
    await layer.unshare_thread("t1", "alice")
    assert not await layer.is_shared("t1")
    assert not await layer.can_read_object("bob", key)
    thread = await layer.get_thread("t1")
    assert thread is not None and thread["metadata"] is not None
    assert thread["metadata"]["is_shared"] is False
    assert "shared_at" not in thread["metadata"]


async def test_chainlit_share_toggle_updates_share_table(layer: SQLiteDataLayer) -> None:
    alice = await make_user(layer, "alice")
    await make_thread(layer, "t1", alice)
    # What chainlit/server.py's PUT /project/thread/share does:
    await layer.update_thread("t1", metadata={"is_shared": True, "shared_at": "now"})
    assert await layer.is_shared("t1")
    await layer.update_thread("t1", metadata={"is_shared": False})
    assert not await layer.is_shared("t1")


async def test_single_user_threads_belong_to_the_local_user(layer: SQLiteDataLayer) -> None:
    await layer.create_step(step("s1", "t1"))
    image = Image(name="x.png", content=PNG, thread_id="t1", for_id="s1")
    await layer.create_element(image)
    key = f"threads/t1/files/{image.id}"
    assert await layer.can_read_object(SINGLE_USER_IDENTIFIER, key)
    assert not await layer.can_read_object("alice", key)
    await layer.share_thread("t1", SINGLE_USER_IDENTIFIER)
    assert await layer.is_shared("t1")


async def test_favorite_steps(layer: SQLiteDataLayer) -> None:
    alice, bob = await make_user(layer, "alice"), await make_user(layer, "bob")
    await make_thread(layer, "t1", alice)
    await make_thread(layer, "t2", bob)
    await layer.create_step(step("s1", "t1", output="a prompt"))
    await layer.create_step(step("s2", "t1", output="other"))
    await layer.create_step(step("s3", "t2", output="bob's"))
    stored = await layer.get_thread("t1")
    assert stored is not None
    await layer.set_step_favorite(stored["steps"][0], True)
    await layer.set_step_favorite(step("s3", "t2", metadata={}), True)
    favorites = await layer.get_favorite_steps(alice.id)
    assert [(s["id"], s["output"]) for s in favorites] == [("s1", "a prompt")]
    await layer.set_step_favorite(favorites[0], False)
    assert await layer.get_favorite_steps(alice.id) == []


async def test_writes_wait_for_the_first_user_message(db_target: Path | str) -> None:
    """Before the first message of a websocket session, step writes are queued."""
    layer = SQLiteDataLayer(db_target)
    session = WebsocketSession(
        id="session-queue-test",
        socket_id="socket-queue-test",
        emit=lambda event, data: None,
        emit_call=lambda event, data, timeout: None,
        user_env={},
        client_type="webapp",
        thread_id="t1",
        user=User(identifier=SINGLE_USER_IDENTIFIER),
    )
    try:
        init_ws_context(session)
        await layer.create_step(step("s1", "t1", output="hello"))
        assert await layer.get_thread("t1") is None  # queued, not written
        session.has_first_interaction = True
        await session.flush_method_queue()  # type: ignore[no-untyped-call]
        thread = await layer.get_thread("t1")
        assert thread is not None and [s["id"] for s in thread["steps"]] == ["s1"]
        await layer.create_step(step("s2", "t1"))  # after the first message: at once
        thread = await layer.get_thread("t1")
        assert thread is not None and len(thread["steps"]) == 2
    finally:
        await session.delete()  # type: ignore[no-untyped-call]
        await layer.close()


async def test_concurrent_writes_all_land(layer: SQLiteDataLayer, db_target: Path | str) -> None:
    await asyncio.gather(
        *(layer.create_step(step(f"s{i:03d}", "t1", output=str(i))) for i in range(60)),
        *(layer.update_thread("t1", metadata={f"k{i}": i}) for i in range(20)),
    )
    thread = await layer.get_thread("t1")
    assert thread is not None
    assert len(thread["steps"]) == 60
    assert thread["metadata"] == {f"k{i}": i for i in range(20)}
    seqs = [row[0] for row in await rows(db_target, "SELECT seq FROM cl_steps")]
    assert len(set(seqs)) == len(seqs) == 60  # concurrent inserts never share a number


async def test_two_layers_share_one_file(db_target: Path | str) -> None:
    init_http_context()
    first = SQLiteDataLayer(db_target)
    second = SQLiteDataLayer(db_target)
    try:
        await asyncio.gather(
            *(first.create_step(step(f"a{i}", "t1")) for i in range(20)),
            *(second.create_step(step(f"b{i}", "t1")) for i in range(20)),
        )
        thread = await second.get_thread("t1")
        assert thread is not None and len(thread["steps"]) == 40
    finally:
        await first.close()
        await second.close()


async def test_chainlit_server_routes_work_on_this_layer(
    tmp_path: Path, db_target: Path | str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chainlit's own HTTP routes (history, resume, share, feedback, delete) on our layer."""
    import chainlit.data as chainlit_data
    from chainlit.auth.jwt import create_jwt
    from chainlit.config import config
    from chainlit.server import app

    from ui.storage import install_file_route

    monkeypatch.setenv("CHAINLIT_CUSTOM_AUTH", "1")
    monkeypatch.setenv("CHAINLIT_AUTH_SECRET", "s" * 48)
    storage = LocalStorageClient(tmp_path / "files")
    layer = SQLiteDataLayer(db_target, storage)
    monkeypatch.setattr(config.code, "data_layer", lambda: layer)
    monkeypatch.setattr(chainlit_data, "_data_layer", None)
    monkeypatch.setattr(chainlit_data, "_data_layer_initialized", False)
    routes_before = list(app.router.routes)
    install_file_route(app, storage, layer.can_read_object)
    init_http_context()
    cookies = {"access_token": create_jwt(User(identifier="alice"))}
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", cookies=cookies
        ) as client:
            listed = await client.post(
                "/project/threads", json={"pagination": {"first": 20}, "filter": {}}
            )
            assert listed.status_code == 200 and listed.json()["data"] == []
            alice = await layer.get_user("alice")  # created by Chainlit's auth on first call
            assert alice is not None
            await layer.update_thread("t1", name="hello", user_id=alice.id, tags=["studio"])
            await layer.create_step(step("s1", "t1", type="user_message", output="hi"))
            image = Image(name="x.png", content=PNG, thread_id="t1", for_id="s1", mime="image/png")
            await layer.create_element(image)

            listed = await client.post(
                "/project/threads",
                json={"pagination": {"first": 20}, "filter": {"search": "hel"}},
            )
            assert [t["id"] for t in listed.json()["data"]] == ["t1"]
            resumed = (await client.get("/project/thread/t1")).json()
            assert [s["output"] for s in resumed["steps"]] == ["hi"]
            file = await client.get(resumed["elements"][0]["url"])
            assert (file.status_code, file.content) == (200, PNG)
            shared = await client.put(
                "/project/thread/share", json={"threadId": "t1", "isShared": True}
            )
            assert shared.status_code == 200 and await layer.is_shared("t1")
            feedback = await client.put(
                "/feedback", json={"feedback": {"forId": "s1", "value": 1}, "sessionId": "x"}
            )
            assert feedback.status_code == 200
            deleted = await client.request("DELETE", "/project/thread", json={"threadId": "t1"})
            assert deleted.status_code == 200
            assert await layer.get_thread("t1") is None
    finally:
        app.router.routes[:] = routes_before
        await layer.close()
