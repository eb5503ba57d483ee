"""LocalStorageClient and the guarded file route (over ASGI, no server)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from chainlit.auth.jwt import create_jwt
from chainlit.context import init_http_context
from chainlit.element import File, Image
from chainlit.session import WebsocketSession
from chainlit.user import User
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from ui.datalayer import SQLiteDataLayer
from ui.storage import (
    SESSION_COOKIE,
    SINGLE_USER_IDENTIFIER,
    InvalidObjectKey,
    LocalStorageClient,
    install_file_route,
    validate_object_key,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 64
SECRET = "test-secret-" + "x" * 40


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorageClient:
    return LocalStorageClient(tmp_path / "files")


# ---------------------------------------------------------------- the storage client


async def test_upload_read_url_locate_delete(storage: LocalStorageClient) -> None:
    result = await storage.upload_file("threads/t1/files/e1", PNG, mime="image/png")
    assert result == {
        "object_key": "threads/t1/files/e1",
        "url": "/atelier/files/threads/t1/files/e1",
    }
    assert await storage.get_read_url("threads/t1/files/e1") == result["url"]
    path, mime = await storage.locate("threads/t1/files/e1")
    assert path.read_bytes() == PNG
    assert path.is_relative_to(storage.root)
    assert mime == "image/png"
    await storage.upload_file("threads/t1/files/e2", PNG, mime="image/png")
    assert await storage.delete_file("threads/t1/files/e1")
    assert not await storage.delete_file("threads/t1/files/e1")
    assert (storage.root / "threads" / "t1" / "files").is_dir()  # e2 still lives there
    assert await storage.delete_file("threads/t1/files/e2")
    assert sorted(p.name for p in storage.root.iterdir()) == []  # emptied folders pruned
    with pytest.raises(FileNotFoundError):
        await storage.locate("threads/t1/files/e1")


async def test_text_data_and_overwrite_rules(storage: LocalStorageClient) -> None:
    await storage.upload_file("files/a.txt", "héllo", mime="text/plain")
    assert storage.path_for("files/a.txt").read_text("utf-8") == "héllo"
    with pytest.raises(FileExistsError):
        await storage.upload_file("files/a.txt", b"other", overwrite=False)
    await storage.upload_file("files/a.txt", b"other", mime="text/markdown")
    path, mime = await storage.locate("files/a.txt")
    assert (path.read_bytes(), mime) == (b"other", "text/markdown")
    assert [p.name for p in path.parent.iterdir()] == ["a.txt"]  # no temp files left


def test_custom_url_prefix(tmp_path: Path) -> None:
    client = LocalStorageClient(tmp_path, url_prefix="/chat/files")
    assert client.url_prefix == "/chat/files"
    for bad in ("files", "/files/", ""):
        with pytest.raises(ValueError, match="url_prefix"):
            LocalStorageClient(tmp_path, url_prefix=bad)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "../outside",
        "threads/../../etc/passwd",
        "/etc/passwd",
        "threads//x",
        "threads/x/",
        ".meta/threads/x.json",
        "threads/.hidden",
        "a\\..\\b",
        "threads/x\x00y",
        "threads/%2e%2e/x",
        "a" * 2000,
    ],
)
async def test_unsafe_keys_are_refused(storage: LocalStorageClient, key: str) -> None:
    with pytest.raises(InvalidObjectKey):
        validate_object_key(key)
    with pytest.raises(InvalidObjectKey):
        await storage.upload_file(key, b"x")
    with pytest.raises(InvalidObjectKey):
        await storage.get_read_url(key)
    with pytest.raises(InvalidObjectKey):
        await storage.delete_file(key)
    assert not (storage.root.parent / "outside").exists()


async def test_symlink_out_of_root_is_refused(storage: LocalStorageClient, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("no")
    storage.root.mkdir(parents=True)
    os.symlink(outside, storage.root / "link")
    with pytest.raises(InvalidObjectKey, match="outside"):
        storage.path_for("link/secret")
    with pytest.raises(InvalidObjectKey):
        await storage.upload_file("link/new", b"x")
    assert not (outside / "new").exists()


# ---------------------------------------------------------------- the route


def chainlit_like_app() -> FastAPI:
    """An app whose last route is a catch-all GET, as Chainlit's server has."""
    app = FastAPI()

    @app.get("/{full_path:path}")
    async def spa(full_path: str) -> PlainTextResponse:
        return PlainTextResponse("index.html")

    return app


def client_for(app: FastAPI, **cookies: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", cookies=cookies
    )


