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

All-time fields are summed over partitions, except the timestamps kept with
``keep_max`` / ``keep_min`` (last event, last view, first delivery): those are
merged with max / min, since a sum of times is meaningless.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

from collectpulse.events.providers import PROVIDERS
from collectpulse.kpi.accounts import AccountTotals
from collectpulse.kpi.collectors import RosterRow
from collectpulse.kpi.ratios import CounterValues, LabelSet, labelset
from collectpulse.kpi.targets import Target
from collectpulse.settings import Settings
from collectpulse.store.account_reader import read_accounts
from collectpulse.store.client import StoreClient, StorePipeline
from collectpulse.store.collector_net import DailyFacts, read_net
from collectpulse.store.context import COARSE_BUCKET_S
from collectpulse.store.customer_effects import STRUGGLING_WINDOW_S
from collectpulse.store.experiment_reader import ExperimentResult, read_experiments
from collectpulse.store.fields import counter_series
from collectpulse.store.heartbeats import WorkerBeat, recent_beats
from collectpulse.store.keys import FIELD_SEP, Keys
from collectpulse.store.message_effects import FIRST_DELIVERED, LAST_VIEW
from collectpulse.store.roster import RosterEntry, RosterStore
from collectpulse.store.scripts import Scripts
from collectpulse.store.silence import deliveries_since, silence_starts
from collectpulse.store.targets import TargetStore

FINE_WINDOW_MAX_S = 6 * 3600
LAST_EVENT = "last_event_s"
"""Total field ``last_event_s<SEP><topic>``: newest occurred_at applied (keep_max)."""
LAST_EVENT_MS = "last_event_ms"
"""Total field ``last_event_ms<SEP><topic>``: ``last_event_s`` in milliseconds (keep_max)."""
LAST_APPLIED_MS = "last_applied_ms"
"""Total field ``last_applied_ms<SEP><topic>``: when (Unix ms) the topic last had a batch."""
REGISTRY_LABELS = ("campaign", "variant", "segment", "tenant", "agent", "team", "dialer_campaign")
"""The cardinality-capped labels whose admitted values live in ``cp:{labels}:<label>``."""
_PROVIDER_TALLIES = {
    "skipped": "provider_events_skipped",
    "dead_lettered": "provider_records_dead_lettered",
}
_MAX_FIELDS = frozenset({LAST_EVENT, LAST_EVENT_MS, LAST_APPLIED_MS, LAST_VIEW})
_MIN_FIELDS = frozenset({FIRST_DELIVERED})


@dataclass(frozen=True, slots=True)
class Struggling:
    tenant: str
    customer_id: str
    since_s: int


@dataclass(frozen=True)
class StoreView:
    """Everything one scrape needs, read at ``now_s``."""

    now_s: int
    partitions: tuple[int, ...]
    totals: Mapping[str, int]
    """Raw total fields (counter, labels, histogram buckets, last-event times) merged."""
    windows: Mapping[str, CounterValues] = field(default_factory=dict)
    """Window name -> counter -> label set -> value (uniques included)."""
    offsets: Mapping[tuple[str, int], int] = field(default_factory=dict)
    """(topic without prefix, partition) -> last offset whose effects are in the store."""
    struggling: tuple[Struggling, ...] = ()
    """Customers struggling now, for the count metric and the agents' JSON list."""
    label_values: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Capped label -> the values admitted under the cardinality cap (label registries)."""
    heartbeats: tuple[WorkerBeat, ...] = ()
    """Workers that beat within ``HEARTBEAT_FORGET_S``, by worker id."""
    delivered_since_view: Mapping[tuple[str, str], int] = field(default_factory=dict)
    """(campaign, tenant) -> messages delivered since its last landing view (store.silence)."""
    accounts: AccountTotals = field(default_factory=AccountTotals)
    """Open accounts and receivables by due date, summed over partitions (K9, K18)."""
    experiments: tuple[ExperimentResult, ...] = ()
    """Customer-level experiments evaluated at this read (store.experiment_reader)."""
    tenant_zones: Mapping[str, str] = field(default_factory=dict)
    """Tenant -> IANA zone its dates are local to (Settings.tenant_time_zones)."""
    default_zone: str = "UTC"
    agent_net: Mapping[tuple[str, str, str, str, date], int] = field(default_factory=dict)
    """(column, tenant, currency, agent id, local day) -> the agents' daily facts
    (store.collector_net: K8, K24)."""
    roster: Mapping[tuple[str, str], RosterRow] = field(default_factory=dict)
    """(tenant, agent id) -> (team, role, status): the agent roster (store.roster)."""
    targets: tuple[Target, ...] = ()
    """The agent, team and tenant targets (store.targets, K24)."""


def parse_counter_fields(raw: Mapping[str, int]) -> dict[str, dict[LabelSet, float]]:
    """Group raw counter fields into ``counter -> label set -> value``; others are skipped.

    A legacy field and today's may land on one label set (``store.fields``): they add up.
    """
    out: dict[str, dict[LabelSet, float]] = defaultdict(dict)
    for name_and_labels, value in raw.items():
        name, *values = name_and_labels.split(FIELD_SEP)
        labels = counter_series(name, values)
        if labels is None:
            continue
        series = out[name]
        key = labelset(labels)
        series[key] = series.get(key, 0.0) + float(value)
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


@dataclass(frozen=True)
class Segments:
    """Disjoint runs of bucket keys whose sums add up to every window.

    Windows of one granularity share their newest buckets (1h is the start of 6h), so
    each bucket is summed once: ``runs`` are (granularity, bucket starts) and
    ``members[window]`` the indexes of the runs that window adds up. A partition's
    reply then carries each field once per run, not once per window.
    """

    runs: tuple[tuple[int, tuple[int, ...]], ...]
    members: Mapping[str, tuple[int, ...]]


def window_segments(plans: Mapping[str, tuple[int, list[int]]]) -> Segments:
    """Split the windows' bucket lists (newest first, see ``window_buckets``) into runs."""
    runs: list[tuple[int, tuple[int, ...]]] = []
    members: dict[str, tuple[int, ...]] = {}
    by_gran: dict[int, list[tuple[int, str, list[int]]]] = defaultdict(list)
    for window, (gran, starts) in plans.items():
        by_gran[gran].append((len(starts), window, starts))
    for gran, windows in sorted(by_gran.items()):
        taken, covering = 0, cast(tuple[int, ...], ())
        for count, window, starts in sorted(windows):
            if count > taken:
                runs.append((gran, tuple(starts[taken:count])))
                covering, taken = (*covering, len(runs) - 1), count
            members[window] = covering
    return Segments(tuple(runs), members)


