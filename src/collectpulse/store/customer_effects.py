"""Landing, payment and promise rules, and the customer side of the touch join.

Payments and promises are keyed by ``customer_id``; the customer's hash
(``cp:{pN}:cust:<id>``) holds the touches the message and landing sides
repartitioned to it: each message's send time, labels and earliest delivery,
open and click, and the customer's landing views. Whichever side of a join
arrives first waits there for the other: payment attribution in
``payment_credit``, conversion by source and installment requests in
``conversion``. Failed and aborted attempts feed the struggling-customers set.
"""

from __future__ import annotations

from collectpulse.events.models import PageviewEvent, PaymentEvent, PromiseEvent, Topic
from collectpulse.store import (
    agent_ledger,
    allocation,
    assignee_credit,
    collector_net,
    conversion,
    engagement,
    experiment_units,
    payment_credit,
    promise_credit,
)
from collectpulse.store.context import BatchContext
from collectpulse.store.customer_state import customer, forget, write
from collectpulse.store.keys import FIELD_SEP
from collectpulse.store.touches import Touch

STRUGGLING_WINDOW_S = 86_400
_KEEP_FAILURES = 20
_TOUCH_FIELD = {"sent": "s", "delivered": "d", "opened": "o", "clicked": "k"}
_MESSAGE_FIELDS = ("m", "s", "d", "o", "k", "p", "h")
"""A remembered message's fields in the customer's hash: labels, sent, delivered, opened,
clicked, paid, held payments (each ``<field>:<message_id>``)."""


def apply_pageview(ctx: BatchContext, event: PageviewEvent, at_s: int) -> None:
    labels = {"source": event.source, "tenant": ctx.label("tenant", event.tenant or "")}
    # device is optional (schema_version 2): "" like every absent optional label
    by_device = {**labels, "device": event.device or ""}
    if not ctx.windowed("landing_pageviews", by_device, at_s):
        ctx.quality("events_late", Topic.PAGEVIEW)
    if event.load_ms is not None:
        ctx.observe("landing_load_seconds", by_device, event.load_ms / 1000)
    ctx.unique("landing_unique_visitors", labels, at_s, event.visitor_id)
    ctx.unique("landing_unique_visitors_by_device", by_device, at_s, event.visitor_id)
    if event.customer_id:
        touch = Touch(
            "view",
            event.customer_id,
            at_s,
            event.message_id or "",
            source=event.source,
            device=event.device or "",
        )
        ctx.plan.outbox.append(touch.encode())


def apply_touch(ctx: BatchContext, touch: Touch) -> None:
    """Record a repartitioned touch in the customer's hash (idempotent) and credit what
    waited for it."""
    state = customer(ctx, touch.customer_id)
    if touch.kind == "view":
        engagement.record_view(ctx, touch.customer_id, touch.at_s, touch.source)
        conversion.add_view(ctx, touch, state, payment_credit.candidates(state))
        return
    experiment_units.on_touch(ctx, touch, state)
    mid = touch.message_id
    updates: dict[str, str] = {}
    new_message = f"m:{mid}" not in state
    if new_message:
        updates.update({f"m:{mid}": touch.dims, f"s:{mid}": str(touch.sent_s)})
    field = f"{_TOUCH_FIELD[touch.kind]}:{mid}"
    before = state.get(field)
    # the earliest delivery, open and click count, whichever of them arrived first
    moved = touch.kind != "sent" and (before is None or touch.at_s < int(before))
    if moved:
        updates[field] = str(touch.at_s)
    if not updates:
        return  # a repeated touch
    write(ctx, touch.customer_id, state, updates)
    engagement.record_message(ctx, touch.customer_id, state, mid)
    if touch.kind == "opened" and moved:
        payment_credit.on_open_moved(ctx, state, mid, before)
    payment_credit.on_touch(ctx, touch.customer_id, state, mid, new=new_message)
    seen = conversion.views(state)
    if seen:
        conversion.credit_silence(ctx, state, seen, payment_credit.candidates(state))
    if new_message:
        _forget_old_messages(ctx, touch.customer_id, state)


def _forget_old_messages(ctx: BatchContext, customer_id: str, state: dict[str, str]) -> None:
    """Bound a customer's hash, which lives as long as the customer keeps being touched.

    Messages sent before the retention horizon are forgotten, as their own state
    (``cp:{pN}:m:<id>``) and send buckets are gone by then. Past
    ``max_customer_messages`` the oldest sends are forgotten too, and counted in
    ``state_limit_hits``: a later payment naming one of them is not attributed.
    """
    sent = sorted((int(v), name[2:]) for name, v in state.items() if name.startswith("s:"))
    horizon_s = ctx.timing.now_s - ctx.timing.retention_s
    expired = [mid for sent_s, mid in sent if sent_s < horizon_s]
    recent = [mid for sent_s, mid in sent if sent_s >= horizon_s]
    evicted = recent[: max(len(recent) - ctx.timing.max_customer_messages, 0)]
    if evicted:
        ctx.total("state_limit_hits", {"limit": "max_customer_messages"}, len(evicted))
    names = [
        name
        for mid in (*expired, *evicted)
        for kind in _MESSAGE_FIELDS
        if (name := f"{kind}:{mid}") in state
    ]
    forget(ctx, customer_id, state, names)


