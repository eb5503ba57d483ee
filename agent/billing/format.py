"""A session's bill as JSON, CSV and Markdown, and the one way money is written.

Amounts are exact Decimals until here. Exports write them as plain decimal strings
(never exponent notation); an unknown price is ``null`` / empty / "unknown", never "0".
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from agent.billing.bills import SessionBill
from agent.store.records import CostLine, TurnRecord

CSV_COLUMNS = (
    "session_id",
    "turn",
    "status",
    "kind",
    "model",
    "tokens",
    "rate_per_mtok_usd",
    "cost_usd",
    "owner",
    "estimated",
)


def decimal_str(value: Decimal | None) -> str | None:
    """A Decimal as a plain string ("0.05268", never "5.268E-2" or "0.0526800").

    None (and NaN) stay None: an unknown amount is never written as "0".
    """
    if value is None or not value.is_finite():
        return None
    return format(value.normalize(), "f")


def _with_places(value: Decimal, places: int) -> str:
    """At least ``places`` decimals, more when needed to stay exact."""
    exponent = value.normalize().as_tuple().exponent
    needed = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    digits = max(places, needed)
    return f"{value:.{digits}f}"


def format_usd(amount: Decimal | None, places: int = 6) -> str:
    """Money for people: "$0.052680" (at least ``places`` decimals, exact); "unknown" if None."""
    if amount is None or not amount.is_finite():
        return "unknown"
    sign = "-" if amount < 0 else ""
    return f"{sign}${_with_places(abs(amount), places)}"


def format_rate(rate: Decimal | None, *, per_unit: bool = False) -> str:
    """A rate for people: "$30.00/1M" per million tokens, or "$0.04 each" per unit."""
    if rate is None or not rate.is_finite():
        return "unknown"
    text = f"${_with_places(rate, 2)}"
    return f"{text} each" if per_unit else f"{text}/1M"


def _is_unit_line(line: CostLine) -> bool:
    return line.kind in ("per_image", "per_call")


def line_json(line: CostLine) -> dict[str, Any]:
    """One bill line in the JSON form every export and event uses."""
    return {
        "kind": line.kind,
        "model": line.model,
        "tokens": line.tokens,
        "rate_per_mtok_usd": decimal_str(line.rate_per_mtok_usd),
        "cost_usd": decimal_str(line.cost_usd),
        "owner": line.owner,
        "estimated": line.estimated,
    }


def bill_to_json(session_id: str, turns: Sequence[TurnRecord]) -> dict[str, Any]:
    """The session bill as a JSON-ready dict; amounts are decimal strings, unknown is null."""
    bill = SessionBill.from_turns(turns)
    return {
        "session_id": session_id,
        "total_usd": decimal_str(bill.total_usd),
        "turns": [
            {
                "turn": record.turn,
                "status": record.status,
                "total_usd": decimal_str(record.bill.total_usd),
                "lines": [line_json(line) for line in record.bill.lines],
            }
            for record in sorted(turns, key=lambda t: t.turn)
        ],
    }


def bill_to_csv(session_id: str, turns: Sequence[TurnRecord]) -> str:
    """One CSV row per bill line (with session, turn and status); unknown amounts are empty."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for record in sorted(turns, key=lambda t: t.turn):
        for line in record.bill.lines:
            writer.writerow(
                [
                    session_id,
                    record.turn,
                    record.status,
                    line.kind,
                    line.model,
                    line.tokens,
                    decimal_str(line.rate_per_mtok_usd) or "",
                    decimal_str(line.cost_usd) or "",
                    line.owner,
                    "yes" if line.estimated else "no",
                ]
            )
    return out.getvalue()


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def _md_line(line: CostLine) -> str:
    unit = _is_unit_line(line)
    amount = f"{line.tokens} {'units' if unit else 'tokens'}"
    cost = format_usd(line.cost_usd)
    if line.estimated:
        cost += " (estimated)"
    cells = [
        line.kind,
        line.model,
        amount,
        format_rate(line.rate_per_mtok_usd, per_unit=unit),
        cost,
        line.owner,
    ]
    return "| " + " | ".join(_md_cell(c) for c in cells) + " |"


def bill_to_markdown(session_id: str, turns: Sequence[TurnRecord]) -> str:
    """A readable bill: one table per turn, then totals by kind and by model, then the total."""
    bill = SessionBill.from_turns(turns)
    out = [f"# Bill for session {session_id}", ""]
    for record in sorted(turns, key=lambda t: t.turn):
        out.append(f"## Turn {record.turn} ({record.status}): {format_usd(record.bill.total_usd)}")
        out.append("")
        if not record.bill.lines:
            out.extend(["No charges.", ""])
            continue
        out.append("| Kind | Model | Amount | Rate | Cost | Price owner |")
        out.append("|---|---|---:|---:|---:|---|")
        out.extend(_md_line(line) for line in record.bill.lines)
        out.append("")
    out.extend(["## Totals", "", "| By kind | Cost |", "|---|---:|"])
    out.extend(f"| {kind} | {format_usd(amount)} |" for kind, amount in bill.by_kind.items())
    out.extend(["", "| By model | Cost |", "|---|---:|"])
    for model in sorted(bill.by_model.keys() | bill.unknown_models):
        known = bill.by_model.get(model, Decimal(0))
        text = format_usd(known)
        if model in bill.unknown_models:
            text += " + unknown"
        out.append(f"| {_md_cell(model)} | {text} |")
    out.append("")
    total = format_usd(bill.total_usd)
    if bill.total_usd is None:
        total += f" (known part: {format_usd(bill.known_usd)})"
    out.append(f"**Session total: {total}**")
    return "\n".join(out) + "\n"
