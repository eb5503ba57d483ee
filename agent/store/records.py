"""The records Atelier keeps: sessions, turns, images and the bill lines of each turn.

Plain frozen dataclasses: the store persists them, the loop yields them, the UI shows them.
Money is Decimal USD; ``None`` means the price is unknown (never 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from agent.billing.usage import ResponseUsage

TurnStatus = Literal["ok", "failed", "cancelled", "refused", "incomplete"]
LineKind = Literal[
    "text_input",
    "text_cached_input",
    "text_output",
    "image_text_input",
    "image_cached_text_input",
    "image_input",
    "image_cached_input",
    "image_output",
    "image_text_output",
    "per_image",
    "per_call",
]


@dataclass(frozen=True)
class CostLine:
    """One priced line of a bill: so many tokens (or units) of one kind at one rate.

    ``owner`` names whose price it is ("OpenAI list price" or a provider's price file);
    ``estimated`` marks a line computed from size and quality instead of reported usage.
    ``rate_per_mtok_usd`` is per million tokens, or per unit for per_image/per_call lines.
    """

    kind: LineKind
    model: str
    tokens: int
    rate_per_mtok_usd: Decimal | None
    cost_usd: Decimal | None
    owner: str
    estimated: bool = False

    @property
    def is_image(self) -> bool:
        """Image-model lines (anything the image_generation tool spent)."""
        return self.kind.startswith("image") or self.kind == "per_image"


@dataclass(frozen=True)
class TurnBill:
    """Every cost line of one turn."""

    lines: tuple[CostLine, ...] = ()

    @property
    def total_usd(self) -> Decimal | None:
        """Sum of the lines, or None when any line's price is unknown."""
        if any(line.cost_usd is None for line in self.lines):
            return None
        return sum((line.cost_usd for line in self.lines if line.cost_usd is not None), Decimal(0))

    @property
    def known_usd(self) -> Decimal:
        """Sum of the lines whose price is known."""
        return sum((line.cost_usd for line in self.lines if line.cost_usd is not None), Decimal(0))

    @property
    def has_unknown(self) -> bool:
        """True when some line could not be priced."""
        return any(line.cost_usd is None for line in self.lines)

    @property
    def estimated(self) -> bool:
        """True when some line is an estimate rather than reported usage."""
        return any(line.estimated for line in self.lines)

    def by_kind(self) -> dict[str, Decimal]:
        """Known cost split into "text" and "images"."""
        out = {"text": Decimal(0), "images": Decimal(0)}
        for line in self.lines:
            if line.cost_usd is not None:
                out["images" if line.is_image else "text"] += line.cost_usd
        return out

    def __add__(self, other: TurnBill) -> TurnBill:
        return TurnBill(self.lines + other.lines)


@dataclass(frozen=True)
class ImageRecord:
    """One finished image: where it came from, what it is, and where its file lives."""

    id: str  # the image_generation_call id, ig_...
    session_id: str
    response_id: str
    turn: int
    prompt: str
    revised_prompt: str | None
    action: str  # "generate" | "edit"
    parent_id: str | None
    model: str
    size: str  # "WxH" as rendered
    quality: str
    output_format: str
    background: str
    path: Path
    sha256: str
    width: int
    height: int
    bytes: int
    latency_ms: int
    created_at: datetime
    reasoning_item_id: str | None = None

    @property
    def short_id(self) -> str:
        """A compact id for captions: the last 8 characters."""
        return self.id[-8:]


@dataclass(frozen=True)
class TurnRecord:
    """One user turn and everything it produced or spent."""

    session_id: str
    turn: int
    user_text: str
    status: TurnStatus
    started_at: datetime
    target_image_id: str | None = None
    response_id: str | None = None
    latency_ms: int = 0
    settings: dict[str, Any] = field(default_factory=dict)
    usage: ResponseUsage = field(default_factory=ResponseUsage)
    bill: TurnBill = field(default_factory=TurnBill)
    error_code: str | None = None
    error_message: str | None = None
    image_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class SessionRecord:
    """A conversation: its owner, profile, settings and where the response chain stands."""

    id: str
    user_id: str
    profile: str
    title: str
    settings: dict[str, Any]
    last_response_id: str | None
    created_at: datetime
    updated_at: datetime
    turn_count: int = 0


@dataclass(frozen=True)
class Spend:
    """What budgets see when a turn begins: recorded spend plus open reservations, in USD."""

    session_usd: Decimal
    user_today_usd: Decimal
    app_today_usd: Decimal


@dataclass(frozen=True)
class Admission:
    """A begun turn: its number, what was spent before it, and the refusal if it was refused.

    A refused turn still has its number (nothing is reserved for it).
    """

    turn: int
    spend: Spend
    refusal: Exception | None = None