def merge_totals(into: dict[Any, int], flat: list[Any]) -> None:
    """Add one partition's ``{field, value, ...}`` totals; timestamps merge by max / min.

    Field names are kept as they come (bytes from Redis, decoded once by the caller
    after every partition is merged, since most fields are in every partition)."""
    it = iter(flat)
    for name, raw_value in zip(it, it, strict=True):
        value = int(raw_value)
        old = into.get(name)
        if old is None:
            into[name] = value
        elif _kind_in(name, _MAX_KINDS):
            into[name] = max(old, value)
        elif _kind_in(name, _MIN_KINDS):
            into[name] = min(old, value)
        else:
            into[name] = old + value


@dataclass(frozen=True)
class _Kinds:
    """Field kinds (a field's name before its first separator), matched on str or bytes
    names without decoding them."""

    exact: frozenset[str | bytes]
    text_prefixes: tuple[str, ...]
    byte_prefixes: tuple[bytes, ...]

    @classmethod
    def of(cls, kinds: frozenset[str]) -> _Kinds:
        prefixes = tuple(kind + FIELD_SEP for kind in sorted(kinds))
        exact: frozenset[str | bytes] = frozenset({*kinds, *(kind.encode() for kind in kinds)})
        return cls(exact, prefixes, tuple(p.encode() for p in prefixes))


def _kind_in(name: bytes | str, kinds: _Kinds) -> bool:
    if name in kinds.exact:
        return True
    if isinstance(name, bytes):
        return name.startswith(kinds.byte_prefixes)
    return name.startswith(kinds.text_prefixes)


_MAX_KINDS = _Kinds.of(_MAX_FIELDS)
_MIN_KINDS = _Kinds.of(_MIN_FIELDS)


def _decoded(raw: Mapping[Any, int]) -> dict[str, int]:
    return {_text(name): value for name, value in raw.items()}


