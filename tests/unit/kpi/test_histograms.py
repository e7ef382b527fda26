"""Behaviour of the response-time histogram buckets."""

from __future__ import annotations

import math

import pytest
from prometheus_client.utils import floatToGoString

from collectpulse.kpi.histograms import (
    RESPONSE_TIME_BUCKETS_S,
    bucket_counts,
    bucket_index,
    cumulative_buckets,
    le_label,
)


def test_buckets_run_from_a_minute_to_days_in_increasing_order() -> None:
    assert RESPONSE_TIME_BUCKETS_S[0] == 60
    assert RESPONSE_TIME_BUCKETS_S[-1] >= 7 * 86_400
    assert list(RESPONSE_TIME_BUCKETS_S) == sorted(set(RESPONSE_TIME_BUCKETS_S))


def test_a_value_equal_to_a_bound_falls_in_that_bound_bucket() -> None:
    assert bucket_index(60) == 0
    assert bucket_index(60.001) == 1
    assert bucket_index(0) == 0


def test_a_value_past_the_last_bound_falls_in_the_inf_bucket() -> None:
    assert bucket_index(10**9) == len(RESPONSE_TIME_BUCKETS_S)


@pytest.mark.parametrize("seconds", [-0.5, math.nan])
def test_negative_or_nan_durations_are_rejected(seconds: float) -> None:
    with pytest.raises(ValueError, match="non-negative"):
        bucket_index(seconds)


def test_cumulative_rendering_accumulates_up_to_inf() -> None:
    bounds = (60.0, 3600.0)
    counts = bucket_counts([30, 60, 61, 4000, 5000], bounds)

    assert counts == [2, 1, 2]
    assert cumulative_buckets(counts, bounds) == [("60.0", 2), ("3600.0", 3), ("+Inf", 5)]


def test_cumulative_rendering_of_no_observations_is_all_zero() -> None:
    rendered = cumulative_buckets(bucket_counts([]))
    assert [count for _, count in rendered] == [0] * (len(RESPONSE_TIME_BUCKETS_S) + 1)
    assert rendered[-1][0] == "+Inf"


def test_cumulative_rendering_rejects_counts_of_the_wrong_length() -> None:
    with pytest.raises(ValueError, match="expected 3 counts"):
        cumulative_buckets([1, 2], (60.0, 3600.0))


def test_le_labels_match_prometheus_client_formatting() -> None:
    for bound in (*RESPONSE_TIME_BUCKETS_S, 0.25, 1e7, math.inf):
        assert le_label(bound) == floatToGoString(bound)
