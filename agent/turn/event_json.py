"""Agent events as JSON-ready dicts: one object per event, each with ``type`` and ``session_id``.

The one serializer of events: the CLI's JSON lines, exports, logs and the UI all use it.
"""

from __future__ import annotations

from typing import Any, assert_never

from agent.billing.format import decimal_str as money
from agent.billing.format import line_json
from agent.store.records import TurnBill
from agent.turn import events as ev
from agent.turn.quote import QuoteOption


def bill_json(bill: TurnBill) -> dict[str, Any]:
    """A turn's bill: total (None when unknown), split by kind, and every line."""
    return {
        "total_usd": money(bill.total_usd),
        "known_usd": money(bill.known_usd),
        "by_kind": {kind: money(amount) for kind, amount in bill.by_kind().items()},
        "estimated": bill.estimated,
        "lines": [line_json(line) for line in bill.lines],
    }


def option_json(option: QuoteOption) -> dict[str, Any]:
    """One way to run a quoted turn."""
    return {
        "images": option.images,
        "size": option.size,
        "quality": option.quality,
        "estimate_usd": money(option.estimate_usd),
        "summary": option.summary,
    }


def event_json(event: ev.AgentEvent | ev.Quoted) -> dict[str, Any]:
    """The JSON form of any agent event (and of the quote before a turn)."""
    base: dict[str, Any] = {"type": event.type, "session_id": event.session_id}
    match event:
        case ev.Quoted():
            quote = event.quote
            return {
                **base,
                "summary": quote.summary,
                "threshold_usd": money(quote.threshold_usd),
                "asked": option_json(quote.asked),
                "cheaper": option_json(quote.cheaper) if quote.cheaper else None,
            }
        case ev.TurnStarted():
            return {
                **base,
                "turn": event.turn,
                "estimate_usd": money(event.estimate_usd),
            }
        case ev.BudgetWarning():
            return {
                **base,
                "budget": event.budget,
                "spent_usd": money(event.spent_usd),
                "limit_usd": money(event.limit_usd),
            }
        case ev.TextDelta():
            return {**base, "text": event.text}
        case ev.ImageCallStarted():
            return {
                **base,
                "id": event.call_id,
                "action": event.action,
                "size": event.size,
                "quality": event.quality,
                "parent_id": event.parent_id,
            }
        case ev.PartialImage():
            return {
                **base,
                "id": event.call_id,
                "index": event.index,
                "bytes": len(event.data),
            }
        case ev.ImageReady():
            image = event.image
            return {
                **base,
                "id": image.id,
                "parent_id": image.parent_id,
                "path": str(image.path),
                "size": image.size,
                "quality": image.quality,
                "format": image.output_format,
                "action": image.action,
                "turn": image.turn,
                "model": image.model,
                "revised_prompt": image.revised_prompt,
                "latency_ms": image.latency_ms,
            }
        case ev.ImageFailed():
            return {
                **base,
                "id": event.call_id,
                "error": {"code": event.error.code, "message": event.error.user_message},
            }
        case ev.TurnBilled():
            return {
                **base,
                "turn": event.turn,
                "response_id": event.response_id,
                "latency_ms": event.latency_ms,
                "usage": event.usage.to_dict(),
                "bill": bill_json(event.bill),
                "session_total_usd": money(event.session_total_usd),
                "session_budget_usd": money(event.session_budget_usd),
            }
        case ev.TurnFailed():
            return {
                **base,
                "turn": event.turn,
                "error": {"code": event.error.code, "message": event.error.user_message},
                "spent": bill_json(event.spent),
                "images_kept": list(event.images_kept),
                "session_total_usd": money(event.session_total_usd),
            }
        case _:
            assert_never(event)
