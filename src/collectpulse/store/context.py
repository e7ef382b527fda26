"""The inputs of batch planning and the per-batch context the effect rules write through.

Pure data and arithmetic: bucket placement, TTLs, label capping and counter
fields. The rules themselves live in ``message_effects`` (the message join)
and ``customer_effects`` (payments, promises, landing, attribution).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from collectpulse.events.decode import Invalid
from collectpulse.events.models import EventBase, Topic
from collectpulse.kpi.definitions import HISTOGRAMS
from collectpulse.kpi.histograms import bucket_index
from collectpulse.store.fields import counter_field, histogram_field
from collectpulse.store.keys import Keys
from collectpulse.store.plan import WritePlan

COARSE_BUCKET_S = 3600
FUNNEL_DIMS = ("channel", "campaign", "variant", "segment", "tenant")
PARK_SEP = "\x1e"
HISTOGRAM_BOUNDS = {h.name: h.buckets_s for h in HISTOGRAMS}


@dataclass(frozen=True, slots=True)
class Record:
    """One Kafka record after decoding; ``raw`` is kept for parking and the DLQ."""

    offset: int
    raw: bytes
    event: EventBase | Invalid
    timestamp_ms: int = 0
    """The Kafka record timestamp (publish time); 0 when unknown."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The partition state the plan is computed against (read under ``version``)."""

    version: str
    applied_offset: int
    seen_ids: frozenset[str] = frozenset()
    messages: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    parked: Mapping[str, Sequence[bytes]] = field(default_factory=dict)
    customers: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


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


LabelCap = Callable[[str, str], str]
"""Maps (label name, value) to the value to report (the value or ``__other__``)."""


@dataclass
class BatchContext:
    """What one batch's rules read (snapshot overlays) and write (the plan)."""

    partition: int
    keys: Keys
    timing: Timing
    cap: LabelCap
    plan: WritePlan
    messages: dict[str, dict[str, str]]
    customers: dict[str, dict[str, str]]
    parked: Mapping[str, Sequence[bytes]]
    seen: set[str]

    @classmethod
    def start(
        cls, partition: int, snapshot: Snapshot, keys: Keys, timing: Timing, cap: LabelCap
    ) -> BatchContext:
        return cls(
            partition=partition,
            keys=keys,
            timing=timing,
            cap=cap,
            plan=WritePlan(),
            messages={mid: dict(state) for mid, state in snapshot.messages.items()},
            customers={cid: dict(state) for cid, state in snapshot.customers.items()},
            parked=snapshot.parked,
            seen=set(snapshot.seen_ids),
        )

    def label(self, name: str, value: str) -> str:
        """The reported value of a capped label; overflows are counted."""
        if not value:
            return value
        reported = self.cap(name, value)
        if reported != value:
            self.total("label_overflows", {"label": name})
        return reported

    def total(self, counter: str, labels: Mapping[str, str], amount: int = 1) -> None:
        self.plan.add(self.keys.totals(self.partition), counter_field(counter, labels), amount)

    def quality(self, counter: str, topic: Topic | str, **labels: str) -> None:
        self.total(counter, {"topic": str(topic), **labels})

    def is_late(self, at_s: int) -> bool:
        return at_s < self.timing.now_s - self.timing.retention_s

    def windowed(self, counter: str, labels: Mapping[str, str], at_s: int, amount: int = 1) -> bool:
        """Count in the buckets of ``at_s`` and the total; False (late) when past retention."""
        self.total(counter, labels, amount)
        if self.is_late(at_s):
            return False
        name = counter_field(counter, labels)
        for gran_s, ttl_s in self._granularities():
            start = at_s - at_s % gran_s
            key = self.keys.bucket(self.partition, gran_s, start)
            self.plan.add(key, name, amount)
            self.plan.expire_in(key, start + gran_s + ttl_s - self.timing.now_s)
        return True

    def unique(self, what: str, labels: Mapping[str, str], at_s: int, member: str) -> None:
        """Add ``member`` to the HyperLogLogs of ``at_s``'s buckets."""
        if self.is_late(at_s):
            return
        name = counter_field(what, labels)
        self.plan.remember(self.keys.unique_names(self.partition), name)
        for gran_s, ttl_s in self._granularities():
            start = at_s - at_s % gran_s
            key = self.keys.uniques(self.partition, gran_s, start, name)
            self.plan.count_unique(key, member)
            self.plan.expire_in(key, start + gran_s + ttl_s - self.timing.now_s)

    def observe(self, histogram: str, labels: Mapping[str, str], seconds: float) -> None:
        """One observation of an all-time histogram (negative ones dropped); sums in ms."""
        if seconds < 0:
            return
        key = self.keys.totals(self.partition)
        index = bucket_index(seconds, HISTOGRAM_BOUNDS[histogram])
        self.plan.add(key, histogram_field(histogram, labels, index))
        self.plan.add(key, histogram_field(histogram, labels, "sum_ms"), round(seconds * 1000))

    def _granularities(self) -> tuple[tuple[int, int], ...]:
        t = self.timing
        if t.bucket_s >= COARSE_BUCKET_S:
            return ((t.bucket_s, t.retention_s),)
        return ((t.bucket_s, t.fine_ttl_s), (COARSE_BUCKET_S, t.retention_s))
