"""A customer's recent engagement for the agent desktop: messages, views, payments, promises.

An agent about to call a customer wants to see what the customer received, opened,
clicked and viewed in the last ``engagement_history`` (30 days by default) and their
last payment and promise (`GET /api/v1/customers/{id}/engagement`). The customer's
join hash forgets messages at the retention horizon (14 days by default), so the
history is kept apart, write-only, in one hash per customer and day
(``cp:{pN}:eng:<customer_id>:<day>``) that expires ``engagement_history`` after its
day ends: no read in the hot path, bounded by time alone, and every write is
idempotent, so a replayed or reordered batch leaves the same hashes:

- ``m:<message_id>`` (day of the send): the message's facts as the customer's hash
  has merged them (earliest delivery, open and click), rewritten when they change.
  The customer side learns of a message at its delivery (or its send, on channels
  without receipts), so a message that never reached the customer is not listed;
- ``v:<at_s>`` (day of the view): the landing source;
- ``p:<event_id>`` / ``q:<event_id>`` (day of the event): a payment attempt or a
  promise event; the reader picks the latest.
"""

from __future__ import annotations

import orjson

from collectpulse.events.models import PaymentEvent, PromiseEvent
from collectpulse.store.context import FUNNEL_DIMS, BatchContext
from collectpulse.store.keys import DAY_S, FIELD_SEP

MESSAGE, VIEW, PAYMENT, PROMISE = "m:", "v:", "p:", "q:"


def _put(ctx: BatchContext, customer_id: str, anchor_s: int, fields: dict[str, str]) -> None:
    day = anchor_s // DAY_S
    ttl_s = (day + 1) * DAY_S + ctx.timing.engagement_s - ctx.timing.now_s
    if ttl_s <= 0:
        return  # older than the history: nobody will be shown it
    key = ctx.keys.engagement(ctx.partition, customer_id, day)
    ctx.plan.set_fields(key, fields)
    ctx.plan.expire_in(key, ttl_s)


def record_message(ctx: BatchContext, customer_id: str, state: dict[str, str], mid: str) -> None:
    """The message's merged facts from the customer's hash, after a touch changed them."""
    sent = state.get(f"s:{mid}")
    if sent is None:
        return
    dims = dict(zip(FUNNEL_DIMS, state.get(f"m:{mid}", "").split(FIELD_SEP), strict=False))
    facts = [
        dims.get("campaign", ""),
        dims.get("channel", ""),
        int(sent),
        *(_int_or_none(state.get(f"{kind}:{mid}")) for kind in ("d", "o", "k")),
    ]
    _put(ctx, customer_id, int(sent), {f"{MESSAGE}{mid}": orjson.dumps(facts).decode()})


def record_view(ctx: BatchContext, customer_id: str, at_s: int, source: str) -> None:
    _put(ctx, customer_id, at_s, {f"{VIEW}{at_s}": source})


def record_payment(ctx: BatchContext, event: PaymentEvent, at_s: int) -> None:
    facts = [at_s, event.status, event.amount_minor, event.currency]
    _put(ctx, event.customer_id, at_s, {f"{PAYMENT}{event.event_id}": orjson.dumps(facts).decode()})


def record_promise(ctx: BatchContext, event: PromiseEvent, at_s: int) -> None:
    facts = [
        at_s,
        event.kind,
        event.status,
        event.direction,
        event.amount_minor,
        event.currency,
        event.due_date.isoformat(),
    ]
    _put(ctx, event.customer_id, at_s, {f"{PROMISE}{event.event_id}": orjson.dumps(facts).decode()})


def _int_or_none(text: str | None) -> int | None:
    return None if text is None else int(text)
