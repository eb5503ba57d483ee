"""Budgets refuse a turn that could overspend and warn when one fills up."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agent.billing.budgets import BudgetState, budget_label, check_budgets
from agent.errors import BudgetExceeded

WARN = Decimal("0.8")


def states(session: str = "1.00", user: str = "0", app: str = "0") -> list[BudgetState]:
    return [
        BudgetState("session", Decimal("5.00"), Decimal(session)),
        BudgetState("user_daily", Decimal("20.00"), Decimal(user)),
        BudgetState("app_daily", None, Decimal(app)),
    ]


def test_turn_within_budgets_passes_without_warnings() -> None:
    assert check_budgets(Decimal("0.05268"), states(), WARN) == []


def test_refuses_when_spent_plus_estimate_exceeds_the_limit() -> None:
    with pytest.raises(BudgetExceeded) as info:
        check_budgets(Decimal("0.21072"), states(session="4.85"), WARN)
    err = info.value
    assert err.budget == "session"
    assert err.estimate == Decimal("0.21072")
    assert err.remaining == Decimal("0.15")
    assert "$0.210720" in err.user_message  # the estimate
    assert "$0.150000 left" in err.user_message  # what is left
    assert "$5.000000" in err.user_message  # of what
    assert "quality" in err.user_message and "ATELIER_SESSION_BUDGET_USD" in err.user_message


def test_exactly_reaching_the_limit_is_allowed_and_warns() -> None:
    warned = check_budgets(Decimal("0.15"), states(session="4.85"), WARN)
    assert [s.name for s in warned] == ["session"]


def test_daily_budget_message_names_its_setting_and_waiting() -> None:
    with pytest.raises(BudgetExceeded) as info:
        check_budgets(Decimal("1"), states(user="19.50"), WARN)
    assert info.value.budget == "user_daily"
    assert info.value.remaining == Decimal("0.50")
    assert "ATELIER_USER_DAILY_BUDGET_USD" in info.value.user_message
    assert "tomorrow" in info.value.user_message


def test_overspent_budget_has_nothing_left() -> None:
    with pytest.raises(BudgetExceeded) as info:
        check_budgets(Decimal("0.01"), states(session="5.20"), WARN)
    assert info.value.remaining == Decimal(0)


def test_warns_at_the_fraction_after_the_turn() -> None:
    # 3.95 + 0.05 = 4.00 = 80% of 5.00 -> warn; 16 + 0.05 < 80% of 20 -> no warn.
    warned = check_budgets(Decimal("0.05"), states(session="3.95", user="15.90"), WARN)
    assert [s.name for s in warned] == ["session"]
    assert warned[0].spent_usd == Decimal("3.95")
    below = check_budgets(Decimal("0.04"), states(session="3.95"), WARN)
    assert below == []


def test_uncapped_budget_never_refuses() -> None:
    only_app = [BudgetState("app_daily", None, Decimal("1000000"))]
    assert check_budgets(Decimal("99"), only_app, WARN) == []
    assert check_budgets(None, only_app, WARN) == []


def test_unknown_estimate_is_refused_by_a_finite_budget() -> None:
    with pytest.raises(BudgetExceeded) as info:
        check_budgets(None, states(), WARN)
    assert info.value.budget == "session"
    assert "unknown" in info.value.user_message
    assert "$4.000000 left" in info.value.user_message
    assert info.value.estimate is None  # unknown, never presented as $0


def test_every_budget_has_one_label() -> None:
    assert budget_label("session") == BudgetState("session", None, Decimal(0)).label
    assert budget_label("user_daily") == "your daily budget"
    assert budget_label("other") == "the other budget"