def apply_payment(ctx: BatchContext, event: PaymentEvent, at_s: int) -> None:
    tenant = ctx.label("tenant", event.tenant or "")
    if event.status == "reversed":
        # a refund or chargeback of an earlier success: not an attempt, not a failure
        credited = event.agent_id or assignee_credit.assignee(ctx, event, at_s)
        agent = ctx.agent(event.tenant, credited)
        labels = {"tenant": tenant, "currency": event.currency, "agent": agent}
        if not ctx.windowed("reversed_amount_minor", labels, at_s, event.amount_minor):
            ctx.quality("events_late", Topic.PAYMENT)
        allocation.on_payment(ctx, event, at_s)
        net = -event.amount_minor  # the day's collected is net of reversals (K8, K24)
        collector_net.book(
            ctx, "collected_amount_minor", credited, tenant, at_s, net, event.currency
        )
        return
    if not ctx.windowed("payment_attempts", {"tenant": tenant, "status": event.status}, at_s):
        ctx.quality("events_late", Topic.PAYMENT)
    engagement.record_payment(ctx, event, at_s)
    state = customer(ctx, event.customer_id)
    if event.status != "succeeded":
        _record_failure(ctx, event.customer_id, tenant, state, at_s)
        return
    credited = event.agent_id or assignee_credit.assignee(ctx, event, at_s)
    agent = ctx.agent(event.tenant, credited)
    labels = {"tenant": tenant, "currency": event.currency, "agent": agent}
    ctx.windowed("collected_amount_minor", labels, at_s, event.amount_minor)
    # K19: who started it (the catalog's default when the payment does not say)
    who = {"initiated_by": event.initiator, "currency": event.currency, "tenant": tenant}
    ctx.windowed("initiated_payments", who, at_s)
    ctx.windowed("initiated_amount_minor", who, at_s, event.amount_minor)
    agent_ledger.count(
        ctx,
        "collected_amount_minor",
        credited,
        tenant,
        at_s,
        event.amount_minor,
        event.currency,
    )
    _record_success(ctx, event.customer_id, tenant, state, at_s)
    allocation.on_payment(ctx, event, at_s)
    paid = payment_credit.Paid(at_s, event.amount_minor, event.currency)
    payment_credit.on_payment(ctx, event.customer_id, state, event.message_id, paid)
    conversion.add_payment(ctx, event.customer_id, state, at_s, tenant)
    experiment_units.on_payment(ctx, event.customer_id, state, at_s)


def apply_promise(ctx: BatchContext, event: PromiseEvent, at_s: int) -> None:
    tenant = ctx.label("tenant", event.tenant or "")
    labels = {
        "direction": event.direction,
        "kind": event.kind,
        "tenant": tenant,
        "status": event.status,
    }
    if not ctx.windowed("promises", labels, at_s):
        ctx.quality("events_late", Topic.PROMISE)
    engagement.record_promise(ctx, event, at_s)
    state = customer(ctx, event.customer_id)
    promise_credit.apply(ctx, event.customer_id, state, event, at_s, tenant)
    if (event.kind, event.status, event.direction) != ("installment_plan", "made", "self_service"):
        return
    conversion.add_plan(ctx, event.customer_id, state, at_s, tenant)


def _record_failure(
    ctx: BatchContext, customer_id: str, tenant: str, state: dict[str, str], at_s: int
) -> None:
    """Keep recent failures; N of them with no success since makes a struggling customer."""
    _struggling(ctx, customer_id, tenant, state, [*_failures(state), at_s])


def _record_success(
    ctx: BatchContext, customer_id: str, tenant: str, state: dict[str, str], at_s: int
) -> None:
    """A success clears the failures before it (not later ones, whichever arrived first)."""
    write(ctx, customer_id, state, {"ps": str(max(at_s, int(state.get("ps", "-1"))))})
    if not _struggling(ctx, customer_id, tenant, state, _failures(state)):
        ctx.plan.unindex(ctx.keys.struggling(ctx.partition), f"{tenant}{FIELD_SEP}{customer_id}")


def _failures(state: dict[str, str]) -> list[int]:
    return [int(t) for t in state.get("pf", "").split()]


def _struggling(
    ctx: BatchContext, customer_id: str, tenant: str, state: dict[str, str], failures: list[int]
) -> bool:
    """Keep the failures since the last success; True when N of them make the customer
    struggling (indexed until the oldest of the last N is 24 h old)."""
    last_success_s = int(state.get("ps", "-1"))
    kept = sorted(t for t in failures if t > last_success_s)[-_KEEP_FAILURES:]
    if " ".join(map(str, kept)) != state.get("pf", ""):
        write(ctx, customer_id, state, {"pf": " ".join(map(str, kept))})
    needed = ctx.timing.struggling_min_failures
    if len(kept) < needed:
        return False
    member = f"{tenant}{FIELD_SEP}{customer_id}"
    ctx.plan.index(ctx.keys.struggling(ctx.partition), member, kept[-needed], replace=True)
    return True
