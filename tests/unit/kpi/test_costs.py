"""K11 and K12 by hand: spreading with remainder, labour coverage, zero denominators."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from collectpulse.kpi.costs import (
    Collected,
    Cost,
    CostWindow,
    RevenueModel,
    amount_within,
    cost_ratios,
    covers,
    window_attempts,
    window_costs,
)

TODAY = date(2027, 3, 31)


def today(_tenant: str) -> date:
    return TODAY


def cost(category: str, amount: int, start: date, end: date, currency: str = "EUR") -> Cost:
    return Cost(f"{category}-{start}", "acme", category, currency, amount, start, end)


def test_spread_floors_per_day_with_the_remainder_on_the_first_day() -> None:
    # 1000 over 3 days: 333 per day, the remainder 1 on the first day -> 334, 333, 333
    c = cost("labour", 1000, date(2027, 3, 1), date(2027, 3, 4))
    assert amount_within(c, date(2027, 3, 1), date(2027, 3, 1)) == 334
    assert amount_within(c, date(2027, 3, 2), date(2027, 3, 3)) == 666
    assert amount_within(c, date(2027, 2, 1), date(2027, 3, 31)) == 1000
    assert amount_within(c, date(2027, 3, 4), date(2027, 3, 31)) == 0  # end is exclusive
    assert amount_within(c, date(2027, 1, 1), date(2027, 2, 28)) == 0


def test_coverage_needs_every_day_of_the_window() -> None:
    first, last = date(2027, 3, 1), date(2027, 3, 30)
    march = (date(2027, 3, 1), date(2027, 4, 1))
    assert covers([march], first, last)
    halves = [(date(2027, 3, 16), date(2027, 4, 1)), (date(2027, 2, 1), date(2027, 3, 16))]
    assert covers(halves, first, last)
    gap = [(date(2027, 2, 1), date(2027, 3, 15)), (date(2027, 3, 16), date(2027, 4, 1))]
    assert not covers(gap, first, last)
    assert not covers([(date(2027, 3, 2), date(2027, 4, 1))], first, last)
    assert not covers([], first, last)


def test_window_costs_sum_the_overlapped_days_by_category() -> None:
    # 30d = 2027-03-02 .. 2027-03-31; March labour 3100 over 31 days = 100/day, 30 days in W
    march = cost("labour", 3100, date(2027, 3, 1), date(2027, 4, 1))
    # telephony 1000 over 2027-03-30 .. 04-01 (3 days): 334 on 03-30, 333 on 03-31
    phone = cost("telephony", 1000, date(2027, 3, 30), date(2027, 4, 2))
    rows = window_costs([march, phone], today)
    w30 = rows[("acme", "EUR", "30d")]
    assert dict(w30.by_category) == {"labour": 3000, "telephony": 667}
    assert w30.total == 3667 and w30.contact_cost == 3667
    other = window_costs([cost("labour", 500, date(2027, 3, 1), date(2027, 4, 1), "USD")], today)
    assert ("acme", "USD", "30d") in other and ("acme", "EUR", "30d") not in other


def test_window_costs_coverage_per_window() -> None:
    march = cost("labour", 3100, date(2027, 3, 1), date(2027, 4, 1))
    rows = window_costs([march], today)
    assert rows[("acme", "EUR", "30d")].labour_covers  # 03-02 .. 03-31 inside March
    assert not rows[("acme", "EUR", "90d")].labour_covers  # 90d starts 2027-01-01
    assert rows[("acme", "EUR", "90d")].by_category == {"labour": 3100}


def test_ratios_by_hand() -> None:
    spent = {
        ("acme", "EUR", "30d"): CostWindow({"labour": 3000, "telephony": 600, "fees": 400}, True)
    }
    collected = {("acme", "EUR", "30d"): Collected(9000, 1000, 4)}
    rows = cost_ratios(spent, collected, {("acme", "30d"): 120}, {}, {})
    row = rows[("EUR", "acme", "30d")]
    assert row.cost_minor == 4000
    assert row.cost_per_contact == pytest.approx(3600 / 120)
    assert row.cost_to_collect_ratio == pytest.approx(4000 / 10000)
    assert row.profit_per_account == pytest.approx((10000 - 4000) / 4)


def test_absence_rules() -> None:
    key = ("acme", "EUR", "30d")
    uncovered = {key: CostWindow({"labour": 3000}, False)}
    row = cost_ratios(uncovered, {key: Collected(0, 0, 3)}, {}, {}, {})[("EUR", "acme", "30d")]
    # no attempts, nothing collected, labour not covering W: all three absent
    assert (row.cost_per_contact, row.cost_to_collect_ratio, row.profit_per_account) == (
        None,
        None,
        None,
    )
    covered = {key: CostWindow({"labour": 3000}, True)}
    no_accounts = cost_ratios(covered, {key: Collected(500, 0, 0)}, {}, {}, {})
    assert no_accounts[("EUR", "acme", "30d")].profit_per_account is None  # H = 0
    refunded = cost_ratios(covered, {key: Collected(100, -300, 2)}, {}, {}, {})
    assert refunded[("EUR", "acme", "30d")].cost_to_collect_ratio is None  # net < 0
    assert refunded[("EUR", "acme", "30d")].profit_per_account == pytest.approx((-200 - 3000) / 2)


def test_an_agency_tenant_earns_its_commission_and_nothing_when_it_collected_nothing() -> None:
    key = ("acme", "EUR", "30d")
    covered = {key: CostWindow({"labour": 1000}, True)}
    got = {key: Collected(8000, 2000, 5)}
    agency: dict[str, RevenueModel] = {"acme": "agency"}
    # no commission in W (nothing collected, or a payment and its reversal cancel out):
    # revenue 0, so the worst month is on the board, not missing from it
    none = cost_ratios(covered, {key: Collected(0, 0, 5)}, {}, agency, {})
    assert none[("EUR", "acme", "30d")].profit_per_account == pytest.approx(-1000 / 5)
    given = cost_ratios(covered, got, {}, agency, {key: 1600})
    assert given[("EUR", "acme", "30d")].profit_per_account == pytest.approx((1600 - 1000) / 5)


def test_attempts_per_window_of_local_days() -> None:
    daily = {
        ("acme", date(2027, 3, 31)): 5,
        ("acme", date(2027, 3, 2)): 7,
        ("acme", date(2027, 3, 1)): 11,
    }
    daily[("acme", date(2027, 1, 1))] = 13
    daily[("acme", date(2026, 12, 31))] = 17  # before the 90d window
    assert window_attempts(daily, today) == {("acme", "30d"): 12, ("acme", "90d"): 36}


def test_a_window_starting_before_attempts_were_counted_has_no_count() -> None:
    daily = {("acme", date(2027, 3, 31)): 5, ("acme", date(2027, 3, 2)): 7}

    def began(day: date) -> Callable[[str], date]:
        return lambda _tenant: day

    # counting began the day before the 30d window's first day: 30d whole, 90d not
    assert window_attempts(daily, today, began(date(2027, 3, 1))) == {("acme", "30d"): 12}
    # began on the window's first day: that day is partly uncounted
    assert window_attempts(daily, today, began(date(2027, 3, 2))) == {}
    assert window_attempts(daily, today, None) == {("acme", "30d"): 12, ("acme", "90d"): 12}


def test_cost_per_contact_is_absent_the_day_after_an_upgrade() -> None:
    # 30 days of labour; attempts counted only since yesterday (the upgrade): the ratio
    # would be ~30x too high, so there is none (cost_minor and the other ratios stay)
    costs = {("acme", "EUR", "30d"): CostWindow({"labour": 30_000}, True)}
    daily = {("acme", date(2027, 3, 30)): 10, ("acme", date(2027, 3, 31)): 10}
    tried = window_attempts(daily, today, lambda _tenant: date(2027, 3, 30))
    got = {("acme", "EUR", "30d"): Collected(60_000, 0, 3)}
    row = cost_ratios(costs, got, tried, {}, {})[("EUR", "acme", "30d")]
    assert row.cost_per_contact is None
    assert row.cost_minor == 30_000 and row.cost_to_collect_ratio == pytest.approx(0.5)
