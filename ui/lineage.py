# mypy: disable-error-code="no-untyped-call"
# (Chainlit 2.12 leaves send/update/remove untyped; everything else here is checked.)
"""The lineage tree of a chat's images, and comparing two of them.

Every image of the chat is a node; an image edited from an earlier one hangs under it, so
refining the same image twice makes a branch. ``tree_nodes`` orders them depth-first (plain
data, testable without Chainlit); ``open_tree`` shows them in the side panel through
``public/elements/LineageTree.jsx``, whose buttons refine from a node (the ``refine`` action)
or compare two (the ``compare`` action, answered with ``Compare.jsx`` in the chat).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import chainlit as cl

from agent.errors import NotFound
from agent.store.records import ImageRecord, TurnRecord
from agent.turn.session import Session
from ui.image_route import image_url, thumb_url
from ui.money import usd_short

TREE = "LineageTree"
COMPARE_ELEMENT = "Compare"
COMPARE = "compare"
"""The action LineageTree.jsx calls with two image ids."""
PROMPT_CHARS = 160


@dataclass(frozen=True)
class ImageCost:
    """What one image cost: its share of its turn's image lines (None: not known)."""

    usd: Decimal | None
    shared_by: int  # how many images the turn made (the share is 1/shared_by)


@dataclass(frozen=True)
class TreeNode:
    """One image in the tree: how deep it sits, how many branches leave it, what it cost."""

    image: ImageRecord
    depth: int
    children: int
    cost: ImageCost


def image_costs(turns: Iterable[TurnRecord]) -> dict[str, ImageCost]:
    """Each image's cost from its turn's bill: the image lines, split evenly over its images.

    Unknown when any image line of that turn has no known price (never counted as 0).
    """
    costs: dict[str, ImageCost] = {}
    for turn in turns:
        if not turn.image_ids:
            continue
        lines = [line for line in turn.bill.lines if line.is_image]
        known = [line.cost_usd for line in lines if line.cost_usd is not None]
        share: Decimal | None = None
        if len(known) == len(lines):
            share = sum(known, Decimal(0)) / len(turn.image_ids)
        for image_id in turn.image_ids:
            costs[image_id] = ImageCost(share, len(turn.image_ids))
    return costs


def tree_nodes(images: Sequence[ImageRecord], costs: dict[str, ImageCost]) -> list[TreeNode]:
    """Depth-first order, oldest first at every level; a parent outside the list is a root."""
    known = {image.id for image in images}
    children: dict[str | None, list[ImageRecord]] = {}
    for image in sorted(images, key=lambda i: (i.created_at, i.turn)):
        parent = image.parent_id if image.parent_id in known else None
        children.setdefault(parent, []).append(image)
    nodes: list[TreeNode] = []
    # An explicit stack: a long refinement chain must not hit the recursion limit.
    stack = [(root, 0) for root in reversed(children.get(None, []))]
    seen: set[str] = set()
    while stack:
        image, depth = stack.pop()
        if image.id in seen:
            continue
        seen.add(image.id)
        kids = children.get(image.id, [])
        cost = costs.get(image.id, ImageCost(None, 1))
        nodes.append(TreeNode(image, depth, len(kids), cost))
        stack.extend((kid, depth + 1) for kid in reversed(kids))
    return nodes


def cost_text(cost: ImageCost) -> str:
    """``$0.0527``, ``≈$0.0176 (1 of 3)`` for a shared turn, or ``unknown``."""
    if cost.usd is None:
        return "cost unknown"
    if cost.shared_by > 1:
        return f"≈{usd_short(cost.usd)} (1 of {cost.shared_by})"
    return usd_short(cost.usd)


def _image_props(image: ImageRecord) -> dict[str, Any]:
    return {
        "id": image.id,
        "shortId": image.short_id,
        "url": image_url(image.id),
        "thumb": thumb_url(image.id),
        "width": image.width,
        "height": image.height,
        "size": image.size,
        "quality": image.quality,
        "turn": image.turn,
        "prompt": " ".join(image.prompt.split())[:PROMPT_CHARS],
    }


def tree_props(nodes: Sequence[TreeNode], focus_id: str | None) -> dict[str, Any]:
    """The LineageTree element's props (plain JSON; text is rendered as text, never HTML)."""
    return {
        "focusId": focus_id,
        "nodes": [
            {
                **_image_props(node.image),
                "parentId": node.image.parent_id,
                "depth": node.depth,
                "children": node.children,
                "cost": cost_text(node.cost),
            }
            for node in nodes
        ],
    }


async def open_tree(session: Session, focus: ImageRecord) -> list[TreeNode]:
    """Show the chat's whole image tree in the side panel, the focused image marked."""
    images = await session.images()
    nodes = tree_nodes(images, image_costs(await session.turns()))
    element = cl.CustomElement(name=TREE, props=tree_props(nodes, focus.id), display="side")
    await cl.ElementSidebar.set_elements([element], key=f"lineage-{focus.id}-{len(images)}")
    await cl.ElementSidebar.set_title(f"Lineage · {len(images)} image(s)")
    return nodes


async def send_compare(session: Session | None, payload: dict[str, Any]) -> str | None:
    """Show two of this chat's images side by side; the reason when that is not possible."""
    ids = [payload.get("a"), payload.get("b")]
    if session is None or not all(isinstance(i, str) for i in ids):
        return "Pick two images of this chat to compare."
    if ids[0] == ids[1]:
        return "Pick two different images to compare."
    try:
        first, second = [await session.image(str(i)) for i in ids]
    except NotFound as error:
        return error.user_message
    await cl.Message(
        content=f"**Compare** `{first.short_id}` and `{second.short_id}`",
        elements=[
            cl.CustomElement(
                name=COMPARE_ELEMENT,
                props={"a": _image_props(first), "b": _image_props(second)},
                display="inline",
            )
        ],
        metadata={"atelier": "compare", "images": [first.id, second.id]},
    ).send()
    return None
