"""Behaviour of the event-time window math."""

from __future__ import annotations

import pytest

from collectpulse.kpi.windows import (
    DEFAULT_WINDOWS,
    bucket_expired,
    bucket_start_s,
    buckets_for_window,
    format_duration,
    parse_duration,
    retention_s,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("1h", 3600), ("24h", 86_400), ("7d", 604_800), ("2w", 1_209_600)],
)
def test_parse_duration_reads_whole_units(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "10", "1.5h", "-1h", "1x", "1h30m", "1 h"])
def test_parse_duration_rejects_anything_else_naming_the_input(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration") as error:
        parse_duration(text)
    assert repr(text) in str(error.value)


def test_default_windows_parse() -> None:
    assert [parse_duration(w) for w in DEFAULT_WINDOWS] == [3600, 86_400, 604_800]


@pytest.mark.parametrize(("seconds", "text"), [(90, "90s"), (900, "15m"), (7200, "2h"), (0, "0s")])
def test_format_duration_picks_the_largest_exact_unit(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds


def test_bucket_start_floors_to_the_bucket_size() -> None:
    assert bucket_start_s(119.9, 60) == 60
    assert bucket_start_s(120, 60) == 120


def test_bucket_start_floors_timestamps_before_the_epoch_downwards() -> None:
    assert bucket_start_s(-1, 60) == -60


def test_rolling_window_holds_whole_buckets_ending_with_the_current_one() -> None:
    buckets = buckets_for_window(now_s=3630, window_s=3600, bucket_s=60)

    assert buckets == range(60, 3660, 60)
    assert len(buckets) == 60
    assert buckets[-1] == 3600  # the still-filling bucket that holds now


def test_window_of_one_bucket_is_just_the_current_bucket() -> None:
    assert list(buckets_for_window(now_s=125, window_s=60, bucket_s=60)) == [120]


def test_window_that_is_not_a_multiple_of_the_bucket_is_rejected() -> None:
    with pytest.raises(ValueError, match="not a multiple"):
        buckets_for_window(now_s=0, window_s=90, bucket_s=60)


@pytest.mark.parametrize(("window_s", "bucket_s"), [(0, 60), (-60, 60), (60, 0)])
def test_non_positive_sizes_are_rejected(window_s: int, bucket_s: int) -> None:
    with pytest.raises(ValueError, match="must be > 0"):
        buckets_for_window(now_s=0, window_s=window_s, bucket_s=bucket_s)


def test_retention_is_the_largest_window_plus_the_attribution_horizon() -> None:
    assert retention_s([3600, 604_800, 86_400], attribution_window_s=604_800) == 1_209_600


def test_retention_needs_a_window() -> None:
    with pytest.raises(ValueError, match="at least one window"):
        retention_s([], attribution_window_s=0)


def test_a_bucket_expires_exactly_at_start_plus_retention() -> None:
    assert not bucket_expired(start_s=600, now_s=659.9, ttl_s=60)
    assert bucket_expired(start_s=600, now_s=660, ttl_s=60)


def test_every_bucket_of_the_largest_window_is_still_retained() -> None:
    now_s, bucket_s = 1_000_000, 60
    ttl_s = retention_s([3600, 86_400], attribution_window_s=0)
    oldest = buckets_for_window(now_s, 86_400, bucket_s)[0]
    assert not bucket_expired(oldest, now_s, ttl_s)
