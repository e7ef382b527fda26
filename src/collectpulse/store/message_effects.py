"""The message join: sent / delivery / bounce / open / click rules, cohort-counted.

Per-message state (``cp:{pN}:m:<id>``) is a one-way state machine: a message
counts as sent, delivered, bounced per type, opened (and human-opened) and
clicked at most once, always in the bucket of its send time. Events that come
before their ``sent`` are parked and replayed when it arrives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from collectpulse.events.decode import Invalid, decode
from collectpulse.events.models import (
    BounceEvent,
    ClickEvent,
    DeliveryEvent,
    EventBase,
    OpenEvent,
    Topic,
)
from collectpulse.store import send_time
from collectpulse.store.context import PARK_SEP, BatchContext
from collectpulse.store.fields import counter_field
from collectpulse.store.keys import FIELD_SEP, Keys
from collectpulse.store.plan import WritePlan
from collectpulse.store.touches import Touch, TouchKind, dumps_exact

FIRST_DELIVERED = "first_delivered_s"
UNTRACKED_CHANNELS = frozenset({"letter"})
"""Channels without delivery receipts; their sends are repartitioned to the customer."""
LAST_VIEW = "last_view_s"


def apply_message_event(ctx: BatchContext, event: EventBase, raw: bytes, at_s: int) -> None:
    if isinstance(event, DeliveryEvent):
        if event.status == "sent":
            _on_sent(ctx, event, at_s)
        else:
            _on_delivered(ctx, event, raw, at_s)
    elif isinstance(event, BounceEvent):
        _on_bounce(ctx, event, raw, at_s)
    elif isinstance(event, OpenEvent):
        _on_open(ctx, event, raw, at_s)
    elif isinstance(event, ClickEvent):
        _on_click(ctx, event, raw, at_s)


def _state_or_park(
    ctx: BatchContext, event: EventBase, raw: bytes, message_id: str
) -> dict[str, str] | None:
    """The joined message's state, or None after parking ``event`` until its sent arrives."""
    state = ctx.messages.get(message_id)
    if state and "t" in state:
        return state
    if not _room_to_park(ctx, event, message_id):
        return None
    park_key = ctx.keys.park(ctx.partition, message_id)
    entry = f"{event.topic.value}{PARK_SEP}{raw.decode()}"
    ctx.parked_now.setdefault(message_id, []).append(entry.encode())
    ctx.plan.push(park_key, entry)
    ctx.plan.index(ctx.keys.parked(ctx.partition), message_id, ctx.timing.now_s)
    ctx.plan.expire_in(park_key, ctx.timing.retention_s)
    return None


def _room_to_park(ctx: BatchContext, event: EventBase, message_id: str) -> bool:
    """Whether the parking bounds leave room for ``event``; if not, it is an orphan now.

    Bounded per message (a flood of opens for one unknown message) and per
    partition (a producer whose sents never arrive), so parked state cannot grow
    faster than the orphan sweep removes it. Refused events are counted, never dropped
    silently: in ``events_orphaned`` and in ``state_limit_hits`` by the bound hit.
    """
    parked = ctx.park_lengths.get(message_id, 0) + len(ctx.parked_now.get(message_id, ()))
    if parked >= ctx.timing.max_parked_per_message:
        limit = "max_parked_per_message"
    elif parked == 0 and ctx.parked_count >= ctx.timing.max_parked_messages:
        limit = "max_parked_messages"
    else:
        if parked == 0:
            ctx.parked_count += 1  # a new member of the partition's parked index
        return True
    ctx.quality("events_orphaned", event.topic)
    ctx.total("state_limit_hits", {"limit": limit})
    return False


def _update(ctx: BatchContext, message_id: str, state: dict[str, str], **values: str) -> None:
    state.update(values)
    ctx.plan.set_fields(ctx.message_prefix + message_id, values)  # keys.message


def _funnel(
    ctx: BatchContext, counter: str, state: Mapping[str, str], event: EventBase, **extra: str
) -> None:
    if extra:
        name = ctx.field(counter, {**ctx.dims(state["d"]), **extra})
    else:
        name = ctx.dims_field(counter, state["d"])
    if not ctx.count(name, int(state["t"])):
        ctx.count_late(event)


