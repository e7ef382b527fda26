"""K10 and K16 from hand-made aggregates, asserted exactly."""

from __future__ import annotations

from datetime import date

import pytest

from collectpulse.kpi.accounts import AccountTotals
from collectpulse.kpi.allocation import (
    AllocationTotals,
    agency_revenue,
    agency_revenue_by_team,
    cohort_months,
    cohorts,
    collected_per_account,
    open_by_team,
    team_collected_per_account,
)
from collectpulse.store.allocation_reader import merge_allocation
from collectpulse.store.keys import FIELD_SEP

TODAY = date(2027, 3, 31)


def today(_tenant: str) -> date:
    return TODAY


def test_collected_per_account_divides_by_open_now_plus_exits_minus_reentries() -> None:
    accounts = AccountTotals(
        receivables={
            ("acme", "EUR", "2027-03-01"): (5000, 3),
            ("acme", "EUR", "2027-04-01"): (1000, 1),
        }
    )
    allocation = AllocationTotals(
        days={
            ("acme", "EUR", date(2027, 3, 30)): {"a": 900, "u": 50, "x": 2, "e": 1},
            ("acme", "EUR", date(2027, 2, 1)): {"a": 600, "x": 1},  # 90d only
            ("acme", "EUR", date(2026, 12, 1)): {"a": 10_000},  # outside both windows
        }
    )
    rows = collected_per_account(allocation, accounts, today)
    thirty, ninety = rows[("EUR", "acme", "30d")], rows[("EUR", "acme", "90d")]
    assert (thirty.handled, thirty.allocated_minor, thirty.unallocated_minor) == (5, 900, 50)
    assert thirty.collected_per_account == pytest.approx(180.0)
    assert (ninety.handled, ninety.allocated_minor) == (6, 1500)
    assert ninety.collected_per_account == pytest.approx(250.0)


def test_no_handled_account_gives_no_sample() -> None:
    allocation = AllocationTotals(days={("acme", "EUR", TODAY): {"u": 70}})
    row = collected_per_account(allocation, AccountTotals(), today)[("EUR", "acme", "30d")]
    assert row.collected_per_account is None
    assert row.unallocated_minor == 70


def test_recovery_by_cohort_and_its_age_curve_for_the_last_twelve_months() -> None:
    assert cohort_months(TODAY)[0] == "2026-04" and cohort_months(TODAY)[-1] == "2027-03"
    allocation = AllocationTotals(
        cohorts={
            ("acme", "EUR", "2027-01"): {"p": 10_000, "n": 2500, "a30": 1000, "a60": 2000},
            ("acme", "EUR", "2026-03"): {"p": 100, "n": 100},  # 13 months ago
            ("acme", "EUR", "2027-02"): {"n": 40},  # payments before any placement seen
        }
    )
    found = cohorts(allocation, today)
    assert set(found) == {("EUR", "2027-01", "acme"), ("EUR", "2027-02", "acme")}
    january = found[("EUR", "2027-01", "acme")]
    assert january.recovery_ratio == pytest.approx(0.25)
    assert january.curve() == {30: 0.1, 60: 0.2, 90: 0.0, 180: 0.0}
    assert found[("EUR", "2027-02", "acme")].recovery_ratio is None


def test_the_reader_sums_partitions() -> None:
    days = ["2027-03-31", "2027-03-30"]

    def f(*parts: str) -> str:
        return FIELD_SEP.join(parts)

    one = [{f("acme", "EUR", "2027-01", "p"): "100"}, {f("acme", "EUR", "a"): "5"}, {}]
    two = [{f("acme", "EUR", "2027-01", "p"): b"20"}, {f("acme", "EUR", "a"): "7"}, {}]
    merged = merge_allocation(days, [*one, *two])
    assert merged.cohorts == {("acme", "EUR", "2027-01"): {"p": 120}}
    assert merged.days == {("acme", "EUR", date(2027, 3, 31)): {"a": 12}}


def test_repaid_by_dpd_counts_the_accounts_old_enough_as_the_formula_does() -> None:
    from collectpulse.kpi.allocation import repaid_by_dpd
    from collectpulse.kpi.portfolio import PlacedAccount, repaid_by_dpd_ratio

    placed = {
        # placed 10 days ago: due 20 days ago; one paid 5 days after due, one never
        ("acme", date(2027, 3, 21)): {
            (date(2027, 3, 11), date(2027, 3, 16)): 1,
            (date(2027, 3, 11), None): 3,
        },
        # placed 60 days ago (90d only): due then, resolved 40 days after due
        ("acme", date(2027, 1, 30)): {(date(2027, 1, 30), date(2027, 3, 11)): 2},
    }
    got = repaid_by_dpd(AllocationTotals(placed=placed), today)
    # 30d, dpd 7: the 4 accounts due on 03-11 (deadline 03-18): 1 of 4 in time
    assert got[("7", "acme", "30d")] == 0.25
    assert ("30", "acme", "30d") not in got  # 03-11 + 30 is after today
    # 90d, dpd 60: only the two due on 01-30 are old enough: repaid on day 40
    assert got[("60", "acme", "90d")] == 1.0
    flat = [
        PlacedAccount(due, resolved)
        for accounts in placed.values()
        for (due, resolved), n in accounts.items()
        for _ in range(n)
    ]
    for dpd in (7, 30, 60, 90):
        assert got.get((str(dpd), "acme", "90d")) == repaid_by_dpd_ratio(flat, dpd, TODAY)


