"""A confidence interval for an experiment's relative lift (Katz log method, ratio of proportions).

The lift ``(variant - control) / control`` is the relative risk minus one; the
log of the relative risk is close to normal, with standard error
``sqrt(1/x1 - 1/n1 + 1/x2 - 1/n2)`` (Katz et al., 1978). Exponentiating the
interval of the log gives an asymmetric interval around the lift, as it should
be for a ratio. Pure math, deterministic.
"""

from __future__ import annotations

import math
from statistics import NormalDist

from collectpulse.kpi.experiment import Arm

DEFAULT_CONFIDENCE = 0.95


def lift_interval(
    variant: Arm, control: Arm, confidence: float = DEFAULT_CONFIDENCE
) -> tuple[float, float] | None:
    """The ``confidence`` interval of the variant's lift over control; None when either
    arm has no success (the log of a zero rate is undefined) or no trial."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence}")
    if min(variant.successes, control.successes) == 0:
        return None
    log_rr = math.log((variant.successes / variant.trials) / (control.successes / control.trials))
    se = math.sqrt(
        1 / variant.successes - 1 / variant.trials + 1 / control.successes - 1 / control.trials
    )
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    return math.exp(log_rr - z * se) - 1, math.exp(log_rr + z * se) - 1
