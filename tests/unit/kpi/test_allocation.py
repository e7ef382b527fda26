"""K10 and K16 from hand-made aggregates, asserted exactly."""

from __future__ import annotations

from datetime import date

import pytest

from collectpulse.kpi.accounts import AccountTotals
from collectpulse.kpi.allocation import (
    AllocationTotals,
    cohort_months,
    cohorts,
    collected_per_account,
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
