"""Canonical event payloads for tests, as upstream systems publish them (plain dicts)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import orjson

from collectpulse.events.decode import decode
from collectpulse.events.models import Topic
from collectpulse.store.context import Record

_ids = itertools.count()

Payload = dict[str, Any]


def iso(at_s: float) -> str:
    return datetime.fromtimestamp(at_s, UTC).isoformat()


def _envelope(topic: Topic, at_s: float, event_id: str | None) -> Payload:
    return {"event_id": event_id or f"{topic.value}-{next(_ids)}", "occurred_at": iso(at_s)}


def sent(
    message_id: str,
    at_s: float,
    *,
    campaign: str = "winback",
    variant: str = "a",
    channel: str = "email",
    customer_id: str = "cust-1",
    event_id: str | None = None,
) -> Payload:
    return {
        **_envelope(Topic.DELIVERY, at_s, event_id),
        "message_id": message_id,
        "status": "sent",
        "channel": channel,
        "customer_id": customer_id,
        "campaign": campaign,
        "variant": variant,
    }


def delivered(
    message_id: str, at_s: float, *, channel: str = "email", event_id: str | None = None
) -> Payload:
    return {
        **_envelope(Topic.DELIVERY, at_s, event_id),
        "message_id": message_id,
        "status": "delivered",
        "channel": channel,
    }


def bounce(
    message_id: str, at_s: float, bounce_type: str, *, event_id: str | None = None
) -> Payload:
    return {
        **_envelope(Topic.BOUNCE, at_s, event_id),
        "message_id": message_id,
        "bounce_type": bounce_type,
    }


def opened(
    message_id: str, at_s: float, *, machine: bool = False, event_id: str | None = None
) -> Payload:
    return {**_envelope(Topic.OPEN, at_s, event_id), "message_id": message_id, "machine": machine}


def clicked(message_id: str, at_s: float, *, event_id: str | None = None) -> Payload:
    return {**_envelope(Topic.CLICK, at_s, event_id), "message_id": message_id}


def pageview(
    visitor_id: str, at_s: float, source: str = "email", *, event_id: str | None = None
) -> Payload:
    return {**_envelope(Topic.PAGEVIEW, at_s, event_id), "visitor_id": visitor_id, "source": source}


def payment(
    customer_id: str,
    at_s: float,
    status: str,
    amount_minor: int,
    currency: str = "EUR",
    *,
    event_id: str | None = None,
) -> Payload:
    return {
        **_envelope(Topic.PAYMENT, at_s, event_id),
        "payment_id": f"pay-{next(_ids)}",
        "customer_id": customer_id,
        "status": status,
        "amount_minor": amount_minor,
        "currency": currency,
    }


def promise(
    customer_id: str,
    at_s: float,
    status: str,
    direction: str,
    kind: str = "promise_to_pay",
    *,
    event_id: str | None = None,
) -> Payload:
    return {
        **_envelope(Topic.PROMISE, at_s, event_id),
        "promise_id": f"ptp-{next(_ids)}",
        "customer_id": customer_id,
        "kind": kind,
        "status": status,
        "direction": direction,
        "amount_minor": 5000,
        "currency": "EUR",
        "due_date": "2027-03-01",
    }


def records(topic: Topic, payloads: list[Payload], *, first_offset: int = 0) -> list[Record]:
    """Decoded records at consecutive offsets, as an agent hands them to the store."""
    out = []
    for offset, payload in enumerate(payloads, start=first_offset):
        raw = orjson.dumps(payload)
        out.append(Record(offset, raw, decode(topic, raw, max_bytes=65536)))
    return out


def raw_records(topic: Topic, values: list[bytes], *, first_offset: int = 0) -> list[Record]:
    """Records of arbitrary bytes (poison included) at consecutive offsets."""
    return [
        Record(offset, value, decode(topic, value, max_bytes=65536))
        for offset, value in enumerate(values, start=first_offset)
    ]
