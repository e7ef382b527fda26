"""A/B experiment statistics per campaign: lift, two-proportion z-test, probability to beat control.

An arm is a variant's message payment ratio as successes (messages paid) over
trials (messages delivered). Everything is exact and deterministic: the z-test
uses ``math.erfc`` and the Bayesian comparison the closed-form sum for
P(X > Y) of two Beta variables with integer parameters.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from collectpulse.kpi.ratios import ratio

CONTROL_VARIANT = "control"
DEFAULT_MIN_SAMPLE_SIZE = 100


@dataclass(frozen=True)
class Arm:
    """One variant's outcome counts: ``successes`` out of ``trials``."""

    variant: str
    successes: int
    trials: int

    def __post_init__(self) -> None:
        if not 0 <= self.successes <= self.trials:
            raise ValueError(
                f"arm {self.variant!r}: need 0 <= successes <= trials, "
                f"got {self.successes}/{self.trials}"
            )

    @property
    def rate(self) -> float | None:
        """The observed success proportion, None without trials."""
        return ratio(self.successes, self.trials)


@dataclass(frozen=True)
class VariantComparison:
    """One variant against control; the statistics are None below the minimum sample."""

    variant: Arm
    control: Arm
    sufficient_sample: bool
    lift: float | None
    p_value: float | None
    probability_to_beat_control: float | None


@dataclass(frozen=True)
class ExperimentResult:
    """A campaign's experiment: its control arm and each other variant compared with it."""

    campaign: str
    control: Arm
    comparisons: tuple[VariantComparison, ...]


def choose_control(arms: Sequence[Arm]) -> Arm:
    """Return the arm named ``control``, else the first arm seen."""
    if not arms:
        raise ValueError("an experiment needs at least one arm")
    return next((arm for arm in arms if arm.variant == CONTROL_VARIANT), arms[0])


def evaluate_experiment(
    campaign: str, arms: Sequence[Arm], min_sample_size: int = DEFAULT_MIN_SAMPLE_SIZE
) -> ExperimentResult | None:
    """Compare every variant of a campaign with control; None with fewer than two variants.

    ``arms`` must be in first-seen order, which decides control when no arm is
    named ``control``. Statistics are reported only when both arms have at
    least ``min_sample_size`` trials.
    """
    if min_sample_size < 1:
        raise ValueError(f"min_sample_size must be >= 1, got {min_sample_size}")
    names = [arm.variant for arm in arms]
    if len(set(names)) != len(names):
        raise ValueError(f"campaign {campaign!r} lists a variant twice: {names}")
    if len(arms) < 2:
        return None
    control = choose_control(arms)
    comparisons = tuple(
        compare(arm, control, min_sample_size) for arm in arms if arm is not control
    )
    return ExperimentResult(campaign, control, comparisons)


def evaluate_experiments(
    arms_by_campaign: Mapping[str, Sequence[Arm]],
    min_sample_size: int = DEFAULT_MIN_SAMPLE_SIZE,
) -> list[ExperimentResult]:
    """Evaluate every campaign that has at least two variants, in campaign name order."""
    results = (
        evaluate_experiment(campaign, arms, min_sample_size)
        for campaign, arms in sorted(arms_by_campaign.items())
    )
    return [result for result in results if result is not None]


def compare(variant: Arm, control: Arm, min_sample_size: int) -> VariantComparison:
    """Compare one arm with control, withholding statistics below the minimum sample."""
    if min(variant.trials, control.trials) < min_sample_size:
        return VariantComparison(variant, control, False, None, None, None)
    return VariantComparison(
        variant,
        control,
        True,
        lift(variant.successes / variant.trials, control.successes / control.trials),
        two_proportion_p_value(variant, control),
        probability_to_beat(variant, control),
    )


def lift(variant_rate: float, control_rate: float) -> float | None:
    """Relative lift ``(variant - control) / control``; None when control's rate is 0."""
    return ratio(variant_rate - control_rate, control_rate)


def two_proportion_p_value(a: Arm, b: Arm) -> float:
    """Two-sided p-value of the pooled two-proportion z-test of ``a`` against ``b``.

    When the pooled rate is 0 or 1 both arms are identical and there is no
    evidence of a difference: the p-value is 1.
    """
    if a.trials == 0 or b.trials == 0:
        raise ValueError("the z-test needs at least one trial in each arm")
    pooled = (a.successes + b.successes) / (a.trials + b.trials)
    variance = pooled * (1 - pooled) * (1 / a.trials + 1 / b.trials)
    if variance == 0:
        return 1.0
    z = (a.successes / a.trials - b.successes / b.trials) / math.sqrt(variance)
    return math.erfc(abs(z) / math.sqrt(2))


def probability_to_beat(variant: Arm, control: Arm) -> float:
    """P(variant's rate > control's) under Beta(1 + successes, 1 + failures) posteriors."""
    return beta_greater_probability(
        1 + variant.successes,
        1 + variant.trials - variant.successes,
        1 + control.successes,
        1 + control.trials - control.successes,
    )


def beta_greater_probability(alpha_x: int, beta_x: int, alpha_y: int, beta_y: int) -> float:
    """P(X > Y) for independent X ~ Beta(alpha_x, beta_x), Y ~ Beta(alpha_y, beta_y).

    Integer parameters only. Uses the closed form
    ``sum_{i<alpha_x} B(alpha_y+i, beta_y+beta_x) / ((beta_x+i) B(1+i, beta_x) B(alpha_y, beta_y))``
    in log space; its cost grows with the first shape, so the cheaper of
    P(X > Y) and 1 - P(Y > X) (ties have probability 0) is summed.
    """
    for value in (alpha_x, beta_x, alpha_y, beta_y):
        if value < 1:
            raise ValueError(f"Beta shape parameters must be integers >= 1, got {value}")
    if alpha_x > alpha_y:
        return 1.0 - _greater_by_sum(alpha_y, beta_y, alpha_x, beta_x)
    return _greater_by_sum(alpha_x, beta_x, alpha_y, beta_y)


def _greater_by_sum(alpha_x: int, beta_x: int, alpha_y: int, beta_y: int) -> float:
    constant = _log_beta(alpha_y, beta_y)
    terms = (
        math.exp(
            _log_beta(alpha_y + i, beta_y + beta_x)
            - math.log(beta_x + i)
            - _log_beta(1 + i, beta_x)
            - constant
        )
        for i in range(alpha_x)
    )
    return _clamp_probability(math.fsum(terms))


def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def _clamp_probability(value: float) -> float:
    # rounding in the last ulp must not report 1.0000000000000002 as a probability
    return min(1.0, max(0.0, value))
