"""The guarantee itself: under A/A, watching after every batch does not inflate false positives.

2,000 simulated experiments with no true difference (both arms convert at 10 %)
grow by 100 customers per arm per batch for 100 batches (10,000 customers per
arm, N = 20,000 = 4 x tuning_n), and both tests are looked at after every
batch, as a collections lead watching the live page would. A run counts as a
false positive if it is *ever* declared significant: for the always-valid
p-value through ``evaluate_arms`` with the running minimum carried between
looks as the store will; for today's fixed-horizon pooled z-test
(``two_proportion_p_value``) at the first look with p <= alpha. Both tests
start at the same guards.

Sizing: the stdlib ``random`` with a fixed seed (deterministic), binomial
counts per batch by inverse-CDF walk: 3 to 6 s on the shared 2-core
machine. Margin: with 2,000 runs the standard error of a share near
alpha = 0.05 is sqrt(0.05 * 0.95 / 2000) = 0.0049, so "<= alpha" leaves
room for sampling noise only because the mixture test's true rate is well
below alpha (about 2 % here); the z-test's share (about 37 %) is over 60
standard errors above alpha.
Run ``pytest -s`` to see both shares.
"""

from __future__ import annotations

import random
import time

from collectpulse.kpi.experiment import Arm, two_proportion_p_value
from collectpulse.kpi.sequential import evaluate_arms, meets_guards

ALPHA = 0.05
RUNS = 2000
BATCHES = 100
BATCH_PER_ARM = 100
CONVERSION = 0.10
SEED = 20261204


def binomial(rng: random.Random, trials: int, probability: float) -> int:
    """One Binomial(trials, probability) draw: one uniform, walking the CDF up from 0.

    Exact up to float rounding and cheap when trials * probability is small
    (Python 3.11 has no ``random.binomialvariate``).
    """
    u = rng.random()
    odds = probability / (1 - probability)
    pmf = (1 - probability) ** trials
    cdf, k = pmf, 0
    while u > cdf and k < trials:
        pmf *= odds * (trials - k) / (k + 1)
        k += 1
        cdf += pmf
    return k


def _grow(arm: Arm, rng: random.Random) -> Arm:
    converted = binomial(rng, BATCH_PER_ARM, CONVERSION)
    return Arm(arm.variant, arm.successes + converted, arm.trials + BATCH_PER_ARM)


def _ever_significant(rng: random.Random) -> tuple[bool, bool]:
    """One A/A run, looked at after every batch: (always-valid ever, z-test ever)."""
    control, variant = Arm("a", 0, 0), Arm("b", 0, 0)
    stored: dict[str, float] = {}
    always_valid = fixed_horizon = False
    for _ in range(BATCHES):
        control, variant = _grow(control, rng), _grow(variant, rng)
        if not (meets_guards(control) and meets_guards(variant)):
            continue
        (result,) = evaluate_arms([control, variant], "a", stored, alpha=ALPHA)
        if result.p_value is not None:
            stored["b"] = result.p_value
        always_valid = always_valid or result.verdict == "significant"
        fixed_horizon = fixed_horizon or two_proportion_p_value(variant, control) <= ALPHA
    return always_valid, fixed_horizon


def test_the_binomial_sampler_has_the_binomial_mean_and_variance() -> None:
    rng = random.Random(SEED)
    draws = [binomial(rng, BATCH_PER_ARM, CONVERSION) for _ in range(20_000)]
    mean = sum(draws) / len(draws)
    variance = sum((d - mean) ** 2 for d in draws) / (len(draws) - 1)
    # expected 10 and 9; standard errors about 0.021 and 0.10: bounds at ~5 SE
    assert abs(mean - 10) < 0.11
    assert abs(variance - 9) < 0.5


def test_watching_an_a_a_test_after_every_batch_stays_within_alpha_unlike_the_z_test() -> None:
    rng = random.Random(SEED)
    started = time.perf_counter()
    outcomes = [_ever_significant(rng) for _ in range(RUNS)]
    elapsed_s = time.perf_counter() - started
    always_valid_share = sum(av for av, _ in outcomes) / RUNS
    fixed_horizon_share = sum(z for _, z in outcomes) / RUNS
    print(
        f"\nA/A, {RUNS} runs x {BATCHES} looks of {BATCH_PER_ARM} customers per arm, "
        f"alpha {ALPHA}: ever significant - always-valid {always_valid_share:.4f}, "
        f"fixed-horizon z-test {fixed_horizon_share:.4f} ({elapsed_s:.1f} s)"
    )
    assert always_valid_share <= ALPHA
    assert fixed_horizon_share > ALPHA
