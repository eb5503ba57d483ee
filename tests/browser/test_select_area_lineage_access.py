# mypy: disable-error-code="no-untyped-call"
# (python-socketio is untyped.)
"""Select area, the lineage tree and Compare reach only the caller's own images.

Two users (``ATELIER_USERS``) on one server, over the harness's socket.io clients (no
browser needed): Alice's image loads for her from the guarded image route; Bob gets 404
for it, no session gets 401; her image ids in Bob's select-area, apply and compare actions
are refused without starting a turn.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from PIL import Image

pytestmark = pytest.mark.e2e

ENV = {"ATELIER_USERS": "alice:pw1,bob:pw2", "ATELIER_QUALITY": "low"}


async def _signed_in(harness: ModuleType, server: Any, user: str, password: str) -> Any:
    client = harness.Client(server)
    response = await client.http.post("/login", data={"username": user, "password": password})
    assert response.status_code == 200, response.text
    cookie = "; ".join(f"{k}={v}" for k, v in client.http.cookies.items())
    await client.sio.connect(
        server.url,
        socketio_path="/ws/socket.io",
        transports=["websocket"],
        headers={"Cookie": cookie},
        auth={
            "sessionId": client.session_id,
            "clientType": "webapp",
            "userEnv": "{}",
            "chatProfile": "Studio",
            "threadId": None,
        },
    )
    await client.sio.emit("connection_successful")
    return client


def _mask(width: int, height: int) -> str:
    mask = Image.new("RGBA", (width, height), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, width // 4, height // 4))
    out = io.BytesIO()
    mask.save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


async def test_only_the_owner_gets_the_images_and_the_actions(
    harness: ModuleType, data_dir: Path
) -> None:
    async with harness.run_server(data_dir, ENV) as server:
        alice = await _signed_in(harness, server, "alice", "pw1")
        bob = await _signed_in(harness, server, "bob", "pw2")
        anonymous = harness.Client(server)
        try:
            await alice.send("draw a lighthouse poster")
            image_id = str((await alice.action("select_area"))["payload"]["image_id"])
            await alice.message("This turn $")
            await bob.send("draw a kite")
            bob_image = str((await bob.action("select_area"))["payload"]["image_id"])
            await bob.message("This turn $")

            for url in (f"/atelier/image/{image_id}", f"/atelier/image/{image_id}/thumb"):
                own = await alice.http.get(url)
                assert own.status_code == 200, own.text
                assert own.headers["content-type"] in ("image/png", "image/webp")
                assert (await bob.http.get(url)).status_code == 404
                assert (await anonymous.http.get(url)).status_code == 401
            for url in (
                "/atelier/image/nope",
                f"/atelier/image/{image_id}/full",
                "/atelier/image/a.b",
            ):
                assert (await alice.http.get(url)).status_code == 404
            with Image.open(
                io.BytesIO((await alice.http.get(f"/atelier/image/{image_id}")).content)
            ) as img:
                width, height = img.size

            # Alice's painter opens for her own image.
            await alice.call_action({"name": "select_area", "payload": {"image_id": image_id}})
            painter = await alice.message("Select area")
            assert painter["output"].startswith("**Select area** on")

            # Bob, with her image id: refused everywhere, and no turn starts.
            bills = sum(
                1
                for name, data in bob.recorder.events
                if name == "new_message" and "This turn $" in str(data.get("output"))
            )
            await bob.call_action({"name": "select_area", "payload": {"image_id": image_id}})
            await bob.message("not part of this conversation")
            _, apply = await bob.call_action(
                {
                    "name": "select_area_apply",
                    "payload": {
                        "image_id": image_id,
                        "text": "make it dark",
                        "mask": _mask(width, height),
                    },
                }
            )
            assert apply.json()["response"] == {
                "ok": False,
                "error": f"Image {image_id} is not part of this conversation.",
            }
            _, compare = await bob.call_action(
                {"name": "compare", "payload": {"a": image_id, "b": bob_image}}
            )
            assert compare.json()["response"]["ok"] is False
            # A good request of his own goes through (positive control).
            _, own_apply = await bob.call_action(
                {
                    "name": "select_area_apply",
                    "payload": {
                        "image_id": bob_image,
                        "text": "make it dark",
                        "mask": _mask(width, height),
                    },
                }
            )
            assert own_apply.json()["response"] == {"ok": True}
            await bob.message("Editing the painted area")
            await bob.message("This turn $", since=bob.mark)
            after = sum(
                1
                for name, data in bob.recorder.events
                if name == "new_message" and "This turn $" in str(data.get("output"))
            )
            assert after == bills + 1
        finally:
            for client in (alice, bob, anonymous):
                await client.close()