def _slot(ctx: BatchContext, stage: str, state: Mapping[str, str]) -> None:
    """K21: the message's stage in the local weekday and hour of its send."""
    send_time.count(ctx, stage, state["d"], int(state["t"]))


def _touch(
    ctx: BatchContext, kind: TouchKind, message_id: str, state: Mapping[str, str], at_s: int
) -> None:
    """Tell the customer side (repartitioned by customer_id) about this message."""
    customer_id = state.get("c")
    if not customer_id:
        return
    if message_id:
        # Touch(...).encode() without building the frozen dataclass (one per
        # delivery, open and click); a unit test pins the two to the same bytes.
        value = {
            "k": kind,
            "c": customer_id,
            "t": at_s,
            "m": message_id,
            "s": int(state["t"]),
            "d": state["d"],
        }
        ctx.plan.outbox.append((customer_id.encode(), dumps_exact(value)))
    else:
        touch = Touch(kind, customer_id, at_s, message_id, int(state["t"]), state["d"])
        ctx.plan.outbox.append(touch.encode())


def _on_sent(ctx: BatchContext, event: DeliveryEvent, at_s: int) -> None:
    state = ctx.messages.setdefault(event.message_id, {})
    if "t" in state:
        return  # a message counts as sent once, whichever system reports it first
    labels = (
        event.channel,
        ctx.label("campaign", event.campaign or ""),
        ctx.label("variant", event.variant or ""),
        ctx.label("segment", event.segment),
        ctx.label("tenant", event.tenant or ""),
    )
    packed = FIELD_SEP.join(labels)
    _update(ctx, event.message_id, state, t=str(at_s), d=packed, c=event.customer_id or "")
    ctx.plan.expire_in(
        ctx.message_prefix + event.message_id,  # keys.message
        max(at_s + ctx.timing.retention_s - ctx.timing.now_s, 1),
    )
    if not ctx.count(ctx.dims_field("messages_sent", packed), at_s):
        ctx.count_late(event)
    if event.channel in UNTRACKED_CHANNELS:
        # No delivery receipt will follow: the customer side learns of the
        # message now, so a payment naming it can still be attributed.
        _touch(ctx, "sent", event.message_id, state, at_s)
    # Events parked before this sent (earlier batches, then this one) are
    # replayed in arrival order; the park list and its index entry go away.
    if event.message_id not in ctx.parked and event.message_id not in ctx.parked_now:
        return
    waiting = [*ctx.parked.get(event.message_id, ()), *ctx.parked_now.pop(event.message_id, ())]
    if waiting:
        ctx.parked_count -= 1
        park_key = ctx.keys.park(ctx.partition, event.message_id)
        ctx.plan.drop(park_key)
        ctx.plan.rpush.pop(park_key, None)
        ctx.plan.unindex(ctx.keys.parked(ctx.partition), event.message_id)
        ctx.plan.zadd_nx.get(ctx.keys.parked(ctx.partition), {}).pop(event.message_id, None)
    for parked in waiting:
        _replay_parked(ctx, parked)


def _replay_parked(ctx: BatchContext, parked: bytes) -> None:
    """Apply a parked event now that its sent is known (it was deduped when parked)."""
    topic, raw = split_parked(parked)
    event = decode(topic, raw, max_bytes=ctx.timing.max_event_bytes)
    if not isinstance(event, Invalid):
        apply_message_event(ctx, event, raw, int(event.occurred_at.timestamp()))


def split_parked(parked: bytes) -> tuple[Topic, bytes]:
    """A parked list entry is ``<topic>\\x1e<raw event JSON>``."""
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


