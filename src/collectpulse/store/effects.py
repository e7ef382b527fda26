"""What one batch of decoded records does to the store: pure planning, no I/O.

The read phase (``store.redis_store``) fetches a ``Snapshot`` of the partition;
``plan_batch`` turns records plus snapshot into a ``WritePlan`` that write.lua
applies atomically together with the partition's offset. Keeping this pure
keeps every counting rule testable without servers.

Rules (kpi-catalog sections 3-6): message events join their message's ``sent``
for dimensions and count in its send bucket (cohort), once per message and
kind; events that arrive before their ``sent`` are parked; activity events
(pageview, payment, promise) count in their own bucket; events whose bucket is
past retention count in totals and ``events_late`` only; an ``event_id``
already seen within the dedupe horizon counts as a duplicate and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from collectpulse.events.decode import Invalid, decode
from collectpulse.events.models import (
    BounceEvent,
    ClickEvent,
    DeliveryEvent,
    EventBase,
    OpenEvent,
    PageviewEvent,
    PaymentEvent,
    PromiseEvent,
    Topic,
)
from collectpulse.kpi.histograms import bucket_index
from collectpulse.store.fields import counter_field, histogram_field
from collectpulse.store.keys import FIELD_SEP, Keys
from collectpulse.store.plan import WritePlan

MESSAGE_TOPICS = frozenset({Topic.DELIVERY, Topic.BOUNCE, Topic.OPEN, Topic.CLICK})
FUNNEL_DIMS = ("channel", "campaign", "variant", "segment", "tenant")
COARSE_BUCKET_S = 3600
PARK_SEP = "\x1e"


@dataclass(frozen=True, slots=True)
class Record:
    """One Kafka record after decoding; ``raw`` is kept for parking and the DLQ."""

    offset: int
    raw: bytes
    event: EventBase | Invalid


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The partition state the plan is computed against (read under ``version``)."""

    version: str
    applied_offset: int
    seen_ids: frozenset[str]
    messages: Mapping[str, Mapping[str, str]]
    parked: Mapping[str, Sequence[bytes]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Timing:
    """Bucket sizes and lifetimes, all in seconds, and the wall clock of this batch."""

    now_s: int
    bucket_s: int
    retention_s: int
    fine_ttl_s: int
    dedupe_horizon_s: int
    max_event_bytes: int


LabelCap = Callable[[str, str], str]
"""Maps (label name, value) to the value to report (the value or ``__other__``)."""


@dataclass
class _Batch:
    partition: int
    topic: Topic
    keys: Keys
    timing: Timing
    cap: LabelCap
    plan: WritePlan
    messages: dict[str, dict[str, str]]
    parked: Mapping[str, Sequence[bytes]]
    seen: set[str]

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

    def quality(self, counter: str, topic: Topic, **labels: str) -> None:
        self.total(counter, {"topic": topic.value, **labels})

    def windowed(self, counter: str, labels: Mapping[str, str], at_s: int, amount: int = 1) -> bool:
        """Count in the buckets of ``at_s`` and the total; False (late) when past retention."""
        self.total(counter, labels, amount)
        if at_s < self.timing.now_s - self.timing.retention_s:
            return False
        name = counter_field(counter, labels)
        for gran_s, ttl_s in self._granularities():
            start = at_s - at_s % gran_s
            key = self.keys.bucket(self.partition, gran_s, start)
            self.plan.add(key, name, amount)
            self.plan.expire_in(key, start + gran_s + ttl_s - self.timing.now_s)
        return True

    def unique(self, what: str, labels: Mapping[str, str], at_s: int, member: str) -> None:
        if at_s < self.timing.now_s - self.timing.retention_s:
            return
        name = counter_field(what, labels)
        self.plan.remember(self.keys.unique_names(self.partition), name)
        for gran_s, ttl_s in self._granularities():
            start = at_s - at_s % gran_s
            key = self.keys.uniques(self.partition, gran_s, start, name)
            self.plan.count_unique(key, member)
            self.plan.expire_in(key, start + gran_s + ttl_s - self.timing.now_s)

    def _granularities(self) -> tuple[tuple[int, int], ...]:
        t = self.timing
        if t.bucket_s >= COARSE_BUCKET_S:
            return ((t.bucket_s, t.retention_s),)
        return ((t.bucket_s, t.fine_ttl_s), (COARSE_BUCKET_S, t.retention_s))


def plan_batch(
    *,
    partition: int,
    topic: Topic,
    records: Sequence[Record],
    snapshot: Snapshot,
    keys: Keys,
    timing: Timing,
    cap: LabelCap,
) -> WritePlan:
    """Plan the effects of ``records`` (already past the applied offset) on ``partition``."""
    batch = _Batch(
        partition=partition,
        topic=topic,
        keys=keys,
        timing=timing,
        cap=cap,
        plan=WritePlan(),
        messages={mid: dict(state) for mid, state in snapshot.messages.items()},
        parked=snapshot.parked,
        seen=set(snapshot.seen_ids),
    )
    for record in records:
        batch.quality("events_received", topic)
        if isinstance(record.event, Invalid):
            batch.quality("events_invalid", topic, reason=record.event.reason)
            batch.quality("events_dead_lettered", topic)
            continue
        _apply_new(batch, record.event, record.raw)
    return batch.plan


def _apply_new(batch: _Batch, event: EventBase, raw: bytes) -> None:
    """Dedupe on event_id, then apply; also used for parked events on their sent."""
    occurred_s = int(event.occurred_at.timestamp())
    topic = event.topic
    if event.event_id in batch.seen:
        batch.quality("events_duplicate", topic)
        return
    batch.seen.add(event.event_id)
    seen_key = batch.keys.seen(batch.partition, topic.value, occurred_s)
    batch.plan.remember(seen_key, event.event_id)
    day_end_s = (occurred_s // 86_400 + 1) * 86_400
    batch.plan.expire_in(
        seen_key, max(day_end_s + batch.timing.dedupe_horizon_s - batch.timing.now_s, 1)
    )
    totals = batch.keys.totals(batch.partition)
    batch.plan.keep_max(totals, f"last_event_s{FIELD_SEP}{topic.value}", occurred_s)
    batch.plan.keep_max(totals, f"last_applied_s{FIELD_SEP}{topic.value}", batch.timing.now_s)
    _APPLY[topic](batch, event, raw, occurred_s)


def _message_state(
    batch: _Batch, event: EventBase, raw: bytes, message_id: str
) -> dict[str, str] | None:
    """The joined message's state, or None after parking ``event`` until its sent arrives."""
    state = batch.messages.get(message_id)
    if state and "t" in state:
        return state
    park_key = batch.keys.park(batch.partition, message_id)
    batch.plan.push(park_key, f"{event.topic.value}{PARK_SEP}{raw.decode()}")
    batch.plan.index(batch.keys.parked(batch.partition), message_id, batch.timing.now_s)
    batch.plan.expire_in(park_key, batch.timing.retention_s)
    return None


def _update(batch: _Batch, message_id: str, state: dict[str, str], **values: str) -> None:
    state.update(values)
    batch.plan.set_fields(batch.keys.message(batch.partition, message_id), values)


def _dims(state: Mapping[str, str]) -> dict[str, str]:
    return dict(zip(FUNNEL_DIMS, state["d"].split(FIELD_SEP), strict=True))


def _funnel(
    batch: _Batch, counter: str, state: Mapping[str, str], topic: Topic, **extra: str
) -> None:
    if not batch.windowed(counter, {**_dims(state), **extra}, int(state["t"])):
        batch.quality("events_late", topic)


def _response(batch: _Batch, histogram: str, state: Mapping[str, str], at_s: int) -> None:
    seconds = at_s - int(state["t"])
    if seconds < 0:
        return
    labels = _dims(state)
    key = batch.keys.totals(batch.partition)
    batch.plan.add(key, histogram_field(histogram, labels, bucket_index(seconds)))
    batch.plan.add(key, histogram_field(histogram, labels, "sum"), seconds)


def _on_delivery(batch: _Batch, event: EventBase, raw: bytes, at_s: int) -> None:
    assert isinstance(event, DeliveryEvent)
    if event.status == "sent":
        _on_sent(batch, event, at_s)
        return
    state = _message_state(batch, event, raw, event.message_id)
    if state is not None and "dl" not in state:
        _update(batch, event.message_id, state, dl=str(at_s))
        _funnel(batch, "messages_delivered", state, Topic.DELIVERY)


def _on_sent(batch: _Batch, event: DeliveryEvent, at_s: int) -> None:
    state = batch.messages.setdefault(event.message_id, {})
    if "t" in state:
        return  # a message counts as sent once, whichever system reports it first
    dims = (
        event.channel,
        batch.label("campaign", event.campaign or ""),
        batch.label("variant", event.variant or ""),
        batch.label("segment", event.segment),
        batch.label("tenant", event.tenant or ""),
    )
    key = batch.keys.message(batch.partition, event.message_id)
    _update(
        batch,
        event.message_id,
        state,
        t=str(at_s),
        d=FIELD_SEP.join(dims),
        c=event.customer_id or "",
    )
    batch.plan.expire_in(key, max(at_s + batch.timing.retention_s - batch.timing.now_s, 1))
    _funnel(batch, "messages_sent", state, Topic.DELIVERY)
    for parked in batch.parked.get(event.message_id, ()):
        _replay_parked(batch, parked)
    if event.message_id in batch.parked:
        batch.plan.drop(batch.keys.park(batch.partition, event.message_id))
        batch.plan.unindex(batch.keys.parked(batch.partition), event.message_id)


def _replay_parked(batch: _Batch, parked: bytes) -> None:
    """Apply a parked event now that its sent is known (it was deduped when parked)."""
    topic, raw = split_parked(parked)
    event = decode(topic, raw, max_bytes=batch.timing.max_event_bytes)
    if not isinstance(event, Invalid):
        _APPLY[topic](batch, event, raw, int(event.occurred_at.timestamp()))


def split_parked(parked: bytes) -> tuple[Topic, bytes]:
    """A parked list entry is ``<topic>\x1e<raw event JSON>``."""
    topic, _, raw = parked.partition(PARK_SEP.encode())
    return Topic(topic.decode()), raw


def plan_orphans(
    *, partition: int, expired: Mapping[str, Sequence[bytes]], keys: Keys
) -> WritePlan:
    """Count events parked longer than the orphan wait as orphans and drop them."""
    plan = WritePlan()
    totals = keys.totals(partition)
    for message_id, entries in expired.items():
        for parked in entries:
            topic, _ = split_parked(parked)
            plan.add(totals, counter_field("events_orphaned", {"topic": topic.value}))
        plan.drop(keys.park(partition, message_id))
        plan.unindex(keys.parked(partition), message_id)
    return plan


def _on_bounce(batch: _Batch, event: EventBase, raw: bytes, at_s: int) -> None:
    assert isinstance(event, BounceEvent)
    state = _message_state(batch, event, raw, event.message_id)
    flag = "bh" if event.bounce_type == "hard" else "bs"
    if state is None or flag in state:
        return
    first_bounce = "bh" not in state and "bs" not in state
    _update(batch, event.message_id, state, **{flag: str(at_s)})
    _funnel(batch, "messages_bounced", state, Topic.BOUNCE, bounce_type=event.bounce_type)
    if first_bounce:
        _funnel(batch, "messages_bounced_any", state, Topic.BOUNCE)


def _on_open(batch: _Batch, event: EventBase, raw: bytes, at_s: int) -> None:
    assert isinstance(event, OpenEvent)
    state = _message_state(batch, event, raw, event.message_id)
    if state is None:
        return
    if "o" not in state:
        _update(batch, event.message_id, state, o=str(at_s))
        _funnel(batch, "messages_opened", state, Topic.OPEN)
        _response(batch, "send_to_open_seconds", state, at_s)
    if not event.machine and "oh" not in state:
        _update(batch, event.message_id, state, oh=str(at_s))
        _funnel(batch, "messages_opened_human", state, Topic.OPEN)


def _on_click(batch: _Batch, event: EventBase, raw: bytes, at_s: int) -> None:
    assert isinstance(event, ClickEvent)
    state = _message_state(batch, event, raw, event.message_id)
    if state is None or "k" in state:
        return
    _update(batch, event.message_id, state, k=str(at_s))
    _funnel(batch, "messages_clicked", state, Topic.CLICK)
    _response(batch, "send_to_click_seconds", state, at_s)


def _on_pageview(batch: _Batch, event: EventBase, raw: bytes, at_s: int) -> None:
    assert isinstance(event, PageviewEvent)
    labels = {"source": event.source, "tenant": batch.label("tenant", event.tenant or "")}
    if not batch.windowed("landing_pageviews", labels, at_s):
        batch.quality("events_late", Topic.PAGEVIEW)
    batch.unique("landing_unique_visitors", labels, at_s, event.visitor_id)


def _on_payment(batch: _Batch, event: EventBase, raw: bytes, at_s: int) -> None:
    assert isinstance(event, PaymentEvent)
    tenant = batch.label("tenant", event.tenant or "")
    if not batch.windowed("payment_attempts", {"tenant": tenant, "status": event.status}, at_s):
        batch.quality("events_late", Topic.PAYMENT)
    if event.status == "succeeded":
        labels = {
            "tenant": tenant,
            "currency": event.currency,
            "agent": batch.label("agent", event.agent_id or ""),
        }
        batch.windowed("collected_amount_minor", labels, at_s, event.amount_minor)


def _on_promise(batch: _Batch, event: EventBase, raw: bytes, at_s: int) -> None:
    assert isinstance(event, PromiseEvent)
    labels = {
        "direction": event.direction,
        "kind": event.kind,
        "tenant": batch.label("tenant", event.tenant or ""),
        "status": event.status,
    }
    if not batch.windowed("promises", labels, at_s):
        batch.quality("events_late", Topic.PROMISE)


_APPLY: Mapping[Topic, Callable[[_Batch, EventBase, bytes, int], None]] = {
    Topic.DELIVERY: _on_delivery,
    Topic.BOUNCE: _on_bounce,
    Topic.OPEN: _on_open,
    Topic.CLICK: _on_click,
    Topic.PAGEVIEW: _on_pageview,
    Topic.PAYMENT: _on_payment,
    Topic.PROMISE: _on_promise,
}
