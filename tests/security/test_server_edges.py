# mypy: disable-error-code="no-untyped-call"
"""Issue 16's edge findings over a running server with logins on.

Foreign origins (socket and login form), sign-out and token revocation, login rate limits,
metrics and API docs for admins only, request-size limits before reading, the per-message
file count on the server. The server is shared by this module's tests.
"""

from __future__ import annotations

import asyncio
import select
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import socketio

from .support import ENV, load_harness, login, open_socket

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
FORWARDED = {"X-Forwarded-For": "203.0.113.7"}  # as a reverse proxy passes a remote client


@dataclass
class Site:
    harness: Any
    server: Any
    data_dir: Path

    @property
    def files_dir(self) -> Path:
        return self.data_dir.parent / f"app-root-{self.server.port}" / ".files"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    harness = load_harness()
    data_dir = tmp_path_factory.mktemp("edges") / "data"
    data_dir.mkdir()
    async with harness.run_server(data_dir, ENV) as server:
        yield Site(harness, server, data_dir)


async def test_socket_from_a_foreign_origin_is_refused(site: Site) -> None:
    bob = await login(site.harness, site.server, "bob", "pw2")
    try:
        foreign = f"http://127.0.0.1:{site.server.port + 1}"  # another port of the same host
        with pytest.raises(socketio.exceptions.ConnectionError):
            await open_socket(bob, origin=foreign)
        await open_socket(bob, origin=site.server.url)  # the app's own page still connects
        mark = await bob.send("hello")
        await bob.message("This turn $", since=mark)
    finally:
        await bob.close()


async def test_login_form_from_a_foreign_page_is_refused(site: Site) -> None:
    async with httpx.AsyncClient(base_url=site.server.url) as http:
        form = {"username": "bob", "password": "pw2"}
        foreign = await http.post("/login", data=form, headers={"Origin": "http://evil.test"})
        own = await http.post("/login", data=form, headers={"Origin": site.server.url})
    assert (foreign.status_code, own.status_code) == (403, 200)
    assert "access_token" not in foreign.cookies


async def test_login_attempts_are_rate_limited_per_user(site: Site) -> None:
    async with httpx.AsyncClient(base_url=site.server.url) as http:
        codes = [
            (await http.post("/login", data={"username": "carol", "password": "guess"})).status_code
            for _ in range(6)
        ]
        right = await http.post("/login", data={"username": "carol", "password": "pw3"})
    assert codes == [401] * 5 + [429]
    assert right.status_code == 429
    assert "Too many failed sign-ins for this user" in right.json()["detail"]
    assert int(right.headers["retry-after"]) > 0


async def test_signing_out_ends_the_token(site: Site) -> None:
    alice = await login(site.harness, site.server, "alice", "pw1")
    stolen = dict(alice.http.cookies)
    try:
        assert (await alice.http.get("/user")).status_code == 200
        out = await alice.http.post("/logout")
        assert out.status_code == 200
        async with httpx.AsyncClient(base_url=site.server.url, cookies=stolen) as replay:
            assert (await replay.get("/user")).status_code == 401
        ghost = site.harness.Client(site.server)
        ghost.http.cookies.update(stolen)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await open_socket(ghost)
        await ghost.close()
    finally:
        await alice.close()
    again = await login(site.harness, site.server, "alice", "pw1")  # a new sign-in works
    assert (await again.http.get("/user")).status_code == 200
    await again.close()


async def test_metrics_and_api_docs_only_for_this_machine_or_admins(site: Site) -> None:
    bob = await login(site.harness, site.server, "bob", "pw2")
    alice = await login(site.harness, site.server, "alice", "pw1")  # ATELIER_ADMINS=alice
    try:
        for path in ("/atelier/metrics", "/docs", "/openapi.json", "/redoc"):
            async with httpx.AsyncClient(base_url=site.server.url) as anonymous:
                remote = await anonymous.get(path, headers=FORWARDED)
                local = await anonymous.get(path)
            as_bob = await bob.http.get(path, headers=FORWARDED)
            as_admin = await alice.http.get(path, headers=FORWARDED)
            assert (remote.status_code, as_bob.status_code) == (404, 404), path
            assert (local.status_code, as_admin.status_code) == (200, 200), path
    finally:
        await bob.close()
        await alice.close()


def _raw_post(port: int, path: str, headers: dict[str, str], body: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        conn.sendall(head.encode() + body)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _stream_upload(port: int, megabytes: int) -> tuple[bytes, int]:
    """Stream a chunked multipart upload until the server answers; (answer, bytes sent)."""
    head = (
        f"POST /project/file?session_id=x HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Transfer-Encoding: chunked\r\nContent-Type: multipart/form-data; boundary=b\r\n\r\n"
    )
    part = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.png"\r\n'
        b"Content-Type: image/png\r\n\r\n"
    )
    chunk = b"\0" * (1 << 20)
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(head.encode() + f"{len(part):x}\r\n".encode() + part + b"\r\n")
        for _ in range(megabytes):
            readable, _, _ = select.select([conn], [], [], 0)
            if readable:
                break
            try:
                conn.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            except OSError:
                break
            sent += len(chunk)
        try:
            return conn.recv(65536), sent
        except OSError:
            return b"", sent


async def test_a_huge_body_is_refused_before_it_is_read(site: Site) -> None:
    declared = await asyncio.to_thread(
        _raw_post,
        site.server.port,
        "/project/file?session_id=x",
        {"Content-Length": str(1 << 30), "Content-Type": "multipart/form-data; boundary=b"},
        b"",  # a 1 GB body is announced and never sent: the answer must not wait for it
    )
    assert declared.startswith(b"HTTP/1.1 413"), declared[:200]

    answer, sent = await asyncio.to_thread(_stream_upload, site.server.port, 64)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 32 << 20  # refused at the 20 MB upload limit, not after 64 MB
    json_route = await asyncio.to_thread(
        _raw_post,
        site.server.port,
        "/project/threads",
        {"Content-Length": str(2 << 20), "Content-Type": "application/json"},
        b"",  # any other route: 1 MB at most
    )
    assert json_route.startswith(b"HTTP/1.1 413"), json_route[:200]


async def test_more_files_than_allowed_are_refused_and_deleted(site: Site) -> None:
    harness_is_message = site.harness.is_message
    bob = await login(site.harness, site.server, "bob", "pw2")
    try:
        await open_socket(bob)
        ids = [await bob.upload(f"p{i}.png", PNG_1X1, "image/png") for i in range(5)]
        session_files = site.files_dir / bob.session_id
        assert len([p for p in session_files.iterdir() if p.is_file()]) >= 5
        mark = await bob.send("use these", tuple(ids))
        refusal = await bob.message("Upload not accepted", since=mark)
        assert "At most 4 images per message" in refusal["output"]
        left = (
            [p.name for p in session_files.iterdir() if p.is_file()]
            if session_files.exists()
            else []
        )
        assert not any(any(i in name for i in ids) for name in left)
        thread_id = str((await bob.event("first_interaction", since=0))["thread_id"])
        thread = (await bob.http.get(f"/project/thread/{thread_id}")).json()
        assert [e for e in thread["elements"] if e["id"] in ids] == []
        await bob.event("task_end", since=mark)  # the message's handling is over
        assert not any(
            harness_is_message("This turn $")(name, data)
            for name, data in bob.recorder.events[mark:]
        )
    finally:
        await bob.close()
