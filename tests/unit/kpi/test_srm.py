"""Sample-ratio mismatch: catalog §10's vectors, the chi-square tail against closed forms and
published quantiles, and clear errors for a split that cannot be checked."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectpulse.kpi.srm import chi_square_survival, regularized_upper_gamma, srm_check

HALVES = {"a": 0.5, "b": 0.5}
THIRDS = {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}


def _closed_form_survival(chi_square: float, df: int) -> float:
    """Upper chi-square tail for integer df by the finite sums of the Poisson/erfc identities."""
    y = chi_square / 2
    if df % 2 == 0:
        terms = range(df // 2)
        return math.fsum(
            math.exp(j * math.log(y) - y - math.lgamma(j + 1)) if y else float(j == 0)
            for j in terms
        )
    tail = math.erfc(math.sqrt(y))
    if y == 0:
        return tail
    return tail + math.fsum(
        math.exp((j + 0.5) * math.log(y) - y - math.lgamma(j + 1.5)) for j in range(df // 2)
    )


# --- §10 vectors -----------------------------------------------------------------


def test_5000_against_5400_at_halves_is_flagged() -> None:
    result = srm_check({"a": 5000, "b": 5400}, HALVES)
    assert result is not None
    assert f"{result.chi_square:.3f}" == "15.385"
    assert f"{result.p_value:.2e}" == "8.77e-05"
    assert result.flagged and result.degrees_of_freedom == 1


def test_5000_against_5200_at_halves_is_not_flagged() -> None:
    result = srm_check({"a": 5000, "b": 5200}, HALVES)
    assert result is not None
    assert f"{result.p_value:.4f}" == "0.0477"
    assert not result.flagged


def test_3000_3000_3300_at_thirds_is_flagged() -> None:
    result = srm_check({"a": 3000, "b": 3000, "c": 3300}, THIRDS)
    assert result is not None
    assert f"{result.chi_square:.3f}" == "19.355"
    assert f"{result.p_value:.2e}" == "6.27e-05"
    assert result.flagged and result.degrees_of_freedom == 2


# --- when the check runs -----------------------------------------------------------


def test_no_check_until_every_expected_count_is_at_least_5() -> None:
    weights = {"a": 0.9, "b": 0.1}
    assert srm_check({"a": 49, "b": 0}, weights) is None  # expected 4.9 for b
    result = srm_check({"a": 50, "b": 0}, weights)  # expected 5.0 for b
    assert result is not None and result.chi_square == pytest.approx(50 / 9)


def test_an_arm_of_the_split_with_no_exposure_yet_counts_as_zero() -> None:
    result = srm_check({"a": 100}, HALVES)
    assert result is not None and result.chi_square == 100 and result.flagged


def test_an_exact_split_has_chi_square_0_and_p_value_1() -> None:
    result = srm_check({"a": 700, "b": 300}, {"a": 0.7, "b": 0.3})
    assert result is not None
    assert result.chi_square == pytest.approx(0, abs=1e-20) and result.p_value == 1


# --- invalid input -------------------------------------------------------------------


def test_an_exposed_arm_missing_from_the_split_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"exposed arms \['z'\] are not in the split"):
        srm_check({"a": 10, "z": 10}, HALVES)


def test_weights_that_do_not_sum_to_1_are_rejected() -> None:
    with pytest.raises(ValueError, match="split weights must sum to 1"):
        srm_check({"a": 10, "b": 10}, {"a": 0.5, "b": 0.6})


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"a": 1.0}, "a split needs at least two arms"),
        ({"a": 0.5, "b": 0.0, "c": 0.5}, "arm 'b': weight must be strictly between 0 and 1"),
        ({"a": 1.2, "b": -0.2}, "arm 'a': weight must be strictly between 0 and 1"),
    ],
)
def test_a_split_needs_two_arms_with_weights_in_0_1(
    weights: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        srm_check({"a": 10}, weights)


def test_a_negative_count_is_rejected() -> None:
    with pytest.raises(ValueError, match="exposed count must be >= 0"):
        srm_check({"a": 10, "b": -1}, HALVES)


@pytest.mark.parametrize(("chi_square", "df"), [(-1.0, 1), (math.nan, 3), (1.0, 0)])
def test_the_tail_rejects_impossible_arguments(chi_square: float, df: int) -> None:
    with pytest.raises(ValueError):
        chi_square_survival(chi_square, df)


# --- the chi-square tail --------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantile", "df", "tail"),
    [  # published upper quantiles of the chi-square distribution
        (3.841458820694124, 1, 0.05),
        (7.814727903251178, 3, 0.05),
        (18.46682695290317, 4, 0.001),
        (11.070497693516351, 5, 0.05),
        (23.209251158954356, 10, 0.01),
        (43.77297182574219, 30, 0.05),
    ],
)
def test_the_tail_at_published_quantiles(quantile: float, df: int, tail: float) -> None:
    assert chi_square_survival(quantile, df) == pytest.approx(tail, rel=1e-9)


def test_the_general_path_agrees_with_the_closed_forms_for_one_and_two_df() -> None:
    for x in (0.01, 0.5, 3.0, 15.385, 40.0, 200.0):
        assert regularized_upper_gamma(0.5, x / 2) == pytest.approx(
            chi_square_survival(x, 1), rel=1e-11
        )
        assert regularized_upper_gamma(1.0, x / 2) == pytest.approx(
            chi_square_survival(x, 2), rel=1e-11
        )


@settings(max_examples=400, deadline=None)
@given(chi_square=st.floats(0, 400), df=st.integers(1, 60))
def test_the_tail_matches_the_integer_df_closed_forms(chi_square: float, df: int) -> None:
    p = chi_square_survival(chi_square, df)
    assert 0 <= p <= 1
    assert p == pytest.approx(_closed_form_survival(chi_square, df), rel=1e-9, abs=1e-300)


@settings(max_examples=200, deadline=None)
@given(counts=st.lists(st.integers(0, 100_000), min_size=2, max_size=6))
def test_srm_p_value_is_a_probability_for_any_counts(counts: list[int]) -> None:
    weights = {f"arm{i}": 1 / len(counts) for i in range(len(counts))}
    result = srm_check({f"arm{i}": n for i, n in enumerate(counts)}, weights)
    if result is None:
        assert sum(counts) / len(counts) < 5
        return
    assert result.chi_square >= 0 and 0 <= result.p_value <= 1
    assert result.flagged == (result.p_value < 0.001)
