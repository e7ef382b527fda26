"""The exporter shares one store read between the scrapes of a second, and merges partitions'
timestamps by max / min rather than summing them."""

from __future__ import annotations

import asyncio
import logging
from typing import cast

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from collectpulse.dependencies import Dependencies
from collectpulse.exporter.http import ViewCache
from collectpulse.store.reader import StoreReader, StoreView, window_buckets, window_segments
from collectpulse.store.totals import LAST_EVENT, merge_totals


class CountingReader:
    """Stands in for StoreReader: counts reads, optionally fails or waits."""

    def __init__(self) -> None:
        self.reads = 0
        self.fail = False
        self.release = asyncio.Event()
        self.release.set()

    async def read(self) -> StoreView:
        self.reads += 1
        await self.release.wait()
        if self.fail:
            raise RedisConnectionError("down")
        return StoreView(self.reads, (), {})


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def cache_over(reader: CountingReader, clock: Clock) -> ViewCache:
    return ViewCache(cast(StoreReader, reader), max_age_s=1.0, clock=clock)


async def test_scrapes_within_the_max_age_share_one_read() -> None:
    reader, clock = CountingReader(), Clock()
    cache = cache_over(reader, clock)

    first = await cache.read()
    clock.now += 0.5
    second = await cache.read()
    clock.now += 0.6
    third = await cache.read()

    assert first is second
    assert third.now_s == 2
    assert reader.reads == 2


async def test_concurrent_scrapes_wait_for_the_same_read() -> None:
    reader, clock = CountingReader(), Clock()
    reader.release.clear()
    cache = cache_over(reader, clock)

    pending = [asyncio.ensure_future(cache.read()) for _ in range(5)]
    await asyncio.sleep(0)
    reader.release.set()
    views = await asyncio.gather(*pending)

    assert reader.reads == 1
    assert all(v is views[0] for v in views)


async def test_a_failed_read_is_not_cached() -> None:
    reader, clock = CountingReader(), Clock()
    cache = cache_over(reader, clock)
    reader.fail = True

    with pytest.raises(RedisConnectionError):
        await cache.read()
    reader.fail = False

    assert (await cache.read()).now_s == 2


def test_partition_timestamps_merge_by_max_and_counters_by_sum() -> None:
    merged: dict[str, int] = {}
    sep = "\x1f"
    merge_totals(merged, [f"{LAST_EVENT}{sep}open", "1700000100", f"events_received{sep}open", "3"])
    merge_totals(merged, [f"{LAST_EVENT}{sep}open", "1700000050", f"events_received{sep}open", "4"])
    merge_totals(merged, [f"first_delivered_s{sep}spring{sep}", "1700000900"])
    merge_totals(merged, [f"first_delivered_s{sep}spring{sep}", "1700000200"])

    assert merged == {
        f"{LAST_EVENT}{sep}open": 1700000100,
        f"events_received{sep}open": 7,
        f"first_delivered_s{sep}spring{sep}": 1700000200,
    }


async def test_a_view_is_rendered_once_however_many_scrapes_serve_it() -> None:
    reader, clock = CountingReader(), Clock()
    cache = cache_over(reader, clock)
    renders: list[int] = []

    def render(view: StoreView) -> bytes:
        renders.append(view.now_s)
        return f"view {view.now_s}\n".encode()

    first = await cache.read()
    bodies = [await cache.body(first, render) for _ in range(3)]
    clock.now += 1.5
    second = await cache.read()

    assert bodies == [b"view 1\n"] * 3
    assert await cache.body(second, render) == b"view 2\n"
    assert renders == [1, 2]


def test_windows_of_one_granularity_read_each_bucket_once() -> None:
    now_s = 1_800_000_000
    plans = {
        name: window_buckets(now_s, window_s, 60)
        for name, window_s in (("1h", 3600), ("6h", 6 * 3600), ("24h", 86400), ("7d", 7 * 86400))
    }

    segments = window_segments(plans)

    buckets = [(gran, s) for gran, run in segments.runs for s in run]
    assert len(buckets) == len(set(buckets)) == 6 * 60 + 7 * 24
    for name, (gran, window_starts) in plans.items():
        covered = [s for i in segments.members[name] for s in segments.runs[i][1]]
        assert covered == window_starts, name
        assert {segments.runs[i][0] for i in segments.members[name]} == {gran}


async def test_a_cached_view_does_not_report_redis_up_while_a_fresh_check_failed() -> None:
    """A scrape served from the cache says nothing about Redis now: no flap in the log."""
    reader, clock = CountingReader(), Clock()
    deps = Dependencies(logging.getLogger("test.view_cache"))
    cache = ViewCache(cast(StoreReader, reader), max_age_s=1.0, clock=clock, dependencies=deps)
    await cache.read()
    for _ in range(2):
        deps.failed("redis", "ConnectionError", deps.attempt())  # e.g. /readyz's PING

    await cache.read()  # within the max age: from the cache
    assert not deps.is_up("redis")

    clock.now += 1.1
    reader.fail = True
    with pytest.raises(RedisConnectionError):
        await cache.read()
    assert not deps.is_up("redis")
    reader.fail = False
    clock.now += 1.1
    await cache.read()
    assert deps.is_up("redis")
