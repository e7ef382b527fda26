"""Hand-computed textbook cases for each portfolio formula (catalog §9, K10-K17)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collectpulse.kpi.portfolio import (
    Flows,
    PlacedAccount,
    Receivables,
    add_days,
    agency_revenue,
    balance_weighted_dpd_days,
    best_possible_dso_days,
    cash_cei_ratio,
    cei_at_pace,
    cei_ratio,
    cost_per_contact,
    cost_to_collect_ratio,
    covers,
    dso_days,
    handled_accounts,
    opening_balance,
    per_account,
    profit_per_account,
    recovery_ratio,
    repaid_by_dpd_ratio,
    residual_delta,
    split_delta,
    spread_cost,
)

# A month of a textbook ledger: 500,000 owed at the start, 300,000 placed or charged,
# 400,000 owed at the end of which 200,000 is not yet due; of the 400,000 that left,
# 350,000 was paid and 50,000 written off.
NOW = Receivables(total=400_000, current=200_000)
MONTH = Flows(up=300_000, down=400_000, cash=350_000)


def test_the_opening_balance_is_derived_from_now_and_the_flows() -> None:
    assert opening_balance(NOW, MONTH) == 500_000


def test_dso_by_the_period_method_and_its_split_into_best_possible_and_delinquent() -> None:
    # 400,000 / 300,000 * 30 = 40 days, of which 200,000 / 300,000 * 30 = 20 are the
    # best possible and the other 20 the average days delinquent
    assert dso_days(NOW, MONTH, 30) == pytest.approx(40.0)
    assert best_possible_dso_days(NOW, MONTH, 30) == pytest.approx(20.0)
    assert add_days(NOW, MONTH, 30) == pytest.approx(20.0)


def test_no_sales_in_the_window_is_no_sample_not_infinity() -> None:
    quiet = Flows(up=0, down=10_000)
    assert dso_days(NOW, quiet, 30) is None
    assert best_possible_dso_days(NOW, quiet, 30) is None
    assert add_days(NOW, quiet, 30) is None
    with pytest.raises(ValueError, match="at least one day"):
        dso_days(NOW, MONTH, 0)


def test_cei_counts_write_offs_as_collected_and_the_cash_cei_does_not() -> None:
    # (500,000 + 300,000 - 400,000) / (500,000 + 300,000 - 200,000) = 400 / 600
    assert cei_ratio(NOW, MONTH) == pytest.approx(2 / 3)
    # 350,000 / (400,000 + 200,000)
    assert cash_cei_ratio(NOW, MONTH) == pytest.approx(350_000 / 600_000)


def test_cei_without_anything_collectible_is_no_sample() -> None:
    nothing = Receivables(total=0, current=0)
    assert cei_ratio(nothing, Flows(up=0, down=0)) is None
    assert cash_cei_ratio(nothing, Flows(up=0, down=0)) is None


def _steady_book(past_due: int, monthly: list[int]) -> tuple[float, float]:
    """(30-day CEI, 90-day CEI) of a book with ``past_due`` owed and past due now and
    the three months' collections ``monthly`` (oldest first), placements matching them."""
    now = Receivables(total=past_due + 50_000, current=50_000)
    month, quarter = monthly[-1], sum(monthly)
    c30 = cei_ratio(now, Flows(up=month, down=month))
    c90 = cei_ratio(now, Flows(up=quarter, down=quarter))
    assert c30 is not None and c90 is not None
    return c30, c90


@pytest.mark.parametrize("past_due", [10_000, 100_000, 1_000_000, 10_000_000])
def test_a_steady_book_s_30_day_cei_is_the_one_its_90_day_pace_gives(past_due: int) -> None:
    c30, c90 = _steady_book(past_due, [100_000, 100_000, 100_000])
    assert cei_at_pace(c90, 90, 30) == pytest.approx(c30)
    # the two windows' CEIs differ by design (1/11 and 3/13 at 1,000,000 past due),
    # so a 30d-versus-90d gap is no sign of anything
    assert c30 < c90


def test_the_limit_is_keep_times_the_pace_in_collections_per_past_due_balance() -> None:
    # collected 75,000 in the last month of 100,000 a month before: 75/91.7 of the pace
    c30, c90 = _steady_book(1_000_000, [100_000, 100_000, 75_000])
    odds = c30 / (1 - c30)
    pace = cei_at_pace(c90, 90, 30)
    assert odds / (pace / (1 - pace)) == pytest.approx(75 / (275 / 3))
    limit = cei_at_pace(c90, 90, 30, keep=0.75)
    assert limit / (1 - limit) == pytest.approx(0.75 * pace / (1 - pace))
    assert cei_at_pace(1.0, 90, 30, keep=0.75) == 1.0  # nothing past due: no division by 0
    assert cei_at_pace(0.0, 90, 30, keep=0.75) == 0.0
    with pytest.raises(ValueError, match="cei"):
        cei_at_pace(1.5, 90, 30)


