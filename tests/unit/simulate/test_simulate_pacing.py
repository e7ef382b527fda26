"""The token bucket holds the rate with one sleep per chunk, never one per record."""

from __future__ import annotations

import pytest

from collectpulse.simulate.pacing import MAX_CHUNK, TokenBucket, chunk_size


class FakeTime:
    def __init__(self) -> None:
        self.now_s = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now_s

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now_s += seconds


async def test_the_bucket_releases_records_at_the_rate() -> None:
    time = FakeTime()
    bucket = TokenBucket(200.0, burst=10, clock=time.clock, sleep=time.sleep)
    for _ in range(100):
        await bucket.take(10)
    # 1000 records at 200/s, the first burst free: 4.95 s.
    assert time.now_s == pytest.approx(4.95)
    assert len(time.sleeps) <= 100


async def test_idle_time_earns_no_more_than_one_burst() -> None:
    time = FakeTime()
    bucket = TokenBucket(100.0, burst=5, clock=time.clock, sleep=time.sleep)
    time.now_s = 100.0
    for _ in range(50):
        await bucket.take(5)
    assert time.now_s - 100.0 == pytest.approx(2.45)


async def test_a_take_larger_than_the_burst_is_paid_by_the_next_wait() -> None:
    time = FakeTime()
    bucket = TokenBucket(10.0, burst=1, clock=time.clock, sleep=time.sleep)
    await bucket.take(21)
    await bucket.take(1)
    assert time.now_s == pytest.approx(2.1)


@pytest.mark.parametrize(("rate", "expected"), [(0.5, 1), (200.0, 10), (1e9, MAX_CHUNK)])
def test_chunks_are_about_fifty_milliseconds_of_records(rate: float, expected: int) -> None:
    assert chunk_size(rate) == expected


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1.0), (-1.0, 1.0), (10.0, 0.5)])
def test_rate_and_burst_must_be_positive(rate: float, burst: float) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate, burst=burst)
