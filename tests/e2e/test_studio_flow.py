"""The whole studio flow over socket.io against a real server, across a restart.

Generate (partials, then the final image in their place, then the bill line), refine through
the Refine button, restart the server on the same data dir, resume the thread, refine again,
then check the lineage panel and the bill panel.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

ENGINE_ENV = {"ATELIER_ENGINE_FAULT": "latency=200,400", "ATELIER_PARTIAL_IMAGES": "2"}
SESSION_TOTAL = re.compile(r"session \$([0-9.]+)")


def _is_partial(name: str, data: Any) -> bool:
    return name == "element" and str(data.get("name", "")).startswith("partial-")


def _is_final(name: str, data: Any) -> bool:
    return (
        name == "element"
        and data.get("type") == "image"
        and str(data.get("name", "")).endswith((".png", ".jpeg", ".webp"))
    )


async def _image_turn(client: Any, known: set[str]) -> tuple[str, str]:
    """Wait for the turn's new image (its Refine button) and bill line."""
    refine = await client.action("refine", exclude=known)
    bill = await client.message("This turn $")
    return str(refine["payload"]["image_id"]), str(bill["output"])


async def _refine(client: Any, image_id: str, change: str, known: set[str]) -> tuple[str, str]:
    """Press Refine on ``image_id``, see the notice, send ``change``; returns the new image."""
    _, response = await client.call_action(client.button("refine", image_id))
    assert response.status_code == 200, response.text
    await client.message(f"Refining image `{image_id[-8:]}`")
    await client.send(change)
    await client.message("_Editing 1024x1024")  # the status names an edit as one
    new_id, bill = await _image_turn(client, known)
    await client.message(f"from `{image_id[-8:]}`")  # the caption names its parent
    return new_id, bill


async def test_generate_refine_restart_resume_refine(harness: ModuleType, data_dir: Path) -> None:
    known: set[str] = set()
    async with harness.run_server(data_dir, ENGINE_ENV) as server:
        client = harness.Client(server)
        try:
            await client.connect(profile="Studio")
            mark = await client.send("A lighthouse poster at dusk")
            await client.message("_Generating 1024x1024")  # nothing to edit yet: a new image
            _, partial = await client.recorder.wait_for(_is_partial, since=mark)
            _, final = await client.recorder.wait_for(_is_final, since=mark)
            assert final["id"] == partial["id"], "the final image must replace the partials"
            first_id, first_bill = await _image_turn(client, known)
            known.add(first_id)
            assert re.search(r"\(text \$[0-9.]+ · images \$[0-9.]+\)", first_bill), first_bill
            thread_id = str((await client.event("first_interaction", since=0))["thread_id"])

            # An image that is not in this chat is refused, clearly.
            await client.call_action(
                {"name": "refine", "payload": {"image_id": "ig_not_in_this_chat"}, "id": "x"}
            )
            await client.message("not part of this conversation")

            second_id, _ = await _refine(client, first_id, "make the sky warmer", known)
            known.add(second_id)
        finally:
            await client.close()

    async with harness.run_server(data_dir, ENGINE_ENV) as server:
        client = harness.Client(server)
        try:
            await client.connect(profile="Studio", thread_id=thread_id)
            resumed = await client.event("resume_thread")
            assert any("This chat has 2 image(s)" in step["output"] for step in resumed["steps"])
            await client.action("refine", exclude={first_id})

            third_id, third_bill = await _refine(
                client, second_id, "add the tagline 'Open late'", known
            )

            # Lineage: root → refined → refined again, in the side panel and in the chat.
            mark, response = await client.call_action(client.button("lineage", third_id))
            assert response.status_code == 200
            panel = await client.event("set_sidebar_elements")
            (tree,) = [el for el in panel["elements"] if el["type"] == "custom"]
            assert tree["name"] == "LineageTree"
            nodes = tree["props"]["nodes"]
            assert [(n["id"], n["depth"]) for n in nodes] == [
                (first_id, 0),
                (second_id, 1),
                (third_id, 2),
            ]
            # The tree loads thumbnails, not originals, from the app's guarded image route.
            client.http.cookies.set("X-Chainlit-Session-id", client.session_id)
            thumb = await client.http.get(nodes[0]["thumb"])
            assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/webp"
            trail = await client.message("Lineage of")
            for image_id in (first_id, second_id, third_id):
                assert image_id[-8:] in trail["output"]

            # The bill panel covers all three turns and agrees with the last bill line.
            _, response = await client.call_action(client.button("bill"))
            assert response.status_code == 200
            bill = await client.message("Session bill")
            assert "3 turn(s)" in bill["output"]
            line_total = SESSION_TOTAL.search(third_bill)
            assert line_total is not None, third_bill
            assert Decimal(line_total.group(1)) > 0
            assert f"Session total ${line_total.group(1)}" in bill["output"]
        finally:
            await client.close()
