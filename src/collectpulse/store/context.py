"""The inputs of batch planning and the per-batch context the effect rules write through.

Pure data and arithmetic: bucket placement, TTLs, label capping and counter
fields. The rules themselves live in ``message_effects`` (the message join)
and ``customer_effects`` (payments, promises, landing, attribution).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from collectpulse.events.decode import Invalid
from collectpulse.events.models import EventBase, Topic
from collectpulse.kpi.definitions import HISTOGRAMS
from collectpulse.kpi.histograms import bucket_index
from collectpulse.kpi.labels import OTHER_VALUE, REDACTED_VALUE, looks_personal
from collectpulse.store.fields import counter_field, histogram_field
from collectpulse.store.keys import DAY_S, FIELD_SEP, Keys
from collectpulse.store.plan import WritePlan

COARSE_BUCKET_S = 3600
FUNNEL_DIMS = ("channel", "campaign", "variant", "segment", "tenant")
PARK_SEP = "\x1e"
HISTOGRAM_BOUNDS = {h.name: h.buckets_s for h in HISTOGRAMS}


def screened_label(value: str) -> str | None:
    """What a label value no registry may admit is reported as: ``__redacted__`` when it
    looks personal, ``__other__`` when it holds a key separator (it would corrupt the
    fields it is joined into); None for a value the capped registries decide on."""
    if looks_personal(value):
        return REDACTED_VALUE
    if FIELD_SEP in value or PARK_SEP in value:
        return OTHER_VALUE
    return None


class Record(NamedTuple):
    """One Kafka record after decoding; ``raw`` is kept for parking and the DLQ.

    A NamedTuple rather than a frozen dataclass: one is built per event, and a
    frozen dataclass's ``__init__`` costs twice as much.
    """

    offset: int
    raw: bytes
    event: EventBase | Invalid
    timestamp_ms: int = 0
    """The Kafka record timestamp (publish time); 0 when unknown."""
    key_ok: bool = True
    """Whether the record's Kafka key is the one the contract names (events.keys)."""
    occurred_s: int = -1
    """The event time in whole seconds, computed once at decoding; -1: not computed."""

    def event_s(self, event: EventBase) -> int:
        """``occurred_s``, or ``event``'s (this record's event) when it was not computed."""
        if self.occurred_s != -1:
            return self.occurred_s
        return int(event.occurred_at.timestamp())


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The partition state the plan is computed against (read under ``version``)."""

    version: str
    applied: Mapping[str, int] = field(default_factory=dict)
    """Stream (a topic, or the customer-touch topic) -> its last applied offset."""
    seen: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Topic -> the batch's event ids already applied (dedupe is per topic)."""
    messages: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    parked: Mapping[str, Sequence[bytes]] = field(default_factory=dict)
    customers: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    parked_count: int = 0
    """Messages with parked events in the partition (size of the ``parked`` index)."""
    park_lengths: Mapping[str, int] = field(default_factory=dict)
    """Events already parked per message, for the messages of the batch without state."""
    accounts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Account id -> its state hash (store.account_effects), for the batch's accounts."""


@dataclass(frozen=True, slots=True)
class Timing:
    """Bucket sizes and lifetimes, all in seconds, and the wall clock of this batch."""

    now_s: int
    bucket_s: int
    retention_s: int
    fine_ttl_s: int
    dedupe_horizon_s: int
    max_event_bytes: int
    attribution_s: int = 7 * 86_400
    struggling_min_failures: int = 3
    now_ms: int = 0
    """Wall clock in milliseconds, for the publish -> applied lag; 0 means ``now_s``."""
    max_parked_per_message: int = 100
    max_parked_messages: int = 100_000
    max_customer_messages: int = 200
    engagement_s: int = 30 * 86_400
    """How long a customer's engagement facts are kept for the agent desktop."""
    experiment_horizon_s: int = 7 * 86_400
    tenant_zones: Mapping[str, str] = field(default_factory=dict)
    """Tenant -> IANA zone its days are local to (Settings.tenant_time_zones)."""
    default_zone: str = "UTC"


