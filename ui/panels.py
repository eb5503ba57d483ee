# mypy: disable-error-code="no-untyped-call"
# (Chainlit 2.12 leaves send/update/remove untyped; everything else here is checked.)
"""Side panels: the session bill (table, cumulative chart, exports); lineage text.

The data work (rows, table, the chart PNG) is plain functions over agent records so it can be
tested without Chainlit; ``open_bill`` puts the result in Chainlit's element sidebar. CSV and
JSON exports come from ``agent.billing.format``. The lineage tree lives in ``ui.lineage``.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from decimal import Decimal

import chainlit as cl
from PIL import Image, ImageDraw, ImageFont

from agent.billing.bills import SessionBill
from agent.store.records import ImageRecord, TurnRecord
from ui.markup import inert
from ui.money import usd, usd_short

CHART_SIZE = (720, 360)
_INK = (38, 38, 46)
_MUTED = (120, 124, 138)
_GRID = (230, 232, 238)
_LINE = (99, 91, 255)
_BAR = (214, 211, 255)


@dataclass(frozen=True)
class BillRow:
    """One turn of the bill as the panel shows it (known amounts; flags say what is not)."""

    turn: int
    status: str
    prompt: str
    images: int
    text_usd: Decimal
    images_usd: Decimal
    total_usd: Decimal
    cumulative_usd: Decimal
    estimated: bool
    unknown: bool


def bill_rows(turns: list[TurnRecord]) -> list[BillRow]:
    """Per-turn rows, with the running total the session bill computes."""
    cumulative = {point.turn: point.known_usd for point in SessionBill.from_turns(turns).cumulative}
    rows: list[BillRow] = []
    for record in sorted(turns, key=lambda t: t.turn):
        kinds = record.bill.by_kind()
        rows.append(
            BillRow(
                turn=record.turn,
                status=record.status,
                prompt=record.user_text,
                images=len(record.image_ids),
                text_usd=kinds["text"],
                images_usd=kinds["images"],
                total_usd=record.bill.known_usd,
                cumulative_usd=cumulative[record.turn],
                estimated=record.bill.estimated,
                unknown=record.bill.has_unknown,
            )
        )
    return rows


def bill_summary(rows: list[BillRow], budget: Decimal | None) -> str:
    """The total line: short total, the exact one, and the budget left."""
    if not rows:
        return "No turns yet: the bill starts with your first message."
    total = rows[-1].cumulative_usd
    summary = f"**Session total {usd_short(total)}** (exactly {usd(total)})"
    if budget is not None:
        summary += f" of {usd_short(budget, places=2)} budget, {usd_short(budget - total)} left"
    if any(row.unknown for row in rows):
        summary += " — some usage has no known price and is not included"
    return summary


def bill_markdown(rows: list[BillRow], budget: Decimal | None) -> str:
    """The per-turn table (narrow enough for the side panel) and the total line."""
    if not rows:
        return bill_summary(rows, budget)
    lines = ["| # | Prompt | Turn | Total |", "|---:|---|---:|---:|"]
    for row in rows:
        flags = ""
        if row.status != "ok":
            flags += f" _({row.status})_"
        if row.estimated:
            flags += " _(est.)_"
        if row.unknown:
            flags += " _(+unpriced)_"
        lines.append(
            f"| {row.turn} | {inert(row.prompt.replace('|', '/'), 22)}{flags} "
            f"| {usd_short(row.total_usd)} | {usd_short(row.cumulative_usd)} |"
        )
    return "\n".join([*lines, "", bill_summary(rows, budget)])


def cost_chart_png(rows: list[BillRow]) -> bytes:
    """Per-turn cost bars under a cumulative-cost line (PNG).

    Blocking (Pillow): call it through asyncio.to_thread.
    """
    width, height = CHART_SIZE
    # Shown at about half size in the side panel: type is set large.
    left, right, top, bottom = 112, 32, 72, 68
    font = ImageFont.load_default(size=26)
    small = ImageFont.load_default(size=22)
    image = Image.new("RGB", CHART_SIZE, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.text((left, 18), "Cost by turn", fill=_INK, font=font)
    draw.text((width - right, 22), "bars: turn · line: total", fill=_MUTED, font=small, anchor="ra")
    # 20% headroom above the total keeps its label clear of the title.
    peak = 1.2 * float(max((row.cumulative_usd for row in rows), default=Decimal(0))) or 0.01
    plot_w, plot_h = width - left - right, height - top - bottom
    base_y = top + plot_h
    for step in range(5):
        y = top + plot_h * step / 4
        draw.line([(left, y), (width - right, y)], fill=_GRID, width=1)
        label = f"${peak * (4 - step) / 4:.3f}"
        draw.text((left - 10, y), label, fill=_MUTED, font=small, anchor="rm")
    if rows:
        slot = plot_w / len(rows)
        bar = max(4.0, min(48.0, slot * 0.5))
        points = []
        for i, row in enumerate(rows):
            x = left + slot * (i + 0.5)
            bar_top = base_y - plot_h * float(row.total_usd) / peak
            draw.rounded_rectangle([x - bar / 2, bar_top, x + bar / 2, base_y], radius=4, fill=_BAR)
            points.append((x, base_y - plot_h * float(row.cumulative_usd) / peak))
            if len(rows) <= 20 or i % max(1, len(rows) // 10) == 0:
                draw.text((x, base_y + 8), str(row.turn), fill=_MUTED, font=small, anchor="ma")
        if len(points) > 1:
            draw.line(points, fill=_LINE, width=5, joint="curve")
        for x, y in points:
            draw.ellipse([x - 8, y - 8, x + 8, y + 8], fill=_LINE, outline=(255, 255, 255), width=3)
        last_x, last_y = points[-1]
        total = f"${rows[-1].cumulative_usd.quantize(Decimal('0.0001'))}"
        draw.text((last_x - 10, last_y - 12), total, fill=_LINE, font=font, anchor="rb")
    draw.line([(left, base_y), (width - right, base_y)], fill=_MUTED, width=2)
    draw.text((left + plot_w / 2, height - 6), "turn", fill=_MUTED, font=small, anchor="md")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def lineage_markdown(chain: list[ImageRecord]) -> str:
    """The chain from the first image to this one, one line per generation."""
    lines = []
    for depth, image in enumerate(chain):
        how = "generated" if image.parent_id is None else f"edited from `{image.parent_id[-8:]}`"
        lines.append(
            f"{depth + 1}. `{image.short_id}` — {how}, turn {image.turn}, {image.size} "
            f"{image.quality}  \n   _{inert(image.prompt, 140)}_"
        )
    return "\n".join(lines)


async def open_bill(turns: list[TurnRecord], budget: Decimal | None) -> list[BillRow]:
    """Show the per-turn table and the cumulative chart in the side panel."""
    rows = bill_rows(turns)
    chart = await asyncio.to_thread(cost_chart_png, rows)
    elements: list[cl.Image | cl.Text] = [
        cl.Image(
            name="Cumulative cost", content=chart, display="side", size="large", mime="image/png"
        ),
        cl.Text(name="Per turn", content=bill_markdown(rows, budget), display="side"),
    ]
    await cl.ElementSidebar.set_elements(elements, key=f"bill-{len(rows)}")
    await cl.ElementSidebar.set_title("Session bill")
    return rows
