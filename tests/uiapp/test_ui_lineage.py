"""The lineage tree's data: branch order, depth, per-image cost, the element's props."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from agent.store.records import CostLine, ImageRecord, TurnBill, TurnRecord
from ui.lineage import ImageCost, cost_text, image_costs, tree_nodes, tree_props

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _image(image_id: str, turn: int, parent: str | None = None) -> ImageRecord:
    return ImageRecord(
        id=image_id,
        session_id="s",
        response_id=f"resp_{turn}",
        turn=turn,
        prompt=f"prompt <b>{turn}</b>",
        revised_prompt=None,
        action="edit" if parent else "generate",
        parent_id=parent,
        model="gpt-image-2",
        size="1024x1024",
        quality="medium",
        output_format="png",
        background="opaque",
        path=Path(f"/tmp/{image_id}.png"),
        sha256="0" * 64,
        width=1024,
        height=1024,
        bytes=1,
        latency_ms=1,
        created_at=T0 + timedelta(minutes=turn),
    )


def _line(kind: str, cost: str | None) -> CostLine:
    return CostLine(
        kind,  # type: ignore[arg-type]
        "gpt-image-2",
        100,
        None if cost is None else Decimal(30),
        None if cost is None else Decimal(cost),
        "OpenAI list price",
    )


def _turn(number: int, images: tuple[str, ...], *lines: CostLine) -> TurnRecord:
    return TurnRecord(
        session_id="s",
        turn=number,
        user_text="x",
        status="ok",
        started_at=T0,
        bill=TurnBill(lines),
        image_ids=images,
    )


def test_refining_one_image_twice_makes_two_branches_in_depth_first_order() -> None:
    images = [
        _image("ig_root", 1),
        _image("ig_a", 2, "ig_root"),
        _image("ig_a1", 3, "ig_a"),
        _image("ig_b", 4, "ig_root"),
        _image("ig_other", 5),
    ]
    nodes = tree_nodes(list(reversed(images)), {})
    assert [(n.image.id, n.depth, n.children) for n in nodes] == [
        ("ig_root", 0, 2),
        ("ig_a", 1, 1),
        ("ig_a1", 2, 0),
        ("ig_b", 1, 0),
        ("ig_other", 0, 0),
    ]


def test_a_parent_from_outside_the_chat_makes_a_root() -> None:
    nodes = tree_nodes([_image("ig_x", 1, "ig_elsewhere")], {})
    assert [(n.image.id, n.depth) for n in nodes] == [("ig_x", 0)]


def test_a_long_chain_does_not_recurse() -> None:
    chain = [_image("ig_0", 0)] + [_image(f"ig_{i}", i, f"ig_{i - 1}") for i in range(1, 3000)]
    nodes = tree_nodes(chain, {})
    assert len(nodes) == 3000 and nodes[-1].depth == 2999


def test_each_image_costs_its_share_of_its_turns_image_lines() -> None:
    costs = image_costs(
        [
            _turn(1, ("ig_1",), _line("text_input", "0.001"), _line("image_output", "0.0527")),
            _turn(2, ("ig_2", "ig_3"), _line("image_output", "0.10"), _line("per_image", "0.02")),
            _turn(3, ("ig_4",), _line("image_output", None)),
            _turn(4, (), _line("text_input", "0.5")),
        ]
    )
    assert costs["ig_1"] == ImageCost(Decimal("0.0527"), 1)
    assert costs["ig_2"] == costs["ig_3"] == ImageCost(Decimal("0.06"), 2)
    assert costs["ig_4"] == ImageCost(None, 1)  # unknown stays unknown, never $0
    assert cost_text(costs["ig_1"]) == "$0.0527"
    assert cost_text(costs["ig_2"]) == "≈$0.0600 (1 of 2)"
    assert cost_text(costs["ig_4"]) == "cost unknown"


def test_props_are_plain_json_with_guarded_same_origin_urls() -> None:
    nodes = tree_nodes([_image("ig_1", 1), _image("ig_2", 2, "ig_1")], {})
    props = json.loads(json.dumps(tree_props(nodes, "ig_2")))
    assert props["focusId"] == "ig_2"
    first, second = props["nodes"]
    assert first["thumb"] == "/atelier/image/ig_1/thumb"
    assert second["url"] == "/atelier/image/ig_2"
    assert second["parentId"] == "ig_1" and second["depth"] == 1
    # Text goes to the element as text (React escapes it), not as Markdown or HTML.
    assert first["prompt"] == "prompt <b>1</b>"
    assert first["cost"] == "cost unknown"
