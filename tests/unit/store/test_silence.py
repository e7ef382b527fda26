"""Landing silence: which campaign is silent since when, and which buckets count deliveries."""

from __future__ import annotations

from typing import cast

from collectpulse.store.keys import FIELD_SEP, Keys
from collectpulse.store.scripts import Scripts
from collectpulse.store.silence import _runs, buckets_since, deliveries_since, silence_starts


def test_a_campaign_is_silent_since_its_last_view_else_its_first_delivery() -> None:
    totals = {
        FIELD_SEP.join(("first_delivered_s", "winback", "")): 1000,
        FIELD_SEP.join(("first_delivered_s", "legal", "acme")): 2000,
        FIELD_SEP.join(("last_view_s", "winback", "")): 5000,
        FIELD_SEP.join(("messages_sent", "email", "winback", "a", "default", "")): 7,
    }
    assert silence_starts(totals) == {("winback", ""): 5000, ("legal", "acme"): 2000}


def test_buckets_since_use_minutes_up_to_the_hour_then_hours_up_to_now() -> None:
    since, now = 7200 + 59 * 60 + 30, 3 * 3600 + 600  # 02:59:30 -> 03:10:00
    assert buckets_since(since, now, 60) == [(60, 7200 + 59 * 60), (3600, 10800)]


def test_buckets_since_within_the_current_hour_are_minutes_only() -> None:
    assert buckets_since(3600 + 61, 3600 + 180, 60) == [(60, 3660), (60, 3720), (60, 3780)]


def test_buckets_since_cover_every_full_hour_between() -> None:
    got = buckets_since(0, 3 * 3600 + 5, 60)
    assert got == [(3600, 0), (3600, 3600), (3600, 7200), (3600, 10800)]


async def test_no_buckets_to_sum_sends_nothing_to_redis() -> None:
    """A silence starting after now (a producer clock ahead) has no bucket: no script call,
    which a cluster could not route without a key."""
    got = await deliveries_since(
        cast(Scripts, None),
        Keys("cp"),
        (0, 1),
        {("spring", ""): 10_000},
        now_s=5_000,
        bucket_s=60,
        lookback_s=3600,
    )
    assert got == {}


def test_bucket_indexes_become_inclusive_runs() -> None:
    assert _runs([1, 2, 3, 7, 8, 10]) == [(1, 3), (7, 8), (10, 10)]
    assert _runs([]) == []
