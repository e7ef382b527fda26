"""Read the store for the exporter: totals and rolling windows summed over partitions.

Reads may span slots (kpi-catalog section 7): one pipelined round trip per
partition, each summing its own buckets server-side (sum_buckets.lua), so a
scrape moves one small reply per partition whatever the bucket count.
Windows up to ``FINE_WINDOW_MAX_S`` sum fine buckets (``bucket_size``); longer
windows sum hourly buckets, so their start edge is aligned to the hour.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from collectpulse.events.providers import PROVIDERS
from collectpulse.kpi.ratios import CounterValues, LabelSet, labelset
from collectpulse.settings import Settings
from collectpulse.store.context import COARSE_BUCKET_S
from collectpulse.store.customer_effects import STRUGGLING_WINDOW_S
from collectpulse.store.fields import LABEL_ORDER
from collectpulse.store.keys import FIELD_SEP, Keys
from collectpulse.store.scripts import Scripts

FINE_WINDOW_MAX_S = 6 * 3600
_PROVIDER_TALLIES = {
    "skipped": "provider_events_skipped",
    "dead_lettered": "provider_records_dead_lettered",
}


@dataclass(frozen=True)
class StoreView:
    """Everything one scrape needs, read at ``now_s``."""

    now_s: int
    partitions: tuple[int, ...]
    totals: Mapping[str, int]
    """Raw total fields (counter, labels, histogram buckets, last-event times) summed."""
    windows: Mapping[str, CounterValues] = field(default_factory=dict)
    """Window name -> counter -> label set -> value (uniques included)."""
    offsets: Mapping[tuple[str, int], int] = field(default_factory=dict)
    struggling: tuple[Struggling, ...] = ()
    """Customers struggling now, for the count metric and the agents' JSON list."""


@dataclass(frozen=True, slots=True)
class Struggling:
    tenant: str
    customer_id: str
    since_s: int


def parse_counter_fields(raw: Mapping[str, int]) -> dict[str, dict[LabelSet, float]]:
    """Group raw counter fields into ``counter -> label set -> value``; others are skipped."""
    out: dict[str, dict[LabelSet, float]] = defaultdict(dict)
    for name_and_labels, value in raw.items():
        name, *values = name_and_labels.split(FIELD_SEP)
        order = LABEL_ORDER.get(name)
        if order is None or len(values) != len(order):
            continue
        out[name][labelset(dict(zip(order, values, strict=True)))] = float(value)
    return out


def window_buckets(now_s: int, window_s: int, bucket_s: int) -> tuple[int, list[int]]:
    """The granularity and bucket starts a window sums (the current bucket included)."""
    gran = (
        bucket_s
        if window_s <= FINE_WINDOW_MAX_S or bucket_s >= COARSE_BUCKET_S
        else COARSE_BUCKET_S
    )
    current = now_s - now_s % gran
    count = max(window_s // gran, 1)
    return gran, [current - i * gran for i in range(count)]


class StoreReader:
    """Reads what the exporter shows; stateless, safe to share."""

    def __init__(
        self, client: Redis, settings: Settings, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._redis = client
        self._settings = settings
        self._keys = Keys(settings.key_prefix)
        self._scripts = Scripts(client)
        self._clock = clock

    async def partitions(self) -> tuple[int, ...]:
        members = await self._redis.smembers(self._keys.partitions())
        return tuple(sorted(int(m) for m in members))

    async def read(self) -> StoreView:
        now_s = int(self._clock())
        partitions = await self.partitions()
        totals: dict[str, int] = defaultdict(int)
        windows: dict[str, dict[str, int]] = {w: defaultdict(int) for w in self._settings.windows}
        uniques: dict[str, dict[str, int]] = {w: defaultdict(int) for w in self._settings.windows}
        offsets: dict[tuple[str, int], int] = {}
        struggling: list[Struggling] = []
        await self._read_provider_tallies(totals)
        for p in partitions:
            await self._read_partition(p, now_s, totals, windows, uniques, offsets)
            struggling.extend(await self._struggling(p, now_s))
        parsed = {}
        for window in self._settings.windows:
            values = parse_counter_fields(windows[window])
            values.update(parse_counter_fields(uniques[window]))
            parsed[window] = values
        struggling.sort(key=lambda s: (s.tenant, s.since_s, s.customer_id))
        return StoreView(now_s, partitions, dict(totals), parsed, offsets, tuple(struggling))

    async def _read_provider_tallies(self, totals: dict[str, int]) -> None:
        """Skipped / dead-lettered raw provider records, as counter fields of the totals."""
        pipe = self._redis.pipeline(transaction=False)
        names = [
            (provider, tally, counter)
            for provider in PROVIDERS
            for tally, counter in _PROVIDER_TALLIES.items()
        ]
        for provider, tally, _ in names:
            pipe.hgetall(self._keys.provider_tally(provider, tally))
        for (provider, _, counter), counts in zip(names, await pipe.execute(), strict=True):
            for kind, value in counts.items():
                totals[FIELD_SEP.join((counter, provider, _text(kind)))] += int(value)

    async def _struggling(self, p: int, now_s: int) -> list[Struggling]:
        """Customers whose N-th latest failure is less than 24 h old (no success since)."""
        rows: list[Any] = await self._redis.zrangebyscore(
            self._keys.struggling(p), f"({now_s - STRUGGLING_WINDOW_S}", "+inf", withscores=True
        )
        out = []
        for member, score in rows:
            tenant, _, customer = _text(member).partition(FIELD_SEP)
            out.append(Struggling(tenant, customer, int(score)))
        return out

    async def _read_partition(
        self,
        p: int,
        now_s: int,
        totals: dict[str, int],
        windows: dict[str, dict[str, int]],
        uniques: dict[str, dict[str, int]],
        offsets: dict[tuple[str, int], int],
    ) -> None:
        k = self._keys
        groups: list[list[str]] = [[k.totals(p)]]
        plans: dict[str, tuple[int, list[int]]] = {}
        for window, window_s in self._settings.windows_s.items():
            gran, starts = window_buckets(now_s, window_s, self._settings.bucket_s)
            plans[window] = (gran, starts)
            groups.append([k.bucket(p, gran, s) for s in starts])
        flat_keys = [key for group in groups for key in group]
        pipe = self._redis.pipeline(transaction=False)
        pipe.smembers(k.unique_names(p))
        pipe.hgetall(k.offsets(p))
        replies = await pipe.execute()
        names = sorted(_text(n) for n in replies[0])
        for topic, offset in replies[1].items():
            offsets[(_text(topic), p)] = int(offset)
        summed: list[Any] = await self._scripts.sum_buckets(
            keys=flat_keys, args=[len(groups), *(len(g) for g in groups)]
        )
        _add_flat(totals, summed[0])
        for window, flat in zip(plans, summed[1:], strict=True):
            _add_flat(windows[window], flat)
        if names:
            pipe = self._redis.pipeline(transaction=False)
            for gran, starts in plans.values():
                for name in names:
                    pipe.pfcount(*(k.uniques(p, gran, s, name) for s in starts))
            counts = iter(await pipe.execute())
            for window in plans:
                for name in names:
                    uniques[window][name] += int(next(counts))


def _add_flat(into: dict[str, int], flat: list[Any]) -> None:
    for i in range(0, len(flat), 2):
        into[_text(flat[i])] += int(flat[i + 1])


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
