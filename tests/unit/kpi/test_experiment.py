"""Behaviour of the A/B experiment statistics, checked against hand and independent values."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest

from collectpulse.kpi.experiment import (
    Arm,
    beta_greater_probability,
    choose_control,
    evaluate_experiment,
    evaluate_experiments,
    lift,
    probability_to_beat,
    two_proportion_p_value,
)


def _beta_cdf(y: float, a: int, b: int) -> float:
    """Regularized incomplete beta for integer shapes via its binomial-tail identity."""
    n = a + b - 1
    return sum(math.comb(n, j) * y**j * (1 - y) ** (n - j) for j in range(a, n + 1))


def _beta_pdf(y: float, a: int, b: int) -> float:
    norm = math.factorial(a + b - 1) / (math.factorial(a - 1) * math.factorial(b - 1))
    return norm * y ** (a - 1) * (1 - y) ** (b - 1)


def _greater_by_simpson(ax: int, bx: int, ay: int, by: int, steps: int = 4000) -> float:
    """P(X > Y) = integral of f_Y(y) * (1 - F_X(y)) dy, by Simpson's rule."""
    h = 1 / steps
    total = 0.0
    for k in range(steps + 1):
        y = k * h
        weight = 1 if k in (0, steps) else (4 if k % 2 else 2)
        total += weight * _beta_pdf(y, ay, by) * (1 - _beta_cdf(y, ax, bx))
    return total * h / 3


# --- control and reporting ---------------------------------------------------


def test_control_is_the_variant_named_control_wherever_it_is() -> None:
    arms = [Arm("b", 1, 10), Arm("control", 1, 10), Arm("c", 1, 10)]
    assert choose_control(arms).variant == "control"


def test_control_is_the_first_seen_variant_when_none_is_named_control() -> None:
    arms = [Arm("b", 1, 10), Arm("a", 1, 10)]
    assert choose_control(arms).variant == "b"


def test_a_campaign_with_one_variant_has_no_experiment() -> None:
    assert evaluate_experiment("c1", [Arm("a", 5, 100)]) is None
    assert evaluate_experiments({"c1": [Arm("a", 5, 100)]}) == []


def test_every_other_variant_is_compared_with_control() -> None:
    arms = [Arm("a", 10, 100), Arm("control", 10, 100), Arm("b", 20, 100)]

    result = evaluate_experiment("c1", arms, min_sample_size=100)

    assert result is not None
    assert result.control.variant == "control"
    assert [c.variant.variant for c in result.comparisons] == ["a", "b"]


def test_statistics_are_withheld_while_an_arm_is_below_the_minimum_sample() -> None:
    result = evaluate_experiment("c1", [Arm("control", 1, 10), Arm("b", 9, 10)], min_sample_size=11)

    assert result is not None
    (comparison,) = result.comparisons
    assert not comparison.sufficient_sample
    assert comparison.lift is None
    assert comparison.p_value is None
    assert comparison.probability_to_beat_control is None
    assert comparison.variant.rate == 0.9


def test_statistics_are_reported_at_exactly_the_minimum_sample() -> None:
    result = evaluate_experiment("c1", [Arm("control", 1, 10), Arm("b", 9, 10)], min_sample_size=10)
    assert result is not None
    assert result.comparisons[0].sufficient_sample


def test_experiments_are_listed_per_campaign_in_name_order() -> None:
    arms = [Arm("control", 1, 10), Arm("b", 2, 10)]
    results = evaluate_experiments({"z": arms, "a": arms}, min_sample_size=1)
    assert [r.campaign for r in results] == ["a", "z"]


def test_more_successes_than_trials_is_rejected() -> None:
    with pytest.raises(ValueError, match="successes <= trials"):
        Arm("a", 11, 10)


def test_a_variant_listed_twice_is_rejected() -> None:
    with pytest.raises(ValueError, match="twice"):
        evaluate_experiment("c1", [Arm("a", 1, 10), Arm("a", 2, 10)])


def test_an_arm_without_trials_has_no_rate() -> None:
    assert Arm("a", 0, 0).rate is None


# --- lift ----------------------------------------------------------------------


def test_lift_is_relative_to_control() -> None:
    assert lift(0.15, 0.10) == pytest.approx(0.5)
    assert lift(0.05, 0.10) == pytest.approx(-0.5)


def test_lift_over_a_zero_control_rate_is_none() -> None:
    assert lift(0.2, 0.0) is None


# --- z-test ----------------------------------------------------------------------


