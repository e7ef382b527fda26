"""Read the store for the exporter: totals and rolling windows summed over partitions.

Reads may span slots (kpi-catalog section 7), so they are pipelined, never
atomic (a cluster client splits each pipeline per node and sends the parts side
by side): one round trip lists the partitions, one reads every partition (each
summing its own buckets server-side with sum_buckets.lua, so a scrape moves
one small reply per partition whatever the bucket count) together with the
global keys (provider tallies, label registries, worker heartbeats), and one
counts the partitions' HyperLogLogs while another sums the deliveries since each
campaign's last landing view (sum_since.lua). Windows up to ``FINE_WINDOW_MAX_S``
sum fine buckets (``bucket_size``); longer windows sum hourly buckets, so their
start edge is aligned to the hour.

The first round trip also asks the write version of each partition read before: a
partition whose version did not move is not read again (``store.read_cache``), and when
none moved and no bucket run turned, the sums are the last read's objects and the view
keeps their ``summed`` token (the exporter then keeps their text too).

All-time fields are summed over partitions, except the timestamps kept with
``keep_max`` / ``keep_min`` (last event, last view, first delivery): those are
merged with max / min, since a sum of times is meaningless (``store.totals``).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from collectpulse.events.providers import PROVIDERS
from collectpulse.kpi.costs import Cost
from collectpulse.kpi.targets import Target
from collectpulse.settings import Settings
from collectpulse.store.account_reader import read_accounts
from collectpulse.store.allocation_reader import read_allocation
from collectpulse.store.client import StoreClient, StorePipeline
from collectpulse.store.collector_net import DailyFacts, read_net
from collectpulse.store.costs import CostStore
from collectpulse.store.customer_effects import STRUGGLING_WINDOW_S
from collectpulse.store.experiment_reader import read_experiments
from collectpulse.store.heartbeats import WorkerBeat, recent_beats
from collectpulse.store.keys import FIELD_SEP, Keys
from collectpulse.store.read_cache import (
    PartitionCache,
    PartitionRead,
    RunKey,
    SummedRead,
    missing_runs,
    struggling_now,
)
from collectpulse.store.replies import text as _text
from collectpulse.store.roster import RosterEntry, RosterStore
from collectpulse.store.scripts import Scripts
from collectpulse.store.send_time import read_slots
from collectpulse.store.silence import deliveries_since, silence_starts
from collectpulse.store.targets import TargetStore
from collectpulse.store.totals import decoded, parse_counter_fields, sum_partitions
from collectpulse.store.unique_counts import UniqueCounts
from collectpulse.store.view import StoreView as StoreView
from collectpulse.store.view import Struggling as Struggling

# re-exported: callers read them from here since before window_plan existed
from collectpulse.store.window_plan import FINE_WINDOW_MAX_S as FINE_WINDOW_MAX_S
from collectpulse.store.window_plan import Segments as Segments
from collectpulse.store.window_plan import window_buckets as window_buckets
from collectpulse.store.window_plan import window_segments as window_segments

_T = TypeVar("_T")
REGISTRY_LABELS = ("campaign", "variant", "segment", "tenant", "agent", "team", "dialer_campaign")
"""The cardinality-capped labels whose admitted values live in ``cp:{labels}:<label>``."""
_PROVIDER_TALLIES = {
    "skipped": "provider_events_skipped",
    "dead_lettered": "provider_records_dead_lettered",
}


async def _ready(value: _T) -> _T:
    return value


class StoreReader:
    """Reads what the exporter shows; safe to share (it keeps only the key names of the
    last read)."""

    def __init__(
        self, client: StoreClient, settings: Settings, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._redis = client
        self._settings = settings
        self._keys = Keys(settings.key_prefix)
        self._scripts = Scripts(client)
        self._clock = clock
        self._uniques = UniqueCounts(client, self._keys)
        self._cache = PartitionCache()
        self._last: SummedRead | None = None

    async def partitions(self) -> tuple[int, ...]:
        members = await self._redis.smembers(self._keys.partitions())
        return tuple(sorted(int(m) for m in members))

    async def heartbeats(self) -> tuple[WorkerBeat, ...]:
        """The workers' latest beats (those within ``HEARTBEAT_FORGET_S``), by worker id."""
        raw = await self._redis.hgetall(self._keys.heartbeats())
        return recent_beats(raw, self._clock())

    async def read(self) -> StoreView:
        now_s = int(self._clock())
        partitions, versions = await self._partitions_and_versions()
        plans = {
            window: window_buckets(now_s, window_s, self._settings.bucket_s)
            for window, window_s in self._settings.windows_s.items()
        }
        segments = window_segments(plans)
        valid = self._cache.still_valid(versions)
        needed = {p: missing_runs(valid.get(p), segments.runs) for p in partitions}

        def fill(pipe: StorePipeline) -> None:
            for p in partitions:
                self._queue_partition(pipe, p, now_s, valid.get(p), needed[p])
            self._queue_globals(pipe)

        # one pipeline; a cluster client splits it per node and sends those side by side
        replies = iter(await self._scripts.pipelined(fill))
        entries = {p: self._take_partition(replies, p, valid.get(p), needed[p]) for p in partitions}
        tallies, registries, beats = self._take_globals(list(replies), now_s)
        # no partition read afresh, same buckets: the sums are those of the last read
        key = (partitions, segments.runs)
        last = self._last
        unchanged = last is not None and last.key == key and not any(needed.values())
        unchanged = unchanged and all(p in valid for p in partitions)
        summed = last if unchanged and last is not None else sum_partitions(entries, segments)
        silence_key = (key, now_s // self._settings.bucket_s)
        # these need only the first reply: sent side by side, one round trip
        agents_read = asyncio.create_task(self._read_agents(partitions, now_s))
        # if the gather below fails, its failure is the one reported, not this task's
        agents_read.add_done_callback(lambda t: t.cancelled() or t.exception())
        no_uniques: dict[str, dict[str, int]] = {}
        (
            uniques,
            delivered_since,
            accounts,
            experiments,
            allocation,
            send_slots,
        ) = await asyncio.gather(
            _ready(no_uniques)
            if summed.parsed
            else self._uniques.count(entries, plans, segments.runs),
            _ready(summed.delivered)
            if summed.silence_key == silence_key
            else deliveries_since(
                self._scripts,
                self._keys,
                partitions,
                silence_starts(summed.base),
                now_s=now_s,
                bucket_s=self._settings.bucket_s,
                lookback_s=max(self._settings.windows_s.values()),
            ),
            read_accounts(self._redis, self._keys, partitions, now_s),
            read_experiments(self._redis, self._settings, partitions, now_s),
            read_allocation(self._redis, self._keys, partitions, now_s),
            read_slots(self._scripts, self._keys, partitions, now_s),
        )
        agent_net, roster, targets, (costs, cost_quality) = await agents_read
        tallies = {**tallies}
        for name, value in cost_quality.items():
            tallies[name] = tallies.get(name, 0) + value
        summed.silence_key, summed.delivered = silence_key, delivered_since
        if not summed.parsed:
            for window in plans:
                values = parse_counter_fields(decoded(summed.windows[window]))
                values.update(parse_counter_fields(uniques[window]))
                summed.parsed[window] = values
        if summed is not last or summed.tallies != tallies or summed.registries != registries:
            summed.totals = dict(summed.base)
            for name, value in tallies.items():
                summed.totals[name] = summed.totals.get(name, 0) + value
            summed.tallies, summed.registries, summed.token = tallies, registries, object()
        self._last = summed
        after_s = now_s - STRUGGLING_WINDOW_S
        struggling = []
        for entry in entries.values():
            for member, score in struggling_now(entry, after_s):
                tenant, _, customer = _text(member).partition(FIELD_SEP)
                struggling.append(Struggling(tenant, customer, int(score)))
        struggling.sort(key=lambda s: (s.tenant, s.since_s, s.customer_id))
        return StoreView(
            now_s=now_s,
            partitions=partitions,
            totals=summed.totals,
            windows=summed.parsed,
            offsets={
                (_text(topic), p): int(offset)
                for p, entry in entries.items()
                for topic, offset in entry.offsets.items()
            },
            struggling=tuple(struggling),
            label_values=summed.registries,
            heartbeats=beats,
            delivered_since_view=delivered_since,
            accounts=accounts,
            allocation=allocation,
            experiments=experiments,
            agent_net=agent_net,
            roster={(e.tenant, e.agent_id): (e.team, e.role, e.status) for e in roster},
            targets=tuple(targets),
            costs=tuple(costs),
            revenue_models=self._settings.tenant_revenue_models,
            tenant_zones=self._settings.tenant_time_zones,
            default_zone=self._settings.default_time_zone,
            send_slots=send_slots,
            summed=summed.token,
        )

    async def _partitions_and_versions(self) -> tuple[tuple[int, ...], dict[int, bytes | None]]:
        """The partitions, and the write version of each partition the cache holds."""
        cached = self._cache.partitions()
        pipe = self._redis.pipeline(transaction=False)
        pipe.smembers(self._keys.partitions())
        for p in cached:
            pipe.get(self._keys.version(p))
        members, *versions = await pipe.execute()
        return tuple(sorted(int(m) for m in members)), dict(zip(cached, versions, strict=True))

    def _queue_partition(
        self,
        pipe: StorePipeline,
        p: int,
        now_s: int,
        cached: PartitionRead | None,
        runs: list[RunKey],
    ) -> None:
        """Unread: version, HyperLogLog names, offsets, totals and runs summed,
        struggling. Cached at its version: the runs it lacks, if any."""
        k = self._keys
        groups = [[k.bucket(p, gran, s) for s in starts] for gran, starts in runs]
        if cached is None:
            groups.insert(0, [k.totals(p)])
            # before the data, same slot and connection: the data is never older
            pipe.get(k.version(p))
            pipe.smembers(k.unique_names(p))
            pipe.hgetall(k.offsets(p))
        if groups:
            self._scripts.queue(
                pipe,
                self._scripts.sum_buckets,
                [key for group in groups for key in group],
                [len(groups), *(len(g) for g in groups)],
            )
        if cached is None:
            pipe.zrangebyscore(
                k.struggling(p), f"({now_s - STRUGGLING_WINDOW_S}", "+inf", withscores=True
            )

    def _take_partition(
        self, replies: Iterator[Any], p: int, cached: PartitionRead | None, runs: list[RunKey]
    ) -> PartitionRead:
        if cached is None:
            version, names, offsets, summed, struggling = (next(replies) for _ in range(5))
            entry = PartitionRead(
                version=version or b"0",
                names=sorted(_text(n) for n in names),
                offsets=offsets,
                totals=summed[0],
                struggling=list(struggling),
            )
            sums = summed[1:]
            self._cache.keep(p, entry)
        else:
            entry = cached
            sums = next(replies) if runs else []
        entry.runs.update(zip(runs, sums, strict=True))
        return entry

    def _queue_globals(self, pipe: StorePipeline) -> None:
        for provider in PROVIDERS:
            for tally in _PROVIDER_TALLIES:
                pipe.hgetall(self._keys.provider_tally(provider, tally))
        for label in REGISTRY_LABELS:
            pipe.smembers(self._keys.labels(label))
        pipe.hgetall(self._keys.heartbeats())

    def _take_globals(
        self, replies: list[Any], now_s: int
    ) -> tuple[dict[str, int], dict[str, frozenset[str]], tuple[WorkerBeat, ...]]:
        tallies: dict[str, int] = defaultdict(int)
        it = iter(replies)
        for provider in PROVIDERS:
            for counter in _PROVIDER_TALLIES.values():
                for kind, value in next(it).items():
                    tallies[FIELD_SEP.join((counter, provider, _text(kind)))] += int(value)
        registries = {label: frozenset(_text(v) for v in next(it)) for label in REGISTRY_LABELS}
        return dict(tallies), registries, recent_beats(next(it), now_s)

    async def _read_agents(
        self, partitions: Sequence[int], now_s: int
    ) -> tuple[DailyFacts, list[RosterEntry], list[Target], tuple[list[Cost], dict[str, int]]]:
        """The agents' daily facts, the roster, the targets (K8, K24) and the costs with
        their data-quality totals (K11, K12)."""
        prefix = self._settings.key_prefix
        costs = CostStore(self._redis, prefix)
        return await asyncio.gather(
            read_net(self._redis, self._keys, partitions, now_s),
            RosterStore(self._redis, prefix).entries(),
            TargetStore(self._redis, prefix).targets(),
            asyncio.gather(costs.costs(), costs.quality()),
        )
