"""How money and bills read in the UI: short, exact, and honest about unknown prices."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from agent.billing.format import format_usd
from agent.store.records import ImageRecord, TurnBill


def usd(amount: Decimal | None, *, places: int = 4) -> str:
    """Exact money: ``$0.06132625`` (at least ``places`` decimals); ``unknown`` if None."""
    return format_usd(amount, places=places)


def usd_short(amount: Decimal | None, *, places: int = 4) -> str:
    """Compact money for running text: ``$0.0613`` (half-up); ``unknown`` if None.

    The bill panel and the exports keep every digit; this is only for at-a-glance lines.
    """
    if amount is None or not amount.is_finite():
        return "unknown"
    return format_usd(amount.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP), places=places)


def bill_line(bill: TurnBill, session_total: Decimal | None, session_budget: Decimal | None) -> str:
    """One compact line after a turn.

    ``This turn $0.0563 (text $0.0036 · images $0.0527) · session $0.1120 of $5.00``
    """
    kinds = bill.by_kind()
    turn_total = bill.total_usd
    parts = [f"This turn {usd_short(turn_total if turn_total is not None else bill.known_usd)}"]
    if bill.has_unknown:
        parts[0] += " + unpriced usage"
    parts[0] += f" (text {usd_short(kinds['text'])} · images {usd_short(kinds['images'])})"
    if bill.estimated:
        parts[0] += " — estimated"
    session = f"session {usd_short(session_total)}"
    if session_budget is not None:
        session += f" of {usd_short(session_budget, places=2)}"
    parts.append(session)
    return " · ".join(parts)


def image_caption(image: ImageRecord, cost: Decimal | None = None) -> str:
    """The caption under a finished image: short id, size, quality and (when known) cost."""
    bits = [f"`{image.short_id}`", image.size, image.quality]
    if image.action == "edit" and image.parent_id:
        bits.append(f"from `{image.parent_id[-8:]}`")
    if cost is not None:
        bits.append(usd_short(cost))
    return " · ".join(bits)


def spent_line(spent: TurnBill, session_total: Decimal | None) -> str:
    """What a failed or stopped turn still cost."""
    known = spent.known_usd
    text = f"Spent on this turn: {usd_short(known)}"
    if spent.has_unknown:
        text += " plus unpriced usage"
    return f"{text} · session {usd_short(session_total)}"
