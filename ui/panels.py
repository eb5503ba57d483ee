# mypy: disable-error-code="no-untyped-call"
# (Chainlit 2.12 leaves send/update/remove untyped; everything else here is checked.)
"""Side panels: an image's lineage, and the session bill (table, cumulative chart, exports).

The data work (rows, table, the chart PNG) is plain functions over agent records so it can be
tested without Chainlit; ``open_*`` put the result in Chainlit's element sidebar. CSV and
JSON exports come from ``agent.bill_format``.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from decimal import Decimal

import chainlit as cl
from PIL import Image, ImageDraw

from agent.billing import SessionBill
from agent.records import ImageRecord, TurnRecord
from ui.money import usd

CHART_SIZE = (640, 260)
_INK = (38, 38, 46)
_GRID = (222, 224, 230)
_LINE = (99, 91, 255)
_FILL = (231, 229, 255)


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


def _short(text: str, limit: int = 48) -> str:
    flat = " ".join(text.split()).replace("|", "/")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def bill_markdown(rows: list[BillRow], budget: Decimal | None) -> str:
    """The per-turn table and a total line."""
    if not rows:
        return "No turns yet: the bill starts with your first message."
    lines = [
        "| # | Prompt | Images | Text | Images | Turn | Session |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        flags = ""
        if row.status != "ok":
            flags += f" _({row.status})_"
        if row.estimated:
            flags += " _(est.)_"
        if row.unknown:
            flags += " _(+unpriced)_"
        lines.append(
            f"| {row.turn} | {_short(row.prompt)}{flags} | {row.images} | {usd(row.text_usd)} "
            f"| {usd(row.images_usd)} | {usd(row.total_usd)} | {usd(row.cumulative_usd)} |"
        )
    total = rows[-1].cumulative_usd
    summary = f"**Session total {usd(total)}**"
    if budget is not None:
        summary += f" of {usd(budget, places=2)} budget ({usd(budget - total)} left)"
    return "\n".join([*lines, "", summary])


def cost_chart_png(rows: list[BillRow]) -> bytes:
    """A small cumulative-cost chart (PNG). Blocking: call it through asyncio.to_thread."""
    width, height = CHART_SIZE
    left, right, top, bottom = 64, 16, 16, 36
    image = Image.new("RGB", CHART_SIZE, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    peak = max((row.cumulative_usd for row in rows), default=Decimal(0))
    peak_f = float(peak) or 0.01
    plot_w, plot_h = width - left - right, height - top - bottom
    for step in range(5):
        y = top + plot_h * step / 4
        draw.line([(left, y), (width - right, y)], fill=_GRID)
        draw.text((6, y - 6), f"${peak_f * (4 - step) / 4:.3f}", fill=_INK)
    if rows:
        n = len(rows)
        points = [
            (
                left + (plot_w * (i + 1) / n if n > 1 else plot_w),
                top + plot_h - plot_h * float(row.cumulative_usd) / peak_f,
            )
            for i, row in enumerate(rows)
        ]
        origin = (left, top + plot_h)
        draw.polygon([origin, *points, (points[-1][0], top + plot_h)], fill=_FILL)
        draw.line([origin, *points], fill=_LINE, width=3)
        for (x, y), row in zip(points, rows, strict=True):
            draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=_LINE)
            draw.text((x - 4, height - bottom + 8), str(row.turn), fill=_INK)
    draw.line([(left, top + plot_h), (width - right, top + plot_h)], fill=_INK)
    draw.text((width - right - 60, height - 14), "turn", fill=_INK)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def lineage_markdown(chain: list[ImageRecord]) -> str:
    """The chain from the first image to this one, one line per generation."""
    lines = []
    for depth, image in enumerate(chain):
        how = "generated" if image.parent_id is None else f"edited from `{image.parent_id[-8:]}`"
        lines.append(
            f"{depth + 1}. `{image.short_id}` — {how}, turn {image.turn}, {image.size} "
            f"{image.quality}  \n   _{_short(image.prompt, 140)}_"
        )
    return "\n".join(lines)


async def open_lineage(chain: list[ImageRecord]) -> None:
    """Show an image's ancestors in the side panel: thumbnails, each with its prompt."""
    elements: list[cl.Image | cl.Text] = []
    for depth, image in enumerate(chain):
        elements.append(
            cl.Image(
                name=f"{depth + 1} · {image.short_id}",
                path=str(image.path),
                display="side",
                size="small",
            )
        )
        elements.append(
            cl.Text(
                name=f"{depth + 1} · prompt",
                content=f"**{image.short_id}** · {image.size} · {image.quality}\n\n{image.prompt}",
                display="side",
            )
        )
    await cl.ElementSidebar.set_title(f"Lineage of {chain[-1].short_id}")
    await cl.ElementSidebar.set_elements(elements, key=f"lineage-{chain[-1].id}")


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
    await cl.ElementSidebar.set_title("Session bill")
    await cl.ElementSidebar.set_elements(elements, key=f"bill-{len(rows)}")
    return rows
