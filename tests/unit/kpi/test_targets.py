"""K24 target attainment: calendar periods in the tenant's zone, pro rata for counts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from collectpulse.kpi.targets import (
    Target,
    agents_below_target,
    attainment,
    elapsed_share,
    period_days,
)

BERLIN = ZoneInfo("Europe/Berlin")
# Wednesday 2027-03-17 12:00 in Berlin (11:00 UTC)
NOW_S = datetime(2027, 3, 17, 12, tzinfo=BERLIN).timestamp()
TODAY = date(2027, 3, 17)


def target(
    scope: str, scope_id: str, metric: str, period: str, *values: tuple[date, float]
) -> Target:
    currency = "EUR" if metric == "collected_amount_minor" else ""
    key = f"{scope}:{scope_id}:{metric}:{period}"
    return Target(key, "t1", scope, scope_id, metric, period, currency, values)


def test_periods_are_calendar_day_iso_week_and_month() -> None:
    assert period_days("day", TODAY) == (TODAY, date(2027, 3, 18))
    assert period_days("week", TODAY) == (date(2027, 3, 15), date(2027, 3, 22))
    assert period_days("month", TODAY) == (date(2027, 3, 1), date(2027, 4, 1))
    assert period_days("month", date(2027, 12, 31)) == (date(2027, 12, 1), date(2028, 1, 1))
    assert elapsed_share("day", NOW_S, BERLIN) == pytest.approx(0.5)
    assert elapsed_share("week", NOW_S, BERLIN) == pytest.approx(2.5 / 7)
    # the month holds the switch to summer time (2027-03-28): 743 hours, not 744
    assert elapsed_share("month", NOW_S, BERLIN) == pytest.approx((16 * 24 + 12) / 743)
    # at 00:30 UTC on the 17th it is 01:30 on the 17th in Berlin, 20:30 on the 16th in New York
    at = datetime(2027, 3, 17, 0, 30, tzinfo=UTC).timestamp()
    assert elapsed_share("day", at, BERLIN) == pytest.approx(1.5 / 24)
    assert elapsed_share("day", at, ZoneInfo("America/New_York")) == pytest.approx(20.5 / 24)


def test_attainment_sums_the_period_so_far_and_judges_counts_pro_rata() -> None:
    facts = {
        ("collected_amount_minor", "t1", "EUR", "ann", TODAY): 300,
        ("collected_amount_minor", "t1", "EUR", "ann", date(2027, 3, 15)): 200,  # Monday
        ("collected_amount_minor", "t1", "EUR", "ann", date(2027, 3, 14)): 999,  # last week
        ("collected_amount_minor", "t1", "GBP", "ann", TODAY): 50,  # another currency
        ("collected_amount_minor", "t1", "EUR", "bob", TODAY): 100,
        ("outbound_rpcs", "t1", "", "bob", TODAY): 3,
        ("outbound_attempts", "t1", "", "bob", TODAY): 10,
        ("promises_made", "t2", "", "ann", TODAY): 5,  # another tenant
    }
    teams = {("t1", "ann"): "north", ("t1", "bob"): "north"}
    targets = [
        # changed mid-period: the value in force today counts; a future one not yet
        target(
            "agent",
            "ann",
            "collected_amount_minor",
            "week",
            (date(2027, 3, 1), 2000.0),
            (date(2027, 3, 16), 1000.0),
            (date(2027, 3, 20), 9000.0),
        ),
        target("agent", "bob", "rpc_ratio", "day", (date(2027, 1, 1), 0.4)),
        target("agent", "bob", "promises_made", "day", (date(2027, 1, 1), 2.0)),
        target("team", "north", "collected_amount_minor", "day", (date(2027, 1, 1), 800.0)),
        target("agent", "cy", "rpc_count", "month", (date(2027, 4, 1), 5.0)),  # not yet valid
    ]
    rows = {
        r["scope_id"] + ":" + r["metric"]: r
        for r in attainment(targets, facts, teams, NOW_S, lambda _: BERLIN)
    }
    assert set(rows) == {
        "ann:collected_amount_minor",
        "bob:rpc_ratio",
        "bob:promises_made",
        "north:collected_amount_minor",
    }
    ann = rows["ann:collected_amount_minor"]
    assert (ann["target"], ann["actual"], ann["period_start"]) == (1000.0, 500.0, "2027-03-15")
    assert ann["attainment"] == 0.5
    assert ann["below_target"] is False  # 500 >= 1000 x 2.5/7
    bob = rows["bob:rpc_ratio"]
    assert bob["actual"] == pytest.approx(0.3) and bob["below_target"] is True  # no pro rata
    made = rows["bob:promises_made"]
    assert made["actual"] == 0.0 and made["below_target"] is True  # 0 < 2 x 0.5
    team = rows["north:collected_amount_minor"]
    assert team["actual"] == 400.0 and team["below_target"] is False  # 400 >= 800 x 0.5
    below = agents_below_target(list(rows.values()), teams)
    assert below == {
        ("collected_amount_minor", "north", "t1"): 0,
        ("rpc_ratio", "north", "t1"): 1,
        ("promises_made", "north", "t1"): 1,
    }


def test_a_ratio_without_a_denominator_is_not_judged() -> None:
    targets = [target("agent", "dee", "promise_kept_ratio", "month", (date(2027, 1, 1), 0.5))]
    (row,) = attainment(targets, {}, {}, NOW_S, lambda _: BERLIN)
    assert row["actual"] is None and row["attainment"] is None and not row["below_target"]
    assert agents_below_target([row], {}) == {("promise_kept_ratio", "__unassigned__", "t1"): 0}