def _f(*parts: str) -> str:
    return FIELD_SEP.join(parts)


def test_team_fields_count_in_their_team_and_in_the_total_old_ones_as_unassigned() -> None:
    days = ["2027-03-31"]
    part = [
        {},
        {
            _f("acme", "EUR", "a"): "100",  # written before teams: __unassigned__
            _f("acme", "EUR", "a", "__unassigned__"): "-40",  # its credit moved on since
            _f("acme", "EUR", "a", "early"): "40",
            _f("acme", "EUR", "c", "early"): "60000",  # 40 x 1500 bp
            _f("acme", "EUR", "x", "early"): "1",
            _f("acme", "EUR", "u"): "7",
            _f("acme", "k17", "2027-03-01", "-"): "1",
        },
    ]
    merged = merge_allocation(days, part)
    day = date(2027, 3, 31)
    assert merged.days == {("acme", "EUR", day): {"a": 100, "c": 60000, "x": 1, "u": 7}}
    assert merged.teams == {
        ("acme", "EUR", "__unassigned__", day): {"a": 60},
        ("acme", "EUR", "early", day): {"a": 40, "c": 60000, "x": 1},
    }


def test_open_by_team_counts_accounts_stored_before_the_team_count_as_unassigned() -> None:
    accounts = AccountTotals(
        receivables={
            ("acme", "EUR", "2027-03-01"): (5000, 4),
            ("acme", "USD", "2027-03-01"): (1, 1),
        },
        open_teams={("acme", "EUR", "early"): 2, ("acme", "EUR", "late"): 1},
    )
    assert open_by_team(accounts) == {
        ("acme", "EUR", "early"): 2,
        ("acme", "EUR", "late"): 1,
        ("acme", "EUR", "__unassigned__"): 1,
        ("acme", "USD", "__unassigned__"): 1,
    }


def test_k10_by_team_divides_each_team_s_net_by_its_handled_accounts() -> None:
    accounts = AccountTotals(
        receivables={("acme", "EUR", "2027-03-01"): (5000, 3)},
        open_teams={("acme", "EUR", "early"): 2, ("acme", "EUR", "late"): 1},
    )
    d = date(2027, 3, 30)
    allocation = AllocationTotals(
        teams={
            ("acme", "EUR", "early", d): {"a": 900, "x": 1},
            ("acme", "EUR", "late", d): {"a": 300, "e": 1},
            ("acme", "EUR", "gone", date(2027, 2, 1)): {"a": 500, "x": 1},  # 90d only
        }
    )
    rows = team_collected_per_account(allocation, accounts, today)
    early = rows[("EUR", "early", "acme", "30d")]
    assert (early.allocated_minor, early.handled) == (900, 3)
    assert early.collected_per_account == pytest.approx(300.0)
    late = rows[("EUR", "late", "acme", "30d")]  # open now 1, re-opened in W: H = 0
    assert (late.handled, late.collected_per_account) == (0, None)
    assert rows[("EUR", "gone", "acme", "90d")].collected_per_account == pytest.approx(500.0)
    assert ("EUR", "gone", "acme", "30d") not in rows  # nothing in W and none open


def test_agency_revenue_is_the_commission_over_ten_thousand_per_window() -> None:
    allocation = AllocationTotals(
        days={
            ("acme", "EUR", date(2027, 3, 30)): {"a": 1000, "c": 1000 * 1500},
            ("acme", "EUR", date(2027, 2, 1)): {"a": 333, "c": 333 * 2500},  # 90d only
            ("acme", "EUR", date(2027, 3, 29)): {"a": 50},  # no commission_bp: earns 0
        },
        teams={("acme", "EUR", "early", date(2027, 3, 30)): {"a": 1000, "c": 1500000}},
    )
    assert agency_revenue(allocation, today) == {
        ("EUR", "acme", "30d"): 150.0,
        ("EUR", "acme", "90d"): pytest.approx(150.0 + 83.25),
    }
    assert agency_revenue_by_team(allocation, today)[("EUR", "early", "acme", "30d")] == 150.0