def _on_delivered(ctx: BatchContext, event: DeliveryEvent, raw: bytes, at_s: int) -> None:
    state = _state_or_park(ctx, event, raw, event.message_id)
    if state is None:
        return
    if "dl" not in state:
        _update(ctx, event.message_id, state, dl=str(at_s))
        _funnel(ctx, "messages_delivered", state, event)
        _slot(ctx, "delivered", state)
        _touch(ctx, "delivered", event.message_id, state, at_s)
        # counter_field picks campaign and tenant out of the funnel labels
        ctx.count(ctx.dims_field("campaign_deliveries", state["d"]), at_s)
        first = ctx.campaign_field(FIRST_DELIVERED, state["d"])
        ctx.plan.keep_min(ctx.totals_key, first, at_s)
    elif at_s < int(state["dl"]):
        # an earlier report of the same delivery arrived later: the earliest one
        # counts, in the campaign's delivery-time buckets and for attribution
        deliveries = ctx.dims_field("campaign_deliveries", state["d"])
        ctx.count(deliveries, int(state["dl"]), -1)
        ctx.count(deliveries, at_s)
        ctx.plan.keep_min(ctx.totals_key, ctx.campaign_field(FIRST_DELIVERED, state["d"]), at_s)
        _update(ctx, event.message_id, state, dl=str(at_s))
        _touch(ctx, "delivered", event.message_id, state, at_s)


def _on_bounce(ctx: BatchContext, event: BounceEvent, raw: bytes, at_s: int) -> None:
    state = _state_or_park(ctx, event, raw, event.message_id)
    flag = "bh" if event.bounce_type == "hard" else "bs"
    if state is None or flag in state:
        return
    first_bounce = "bh" not in state and "bs" not in state
    _update(ctx, event.message_id, state, **{flag: str(at_s)})
    _funnel(ctx, "messages_bounced", state, event, bounce_type=event.bounce_type)
    if first_bounce:
        _funnel(ctx, "messages_bounced_any", state, event)


def _on_open(ctx: BatchContext, event: OpenEvent, raw: bytes, at_s: int) -> None:
    state = _state_or_park(ctx, event, raw, event.message_id)
    if state is None:
        return
    _first_or_earlier(ctx, event, state, at_s, flag="o", counter="messages_opened", kind="opened")
    if not event.machine and "oh" not in state:
        _update(ctx, event.message_id, state, oh=str(at_s))
        _funnel(ctx, "messages_opened_human", state, event)
        _slot(ctx, "opened_human", state)


def _on_click(ctx: BatchContext, event: ClickEvent, raw: bytes, at_s: int) -> None:
    state = _state_or_park(ctx, event, raw, event.message_id)
    if state is not None:
        _first_or_earlier(
            ctx, event, state, at_s, flag="k", counter="messages_clicked", kind="clicked"
        )


def _first_or_earlier(
    ctx: BatchContext,
    event: OpenEvent | ClickEvent,
    state: dict[str, str],
    at_s: int,
    *,
    flag: str,
    counter: str,
    kind: TouchKind,
) -> None:
    """Count a message's first open or click once; its earliest time is the one observed."""
    histogram = "send_to_open_seconds" if kind == "opened" else "send_to_click_seconds"
    if flag not in state:
        _update(ctx, event.message_id, state, **{flag: str(at_s)})
        _funnel(ctx, counter, state, event)
        if kind == "clicked":
            _slot(ctx, "clicked", state)
        ctx.observe_dims(histogram, state["d"], at_s - int(state["t"]))
        _touch(ctx, kind, event.message_id, state, at_s)
    elif at_s < int(state[flag]):
        _earlier(ctx, histogram, flag, kind, event.message_id, state, at_s)


def _earlier(
    ctx: BatchContext,
    histogram: str,
    flag: str,
    kind: TouchKind,
    message_id: str,
    state: dict[str, str],
    at_s: int,
) -> None:
    """An open or click earlier than the one counted arrived later: the message's
    earliest one is what the histogram observes and the customer side knows."""
    sent_s = int(state["t"])
    ctx.observe_dims(histogram, state["d"], int(state[flag]) - sent_s, count=-1)
    ctx.observe_dims(histogram, state["d"], at_s - sent_s)
    _update(ctx, message_id, state, **{flag: str(at_s)})
    _touch(ctx, kind, message_id, state, at_s)
