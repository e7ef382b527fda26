"""``GET /api/v1/customers/{id}/engagement``: a customer's recent engagement, from the
per-day hashes ``store.engagement`` writes (reading is pipelined across partitions
and days; the shaping below is pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from collectpulse.store.client import StoreClient
from collectpulse.store.engagement import MESSAGE, PAYMENT, PROMISE, VIEW
from collectpulse.store.keys import DAY_S, Keys
from collectpulse.store.replies import text as _text

MAX_ROWS = 100
"""Messages and views listed (newest first); the totals count them all."""


async def read_facts(
    client: StoreClient,
    keys: Keys,
    customer_id: str,
    partitions: Iterable[int],
    now_s: int,
    history_s: int,
) -> dict[str, str]:
    """Every engagement field of the customer on the days the history may cover (one
    day ahead too, for events dated slightly in the future), merged over partitions."""
    first, last = (now_s - history_s) // DAY_S, now_s // DAY_S + 1
    pipe = client.pipeline(transaction=False)
    for p in partitions:
        for day in range(first, last + 1):
            pipe.hgetall(keys.engagement(p, customer_id, day))
    merged: dict[str, str] = {}
    for fields in await pipe.execute():
        for name, value in fields.items():
            merged[_text(name)] = _text(value)
    return merged


def engagement_body(
    customer_id: str, facts: Mapping[str, str], now_s: int, history_s: int
) -> dict[str, Any]:
    """The JSON answer: messages and views newest first, totals, last payment and promise,
    all within [now - history, now + 1 day]."""
    since_s = now_s - history_s

    def recent(at_s: int) -> bool:
        return since_s <= at_s <= now_s + DAY_S

    messages: list[tuple[int, str, dict[str, Any]]] = []
    views: list[tuple[int, str]] = []
    payments: list[tuple[Any, ...]] = []
    promises: list[tuple[Any, ...]] = []
    for name, value in facts.items():
        kind, _, ident = name.partition(":")
        prefix = f"{kind}:"
        if prefix == MESSAGE:
            campaign, channel, sent_s, delivered, opened, clicked = orjson.loads(value)
            if recent(sent_s):
                messages.append(
                    (
                        sent_s,
                        ident,
                        {
                            "message_id": ident,
                            "campaign": campaign,
                            "channel": channel,
                            "sent_at": _iso(sent_s),
                            "delivered_at": _iso(delivered),
                            "opened_at": _iso(opened),
                            "clicked_at": _iso(clicked),
                        },
                    )
                )
        elif prefix == VIEW and recent(int(ident)):
            views.append((int(ident), value))
        elif prefix == PAYMENT:
            at_s, status, amount, currency = orjson.loads(value)
            if recent(at_s):
                payments.append((at_s, ident, status, amount, currency))
        elif prefix == PROMISE:
            at_s, kind_, status, direction, amount, currency, due = orjson.loads(value)
            if recent(at_s):
                promises.append((at_s, ident, kind_, status, direction, amount, currency, due))
    messages.sort(reverse=True)
    views.sort(reverse=True)
    rows = [row for _, _, row in messages]
    succeeded = [p for p in payments if p[2] == "succeeded"]
    return {
        "customer_id": customer_id,
        "since": _iso(since_s),
        "until": _iso(now_s),
        "totals": {
            "received": len(rows),
            "opened": sum(1 for m in rows if m["opened_at"]),
            "clicked": sum(1 for m in rows if m["clicked_at"]),
            "views": len(views),
            "payment_attempts": len(payments),
            "promise_events": len(promises),
        },
        "messages": rows[:MAX_ROWS],
        "views": [{"viewed_at": _iso(at_s), "source": src} for at_s, src in views[:MAX_ROWS]],
        "last_payment": _payment(max(payments, default=None)),
        "last_successful_payment": _payment(max(succeeded, default=None)),
        "last_promise": _promise(max(promises, default=None)),
    }


def _payment(row: tuple[Any, ...] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    at_s, _, status, amount, currency = row
    return {
        "occurred_at": _iso(at_s),
        "status": status,
        "amount_minor": amount,
        "currency": currency,
    }


def _promise(row: tuple[Any, ...] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    at_s, _, kind, status, direction, amount, currency, due = row
    return {
        "occurred_at": _iso(at_s),
        "kind": kind,
        "status": status,
        "direction": direction,
        "amount_minor": amount,
        "currency": currency,
        "due_date": due,
    }


def _iso(at_s: int | None) -> str | None:
    if at_s is None:
        return None
    return datetime.fromtimestamp(at_s, UTC).isoformat().replace("+00:00", "Z")
