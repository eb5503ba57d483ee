"""The typed events one turn yields, in order. A small closed union, like stream_events.py.

Order for an image turn: TurnStarted, TextDelta*, ImageCallStarted, PartialImage*,
ImageReady (or ImageFailed), ..., then exactly one of TurnBilled or TurnFailed. Every event
carries a ``type`` literal (its JSON name, see ``agent.turn.event_json``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from agent.billing.usage import ResponseUsage
from agent.errors import AtelierError
from agent.store.records import ImageRecord, TurnBill
from agent.turn.quote import TurnQuote


@dataclass(frozen=True)
class TurnStarted:
    """A turn was accepted and sent; carries the preflight estimate."""

    type: Literal["turn_started"] = field(default="turn_started", init=False, repr=False)
    session_id: str
    turn: int
    estimate_usd: Decimal | None


@dataclass(frozen=True)
class BudgetWarning:
    """A budget is at or past its warning fraction (80% by default)."""

    type: Literal["budget_warning"] = field(default="budget_warning", init=False, repr=False)
    session_id: str
    budget: str  # "session" | "user_daily" | "app_daily"
    spent_usd: Decimal
    limit_usd: Decimal


@dataclass(frozen=True)
class TextDelta:
    """A piece of the assistant's text."""

    type: Literal["text_delta"] = field(default="text_delta", init=False, repr=False)
    session_id: str
    text: str


@dataclass(frozen=True)
class ImageCallStarted:
    """The model called image_generation.

    ``action`` is "generate" or "edit", or "auto" while it is not known yet (a chained turn
    may edit the latest image or draw anew: ImageReady tells). ``parent_id`` is set only
    when the user targeted an image.
    """

    type: Literal["image_call_started"] = field(
        default="image_call_started", init=False, repr=False
    )
    session_id: str
    call_id: str
    action: str
    size: str
    quality: str
    parent_id: str | None


@dataclass(frozen=True)
class PartialImage:
    """An earlier stage of an image in progress; ``index`` counts from 0."""

    type: Literal["partial_image"] = field(default="partial_image", init=False, repr=False)
    session_id: str
    call_id: str
    index: int
    data: bytes
    output_format: str


@dataclass(frozen=True)
class ImageReady:
    """A finished image, decoded, verified and written to disk."""

    type: Literal["image_ready"] = field(default="image_ready", init=False, repr=False)
    session_id: str
    image: ImageRecord


@dataclass(frozen=True)
class ImageFailed:
    """One image call failed (e.g. moderation) while the turn itself went on."""

    type: Literal["image_failed"] = field(default="image_failed", init=False, repr=False)
    session_id: str
    call_id: str
    error: AtelierError


@dataclass(frozen=True)
class TurnBilled:
    """The turn ended normally: what it used, what it cost, and the session total."""

    type: Literal["turn_billed"] = field(default="turn_billed", init=False, repr=False)
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
    """The turn ended with an error; ``spent`` is what is known to have been spent anyway.

    A response that ended early (``response.incomplete``) ends with an ``Incomplete`` error:
    its images are kept (``images_kept``) and its reported usage is billed.
    """

    type: Literal["turn_failed"] = field(default="turn_failed", init=False, repr=False)
    session_id: str
    turn: int
    error: AtelierError
    spent: TurnBill
    session_total_usd: Decimal | None
    images_kept: tuple[str, ...] = ()


@dataclass(frozen=True)
class Quoted:
    """Before a turn, not part of it: its quote is above the session's threshold, so it
    waits for Go (``Session.quote``). Nothing has been sent."""

    type: Literal["quote"] = field(default="quote", init=False, repr=False)
    session_id: str
    quote: TurnQuote


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
