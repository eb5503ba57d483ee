# mypy: disable-error-code="no-untyped-call"
# (Chainlit 2.12 leaves send/update/remove untyped; everything else here is checked.)
"""What the buttons under images and bills do. Every handler checks the image is this chat's.

Refine and Variations start turns, so ``ui.app`` owns them; this module holds the checks
and the handlers that only show things (download, lineage, bill, exports).
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import tempfile
from collections.abc import Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any

import chainlit as cl

from agent.billing.format import bill_to_csv, bill_to_json
from agent.errors import NotFound
from agent.store.records import ImageRecord
from agent.turn.session import Session
from ui import lineage, panels
from ui.render import image_actions

logger = logging.getLogger("atelier.ui")

BILL_MESSAGE = "atelier_bill_message"  # cl.user_session key: the one bill message shown

NOT_YOURS = (
    "That image is not part of this conversation, so I can't use it here. "
    "Pick one of the images in this chat."
)


def image_id_of(payload: dict[str, Any]) -> str | None:
    """The image id an action carries, if it is a plausible one."""
    value = payload.get("image_id")
    return value if isinstance(value, str) and value.strip() else None


async def owned_image(session: Session | None, payload: dict[str, Any]) -> ImageRecord | None:
    """The action's image when it belongs to this chat; otherwise say so and return None."""
    image_id = image_id_of(payload)
    if session is None or image_id is None:
        await cl.Message(content=NOT_YOURS).send()
        return None
    try:
        return await session.image(image_id)
    except NotFound:
        await cl.Message(content=NOT_YOURS).send()
        return None


def resume_buttons(
    thread: Mapping[str, Any], images: Sequence[ImageRecord], fallback_id: str
) -> list[tuple[str, list[cl.Action]]]:
    """For a resumed thread: (message id, buttons) for every image, under its own message.

    An image's message is the one its persisted element belongs to (element names are
    ``<short id>.<format>``, ``<n> · <short id>.<format>`` in a gallery, whose buttons are
    numbered again); an image with none found gets its buttons under ``fallback_id``.
    """
    owner: dict[str, tuple[str, int | None]] = {}
    for element in thread.get("elements") or []:
        name, for_id = element.get("name"), element.get("forId")
        if isinstance(name, str) and isinstance(for_id, str):
            tag, _, bare = name.rpartition(" · ")
            owner.setdefault(bare, (for_id, int(tag) if tag.isdigit() else None))
    placed: list[tuple[str, list[cl.Action]]] = []
    for image in images:
        where, number = owner.get(f"{image.short_id}.{image.output_format}", (fallback_id, None))
        placed.append((where, image_actions(image.id, number)))
    return placed


def remember_bill_message(thread: Mapping[str, Any]) -> None:
    """After a resume: the thread's latest bill message is the one the next Bill replaces."""
    bills = [
        step["id"]
        for step in thread.get("steps") or []
        if (step.get("metadata") or {}).get("atelier") == "bill_panel" and step.get("id")
    ]
    if bills:
        cl.user_session.set(BILL_MESSAGE, cl.Message(content="", id=bills[-1]))


async def send_download(image: ImageRecord) -> None:
    """Deliver the original file, exactly as generated."""
    await cl.Message(
        content=f"Original file of `{image.short_id}` ({image.size}, {image.output_format}).",
        elements=[
            cl.File(
                name=f"atelier-{image.short_id}.{image.output_format}",
                path=str(image.path),
                mime=f"image/{image.output_format}",
                display="inline",
            )
        ],
    ).send()


async def show_lineage(session: Session, image: ImageRecord) -> None:
    """Open the lineage tree in the side panel and leave the image's chain as text in the chat."""
    chain = await session.lineage(image.id)
    await lineage.open_tree(session, image)
    await cl.Message(
        content=f"**Lineage of `{image.short_id}`** ({len(chain)} step(s)); the whole tree, "
        "with Refine and Compare, is in the side panel.\n\n" + panels.lineage_markdown(chain)
    ).send()


def export_actions() -> list[cl.Action]:
    """The three export buttons shown with the bill."""
    return [
        cl.Action(name="export", payload={"format": "csv"}, label="Export CSV", icon="sheet"),
        cl.Action(name="export", payload={"format": "json"}, label="Export JSON", icon="braces"),
        cl.Action(
            name="export",
            payload={"format": "zip"},
            label="Images + manifest (ZIP)",
            icon="archive",
        ),
    ]


async def show_bill(session: Session | None) -> None:
    """Open the bill panel (table + cumulative chart) and offer the exports."""
    if session is None:
        await cl.Message(content="No turns yet: the bill starts with your first message.").send()
        return
    turns = await session.turns()
    rows = await panels.open_bill(turns, session.budget_usd)
    # One bill message per chat: the previous one goes, the fresh one lands at the bottom.
    previous: cl.Message | None = cl.user_session.get(BILL_MESSAGE)
    if previous is not None:
        await previous.remove()
    message = cl.Message(
        content=f"**Session bill** · {len(rows)} turn(s) · the table and chart are in the side "
        f"panel.\n\n{panels.bill_summary(rows, session.budget_usd)}\n\n_Prices are OpenAI list "
        "prices unless a provider price file is set; every line in the exports names its "
        "owner._",
        actions=export_actions(),
        metadata={"atelier": "bill_panel"},
    )
    await message.send()
    cl.user_session.set(BILL_MESSAGE, message)


async def send_export(session: Session | None, export_format: str, exports_dir: Path) -> None:
    """Deliver the bill as CSV or JSON, or every image with a manifest as a ZIP."""
    if session is None:
        await cl.Message(content="Nothing to export yet: send a message first.").send()
        return
    if export_format == "zip":
        await asyncio.to_thread(exports_dir.mkdir, parents=True, exist_ok=True)
        workdir = Path(await asyncio.to_thread(tempfile.mkdtemp, dir=exports_dir))
        try:
            path = await session.export_zip(workdir / f"atelier-{session.id[:8]}.zip")
            data = await asyncio.to_thread(path.read_bytes)
        finally:
            await asyncio.to_thread(shutil.rmtree, workdir, True)
        file = cl.File(name=path.name, content=data, mime="application/zip", display="inline")
    elif export_format in ("csv", "json"):
        turns = await session.turns()
        if export_format == "csv":
            data = bill_to_csv(session.id, turns).encode("utf-8")
            mime = "text/csv"
        else:
            data = json.dumps(bill_to_json(session.id, turns), indent=2).encode("utf-8")
            mime = "application/json"
        file = cl.File(
            name=f"atelier-bill-{session.id[:8]}.{export_format}",
            content=data,
            mime=mime,
            display="inline",
        )
    else:
        await cl.Message(content=f"Unknown export format {export_format!r}.").send()
        return
    await cl.Message(content=f"Export ready: **{file.name}**", elements=[file]).send()


def start_task(turn: Coroutine[Any, Any, None]) -> None:
    """Run a turn started by a button like a message: the stop button cancels it."""
    context = cl.context

    async def run() -> None:
        await context.emitter.task_start()
        try:
            await turn
        except Exception as error:
            # What Chainlit does for a failing on_message: log it and tell the user.
            logger.exception("turn started by a button failed")
            await cl.ErrorMessage(content=f"Something went wrong: {error}").send()
        finally:
            await context.emitter.task_end()

    context.session.current_task = asyncio.create_task(run())
