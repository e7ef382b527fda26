"""The exporter shares one store read between the scrapes of a second, and merges partitions'
timestamps by max / min rather than summing them."""

from __future__ import annotations

import asyncio
from typing import cast

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from collectpulse.exporter.http import ViewCache
from collectpulse.store.reader import LAST_EVENT, StoreReader, StoreView, merge_totals


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
