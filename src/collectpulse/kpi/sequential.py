"""Anytime-valid experiment statistics (catalog §10): confidence sequence, always-valid p-value.

The unit is the customer and an arm's counts are its matured exposed customers
(``Arm.trials``) and those who paid within the horizon (``Arm.successes``),
cumulative since the experiment's start. Unlike the fixed-horizon z-test of
``kpi.experiment``, these figures may be watched after every update and the
test stopped at any time (early win, futility, deadline) without inflating
the false-positive rate above ``alpha``: it is the asymptotic confidence
sequence of Waudby-Smith et al., equivalently Johari et al.'s normal-mixture
SPRT with plug-in variance. Validity is asymptotic, hence the guards.

The always-valid p-value is the running minimum of 1/Lambda over every
evaluation since the start; the store keeps that minimum so every exporter
reports the same figure, and ``running_p_value`` is the one update rule.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from collectpulse.kpi.experiment import DEFAULT_MIN_SAMPLE_SIZE, Arm
from collectpulse.kpi.srm import SrmResult

DEFAULT_ALPHA = 0.05
DEFAULT_TUNING_N = 5000
MIN_SUCCESSES = 5
MIN_FAILURES = 5
_LOG_FLOAT_MAX = math.log(1.7e308)

Verdict = Literal["collecting", "significant", "inconclusive", "srm"]


@dataclass(frozen=True)
class Interval:
    """A two-sided interval, ``lower <= upper``."""

    lower: float
    upper: float

    def excludes_zero(self) -> bool:
        return self.lower > 0 or self.upper < 0


@dataclass(frozen=True)
class SequentialStatistics:
    """One evaluation of variant against control at one snapshot of the counts.

    ``p_value`` is this evaluation's 1/Lambda, not yet the running minimum.
    ``diff`` is on p_B - p_A; ``lift`` on (p_B - p_A) / p_A, descriptive only.
    """

    z: float
    e_value: float
    p_value: float
    diff: Interval | None
    lift: Interval | None

    @property
    def fixed_horizon_p_value(self) -> float:
        """The unpooled z-test's p-value of the same z: valid only at one fixed look."""
        return math.erfc(abs(self.z) / math.sqrt(2))


@dataclass(frozen=True)
class ArmResult:
    """A variant's comparison with control: its running p-value and verdict.

    ``statistics`` and ``p_value`` are None while ``collecting``; ``alpha`` is
    the level after the k-arm correction.
    """

    variant: Arm
    control: Arm
    alpha: float
    statistics: SequentialStatistics | None
    p_value: float | None
    verdict: Verdict


def mixing_rho_squared(alpha: float, tuning_n: int) -> float:
    """rho^2 that makes the sequence tightest around ``tuning_n`` total units."""
    _check_alpha(alpha)
    if tuning_n < 1:
        raise ValueError(f"tuning_n must be >= 1, got {tuning_n}")
    return (-2 * math.log(alpha) + math.log(1 - 2 * math.log(alpha))) / tuning_n


def comparison_alpha(alpha: float, arm_count: int) -> float:
    """The level of each comparison with control: alpha / (k - 1) for k arms (Bonferroni).

    The corrected level is used throughout a comparison (rho, the half-width
    and the threshold), so that p <= level exactly when the Delta sequence
    excludes 0.
    """
    _check_alpha(alpha)
    if arm_count < 2:
        raise ValueError(f"an experiment needs at least two arms, got {arm_count}")
    return alpha / (arm_count - 1)


def meets_guards(arm: Arm, min_units: int = DEFAULT_MIN_SAMPLE_SIZE) -> bool:
    """Enough matured units, successes and failures for the asymptotics to hold."""
    if min_units < 1:
        raise ValueError(f"min_units must be >= 1, got {min_units}")
    failures = arm.trials - arm.successes
    return arm.trials >= min_units and arm.successes >= MIN_SUCCESSES and failures >= MIN_FAILURES


def sequential_statistics(
    variant: Arm,
    control: Arm,
    alpha: float = DEFAULT_ALPHA,
    tuning_n: int = DEFAULT_TUNING_N,
) -> SequentialStatistics:
    """The e-value, p-value and confidence sequences of ``variant`` against ``control``.

    No guards here (see ``meets_guards``): each arm needs one unit. A zero
    standard error (both rates 0 or 1) is no evidence: p = 1 and no interval;
    a zero control rate leaves the lift undefined.
    """
    rho_squared = mixing_rho_squared(alpha, tuning_n)
    for arm in (variant, control):
        if arm.trials == 0:
            raise ValueError(f"arm {arm.variant!r} has no unit: the test needs one in each arm")
    p_a, p_b = control.successes / control.trials, variant.successes / variant.trials
    diff = p_b - p_a
    se = math.sqrt(p_a * (1 - p_a) / control.trials + p_b * (1 - p_b) / variant.trials)
    if se == 0:
        return SequentialStatistics(0.0, 1.0, 1.0, None, None)
    z = diff / se
    a = (control.trials + variant.trials) * rho_squared
    log_e_value = -0.5 * math.log1p(a) + a * z * z / (2 * (a + 1))
    # 1/Lambda in log space: Lambda overflows a float long before p underflows to 0
    p_value = min(1.0, math.exp(-log_e_value))
    e_value = math.exp(log_e_value) if log_e_value < _LOG_FLOAT_MAX else math.inf
    multiplier = math.sqrt((a + 1) / a * math.log((a + 1) / alpha**2))
    diff_interval = Interval(diff - se * multiplier, diff + se * multiplier)
    return SequentialStatistics(
        z, e_value, p_value, diff_interval, _lift_interval(variant, control, multiplier)
    )


