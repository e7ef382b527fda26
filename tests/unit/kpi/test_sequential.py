"""Anytime-valid experiment statistics: catalog §10's test vectors to the printed digits,
the guards, the running p-value, the verdicts and properties that hold for any counts."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from collectpulse.kpi.experiment import Arm, two_proportion_p_value
from collectpulse.kpi.sequential import (
    Interval,
    comparison_alpha,
    evaluate_arms,
    meets_guards,
    mixing_rho_squared,
    replay_p_value,
    running_p_value,
    sequential_statistics,
    verdict,
)
from collectpulse.kpi.srm import srm_check


def _fixed(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


def _interval(interval: Interval | None, decimals: int) -> tuple[str, str]:
    assert interval is not None
    return _fixed(interval.lower, decimals), _fixed(interval.upper, decimals)


# --- §10 test vectors (alpha = 0.05, tuning_n = 5000) ------------------------


def test_rho_squared_for_the_default_alpha_and_tuning_size() -> None:
    assert _fixed(mixing_rho_squared(0.05, 5000), 8) == "0.00158723"


def test_vector_575_of_5000_is_not_significant_where_the_fixed_horizon_test_says_0_0154() -> None:
    stats = sequential_statistics(Arm("b", 575, 5000), Arm("a", 500, 5000))
    assert _fixed(stats.z, 4) == "2.4220"
    assert _fixed(stats.e_value, 4) == "3.8437"
    assert _fixed(stats.p_value, 5) == "0.26016"
    assert _interval(stats.diff, 5) == ("-0.00396", "0.03396")
    # the peeking trap: the same counts at one fixed look
    assert _fixed(stats.fixed_horizon_p_value, 4) == "0.0154"
    # today's pooled gauge agrees to the digits the issue prints (p = 0.015)
    assert _fixed(two_proportion_p_value(Arm("b", 575, 5000), Arm("a", 500, 5000)), 3) == "0.015"


def test_vector_600_of_5000_is_significant() -> None:
    stats = sequential_statistics(Arm("b", 600, 5000), Arm("a", 500, 5000))
    assert _fixed(stats.e_value, 3) == "29.863"
    assert _fixed(stats.p_value, 6) == "0.033486"
    assert _interval(stats.diff, 6) == ("0.000852", "0.039148")
    (result,) = evaluate_arms([Arm("a", 500, 5000), Arm("b", 600, 5000)], control="a")
    assert result.verdict == "significant"


def test_vector_2300_of_20000_with_its_lift_interval() -> None:
    stats = sequential_statistics(Arm("b", 2300, 20000), Arm("a", 2000, 20000))
    assert f"{stats.p_value:.4e}" == "7.7338e-05"
    assert _interval(stats.diff, 6) == ("0.005053", "0.024947")
    assert _interval(stats.lift, 5) == ("0.04327", "0.25673")


def test_the_lift_interval_is_descriptive_and_the_verdict_follows_the_difference() -> None:
    # vector 2: the difference excludes 0 while the delta-method lift interval does not
    stats = sequential_statistics(Arm("b", 600, 5000), Arm("a", 500, 5000))
    assert stats.diff is not None and stats.diff.excludes_zero()
    assert stats.lift is not None and not stats.lift.excludes_zero()


# --- guards and degenerate counts ----------------------------------------------


def test_no_conversions_anywhere_is_no_evidence_and_no_interval() -> None:
    stats = sequential_statistics(Arm("b", 0, 500), Arm("a", 0, 500))
    assert (stats.p_value, stats.diff, stats.lift) == (1.0, None, None)


def test_all_conversions_everywhere_is_no_evidence_and_no_interval() -> None:
    stats = sequential_statistics(Arm("b", 500, 500), Arm("a", 500, 500))
    assert (stats.p_value, stats.diff, stats.lift) == (1.0, None, None)


def test_an_overwhelming_difference_has_p_0_and_an_infinite_e_value_not_an_overflow() -> None:
    stats = sequential_statistics(Arm("b", 60_000, 100_000), Arm("a", 1_000, 100_000))
    assert stats.p_value == 0 and stats.e_value == math.inf
    assert stats.diff is not None and stats.diff.excludes_zero()


def test_a_zero_control_rate_has_a_difference_interval_but_no_lift() -> None:
    stats = sequential_statistics(Arm("b", 20, 500), Arm("a", 0, 500))
    assert stats.diff is not None and stats.lift is None


def test_arms_below_the_guards_are_collecting_without_statistics() -> None:
    arms = [Arm("a", 10, 99), Arm("b", 60, 99)]  # a huge gap, but 99 < 100 units
    (result,) = evaluate_arms(arms, control="a", min_units=100)
    assert (result.statistics, result.p_value, result.verdict) == (None, None, "collecting")


@pytest.mark.parametrize(
    ("successes", "trials", "expected"),
    [(5, 100, True), (95, 100, True), (4, 100, False), (96, 100, False), (50, 99, False)],
)
def test_guards_need_min_units_and_five_successes_and_five_failures(
    successes: int, trials: int, expected: bool
) -> None:
    assert meets_guards(Arm("a", successes, trials), min_units=100) is expected


def test_a_tiny_arm_beside_a_large_one_keeps_the_comparison_collecting() -> None:
    (result,) = evaluate_arms([Arm("a", 500, 5000), Arm("b", 3, 40)], control="a")
    assert result.verdict == "collecting"


# --- the running p-value -------------------------------------------------------


def test_the_stored_minimum_wins_over_a_later_larger_p_value() -> None:
    arms = [Arm("a", 500, 5000), Arm("b", 575, 5000)]  # p = 0.26 now
    (result,) = evaluate_arms(arms, control="a", previous_p_values={"b": 0.01})
    assert result.p_value == 0.01 and result.verdict == "significant"
    assert result.statistics is not None and result.statistics.p_value > 0.26


def test_replay_is_the_minimum_over_snapshots_that_met_the_guards() -> None:
    snapshots = [
        (Arm("b", 3, 50), Arm("a", 1, 50)),  # below the guards: ignored
        (Arm("b", 600, 5000), Arm("a", 500, 5000)),
        (Arm("b", 1050, 10000), Arm("a", 1000, 10000)),  # the gap closes
    ]
    expected = sequential_statistics(*snapshots[1]).p_value
    assert expected < sequential_statistics(*snapshots[2]).p_value
    assert replay_p_value(snapshots) == expected
    assert replay_p_value(snapshots[:1]) is None


def test_running_p_value_keeps_the_previous_when_nothing_is_evaluated() -> None:
    assert running_p_value(None, None) is None
    assert running_p_value(None, 0.4) == 0.4
    assert running_p_value(0.2, None) == 0.2
    assert running_p_value(0.2, 0.3) == 0.2


@pytest.mark.parametrize(("previous", "current"), [(-0.1, 0.5), (0.5, 1.5), (math.nan, 0.5)])
def test_running_p_value_rejects_values_outside_0_1(previous: float, current: float) -> None:
    with pytest.raises(ValueError, match="p-value must be in"):
        running_p_value(previous, current)


# --- verdicts, k arms, SRM -----------------------------------------------------


def test_verdicts() -> None:
    assert verdict(None, 0.05, srm_flagged=False) == "collecting"
    assert verdict(0.05, 0.05, srm_flagged=False) == "significant"
    assert verdict(0.0501, 0.05, srm_flagged=False) == "inconclusive"
    assert verdict(0.001, 0.05, srm_flagged=True) == "srm"
    assert verdict(None, 0.05, srm_flagged=True) == "srm"


def test_a_flagged_split_shows_its_numbers_but_never_a_verdict() -> None:
    srm = srm_check({"a": 5000, "b": 5400}, {"a": 0.5, "b": 0.5})
    assert srm is not None and srm.flagged
    arms = [Arm("a", 500, 5000), Arm("b", 700, 5400)]
    (result,) = evaluate_arms(arms, control="a", srm=srm)
    assert result.verdict == "srm"
    assert result.statistics is not None and result.p_value is not None
    assert result.p_value < 0.05


def test_k_arms_compare_each_variant_at_alpha_over_k_minus_one() -> None:
    assert comparison_alpha(0.05, 2) == 0.05
    assert comparison_alpha(0.05, 3) == 0.025
    arms = [Arm("a", 500, 5000), Arm("b", 600, 5000), Arm("c", 505, 5000)]
    b, c = evaluate_arms(arms, control="a")
    assert (b.variant.variant, c.variant.variant) == ("b", "c")
    assert b.alpha == c.alpha == 0.025
    # significant at 0.05 with two arms (vector 2), not at 0.025 with three
    assert b.p_value is not None and 0.025 < b.p_value < 0.05
    assert b.verdict == "inconclusive"
    assert b.statistics is not None and b.statistics.diff is not None
    assert not b.statistics.diff.excludes_zero()


# --- invalid input ----------------------------------------------------------


def test_an_unknown_control_is_rejected_with_its_name() -> None:
    with pytest.raises(ValueError, match=r"control 'ctrl' is not one of the arms \['a', 'b'\]"):
        evaluate_arms([Arm("a", 1, 10), Arm("b", 1, 10)], control="ctrl")


def test_a_variant_listed_twice_is_rejected() -> None:
    with pytest.raises(ValueError, match="lists a variant twice"):
        evaluate_arms([Arm("a", 1, 10), Arm("a", 2, 10)], control="a")


def test_one_arm_is_not_an_experiment() -> None:
    with pytest.raises(ValueError, match="at least two arms"):
        evaluate_arms([Arm("a", 1, 10)], control="a")


def test_an_arm_without_units_cannot_be_compared() -> None:
    with pytest.raises(ValueError, match="arm 'b' has no unit"):
        sequential_statistics(Arm("b", 0, 0), Arm("a", 5, 10))


def test_more_successes_than_units_is_rejected() -> None:
    with pytest.raises(ValueError, match="successes <= trials"):
        Arm("a", 11, 10)


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.05, 1.5, math.nan])
def test_alpha_must_be_strictly_between_0_and_1(alpha: float) -> None:
    with pytest.raises(ValueError, match="alpha must be strictly between 0 and 1"):
        sequential_statistics(Arm("b", 5, 10), Arm("a", 5, 10), alpha=alpha)


def test_tuning_size_and_minimum_units_must_be_positive() -> None:
    with pytest.raises(ValueError, match="tuning_n must be >= 1"):
        mixing_rho_squared(0.05, 0)
    with pytest.raises(ValueError, match="min_units must be >= 1"):
        meets_guards(Arm("a", 5, 10), min_units=0)


# --- properties ----------------------------------------------------------------


@st.composite
def arms(draw: st.DrawFn, name: str, max_trials: int = 50_000) -> Arm:
    trials = draw(st.integers(1, max_trials))
    return Arm(name, draw(st.integers(0, trials)), trials)


@settings(max_examples=300, deadline=None)
@given(variant=arms("b"), control=arms("a"), alpha=st.floats(0.001, 0.2))
def test_p_value_is_a_probability_and_dual_to_the_difference_sequence(
    variant: Arm, control: Arm, alpha: float
) -> None:
    stats = sequential_statistics(variant, control, alpha)
    assert 0 <= stats.p_value <= 1
    assert stats.e_value >= 0
    if stats.diff is None:
        assert stats.p_value == 1
        return
    diff = variant.successes / variant.trials - control.successes / control.trials
    assert stats.diff.lower <= diff <= stats.diff.upper
    # p <= alpha exactly when the sequence excludes 0 (away from the float boundary)
    assume(stats.p_value == 0 or abs(math.log(stats.p_value) - math.log(alpha)) > 1e-9)
    assert (stats.p_value <= alpha) == stats.diff.excludes_zero()


@settings(max_examples=300, deadline=None)
@given(variant=arms("b"), control=arms("a"))
def test_swapping_the_arms_mirrors_the_difference_and_keeps_the_p_value(
    variant: Arm, control: Arm
) -> None:
    forward = sequential_statistics(variant, control)
    backward = sequential_statistics(control, variant)
    assert backward.p_value == pytest.approx(forward.p_value, rel=1e-12)
    assert backward.z == pytest.approx(-forward.z, rel=1e-12)
    if forward.diff is not None:
        assert backward.diff is not None
        assert backward.diff.lower == pytest.approx(-forward.diff.upper, rel=1e-9, abs=1e-15)
        assert backward.diff.upper == pytest.approx(-forward.diff.lower, rel=1e-9, abs=1e-15)


@settings(max_examples=100, deadline=None)
@given(
    start=st.tuples(arms("b", 2000), arms("a", 2000)),
    increments=st.lists(
        st.tuples(st.integers(0, 500), st.integers(0, 500), st.floats(0, 1), st.floats(0, 1)),
        max_size=20,
    ),
)
def test_the_running_p_value_never_increases_as_counts_grow(
    start: tuple[Arm, Arm], increments: list[tuple[int, int, float, float]]
) -> None:
    variant, control = start
    previous: float | None = None
    snapshots = [start]
    for add_b, add_a, share_b, share_a in increments:
        variant = Arm("b", variant.successes + int(add_b * share_b), variant.trials + add_b)
        control = Arm("a", control.successes + int(add_a * share_a), control.trials + add_a)
        snapshots.append((variant, control))
    for snapshot in snapshots:
        (result,) = evaluate_arms(
            [snapshot[1], snapshot[0]],
            control="a",
            previous_p_values={} if previous is None else {"b": previous},
        )
        if previous is not None:
            assert result.p_value is not None and result.p_value <= previous
        previous = result.p_value
    assert previous == replay_p_value(snapshots)
