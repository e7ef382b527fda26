"""Sample-ratio mismatch: are the arms' exposed counts consistent with the configured split?

A broken randomiser (or a variant that fails to deliver) shows up as arm sizes
that drift from the configured weights; every comparison of such an
experiment is biased, so catalog §10 flags it and withholds the verdict. The
test is Pearson's chi-square against the split, with the upper tail of the
chi-square distribution computed in plain ``math`` (no SciPy): closed forms
for one and two degrees of freedom, the regularized incomplete gamma
function otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

SRM_P_THRESHOLD = 0.001
MIN_EXPECTED_COUNT = 5.0
WEIGHT_SUM_TOLERANCE = 1e-9

_GAMMA_EPSILON = 1e-15
_GAMMA_MAX_ITERATIONS = 10_000
_TINY = 1e-300


@dataclass(frozen=True)
class SrmResult:
    """Pearson's chi-square of the exposed counts against the split, its p-value and flag."""

    chi_square: float
    degrees_of_freedom: int
    p_value: float
    flagged: bool


def srm_check(exposed: Mapping[str, int], weights: Mapping[str, float]) -> SrmResult | None:
    """Check the exposed customers per arm against the configured ``weights``.

    ``exposed`` counts every exposed customer (matured or not, crossovers
    apart); an arm of the split with no exposure yet may be missing. None
    until every expected count is at least 5, where the chi-square
    approximation starts to hold. Flagged when p < 0.001.
    """
    _check_weights(weights)
    unknown = sorted(set(exposed) - set(weights))
    if unknown:
        raise ValueError(f"exposed arms {unknown} are not in the split {sorted(weights)}")
    for arm, count in exposed.items():
        if count < 0:
            raise ValueError(f"arm {arm!r}: exposed count must be >= 0, got {count}")
    total = sum(exposed.values())
    expected = {arm: total * weight for arm, weight in weights.items()}
    # the tolerance keeps an expected 5 that float weights make 4.999... from waiting
    if min(expected.values()) < MIN_EXPECTED_COUNT - 1e-9:
        return None
    chi_square = math.fsum(
        (exposed.get(arm, 0) - expected[arm]) ** 2 / expected[arm] for arm in weights
    )
    df = len(weights) - 1
    p_value = chi_square_survival(chi_square, df)
    return SrmResult(chi_square, df, p_value, p_value < SRM_P_THRESHOLD)


def _check_weights(weights: Mapping[str, float]) -> None:
    if len(weights) < 2:
        raise ValueError(f"a split needs at least two arms, got {sorted(weights)}")
    for arm, weight in weights.items():
        if not 0 < weight < 1:
            raise ValueError(f"arm {arm!r}: weight must be strictly between 0 and 1, got {weight}")
    total = math.fsum(weights.values())
    if abs(total - 1) > WEIGHT_SUM_TOLERANCE:
        raise ValueError(f"split weights must sum to 1, got {total}")


def chi_square_survival(chi_square: float, degrees_of_freedom: int) -> float:
    """P(X >= chi_square) for X ~ chi-square with ``degrees_of_freedom`` degrees of freedom."""
    if degrees_of_freedom < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {degrees_of_freedom}")
    if not chi_square >= 0:  # also rejects NaN
        raise ValueError(f"a chi-square statistic is >= 0, got {chi_square}")
    if degrees_of_freedom == 1:
        return math.erfc(math.sqrt(chi_square / 2))
    if degrees_of_freedom == 2:
        return math.exp(-chi_square / 2)
    return regularized_upper_gamma(degrees_of_freedom / 2, chi_square / 2)


def regularized_upper_gamma(shape: float, x: float) -> float:
    """Q(shape, x) = Gamma(shape, x) / Gamma(shape), the upper regularized incomplete gamma.

    The power series of P = 1 - Q converges fast below ``shape + 1``; above it
    the continued fraction of Q (modified Lentz) does, and it keeps the
    relative precision of tiny tails that ``1 - P`` would lose.
    """
    if shape <= 0:
        raise ValueError(f"the gamma shape must be > 0, got {shape}")
    if not x >= 0:
        raise ValueError(f"the incomplete gamma needs x >= 0, got {x}")
    if x == 0:
        return 1.0
    log_prefactor = shape * math.log(x) - x - math.lgamma(shape)
    if x < shape + 1:
        return max(0.0, 1.0 - math.exp(log_prefactor) * _lower_series(shape, x))
    return math.exp(log_prefactor) * _upper_continued_fraction(shape, x)


def _lower_series(shape: float, x: float) -> float:
    # sum_{n>=0} x^n / (shape (shape+1) ... (shape+n)); times the prefactor it is P(shape, x)
    term = total = 1 / shape
    for n in range(1, _GAMMA_MAX_ITERATIONS):
        term *= x / (shape + n)
        total += term
        if abs(term) < abs(total) * _GAMMA_EPSILON:
            return total
    raise ArithmeticError(f"incomplete gamma series did not converge for a={shape}, x={x}")


def _upper_continued_fraction(shape: float, x: float) -> float:
    # 1 / (x + 1 - a - 1(1-a) / (x + 3 - a - 2(2-a) / (x + 5 - a - ...))), Numerical Recipes 6.2
    b = x + 1 - shape
    c = 1 / _TINY
    d = 1 / b
    fraction = d
    for n in range(1, _GAMMA_MAX_ITERATIONS):
        an = -n * (n - shape)
        b += 2
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1 / d
        step = d * c
        fraction *= step
        if abs(step - 1) < _GAMMA_EPSILON:
            return fraction
    raise ArithmeticError(f"incomplete gamma fraction did not converge for a={shape}, x={x}")