def _lift_interval(variant: Arm, control: Arm, multiplier: float) -> Interval | None:
    n_a, n_b = control.trials, variant.trials
    p_a, p_b = control.successes / n_a, variant.successes / n_b
    if p_a == 0:
        return None
    lift = (p_b - p_a) / p_a
    # delta method for p_B / p_A (gbstats frequentist/tests.py, relative variance)
    se = math.sqrt(p_b * (1 - p_b) / (n_b * p_a**2) + p_b**2 * p_a * (1 - p_a) / (n_a * p_a**4))
    return Interval(lift - se * multiplier, lift + se * multiplier)


def running_p_value(previous: float | None, current: float | None) -> float | None:
    """p_t = min(p_{t-1}, 1/Lambda_t); None means no evaluation yet (or none now)."""
    for name, value in (("previous", previous), ("current", current)):
        if value is not None and not 0 <= value <= 1:
            raise ValueError(f"{name} p-value must be in [0, 1], got {value}")
    if previous is None:
        return current
    if current is None:
        return previous
    return min(previous, current)


def replay_p_value(
    snapshots: Iterable[tuple[Arm, Arm]],
    alpha: float = DEFAULT_ALPHA,
    tuning_n: int = DEFAULT_TUNING_N,
    min_units: int = DEFAULT_MIN_SAMPLE_SIZE,
) -> float | None:
    """The always-valid p-value after a sequence of ``(variant, control)`` count snapshots.

    Snapshots below the guards add nothing; None when no snapshot met them.
    This is what the store's running minimum must equal.
    """
    p_value: float | None = None
    for variant, control in snapshots:
        if meets_guards(variant, min_units) and meets_guards(control, min_units):
            current = sequential_statistics(variant, control, alpha, tuning_n).p_value
            p_value = running_p_value(p_value, current)
    return p_value


def verdict(p_value: float | None, alpha: float, srm_flagged: bool) -> Verdict:
    """``srm`` whenever the split is broken, else ``collecting`` until the guards are met
    (``p_value`` None), else ``significant`` when the running p-value is <= ``alpha``."""
    _check_alpha(alpha)
    if srm_flagged:
        return "srm"
    if p_value is None:
        return "collecting"
    return "significant" if p_value <= alpha else "inconclusive"


def evaluate_arms(
    arms: Sequence[Arm],
    control: str,
    previous_p_values: Mapping[str, float] | None = None,
    srm: SrmResult | None = None,
    alpha: float = DEFAULT_ALPHA,
    tuning_n: int = DEFAULT_TUNING_N,
    min_units: int = DEFAULT_MIN_SAMPLE_SIZE,
) -> tuple[ArmResult, ...]:
    """Compare every arm with ``control`` at the current counts, in the order given.

    ``previous_p_values`` are the stored running minima by variant; the
    results carry the new minima for the store to keep. ``srm`` is the
    experiment's sample-ratio check (None while too few units to run it).
    """
    names = [arm.variant for arm in arms]
    if len(set(names)) != len(names):
        raise ValueError(f"an experiment lists a variant twice: {names}")
    by_name = {arm.variant: arm for arm in arms}
    if control not in by_name:
        raise ValueError(f"control {control!r} is not one of the arms {names}")
    level = comparison_alpha(alpha, len(arms))
    previous = previous_p_values or {}
    flagged = srm is not None and srm.flagged
    results = []
    for arm in arms:
        if arm.variant == control:
            continue
        statistics = None
        if meets_guards(arm, min_units) and meets_guards(by_name[control], min_units):
            statistics = sequential_statistics(arm, by_name[control], level, tuning_n)
        current = statistics.p_value if statistics is not None else None
        p_value = running_p_value(previous.get(arm.variant), current)
        results.append(
            ArmResult(
                arm, by_name[control], level, statistics, p_value, verdict(p_value, level, flagged)
            )
        )
    return tuple(results)


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be strictly between 0 and 1, got {alpha}")