def test_z_test_p_value_matches_the_hand_computed_value() -> None:
    # pooled p = 30/200 = 0.15; se = sqrt(0.15 * 0.85 * (1/100 + 1/100)) = 0.0504975
    # z = (0.20 - 0.10) / se = 1.980295; two-sided p = 2 * (1 - Phi(z))
    z = 0.10 / math.sqrt(0.15 * 0.85 * 0.02)
    independent = 2 * (1 - NormalDist().cdf(z))

    p_value = two_proportion_p_value(Arm("b", 20, 100), Arm("control", 10, 100))

    assert p_value == pytest.approx(independent, abs=1e-12)
    assert p_value == pytest.approx(0.047670, abs=1e-6)


def test_z_test_is_symmetric_in_its_arms() -> None:
    a, b = Arm("a", 3, 17), Arm("b", 9, 21)
    assert two_proportion_p_value(a, b) == pytest.approx(two_proportion_p_value(b, a))


def test_z_test_on_tiny_samples_matches_the_normal_distribution() -> None:
    # 1/2 vs 0/2: pooled 0.25, se = sqrt(0.25 * 0.75 * 1) = 0.4330127, z = 0.5 / se
    z = 0.5 / math.sqrt(0.25 * 0.75 * 1.0)
    expected = 2 * (1 - NormalDist().cdf(z))
    assert two_proportion_p_value(Arm("b", 1, 2), Arm("c", 0, 2)) == pytest.approx(expected)


@pytest.mark.parametrize(("successes_a", "successes_b"), [(0, 0), (50, 50), (5, 5)])
def test_identical_or_degenerate_arms_have_p_value_one(successes_a: int, successes_b: int) -> None:
    a, b = Arm("a", successes_a, 50), Arm("b", successes_b, 50)
    assert two_proportion_p_value(a, b) == pytest.approx(1.0)


# --- probability to beat control -------------------------------------------------


@pytest.mark.parametrize(
    ("shapes", "expected"),
    [
        ((1, 1, 1, 1), 1 / 2),  # two uniforms
        ((2, 1, 1, 1), 2 / 3),  # integral of 2x * x
        ((3, 1, 1, 1), 3 / 4),  # integral of 3x^2 * x
        ((2, 1, 1, 2), 5 / 6),  # integral of 2x * (2x - x^2)
        ((1, 2, 2, 1), 1 / 6),  # the mirror of the previous case
        ((2, 2, 1, 1), 1 / 2),  # symmetric around 1/2
    ],
)
def test_beta_comparison_matches_hand_integrals(
    shapes: tuple[int, int, int, int], expected: float
) -> None:
    assert beta_greater_probability(*shapes) == pytest.approx(expected, abs=1e-12)


def test_one_success_against_one_failure_beats_control_with_probability_five_sixths() -> None:
    # Beta(1 + 1, 1 + 0) against Beta(1 + 0, 1 + 1)
    assert probability_to_beat(Arm("b", 1, 1), Arm("control", 0, 1)) == pytest.approx(5 / 6)


@pytest.mark.parametrize("shapes", [(13, 29, 9, 33), (9, 33, 13, 29), (4, 7, 6, 3)])
def test_beta_comparison_matches_numerical_integration(shapes: tuple[int, int, int, int]) -> None:
    assert beta_greater_probability(*shapes) == pytest.approx(
        _greater_by_simpson(*shapes), abs=1e-6
    )


def test_beta_comparison_matches_a_known_value() -> None:
    # 12/40 against 8/40 successes; value cross-checked with Simpson integration above
    assert probability_to_beat(Arm("b", 12, 40), Arm("c", 8, 40)) == pytest.approx(
        0.8441946652, abs=1e-6
    )


def test_both_orders_of_a_comparison_sum_to_one() -> None:
    forward = beta_greater_probability(31, 70, 24, 77)
    backward = beta_greater_probability(24, 77, 31, 70)
    assert forward + backward == pytest.approx(1.0, abs=1e-12)


def test_large_arms_agree_with_the_normal_approximation() -> None:
    variant, control = Arm("b", 5_200, 100_000), Arm("c", 5_000, 100_000)

    def posterior(arm: Arm) -> NormalDist:
        a, b = 1 + arm.successes, 1 + arm.trials - arm.successes
        mean = a / (a + b)
        return NormalDist(mean, math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1))))

    diff_mean = posterior(variant).mean - posterior(control).mean
    diff_sd = math.hypot(posterior(variant).stdev, posterior(control).stdev)
    expected = 1 - NormalDist(diff_mean, diff_sd).cdf(0)  # P(variant - control > 0)

    probability = probability_to_beat(variant, control)

    assert probability == pytest.approx(expected, abs=5e-3)
    assert 0.0 <= probability <= 1.0


def test_beta_shapes_below_one_are_rejected() -> None:
    with pytest.raises(ValueError, match=">= 1"):
        beta_greater_probability(0, 1, 1, 1)
