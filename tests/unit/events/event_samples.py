"""Valid JSON payloads, one per topic, shared by the event contract tests."""

import json
from typing import Any

from collectpulse.events.models import Topic

VALID_PAYLOADS: dict[Topic, dict[str, Any]] = {
    Topic.DELIVERY: {
        "event_id": "evt-delivery-1",
        "occurred_at": "2025-03-01T09:30:00Z",
        "message_id": "msg-0001",
        "status": "sent",
        "channel": "email",
        "customer_id": "cust-0001",
        "campaign": "dunning-30d",
        "variant": "control",
    },
    Topic.BOUNCE: {
        "event_id": "evt-bounce-1",
        "occurred_at": "2025-03-01T09:31:00+00:00",
        "message_id": "msg-0001",
        "bounce_type": "soft",
        "reason": "mailbox full",
        "provider_code": "4.2.2",
    },
    Topic.OPEN: {
        "event_id": "evt-open-1",
        "occurred_at": "2025-03-01T10:00:00+01:00",
        "message_id": "msg-0001",
    },
    Topic.CLICK: {
        "event_id": "evt-click-1",
        "occurred_at": "2025-03-01T10:01:00+01:00",
        "message_id": "msg-0001",
        "url": "https://pay.example.com/r/abc",
        "machine": True,
    },
    Topic.PAGEVIEW: {
        "event_id": "evt-pageview-1",
        "occurred_at": "2025-03-01T09:02:00Z",
        "visitor_id": "visitor-0001",
        "source": "email",
    },
    Topic.PAYMENT: {
        "event_id": "evt-payment-1",
        "occurred_at": "2025-03-01T09:05:00Z",
        "payment_id": "pay-0001",
        "customer_id": "cust-0001",
        "status": "succeeded",
        "amount_minor": 12550,
        "currency": "EUR",
    },
    Topic.PROMISE: {
        "event_id": "evt-promise-1",
        "occurred_at": "2025-03-01T14:00:00+01:00",
        "promise_id": "ptp-0001",
        "customer_id": "cust-0001",
        "kind": "promise_to_pay",
        "status": "made",
        "direction": "outbound",
        "amount_minor": 50000,
        "currency": "GBP",
        "due_date": "2025-03-15",
    },
    Topic.ACCOUNT: {
        "event_id": "evt-account-1",
        "occurred_at": "2025-03-01T08:00:00Z",
        "account_id": "acct-0001",
        "customer_id": "cust-0001",
        "change": "placed",
        "version": 1,
        "balance_minor": 80000,
        "delta_minor": 80000,
        "currency": "EUR",
        "due_date": "2025-01-31",
        "status": "open",
    },
    Topic.CONTACT: {
        "event_id": "evt-contact-1",
        "occurred_at": "2025-03-01T14:05:00+01:00",
        "contact_id": "call-0001",
        "customer_id": "cust-0001",
        "direction": "outbound",
        "channel": "call",
        "outcome": "right_party",
        "agent_id": "agent-7",
        "team": "early-stage",
        "started_at": "2025-03-01T14:01:30+01:00",
        "duration_s": 185,
        "dialer_campaign": "dpd-30",
    },
}


def payload(topic: Topic, **changes: Any) -> dict[str, Any]:
    """Return a copy of `topic`'s valid payload with `changes` applied."""
    return {**VALID_PAYLOADS[topic], **changes}


def without(topic: Topic, field: str) -> dict[str, Any]:
    """Return a copy of `topic`'s valid payload lacking `field`."""
    return {name: value for name, value in VALID_PAYLOADS[topic].items() if name != field}


def as_bytes(data: object) -> bytes:
    """Encode a payload the way a producer would."""
    return json.dumps(data).encode()
