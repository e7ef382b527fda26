"""K13-K15 from receivables and daily flows: a hand-computed portfolio, asserted exactly."""

from datetime import date
from fractions import Fraction

import pytest

from collectpulse.kpi.accounts import AccountTotals
from collectpulse.kpi.dso import (
    PortfolioRatios,
    balance_weighted_dpd,
    portfolio_ratios,
    ratio_values,
)

TODAY = date(2027, 3, 31)
TOTALS = AccountTotals(
    receivables={
        ("acme", "EUR", "2027-04-10"): (30_000, 3),  # current
        ("acme", "EUR", "2027-02-15"): (20_000, 2),  # 44 days past due
        ("acme", "EUR", "2027-03-21"): (10_000, 1),  # 10 days past due
        ("acme", "EUR", "2027-01-01"): (0, 0),  # a due date without open accounts
    },
    flows={
        ("acme", "EUR", date(2027, 3, 10)): (90_000, 0, 0),
        ("acme", "EUR", date(2027, 3, 20)): (0, 40_000, 25_000),
        ("acme", "EUR", date(2027, 3, 1)): (10_000, 5_000, 5_000),  # 31 days ago: 90d only
        ("acme", "EUR", date(2026, 12, 31)): (7, 7, 7),  # 91 days ago: in no window
        ("acme", "USD", date(2027, 3, 30)): (0, 500, 0),  # S = 0
    },
)


def close(value: float | None, expected: Fraction | float) -> bool:
    return value is not None and value == pytest.approx(float(expected), abs=1e-12)


def test_a_hand_computed_portfolio_over_30_and_90_days() -> None:
    ratios = portfolio_ratios(TOTALS, lambda _tenant: TODAY)
    # E = 60 000, E_cur = 30 000, E_pd = 30 000
    # 30d: S = 90 000, R = 40 000 (cash 25 000), B = E - S + R = 10 000
    r30 = ratios[("EUR", "acme", "30d")]
    assert close(r30.dso_days, 20.0)  # 60 000 / 90 000 x 30
    assert close(r30.best_possible_dso_days, 10.0)
    assert close(r30.add_days, 10.0)
    assert close(r30.cei_ratio, Fraction(40_000, 70_000))  # (B + S - E) / (B + S - E_cur)
    assert close(r30.cash_cei_ratio, Fraction(25_000, 70_000))
    # 90d: S = 100 000, R = 45 000 (cash 30 000)
    r90 = ratios[("EUR", "acme", "90d")]
    assert close(r90.dso_days, 54.0)
    assert close(r90.best_possible_dso_days, 27.0)
    assert close(r90.add_days, 27.0)
    assert close(r90.cei_ratio, 0.6)
    assert close(r90.cash_cei_ratio, 0.4)


def test_no_sales_gives_no_dso_but_a_cei() -> None:
    ratios = portfolio_ratios(TOTALS, lambda _tenant: TODAY)
    usd = ratios[("USD", "acme", "30d")]
    assert usd == PortfolioRatios(None, None, None, 1.0, 0.0)
    assert ("USD", "acme", "30d") not in ratio_values(ratios, "dso_days")
    assert ratio_values(ratios, "cei_ratio")[("USD", "acme", "30d")] == 1.0


def test_windows_end_on_each_tenants_own_date() -> None:
    totals = AccountTotals(
        flows={
            ("acme", "EUR", date(2027, 3, 10)): (90_000, 0, 0),
            ("globex", "EUR", date(2027, 3, 10)): (90_000, 0, 0),
        }
    )
    days = {"acme": date(2027, 4, 8), "globex": date(2027, 4, 9)}
    ratios = portfolio_ratios(totals, days.__getitem__)
    # 30 days ending 04-08 start on 03-10; ending 04-09 they start on 03-11
    assert ratios[("EUR", "acme", "30d")].dso_days == 0.0  # S in the window, E = 0
    assert ("EUR", "globex", "30d") not in ratios  # no flow in the window, no balance
    assert ratios[("EUR", "globex", "90d")].dso_days == 0.0


def test_balance_weighted_dpd_counts_past_due_balances_only() -> None:
    weighted = balance_weighted_dpd(TOTALS, lambda _tenant: TODAY)
    assert close(weighted[("EUR", "acme")], Fraction(20_000 * 44 + 10_000 * 10, 30_000))
    nothing_due = balance_weighted_dpd(TOTALS, lambda _tenant: date(2027, 1, 1))
    assert nothing_due == {}