@dataclass
class _Partial:
    """Accumulates the replies of one read before they become a StoreView."""

    totals: dict[Any, int] = field(default_factory=dict)
    """Field name as read (bytes) -> value, decoded once all partitions are merged."""
    windows: dict[str, dict[Any, int]] = field(default_factory=dict)
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    struggling: list[Struggling] = field(default_factory=list)
    unames: dict[int, list[str]] = field(default_factory=dict)


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
        self._unique_keys: dict[tuple[int, int, int, int, str], tuple[bytes, ...]] = {}

    async def partitions(self) -> tuple[int, ...]:
        members = await self._redis.smembers(self._keys.partitions())
        return tuple(sorted(int(m) for m in members))

    async def heartbeats(self) -> tuple[WorkerBeat, ...]:
        """The workers' latest beats (those within ``HEARTBEAT_FORGET_S``), by worker id."""
        raw = await self._redis.hgetall(self._keys.heartbeats())
        return recent_beats(raw, self._clock())

    async def read(self) -> StoreView:
        now_s = int(self._clock())
        partitions = await self.partitions()
        plans = {
            window: window_buckets(now_s, window_s, self._settings.bucket_s)
            for window, window_s in self._settings.windows_s.items()
        }
        segments = window_segments(plans)
        partial = _Partial(windows={w: {} for w in plans})

        def fill(pipe: StorePipeline) -> None:
            for p in partitions:
                self._queue_partition(pipe, p, now_s, segments)
            self._queue_globals(pipe)

        # one pipeline; a cluster client splits it per node and sends those side by side
        replies = await self._scripts.pipelined(fill)
        globals_at = 4 * len(partitions)
        for i, p in enumerate(partitions):
            self._take_partition(partial, p, replies[4 * i : 4 * i + 4], segments)
        tallies, registries, beats = self._take_globals(replies[globals_at:], now_s)
        partial.totals = _decoded(partial.totals)
        for name, value in tallies.items():
            partial.totals[name] = partial.totals.get(name, 0) + value
        # both need only the first reply: sent side by side, one round trip
        gathered = await asyncio.gather(
            self._count_uniques(partial.unames, plans),
            deliveries_since(
                self._scripts,
                self._keys,
                partitions,
                silence_starts(partial.totals),
                now_s=now_s,
                bucket_s=self._settings.bucket_s,
                lookback_s=max(self._settings.windows_s.values()),
            ),
            read_accounts(self._redis, self._keys, partitions, now_s),
            read_experiments(self._redis, self._settings, partitions, now_s),
            self._read_agents(partitions, now_s),
        )
        uniques, delivered_since, accounts, experiments, (agent_net, roster, targets) = gathered
        parsed = {}
        for window in plans:
            values = parse_counter_fields(_decoded(partial.windows[window]))
            values.update(parse_counter_fields(uniques[window]))
            parsed[window] = values
        partial.struggling.sort(key=lambda s: (s.tenant, s.since_s, s.customer_id))
        return StoreView(
            now_s=now_s,
            partitions=partitions,
            totals=partial.totals,
            windows=parsed,
            offsets=partial.offsets,
            struggling=tuple(partial.struggling),
            label_values=registries,
            heartbeats=beats,
            delivered_since_view=delivered_since,
            accounts=accounts,
            experiments=experiments,
            agent_net=agent_net,
            roster={(e.tenant, e.agent_id): (e.team, e.role, e.status) for e in roster},
            targets=tuple(targets),
            tenant_zones=self._settings.tenant_time_zones,
            default_zone=self._settings.default_time_zone,
        )

    def _queue_partition(self, pipe: StorePipeline, p: int, now_s: int, segments: Segments) -> None:
        """Four replies: HyperLogLog names, applied offsets, summed buckets, struggling."""
        k = self._keys
        groups: list[list[str]] = [[k.totals(p)]]
        groups += [[k.bucket(p, gran, s) for s in starts] for gran, starts in segments.runs]
        pipe.smembers(k.unique_names(p))
        pipe.hgetall(k.offsets(p))
        self._scripts.queue(
            pipe,
            self._scripts.sum_buckets,
            [key for group in groups for key in group],
            [len(groups), *(len(g) for g in groups)],
        )
        pipe.zrangebyscore(
            k.struggling(p), f"({now_s - STRUGGLING_WINDOW_S}", "+inf", withscores=True
        )

    def _take_partition(
        self, partial: _Partial, p: int, replies: list[Any], segments: Segments
    ) -> None:
        names, offsets, summed, struggling = replies
        if names:
            partial.unames[p] = sorted(_text(n) for n in names)
        for topic, offset in offsets.items():
            partial.offsets[(_text(topic), p)] = int(offset)
        merge_totals(partial.totals, summed[0])
        runs = summed[1:]
        for window, members in segments.members.items():
            for run in members:
                _add_flat(partial.windows[window], runs[run])
        for member, score in struggling:
            tenant, _, customer = _text(member).partition(FIELD_SEP)
            partial.struggling.append(Struggling(tenant, customer, int(score)))

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
    ) -> tuple[DailyFacts, list[RosterEntry], list[Target]]:
        """The agents' daily facts, the roster and the targets (K8, K24)."""
        prefix = self._settings.key_prefix
        return await asyncio.gather(
            read_net(self._redis, self._keys, partitions, now_s),
            RosterStore(self._redis, prefix).entries(),
            TargetStore(self._redis, prefix).targets(),
        )

    async def _count_uniques(
        self, unames: Mapping[int, list[str]], plans: Mapping[str, tuple[int, list[int]]]
    ) -> dict[str, dict[str, int]]:
        """PFCOUNT over each window's buckets, per partition and HyperLogLog name."""
        out: dict[str, dict[str, int]] = {window: defaultdict(int) for window in plans}
        if not unames:
            return out
        pipe = self._redis.pipeline(transaction=False)
        known, used = self._unique_keys, {}
        for p, names in unames.items():
            for gran, starts in plans.values():
                for name in names:
                    # tens of thousands of key names a read, the same until a bucket turns
                    ident = (p, gran, starts[0], len(starts), name)
                    keys = known.get(ident)
                    if keys is None:
                        keys = tuple(self._keys.uniques(p, gran, s, name).encode() for s in starts)
                    used[ident] = keys
                    # raw: a cluster pipeline refuses pfcount(); the keys share {pN}
                    pipe.execute_command("PFCOUNT", *keys)
        self._unique_keys = used  # only this read's: old buckets are forgotten
        counts = iter(await pipe.execute())
        for names in unames.values():
            for window in plans:
                for name in names:
                    out[window][name] += int(next(counts))
        return out


def _add_flat(into: dict[Any, int], flat: list[Any]) -> None:
    it = iter(flat)
    for name, value in zip(it, it, strict=True):
        into[name] = into.get(name, 0) + int(value)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
