"""What the read phase of one batch must fetch: seen-set lookups and joined states.

``store.writer`` collects it from the batch's records (``add_wanted``), then reads it
all in one read.lua call per partition.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from collectpulse.events.decode import Invalid
from collectpulse.events.keys import dedupe_id
from collectpulse.events.models import (
    AccountEvent,
    BounceEvent,
    ClickEvent,
    DeliveryEvent,
    OpenEvent,
    PaymentEvent,
    PromiseEvent,
    Topic,
)
from collectpulse.store.context import Record
from collectpulse.store.keys import DAY_S, Keys


@dataclass
class Wanted:
    """What the read phase must fetch for one batch."""

    seen: dict[str, defaultdict[str, list[str]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    """Topic -> seen-set key -> the event ids to look up in it."""
    messages: dict[str, None] = field(default_factory=dict)
    sent: list[str] = field(default_factory=list)
    customers: dict[str, None] = field(default_factory=dict)
    may_park: dict[str, None] = field(default_factory=dict)
    """Messages with a non-sent event: parked if they have no state (bounds need counts)."""
    accounts: dict[str, None] = field(default_factory=dict)


def add_wanted(
    wanted: Wanted, topic: Topic, partition: int, records: Sequence[Record], keys: Keys
) -> None:
    """Add what planning ``records`` of ``topic`` needs to read."""
    seen_keys: dict[int, list[str]] = {}
    by_key = wanted.seen[topic.value]
    for record in records:
        event = record.event
        if isinstance(event, Invalid):
            continue
        day = record.event_s(event) // DAY_S
        ids = seen_keys.get(day)
        if ids is None:
            ids = seen_keys[day] = by_key[keys.seen(partition, topic.value, day * DAY_S)]
        ids.append(dedupe_id(event))
        if isinstance(event, DeliveryEvent | BounceEvent | OpenEvent | ClickEvent):
            wanted.messages[event.message_id] = None
            if isinstance(event, DeliveryEvent) and event.status == "sent":
                wanted.sent.append(event.message_id)
            else:
                wanted.may_park[event.message_id] = None
        elif isinstance(event, PaymentEvent | PromiseEvent):
            wanted.customers[event.customer_id] = None
        elif isinstance(event, AccountEvent):
            wanted.accounts[event.account_id] = None
            wanted.customers[event.customer_id] = None  # store.allocation, K8 credit history
