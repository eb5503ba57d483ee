"""The typed events one turn yields, in order. A small closed union, like stream_events.py.

Order for an image turn: TurnStarted, TextDelta*, ImageCallStarted, PartialImage*,
ImageReady (or ImageFailed), ..., then exactly one of TurnBilled or TurnFailed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from agent.billing.usage import ResponseUsage
from agent.errors import AtelierError
from agent.store.records import ImageRecord, TurnBill


@dataclass(frozen=True)
class TurnStarted:
    """A turn was accepted and sent; carries the preflight estimate."""

    session_id: str
    turn: int
    estimate_usd: Decimal | None


@dataclass(frozen=True)
class BudgetWarning:
    """A budget is at or past its warning fraction (80% by default)."""

    session_id: str
    budget: str  # "session" | "user_daily" | "app_daily"
    spent_usd: Decimal
    limit_usd: Decimal


@dataclass(frozen=True)
class TextDelta:
    """A piece of the assistant's text."""

    session_id: str
    text: str


@dataclass(frozen=True)
class ImageCallStarted:
    """The model called image_generation.

    ``action`` is "generate" or "edit", or "auto" while it is not known yet (a chained turn
    may edit the latest image or draw anew: ImageReady tells). ``parent_id`` is set only
    when the user targeted an image.
    """

    session_id: str
    call_id: str
    action: str
    size: str
    quality: str
    parent_id: str | None


@dataclass(frozen=True)
class PartialImage:
    """An earlier stage of an image in progress; ``index`` counts from 0."""

    session_id: str
    call_id: str
    index: int
    data: bytes
    output_format: str


@dataclass(frozen=True)
class ImageReady:
    """A finished image, decoded, verified and written to disk."""

    session_id: str
    image: ImageRecord


@dataclass(frozen=True)
class ImageFailed:
    """One image call failed (e.g. moderation) while the turn itself went on."""

    session_id: str
    call_id: str
    error: AtelierError


@dataclass(frozen=True)
class TurnBilled:
    """The turn ended normally: what it used, what it cost, and the session total."""

    session_id: str
    turn: int
    response_id: str | None
    usage: ResponseUsage
    bill: TurnBill
    session_total_usd: Decimal | None
    session_budget_usd: Decimal | None
    latency_ms: int


@dataclass(frozen=True)
class TurnFailed:
    """The turn ended with an error; ``spent`` is what is known to have been spent anyway."""

    session_id: str
    turn: int
    error: AtelierError
    spent: TurnBill
    session_total_usd: Decimal | None
    images_kept: tuple[str, ...] = ()


AgentEvent = (
    TurnStarted
    | BudgetWarning
    | TextDelta
    | ImageCallStarted
    | PartialImage
    | ImageReady
    | ImageFailed
    | TurnBilled
    | TurnFailed
)