@pytest.fixture
def login_mode(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Chainlit's require_login() is true (as with a password callback), with a JWT secret."""
    monkeypatch.setenv("CHAINLIT_CUSTOM_AUTH", "1")
    monkeypatch.setenv("CHAINLIT_AUTH_SECRET", SECRET)
    yield


@pytest.fixture
def single_user_mode(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("CHAINLIT_CUSTOM_AUTH", raising=False)
    yield


def token_for(identifier: str) -> str:
    return create_jwt(User(identifier=identifier))


async def owner_only(identifier: str, object_key: str) -> bool:
    return object_key.startswith(f"users/{identifier}/")


async def test_route_wins_over_catch_all_and_checks_the_user(
    storage: LocalStorageClient, login_mode: None
) -> None:
    await storage.upload_file("users/alice/pic.png", PNG, mime="image/png")
    app = chainlit_like_app()
    install_file_route(app, storage, owner_only)
    url = "/atelier/files/users/alice/pic.png"
    async with client_for(app) as anonymous:
        assert (await anonymous.get(url)).status_code == 401
        assert (await anonymous.get("/some/page")).text == "index.html"  # catch-all intact
    async with client_for(app, access_token="not-a-jwt") as forged:
        assert (await forged.get(url)).status_code == 401
    async with client_for(app, access_token=token_for("bob")) as bob:
        assert (await bob.get(url)).status_code == 404
    async with client_for(app, access_token=token_for("alice")) as alice:
        response = await alice.get(url)
        assert response.status_code == 200
        assert response.content == PNG
        assert response.headers["content-type"] == "image/png"
        assert response.headers["cache-control"].startswith("private")
        assert "content-disposition" not in response.headers
        missing = await alice.get("/atelier/files/users/alice/missing.png")
        assert missing.status_code == 404
        escape = await alice.get("/atelier/files/users/alice/..%2F..%2Fsecret")
        assert escape.status_code == 404


async def test_bearer_header_and_expired_token(
    storage: LocalStorageClient, login_mode: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    await storage.upload_file("users/alice/pic.png", PNG, mime="image/png")
    app = chainlit_like_app()
    install_file_route(app, storage, owner_only)
    url = "/atelier/files/users/alice/pic.png"
    async with client_for(app) as client:
        ok = await client.get(url, headers={"Authorization": f"Bearer {token_for('alice')}"})
        assert ok.status_code == 200
        basic = await client.get(url, headers={"Authorization": "Basic YWxpY2U6cHc="})
        assert basic.status_code == 401
    from chainlit.config import config

    monkeypatch.setattr(config.project, "user_session_timeout", -10)
    expired = token_for("alice")
    async with client_for(app, access_token=expired) as client:
        assert (await client.get(url)).status_code == 401


async def test_unsafe_types_are_downloads(storage: LocalStorageClient, login_mode: None) -> None:
    await storage.upload_file(
        "users/alice/x.svg", b"<svg onload='alert(1)'/>", mime="image/svg+xml"
    )
    app = chainlit_like_app()
    install_file_route(app, storage, owner_only)
    async with client_for(app, access_token=token_for("alice")) as alice:
        response = await alice.get("/atelier/files/users/alice/x.svg")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == "attachment"
    assert "sandbox" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_single_user_mode_needs_a_live_chainlit_session(
    storage: LocalStorageClient, single_user_mode: None
) -> None:
    await storage.upload_file("files/pic.png", PNG, mime="image/png")
    seen: list[str] = []

    async def record(identifier: str, object_key: str) -> bool:
        seen.append(identifier)
        return True

    app = chainlit_like_app()
    install_file_route(app, storage, record)
    url = "/atelier/files/files/pic.png"
    async with client_for(app) as no_cookie:
        assert (await no_cookie.get(url)).status_code == 401
    async with client_for(app, **{SESSION_COOKIE: "made-up"}) as stale:
        assert (await stale.get(url)).status_code == 401
    session = WebsocketSession(
        id="route-session",
        socket_id="route-socket",
        emit=lambda event, data: None,
        emit_call=lambda event, data, timeout: None,
        user_env={},
        client_type="webapp",
    )
    try:
        async with client_for(app, **{SESSION_COOKIE: "route-session"}) as live:
            response = await live.get(url)
        assert response.status_code == 200
        assert response.content == PNG
        assert seen == [SINGLE_USER_IDENTIFIER]
    finally:
        await session.delete()  # type: ignore[no-untyped-call]
    async with client_for(app, **{SESSION_COOKIE: "route-session"}) as ended:
        assert (await ended.get(url)).status_code == 401


# ---------------------------------------------------------------- end to end with the layer


@pytest.fixture
async def layer(
    db_target: Path | str, storage: LocalStorageClient
) -> AsyncIterator[SQLiteDataLayer]:
    init_http_context()
    data_layer = SQLiteDataLayer(db_target, storage)  # on SQLite and on PostgreSQL
    yield data_layer
    await data_layer.close()


async def test_thread_images_are_served_to_owner_and_share_readers(
    layer: SQLiteDataLayer, storage: LocalStorageClient, login_mode: None
) -> None:
    alice = await layer.create_user(User(identifier="alice"))
    await layer.create_user(User(identifier="bob"))
    assert alice is not None
    await layer.update_thread("t1", name="cats", user_id=alice.id)
    image = Image(name="cat.png", content=PNG, thread_id="t1", for_id="s1", mime="image/png")
    notes = File(name="n.md", content="# hi", thread_id="t1", for_id="s1", mime="text/markdown")
    await layer.create_element(image)
    await layer.create_element(notes)
    thread = await layer.get_thread("t1")
    assert thread is not None and thread["elements"]
    urls = {e["name"]: e["url"] for e in thread["elements"]}
    app = chainlit_like_app()
    install_file_route(app, storage, layer.can_read_object)
    async with (
        client_for(app, access_token=token_for("alice")) as alice_client,
        client_for(app, access_token=token_for("bob")) as bob_client,
    ):
        got = await alice_client.get(str(urls["cat.png"]))
        assert (got.status_code, got.content) == (200, PNG)
        text = await alice_client.get(str(urls["n.md"]))
        assert (text.status_code, text.text) == (200, "# hi")
        assert text.headers["content-type"].startswith("text/markdown")
        assert (await bob_client.get(str(urls["cat.png"]))).status_code == 404
        await layer.share_thread("t1", "alice")
        assert (await bob_client.get(str(urls["cat.png"]))).status_code == 200
        await layer.delete_thread("t1")
        assert (await alice_client.get(str(urls["cat.png"]))).status_code == 404
