"""What one batch of decoded records does to the store: pure planning, no I/O.

The read phase (``store.writer``) fetches a ``Snapshot`` of the partition;
``plan_partition`` turns records plus snapshot into a ``WritePlan`` that write.lua
applies atomically together with the partition's offsets. Keeping this pure
keeps every counting rule testable without servers.

Rules (kpi-catalog sections 3-6): every record counts as received; an invalid
one as invalid and dead-lettered; an ``event_id`` already seen within the
dedupe horizon as a duplicate and nothing else. Valid events then follow the
message-join rules (``message_effects``) or the landing / payment / promise
rules (``customer_effects``) or the contact rules (``contact_effects``; a
contact is deduped on its ``contact_id``); events whose bucket is past retention count in
totals and ``events_late`` only.
"""

from __future__ import annotations

from collections.abc import Sequence

from collectpulse.events.decode import Invalid
from collectpulse.events.keys import dedupe_id
from collectpulse.events.models import (
    AccountEvent,
    ContactEvent,
    EventBase,
    PageviewEvent,
    PaymentEvent,
    PromiseEvent,
    Topic,
)
from collectpulse.store.account_effects import apply_account
from collectpulse.store.contact_effects import apply_contact, mark_counting
from collectpulse.store.context import (
    COARSE_BUCKET_S,
    FUNNEL_DIMS,
    PARK_SEP,
    AgentCap,
    BatchContext,
    LabelCap,
    Record,
    Snapshot,
    Timing,
)
from collectpulse.store.customer_effects import (
    STRUGGLING_WINDOW_S,
    apply_pageview,
    apply_payment,
    apply_promise,
    apply_touch,
)
from collectpulse.store.keys import FIELD_SEP, Keys
from collectpulse.store.message_effects import apply_message_event, plan_orphans, split_parked
from collectpulse.store.plan import WritePlan
from collectpulse.store.touches import TOUCH_TOPIC, Touch

MESSAGE_TOPICS = frozenset({Topic.DELIVERY, Topic.BOUNCE, Topic.OPEN, Topic.CLICK})
CUSTOMER_TOPICS = frozenset({Topic.PAYMENT, Topic.PROMISE})

__all__ = [
    "COARSE_BUCKET_S",
    "CUSTOMER_TOPICS",
    "FUNNEL_DIMS",
    "MESSAGE_TOPICS",
    "PARK_SEP",
    "AgentCap",
    "LabelCap",
    "Record",
    "Snapshot",
    "Timing",
    "plan_orphans",
    "plan_partition",
    "split_parked",
]


def plan_partition(
    *,
    partition: int,
    events: Sequence[tuple[Topic, Sequence[Record]]],
    touches: Sequence[Touch | None],
    snapshot: Snapshot,
    keys: Keys,
    timing: Timing,
    cap: LabelCap,
    agent_cap: AgentCap | None = None,
) -> WritePlan:
    """Plan one write for several topics' records and touches of ``partition``.

    ``events`` holds each topic's records past its applied offset, ``touches``
    the repartitioned customer touches (``None`` for a record that was not one).
    Dedupe is per topic, as the ``seen`` sets are: ``snapshot.seen`` holds, per
    topic, the event ids already applied. The topics are planned one after the
    other on one context, so a ``sent`` and its message's other events in the
    same apply join without parking whenever the ``sent``'s topic comes first
    (``delivery`` is first in ``Topic``).
    """
    ctx = BatchContext.start(partition, snapshot, keys, timing, cap)
    ctx.agent_cap = agent_cap
    for topic, records in sorted(events, key=lambda part: _TOPIC_ORDER[part[0]]):
        ctx.seen = set(snapshot.seen.get(topic.value, ()))
        _plan_topic(ctx, topic, records)
    _plan_touches(ctx, touches)
    mark_counting(ctx, first_write=not snapshot.applied)
    return ctx.plan


_TOPIC_ORDER = {topic: i for i, topic in enumerate(Topic)}


def _plan_topic(ctx: BatchContext, topic: Topic, records: Sequence[Record]) -> None:
    if not records:
        return
    timing = ctx.timing
    now_ms = timing.now_ms or timing.now_s * 1000
    ctx.total("events_received", {"topic": topic.value}, len(records))
    lags = [(now_ms - r.timestamp_ms) / 1000 for r in records if r.timestamp_ms]
    ctx.observe_many("apply_lag_seconds", {"topic": topic.value}, lags)
    newest_s = -1
    for record in records:
        if isinstance(record.event, Invalid):
            ctx.quality("events_invalid", topic, reason=record.event.reason)
            ctx.quality("events_dead_lettered", topic)
            continue
        if not record.key_ok:
            ctx.quality("events_key_mismatch", topic)
        event = record.event
        newest_s = max(newest_s, _apply_new(ctx, event, record.raw, record.event_s(event)))
    if newest_s >= 0:
        ctx.plan.keep_max(ctx.totals_key, f"last_event_s{FIELD_SEP}{topic.value}", newest_s)
        # milliseconds: the processing lag of a live stream is well under a second
        newest_ms = newest_event_ms(records, newest_s)
        ctx.plan.keep_max(ctx.totals_key, f"last_event_ms{FIELD_SEP}{topic.value}", newest_ms)
        ctx.plan.keep_max(ctx.totals_key, f"last_applied_ms{FIELD_SEP}{topic.value}", now_ms)
    if topic is Topic.PAYMENT:
        stale_s = timing.now_s - 2 * STRUGGLING_WINDOW_S
        ctx.plan.trim_before(ctx.keys.struggling(ctx.partition), stale_s)


def newest_event_ms(records: Sequence[Record], newest_s: int) -> int:
    """The newest event time in milliseconds, given the newest in whole seconds.

    Only the events of that second are looked at again, and only their
    microseconds (an attribute read), so millisecond precision costs a batch
    little even when all its events share one second.
    """
    newest_us = max(
        event.occurred_at.microsecond
        for record in records
        if not isinstance(event := record.event, Invalid) and record.event_s(event) == newest_s
    )
    return newest_s * 1000 + newest_us // 1000


def _plan_touches(ctx: BatchContext, touches: Sequence[Touch | None]) -> None:
    for touch in touches:
        if touch is None:
            ctx.quality("events_invalid", TOUCH_TOPIC, reason="validation")
        else:
            apply_touch(ctx, touch)


def _apply_new(ctx: BatchContext, event: EventBase, raw: bytes, occurred_s: int) -> int:
    """Dedupe on event_id (a contact: contact_id), then apply the event's rules; returns its
    event time (s)."""
    topic = event.topic
    seen_id = dedupe_id(event)
    if seen_id in ctx.seen:
        ctx.quality("events_duplicate", topic)
        return occurred_s
    ctx.seen.add(seen_id)
    ctx.plan.remember(ctx.seen_key(topic.value, occurred_s), seen_id)
    if topic in MESSAGE_TOPICS:
        apply_message_event(ctx, event, raw, occurred_s)
    elif isinstance(event, PageviewEvent):
        apply_pageview(ctx, event, occurred_s)
    elif isinstance(event, PaymentEvent):
        apply_payment(ctx, event, occurred_s)
    elif isinstance(event, PromiseEvent):
        apply_promise(ctx, event, occurred_s)
    elif isinstance(event, AccountEvent):
        apply_account(ctx, event, occurred_s)
    elif isinstance(event, ContactEvent):
        apply_contact(ctx, event, occurred_s)
    return occurred_s