LabelCap = Callable[[str, str], str]
"""Maps (label name, value) to the value to report (the value or ``__other__``)."""
AgentCap = Callable[[str, str], str]
"""Maps (event tenant, agent id) to the ``agent`` label to report: the cap is per tenant."""


@dataclass
class BatchContext:
    """What one batch's rules read (snapshot overlays) and write (the plan).

    Field names, bucket keys and TTLs are computed once per batch and cached:
    the same few counters are hit by thousands of events.
    """

    partition: int
    keys: Keys
    timing: Timing
    cap: LabelCap
    plan: WritePlan
    messages: dict[str, dict[str, str]]
    customers: dict[str, dict[str, str]]
    parked: Mapping[str, Sequence[bytes]]
    seen: set[str]
    """Event ids of the topic being planned already applied, this batch's included."""
    totals_key: str = ""
    parked_now: dict[str, list[bytes]] = field(default_factory=dict)
    """Events this batch parked, per message, until a sent in the same batch replays them."""
    parked_count: int = 0
    """Messages with parked events, this batch's included (bounded by max_parked_messages)."""
    park_lengths: Mapping[str, int] = field(default_factory=dict)
    late_ids: set[str] = field(default_factory=set)
    accounts: dict[str, dict[str, str]] = field(default_factory=dict)
    """Account states as this batch leaves them (the snapshot's, overlaid)."""
    agent_cap: AgentCap | None = None
    """The per-tenant agent cap; without it ``agent`` is capped like any label."""
    _labels: dict[tuple[str, str], str] = field(default_factory=dict)
    _agents: dict[tuple[str, str], str] = field(default_factory=dict)
    _dims: dict[str, dict[str, str]] = field(default_factory=dict)
    _seen_keys: dict[tuple[str, int], str] = field(default_factory=dict)
    _fields: dict[tuple[str, tuple[str, ...]], str] = field(default_factory=dict)
    _dims_fields: dict[str, dict[str, str]] = field(default_factory=dict)
    _campaign_fields: dict[tuple[str, str], str] = field(default_factory=dict)
    send_slots: dict[tuple[str, int], tuple[tuple[str, str], ...]] = field(default_factory=dict)
    """(packed labels, send minute) -> (ledger key, field after the stage) per ledger: K21's
    memo (store.send_time)."""
    _buckets: dict[tuple[int, int], str] = field(default_factory=dict)
    _buckets_at: dict[int, tuple[str, ...]] = field(default_factory=dict)
    _buckets_at_s: int = 1
    """Seconds that share their bucket keys: the fine bucket when it divides the coarse one."""
    message_prefix: str = ""
    """``keys.message(partition, "")``: a message's key is this plus its id."""
    _late_before_s: int = 0
    _granularities: tuple[tuple[int, int], ...] = ()

    @classmethod
    def start(
        cls, partition: int, snapshot: Snapshot, keys: Keys, timing: Timing, cap: LabelCap
    ) -> BatchContext:
        ctx = cls(
            partition=partition,
            keys=keys,
            timing=timing,
            cap=cap,
            plan=WritePlan(),
            messages={mid: dict(state) for mid, state in snapshot.messages.items()},
            customers={cid: dict(state) for cid, state in snapshot.customers.items()},
            parked=snapshot.parked,
            seen=set(),  # per topic: ``plan_partition`` sets it from ``snapshot.seen``
            parked_count=snapshot.parked_count,
            park_lengths=snapshot.park_lengths,
            accounts={aid: dict(state) for aid, state in snapshot.accounts.items()},
        )
        ctx.totals_key = keys.totals(partition)
        ctx.message_prefix = keys.message(partition, "")
        ctx._late_before_s = timing.now_s - timing.retention_s
        if timing.bucket_s >= COARSE_BUCKET_S:
            ctx._granularities = ((timing.bucket_s, timing.retention_s),)
        else:
            ctx._granularities = (
                (timing.bucket_s, timing.fine_ttl_s),
                (COARSE_BUCKET_S, timing.retention_s),
            )
        if timing.bucket_s > 0 and all(g % timing.bucket_s == 0 for g, _ in ctx._granularities):
            ctx._buckets_at_s = timing.bucket_s
        return ctx

    def label(self, name: str, value: str) -> str:
        """The reported value of a capped label; overflows are counted."""
        if not value:
            return value
        # memoised per batch: the cap (a regex scan and a registry lookup) is
        # the same for every event naming the same campaign, variant or tenant
        reported = self._labels.get((name, value))
        if reported is None:
            reported = self._labels[(name, value)] = self.cap(name, value)
        if reported != value:
            self.total("label_overflows", {"label": name})
        return reported

    def agent(self, tenant: str | None, agent_id: str | None) -> str:
        """The reported ``agent`` label of ``agent_id`` in the event's (uncapped) tenant;
        overflows are counted like any label's."""
        if not agent_id:
            return ""
        if self.agent_cap is None:
            return self.label("agent", agent_id)
        reported = self._agents.get((tenant or "", agent_id))
        if reported is None:
            reported = self._agents[(tenant or "", agent_id)] = self.agent_cap(
                tenant or "", agent_id
            )
        if reported != agent_id:
            self.total("label_overflows", {"label": "agent"})
        return reported

    def dims(self, packed: str) -> Mapping[str, str]:
        """A message's funnel labels from its stored ``d`` field, memoised for the batch.

        Callers must not mutate the result: it is shared by every message of the
        same campaign, variant, segment, tenant and channel.
        """
        labels = self._dims.get(packed)
        if labels is None:
            labels = self._dims[packed] = dict(
                zip(FUNNEL_DIMS, packed.split(FIELD_SEP), strict=True)
            )
        return labels

    def seen_key(self, topic: str, occurred_s: int) -> str:
        """The dedupe set of ``topic`` for the day of ``occurred_s``; its TTL is planned once."""
        day = occurred_s // DAY_S
        key = self._seen_keys.get((topic, day))
        if key is None:
            key = self._seen_keys[(topic, day)] = self.keys.seen(self.partition, topic, occurred_s)
            # The horizon is processing time (kpi-catalog section 6): a set lives the
            # horizon past its last addition, so a retried event of any age is still
            # caught; recent days keep theirs until the day's end plus the horizon.
            day_end_s = (day + 1) * DAY_S
            horizon_s = self.timing.dedupe_horizon_s
            self.plan.expire_in(key, max(day_end_s + horizon_s - self.timing.now_s, horizon_s, 1))
        return key

    def field(self, counter: str, labels: Mapping[str, str]) -> str:
        """``counter_field``, memoised for the batch."""
        cache_key = (counter, tuple(labels.values()))
        name = self._fields.get(cache_key)
        if name is None:
            name = self._fields[cache_key] = counter_field(counter, labels)
        return name

    def dims_field(self, counter: str, packed: str) -> str:
        """``counter_field`` of a message's funnel labels (its ``d`` field), memoised.

        Keyed by the packed string itself, so the hot path builds no tuple or dict.
        """
        fields = self._dims_fields.get(packed)
        if fields is None:
            fields = self._dims_fields[packed] = {}
        name = fields.get(counter)
        if name is None:
            name = fields[counter] = counter_field(counter, self.dims(packed))
        return name

    def campaign_field(self, name: str, packed: str) -> str:
        """``<name><SEP><campaign><SEP><tenant>`` of a message's funnel labels, memoised."""
        text = self._campaign_fields.get((name, packed))
        if text is None:
            labels = self.dims(packed)
            text = self._campaign_fields[(name, packed)] = FIELD_SEP.join(
                (name, labels["campaign"], labels["tenant"])
            )
        return text

    def total(self, counter: str, labels: Mapping[str, str], amount: int = 1) -> None:
        self.plan.incr[(self.totals_key, self.field(counter, labels))] += amount

    def quality(self, counter: str, topic: Topic | str, **labels: str) -> None:
        self.total(counter, {"topic": str(topic), **labels})

    def count_late(self, event: EventBase) -> None:
        """``events_late`` once per event, however many of its counters were past retention."""
        if event.event_id not in self.late_ids:
            self.late_ids.add(event.event_id)
            self.quality("events_late", event.topic)

    def is_late(self, at_s: int) -> bool:
        return at_s < self._late_before_s

    def windowed(self, counter: str, labels: Mapping[str, str], at_s: int, amount: int = 1) -> bool:
        """Count in the buckets of ``at_s`` and the total; False (late) when past retention."""
        return self.count(self.field(counter, labels), at_s, amount)

    def count(self, name: str, at_s: int, amount: int = 1) -> bool:
        """``windowed`` for a counter field already built (``field``, ``dims_field``)."""
        incr = self.plan.incr
        incr[(self.totals_key, name)] += amount
        if at_s < self._late_before_s:
            return False
        buckets = self._buckets_at.get(at_s // self._buckets_at_s)
        if buckets is None:
            buckets = self._buckets_of(at_s)
        for key in buckets:
            incr[(key, name)] += amount
        return True

    def _buckets_of(self, at_s: int) -> tuple[str, ...]:
        """The bucket keys ``at_s`` counts in, memoised for every second sharing them."""
        buckets = tuple(
            [
                self._bucket(gran_s, at_s - at_s % gran_s, ttl_s)
                for gran_s, ttl_s in self._granularities
            ]
        )
        self._buckets_at[at_s // self._buckets_at_s] = buckets
        return buckets

    def _bucket(self, gran_s: int, start_s: int, ttl_s: int) -> str:
        key = self._buckets.get((gran_s, start_s))
        if key is None:
            key = self._buckets[(gran_s, start_s)] = self.keys.bucket(
                self.partition, gran_s, start_s
            )
            self.plan.expire_in(key, start_s + gran_s + ttl_s - self.timing.now_s)
        return key

    @property
    def granularities(self) -> tuple[tuple[int, int], ...]:
        """(bucket size, TTL after the bucket's end) of every bucket family, in seconds."""
        return self._granularities

    def unique(self, what: str, labels: Mapping[str, str], at_s: int, member: str) -> None:
        """Add ``member`` to the HyperLogLogs of ``at_s``'s buckets."""
        if self.is_late(at_s):
            return
        name = self.field(what, labels)
        self.plan.remember(self.keys.unique_names(self.partition), name)
        for gran_s, ttl_s in self._granularities:
            start = at_s - at_s % gran_s
            key = self.keys.uniques(self.partition, gran_s, start, name)
            self.plan.count_unique(key, member)
            self.plan.expire_in(key, start + gran_s + ttl_s - self.timing.now_s)

    def observe(
        self, histogram: str, labels: Mapping[str, str], seconds: float, count: int = 1
    ) -> None:
        """One observation of an all-time histogram (negative ones dropped); sums in ms.

        ``count=-1`` takes back an observation made earlier, when a join moved it.
        """
        if seconds < 0:
            return
        self._observe(histogram, counter_field(histogram, labels), seconds, count)

    def observe_dims(self, histogram: str, packed: str, seconds: float, count: int = 1) -> None:
        """``observe`` with a message's packed funnel labels (see ``dims_field``)."""
        if seconds < 0:
            return
        self._observe(histogram, self.dims_field(histogram, packed), seconds, count)

    def _observe(self, histogram: str, series: str, seconds: float, count: int = 1) -> None:
        # ``series`` is the histogram's counter field; bucket fields append the index
        index = bucket_index(seconds, HISTOGRAM_BOUNDS[histogram])
        incr = self.plan.incr
        incr[(self.totals_key, f"{series}{FIELD_SEP}{index}")] += count
        incr[(self.totals_key, f"{series}{FIELD_SEP}sum_ms")] += count * round(seconds * 1000)

    def observe_many(
        self, histogram: str, labels: Mapping[str, str], seconds: Sequence[float]
    ) -> None:
        """Many observations of one histogram series, aggregated before they reach the plan."""
        bounds = HISTOGRAM_BOUNDS[histogram]
        counts: dict[int, int] = {}
        total_ms = 0
        for value in seconds:
            if value >= 0:  # also false for NaN, the other value bucket_index refuses
                index = bisect_left(bounds, value)  # bucket_index, inlined: once per record
                counts[index] = counts.get(index, 0) + 1
                total_ms += round(value * 1000)
        incr = self.plan.incr
        for index, count in counts.items():
            incr[(self.totals_key, histogram_field(histogram, labels, index))] += count
        if counts:
            incr[(self.totals_key, histogram_field(histogram, labels, "sum_ms"))] += total_ms
