"""Bill panel rows, table and chart; lineage text."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from PIL import Image

from agent.store.records import CostLine, ImageRecord, TurnBill, TurnRecord
from ui.actions import resume_buttons
from ui.commands import command_of, split_refine
from ui.panels import bill_markdown, bill_rows, cost_chart_png
from ui.profiles import profile_for


def _turn(number: int, text: str, image: str | None, status: str = "ok") -> TurnRecord:
    lines = [CostLine("text_input", "gpt-5.1", 100, Decimal("1.25"), Decimal(text), "OpenAI")]
    if image is not None:
        lines.append(
            CostLine("image_output", "gpt-image-2", 1756, Decimal("30"), Decimal(image), "OpenAI")
        )
    return TurnRecord(
        session_id="s",
        turn=number,
        user_text=f"prompt {number} | with a pipe",
        status=status,  # type: ignore[arg-type]
        started_at=datetime.now(UTC),
        bill=TurnBill(tuple(lines)),
        image_ids=("ig_1",) if image else (),
    )


def test_rows_run_a_cumulative_total() -> None:
    rows = bill_rows([_turn(2, "0.002", None, "cancelled"), _turn(1, "0.001", "0.05268")])
    assert [row.turn for row in rows] == [1, 2]
    assert rows[0].images_usd == Decimal("0.05268")
    assert rows[1].cumulative_usd == Decimal("0.05568")


def test_table_escapes_pipes_flags_status_and_shows_budget_left() -> None:
    rows = bill_rows([_turn(1, "0.001", "0.05268"), _turn(2, "0.002", None, "cancelled")])
    table = bill_markdown(rows, Decimal("5.00"))
    assert "prompt 1 / with a pipe" in table
    assert "_(cancelled)_" in table
    assert "**Session total $0.0557** (exactly $0.05568) of $5.00 budget, $4.9443 left" in table
    assert table.count("\n| ") == 2  # one row per turn
    assert bill_markdown([], None).startswith("No turns yet")


def test_chart_is_a_png_of_the_declared_size() -> None:
    rows = bill_rows([_turn(n, "0.001", "0.05") for n in range(1, 6)])
    image = Image.open(io.BytesIO(cost_chart_png(rows)))
    assert image.format == "PNG"
    assert image.size == (720, 360)
    empty = Image.open(io.BytesIO(cost_chart_png([])))
    assert empty.size == (720, 360)


def test_commands_from_composer_or_typed() -> None:
    assert command_of("bill", "") == ("bill", "")
    assert command_of(None, "/bill please") == ("bill", "please")
    assert command_of(None, "/unknown") is None
    assert command_of(None, "draw a bill") is None
    assert command_of("refine", "a41c09ff make it warmer") == ("refine", "a41c09ff make it warmer")
    assert command_of("refine", "/refine a41c09ff warmer") == ("refine", "a41c09ff warmer")
    assert command_of(None, "/Refine a41c09ff  warmer light") == (
        "refine",
        "a41c09ff  warmer light",
    )
    assert split_refine("a41c09ff  warmer light") == ("a41c09ff", "warmer light")
    assert split_refine("a41c09ff") is None
    assert split_refine("") is None


def test_copilot_always_uses_support() -> None:
    assert profile_for("Studio", client_type="copilot") == "support"
    assert profile_for("Brainstorm", client_type="webapp") == "brainstorm"
    assert profile_for(None, client_type="webapp") == "studio"


def test_resume_gives_every_image_its_buttons_under_its_message() -> None:
    def image(image_id: str) -> ImageRecord:
        return ImageRecord(
            id=image_id, session_id="s", response_id="r", turn=1, prompt="p",
            revised_prompt=None, action="generate", parent_id=None, model="gpt-image-2",
            size="1024x1024", quality="low", output_format="png", path=Path("x.png"),
            sha256="0", width=1024, height=1024, bytes=1, latency_ms=1,
            background="opaque", created_at=datetime.now(UTC),
        )  # fmt: skip

    solo, first, second, orphan = (image(f"ig_{n}" * 3 + f"{n:08d}") for n in range(4))
    thread = {
        "elements": [
            {"name": f"{solo.short_id}.png", "forId": "m-solo"},
            {"name": f"1 · {first.short_id}.png", "forId": "m-gallery"},
            {"name": f"2 · {second.short_id}.png", "forId": "m-gallery"},
            {"name": "chart.png", "forId": "m-other"},
        ]
    }
    placed = resume_buttons(thread, [solo, first, second, orphan], "m-welcome")
    where = [for_id for for_id, _ in placed]
    assert where == ["m-solo", "m-gallery", "m-gallery", "m-welcome"]
    labels = [[button.label for button in buttons] for _, buttons in placed]
    assert labels[0][0] == "Refine this" and labels[1][0] == "Refine 1"
    assert labels[2] == ["Refine 2", "Variations 2", "Download 2"]
    assert all(b.payload == {"image_id": second.id} for b in placed[2][1])


def test_status_says_editing_for_edits_and_generating_for_new_images() -> None:
    from ui.render import status_verb

    assert status_verb("edit", None) == "Editing"
    assert status_verb("auto", "ig_parent") == "Editing"
    assert status_verb("generate", None) == "Generating"
    assert status_verb("auto", None, nothing_to_edit=True) == "Generating"
    assert status_verb("auto", None) == "Working on"
