"""Public widget mode over a running server: visitors from allowed origins only, with limits.

A visitor gets its identity from ``POST /atelier/visitor`` on an allowed origin, talks over
the socket with that identity, and its turns go through its limits: over turns-per-minute
it reads the quota sentence and no request is made (the exchange log has none, nothing is
spent). Other origins are refused (the route and the socket). The studio never lists the
visitor's threads.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from types import ModuleType

import httpx
import pytest
import socketio

from .support import open_socket

SITE = "https://shop.example"
EVIL = "https://evil.example"
ENV = {
    "ATELIER_PUBLIC_WIDGET": "true",
    "ATELIER_WIDGET_ORIGINS": SITE,
    "ATELIER_VISITOR_TURNS_PER_MINUTE": "1",
    "ATELIER_QUALITY": "low",
    "ATELIER_PARTIAL_IMAGES": "0",
}


async def _threads(http: httpx.AsyncClient) -> list[str]:
    response = await http.post(
        "/project/threads", json={"pagination": {"first": 50, "cursor": None}, "filter": {}}
    )
    assert response.status_code == 200, response.text
    return [thread["id"] for thread in response.json()["data"]]


async def test_visitors_are_limited_kept_apart_and_only_from_allowed_origins(
    harness: ModuleType, data_dir: Path
) -> None:
    async with harness.run_server(data_dir, ENV) as server:
        async with httpx.AsyncClient(base_url=server.url) as http:
            refused = await http.post("/atelier/visitor", json={}, headers={"Origin": EVIL})
            assert refused.status_code == 403
            issued = await http.post("/atelier/visitor", json={}, headers={"Origin": SITE})
            assert issued.status_code == 200, issued.text
            assert issued.headers["access-control-allow-origin"] == SITE
            token, user = issued.json()["accessToken"], issued.json()["user"]
        assert user.startswith("visitor:")

        visitor = harness.Client(server)
        owner = harness.Client(server)
        try:
            visitor.http.cookies.set("access_token", token)
            assert (await visitor.http.get("/user")).json()["identifier"] == user
            with pytest.raises(socketio.exceptions.ConnectionError):
                await open_socket(visitor, origin=EVIL)  # a page on another site: no socket
            await open_socket(visitor, origin=SITE)  # the allowed site's page connects
            first = await visitor.send("a small round logo")
            await visitor.message("This turn $", since=first)
            thread = str((await visitor.event("first_interaction", since=0))["thread_id"])
            second = await visitor.send("now a blue one")
            over = await visitor.message("in the last minute", since=second)
            assert "wait a minute" in over["output"]
            assert await _threads(visitor.http) == [thread]

            await owner.connect()
            mark = await owner.send("hello studio")
            await owner.message("This turn $", since=mark)
            studio = await _threads(owner.http)
            assert thread not in studio and len(studio) == 1
        finally:
            await visitor.close()
            await owner.close()

    with sqlite3.connect(data_dir / "atelier.db") as db:
        turns = db.execute(
            "SELECT turns.status FROM turns JOIN sessions ON sessions.id = turns.session_id "
            "WHERE sessions.user_id = ? ORDER BY turns.turn",
            (user,),
        ).fetchall()
        logged = db.execute(
            "SELECT COUNT(*) FROM exchanges WHERE session_id = ?", (thread,)
        ).fetchone()[0]
        held = db.execute("SELECT COUNT(*) FROM reservations WHERE state = 'held'").fetchone()[0]
    db.close()
    assert [status for (status,) in turns] == ["ok", "refused"]
    assert logged == 1  # one request made: the refused turn never reached the model
    assert held == 0