@given(
    total=st.integers(0, 10**12),
    current_share=st.floats(0, 1),
    up=st.integers(0, 10**12),
    down=st.integers(0, 10**12),
    cash_share=st.floats(0, 1),
)
def test_cei_equals_collected_over_collected_plus_past_due_and_stays_in_0_1(
    total: int, current_share: float, up: int, down: int, cash_share: float
) -> None:
    now = Receivables(total=total, current=int(total * current_share))
    flows = Flows(up=up, down=down, cash=int(down * cash_share))
    cei, cash = cei_ratio(now, flows), cash_cei_ratio(now, flows)
    if down + now.past_due == 0:
        assert cei is None and cash is None
        return
    assert cei is not None and cash is not None
    assert cei == pytest.approx(down / (down + now.past_due))
    assert 0.0 <= cash <= cei <= 1.0


def test_balance_weighted_dpd_counts_past_due_balances_only() -> None:
    # (1,000 * 10 + 3,000 * 50) / 4,000 = 40; the current and the empty account do not count
    assert balance_weighted_dpd_days([(1_000, 10), (3_000, 50), (9_000, 0), (0, 90)]) == 40.0
    assert balance_weighted_dpd_days([(9_000, 0), (5_000, -3)]) is None


def test_flows_of_one_change_and_the_implicit_closed_residual() -> None:
    assert split_delta(2_500) == Flows(up=2_500, down=0)
    assert split_delta(-700) == Flows(up=0, down=700)
    assert residual_delta(1_200, was_open=True, is_open=False) == -1_200
    assert residual_delta(1_200, was_open=False, is_open=True) == 1_200
    assert residual_delta(1_200, was_open=True, is_open=True) == 0
    assert residual_delta(1_200, was_open=False, is_open=False) == 0


def test_handled_accounts_and_amounts_per_account() -> None:
    # 90 open now, 15 left the open statuses in W, 5 of those came back: 100 handled
    handled = handled_accounts(open_now=90, exits=15, reentries=5)
    assert handled == 100
    assert per_account(1_234_500, handled) == 12_345.0
    assert per_account(1_000, 0) is None
    with pytest.raises(ValueError, match="negative"):
        handled_accounts(open_now=1, exits=0, reentries=2)


def test_profit_per_account_in_house_and_as_an_agency() -> None:
    # an agency at 25 % on 800,000 and 15 % on 200,000 earns 230,000
    revenue = agency_revenue({2_500: 800_000, 1_500: 200_000})
    assert revenue == 230_000
    assert profit_per_account(revenue, 130_000, 50, labour_covers_window=True) == 2_000.0
    assert profit_per_account(revenue, 130_000, 50, labour_covers_window=False) is None
    with pytest.raises(ValueError, match="commission_bp"):
        agency_revenue({10_001: 1})


def test_cost_per_contact_and_cost_to_collect() -> None:
    assert cost_per_contact(90_000, 1_200) == 75.0
    assert cost_per_contact(90_000, 0) is None
    assert cost_to_collect_ratio(50_000, 1_000_000) == 0.05
    assert cost_to_collect_ratio(50_000, 0) is None


def test_recovery_of_a_placement_cohort() -> None:
    assert recovery_ratio(125_000, 1_000_000) == 0.125
    assert recovery_ratio(0, 0) is None


def test_a_cost_is_spread_floor_per_day_with_the_remainder_on_the_first_day() -> None:
    # 100 over 3 days: 33 a day, the remaining 1 on the first
    spread = spread_cost(100, date(2026, 3, 1), date(2026, 3, 4))
    assert spread == {date(2026, 3, 1): 34, date(2026, 3, 2): 33, date(2026, 3, 3): 33}
    assert sum(spread.values()) == 100
    with pytest.raises(ValueError, match="after period_start"):
        spread_cost(100, date(2026, 3, 4), date(2026, 3, 4))
    with pytest.raises(ValueError, match=">= 0"):
        spread_cost(-1, date(2026, 3, 1), date(2026, 3, 2))


def test_labour_must_cover_every_day_of_the_window() -> None:
    march = spread_cost(3_100_000, date(2026, 3, 1), date(2026, 4, 1))
    assert covers(march, date(2026, 3, 1), 31)
    assert not covers(march, date(2026, 3, 2), 31)  # 1 April has no labour cost


def test_repaid_by_dpd_counts_only_accounts_old_enough_and_resolved_in_time() -> None:
    today = date(2026, 6, 30)
    accounts = [
        PlacedAccount(date(2026, 5, 1), resolved_on=date(2026, 5, 20)),  # within 30 days
        PlacedAccount(date(2026, 5, 1), resolved_on=date(2026, 6, 5)),  # after 30 days
        PlacedAccount(date(2026, 5, 1), resolved_on=None),
        PlacedAccount(date(2026, 6, 15), resolved_on=date(2026, 6, 16)),  # not 30 days old
    ]
    assert repaid_by_dpd_ratio(accounts, 30, today) == pytest.approx(1 / 3)
    assert repaid_by_dpd_ratio(accounts[3:], 30, today) is None


def test_impossible_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="current <= total"):
        Receivables(total=100, current=101)
    with pytest.raises(ValueError, match="cash <= down"):
        Flows(up=0, down=10, cash=11)
