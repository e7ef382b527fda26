"""Which Kafka record key each canonical topic must carry, and checking it.

Kafka routes a record to a partition by its key. The per-message state
(sent -> delivered/bounced -> opened -> clicked) is joined across the
`delivery`, `bounce`, `open` and `click` topics, so those are keyed by
`message_id` and co-partitioned: one worker then sees every event of a
message. Payments and promises are per customer (struggling customers,
attribution to a customer's latest message), so they are keyed by
`customer_id`; page views by `visitor_id`, the unit of unique-visitor counts.
Contacts are keyed by `customer_id` too (co-partitioned with payments and
promises, kpi-catalog section 8), except an unidentified inbound contact, which
has no customer: it is keyed by its `contact_id`.
"""

from collections.abc import Mapping
from types import MappingProxyType

from collectpulse.events.models import ContactEvent, EventBase, Topic

KEY_FIELD: Mapping[Topic, str] = MappingProxyType(
    {
        Topic.DELIVERY: "message_id",
        Topic.BOUNCE: "message_id",
        Topic.OPEN: "message_id",
        Topic.CLICK: "message_id",
        Topic.PAGEVIEW: "visitor_id",
        Topic.PAYMENT: "customer_id",
        Topic.PROMISE: "customer_id",
        # co-partitioned with payment and promise: a customer's accounts share their partition
        Topic.ACCOUNT: "customer_id",
        Topic.CONTACT: "customer_id",
    }
)


def key_field(event: EventBase) -> str:
    """The field whose value is `event`'s Kafka key."""
    if isinstance(event, ContactEvent) and event.customer_id is None:
        return "contact_id"
    return KEY_FIELD[event.topic]


def partition_key(event: EventBase) -> bytes:
    """Return the Kafka key `event` must be produced with (UTF-8 of its key field)."""
    value: str = getattr(event, key_field(event))
    return value.encode()


def dedupe_id(event: EventBase) -> str:
    """The id a repeat of `event` is recognised by: its `event_id`, but a contact's
    `contact_id` (a second event for one attempt is a duplicate, kpi-catalog section 8)."""
    if isinstance(event, ContactEvent):
        return event.contact_id
    return event.event_id


def key_mismatch(event: EventBase, key: bytes | None) -> str | None:
    """Describe why `key` is not the key `event` must carry, or return None if it is.

    The text names only the expected field, never a value: keys are customer
    ids. A mismatch is counted, not rejected: the event is still valid, but
    joins on its partition may miss state held by another worker.
    """
    if key == partition_key(event):
        return None
    field = key_field(event)
    if not key:
        return f"record has no key; expected {field}"
    return f"record key is not the event's {field}"
