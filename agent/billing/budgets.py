"""Spending caps: refuse a turn that could break one, warn as one fills up.

Three budgets, checked before every call against the turn's worst-case estimate:
"session" (this conversation), "user_daily" (this user, today UTC) and "app_daily"
(everyone, today UTC). A budget with no limit (None) never refuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from agent.billing.format import format_usd
from agent.errors import BudgetExceeded

BUDGET_NAMES = ("session", "user_daily", "app_daily")

BUDGET_LABELS = {
    "session": "the session budget",
    "user_daily": "your daily budget",
    "app_daily": "the app's daily budget",
}
_SETTINGS_VARS = {
    "session": "ATELIER_SESSION_BUDGET_USD (ATELIER_SUPPORT_SESSION_BUDGET_USD for support)",
    "user_daily": "ATELIER_USER_DAILY_BUDGET_USD",
    "app_daily": "ATELIER_APP_DAILY_BUDGET_USD",
}


@dataclass(frozen=True)
class BudgetState:
    """One budget: its name, its limit (None = no cap) and what is spent so far."""

    name: str
    limit_usd: Decimal | None
    spent_usd: Decimal

    @property
    def remaining_usd(self) -> Decimal | None:
        """What is left (never below 0), or None without a limit."""
        if self.limit_usd is None:
            return None
        return max(self.limit_usd - self.spent_usd, Decimal(0))

    @property
    def label(self) -> str:
        """How messages name this budget."""
        return budget_label(self.name)


def budget_label(name: str) -> str:
    """How every message names a budget ("the session budget", "your daily budget", ...)."""
    return BUDGET_LABELS.get(name, f"the {name} budget")


def _advice(state: BudgetState) -> str:
    var = _SETTINGS_VARS.get(state.name, "the budget setting")
    wait = ", or wait until tomorrow (UTC)" if state.name != "session" else ""
    return f"Lower the quality, the size or the partial images, or raise {var}{wait}."


def check_budgets(
    estimate: Decimal | None, states: Sequence[BudgetState], warn_fraction: Decimal
) -> list[BudgetState]:
    """Refuse a turn that could overspend; return the budgets it would bring near their limit.

    Raises BudgetExceeded when ``spent + estimate > limit`` for any capped budget, or when
    the estimate is unknown (None) and some budget is capped. Returns the states (as given)
    whose ``spent + estimate`` reaches ``warn_fraction`` of their limit.
    """
    if estimate is not None and estimate < 0:
        raise ValueError("A turn estimate cannot be negative.")
    warnings: list[BudgetState] = []
    for state in states:
        if state.limit_usd is None:
            continue
        remaining = state.remaining_usd if state.remaining_usd is not None else Decimal(0)
        if estimate is None:
            raise BudgetExceeded(
                f"This turn's price is unknown (a model has no known price), so it cannot be "
                f"checked against {state.label} ({format_usd(remaining)} left of "
                f"{format_usd(state.limit_usd)}). Pick a model with a known price, or add its "
                "price to your price file (ATELIER_PRICES_FILE).",
                budget=state.name,
                estimate=None,
                remaining=remaining,
            )
        after = state.spent_usd + estimate
        if after > state.limit_usd:
            raise BudgetExceeded(
                f"This turn could cost up to {format_usd(estimate)}, but {state.label} has "
                f"{format_usd(remaining)} left of {format_usd(state.limit_usd)}. " + _advice(state),
                budget=state.name,
                estimate=estimate,
                remaining=remaining,
            )
        if after >= state.limit_usd * warn_fraction:
            warnings.append(state)
    return warnings
