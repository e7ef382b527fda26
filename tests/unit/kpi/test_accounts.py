"""Days past due, their buckets and the point-in-time portfolio KPIs, computed by hand."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from collectpulse.kpi.accounts import (
    AccountTotals,
    accounts_per_collector,
    days_past_due,
    dpd_bucket,
    open_accounts,
    receivables,
)
from collectpulse.zones import local_date, zone

TODAY = date(2027, 3, 31)


@pytest.mark.parametrize(
    ("days_before_today", "bucket"),
    [
        (-10, "current"),  # due in 10 days
        (0, "current"),  # due today
        (1, "1_30"),  # due yesterday
        (30, "1_30"),
        (31, "31_60"),
        (60, "31_60"),
        (61, "61_90"),
        (90, "61_90"),
        (91, "91_plus"),
        (4000, "91_plus"),
    ],
)
def test_dpd_bucket_edges(days_before_today: int, bucket: str) -> None:
    due = TODAY - timedelta(days=days_before_today)
    assert days_past_due(due, TODAY) == days_before_today
    assert dpd_bucket(days_past_due(due, TODAY)) == bucket


def test_dpd_counts_calendar_days_across_a_month_end() -> None:
    assert days_past_due(date(2027, 2, 28), date(2027, 3, 1)) == 1


def test_the_local_date_follows_the_zone() -> None:
    late_evening_utc = 1_806_534_000  # 2027-03-31T23:00:00Z
    assert local_date(late_evening_utc, zone("UTC")) == date(2027, 3, 31)
    assert local_date(late_evening_utc, zone("Europe/Berlin")) == date(2027, 4, 1)


TOTALS = AccountTotals(
    open={
        ("acme", "open", "early", "ann", "2027-03-31"): 2,  # current
        ("acme", "open", "early", "ann", "2027-03-30"): 1,  # 1_30
        ("acme", "in_plan", "early", "bob", "2027-01-29"): 1,  # 61 days: 61_90
        ("acme", "open", "early", "__unassigned__", "2026-12-30"): 1,  # 91: 91_plus
        ("acme", "open", "late", "cy", "2027-01-30"): 4,  # 60: 31_60
    },
    receivables={
        ("acme", "EUR", "2027-03-31"): (500, 2),
        ("acme", "EUR", "2027-03-30"): (250, 1),
        ("acme", "EUR", "2027-03-01"): (100, 1),  # 30 days: 1_30 with the line above
        ("acme", "USD", "2026-12-30"): (0, 1),  # an open account with nothing owed
        ("acme", "USD", "2026-01-01"): (0, 0),  # no open account: no sample
    },
    collectors={("acme", "early"): frozenset({"ann", "bob"}), ("acme", "late"): frozenset({"cy"})},
)


def test_open_accounts_by_status_bucket_team_and_agent() -> None:
    assert open_accounts(TOTALS, TODAY) == {
        ("open", "current", "early", "ann", "acme"): 2,
        ("open", "1_30", "early", "ann", "acme"): 1,
        ("in_plan", "61_90", "early", "bob", "acme"): 1,
        ("open", "91_plus", "early", "__unassigned__", "acme"): 1,
        ("open", "31_60", "late", "cy", "acme"): 4,
    }


def test_receivables_by_currency_and_bucket() -> None:
    assert receivables(TOTALS, TODAY) == {
        ("EUR", "current", "acme"): 500,
        ("EUR", "1_30", "acme"): 350,
        ("USD", "91_plus", "acme"): 0,
    }


def test_a_day_later_balances_move_bucket_without_any_write() -> None:
    # 03-31 and 03-30 are now 1 and 2 days past due, 03-01 is 31: the next bucket
    assert receivables(TOTALS, TODAY + timedelta(days=1)) == {
        ("EUR", "1_30", "acme"): 750,
        ("EUR", "31_60", "acme"): 100,
        ("USD", "91_plus", "acme"): 0,
    }


def test_accounts_per_collector_counts_unassigned_accounts_of_the_team() -> None:
    # early: 2 + 1 + 1 + 1 open accounts, collectors ann and bob; late: 4 / cy
    assert accounts_per_collector(TOTALS) == {("early", "acme"): 2.5, ("late", "acme"): 4.0}


def test_a_team_without_collectors_has_no_ratio() -> None:
    only_unassigned = AccountTotals(open={("", "open", "x", "__unassigned__", "2027-01-01"): 3})
    assert accounts_per_collector(only_unassigned) == {}
