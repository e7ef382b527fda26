"""Landing, payment and promise rules, and the customer side of the touch join.

Payments and promises are keyed by ``customer_id``; the customer's hash
(``cp:{pN}:cust:<id>``) holds the touches the message and landing sides
repartitioned to it: each message's send time, labels, delivery, open and
click, and the latest landing view. From it a successful payment is attributed
to a message (kpi-catalog section 5: its own ``message_id`` wins, else the
latest click, else the latest delivery within the attribution window), and a
paying customer or an installment plan is credited to the source of the
latest view. Failed and aborted attempts feed the struggling-customers set.
"""

from __future__ import annotations

from dataclasses import dataclass

from collectpulse.events.models import PageviewEvent, PaymentEvent, PromiseEvent, Topic
from collectpulse.kpi.attribution import CandidateMessage, Payment, attribute_payment
from collectpulse.store.context import FUNNEL_DIMS, BatchContext
from collectpulse.store.keys import FIELD_SEP
from collectpulse.store.message_effects import LAST_VIEW
from collectpulse.store.touches import Touch

STRUGGLING_WINDOW_S = 86_400
_KEEP_FAILURES = 20
_TOUCH_FIELD = {"sent": "s", "delivered": "d", "opened": "o", "clicked": "k"}
_MESSAGE_FIELDS = ("m", "s", "d", "o", "k", "p")
"""A remembered message's fields in the customer's hash: labels, sent, delivered, opened,
clicked, paid (each ``<field>:<message_id>``)."""


def apply_pageview(ctx: BatchContext, event: PageviewEvent, at_s: int) -> None:
    labels = {"source": event.source, "tenant": ctx.label("tenant", event.tenant or "")}
    if not ctx.windowed("landing_pageviews", labels, at_s):
        ctx.quality("events_late", Topic.PAGEVIEW)
    ctx.unique("landing_unique_visitors", labels, at_s, event.visitor_id)
    if event.customer_id:
        touch = Touch("view", event.customer_id, at_s, event.message_id or "", source=event.source)
        ctx.plan.outbox.append(touch.encode())


def apply_touch(ctx: BatchContext, touch: Touch) -> None:
    """Record a repartitioned touch in the customer's hash (idempotent)."""
    state = _customer(ctx, touch.customer_id)
    updates: dict[str, str] = {}
    if touch.kind == "view":
        if touch.at_s >= int(state.get("v", "-1")):
            updates.update(v=str(touch.at_s), vs=touch.source)
        _credit_view_to_campaign(ctx, touch, state)
    else:
        mid = touch.message_id
        new_message = f"m:{mid}" not in state
        if new_message:
            updates.update({f"m:{mid}": touch.dims, f"s:{mid}": str(touch.sent_s)})
        field = f"{_TOUCH_FIELD[touch.kind]}:{mid}"
        if touch.kind != "sent" and field not in state:
            updates[field] = str(touch.at_s)
    _write(ctx, touch.customer_id, state, updates)
    if touch.kind != "view" and new_message:
        _credit_held(ctx, touch.customer_id, state, touch.message_id)
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
    _forget(ctx, customer_id, state, names)


def _forget(ctx: BatchContext, customer_id: str, state: dict[str, str], names: list[str]) -> None:
    """Delete fields of the customer's hash (and any write of them this batch planned)."""
    if not names:
        return
    key = ctx.keys.customer(ctx.partition, customer_id)
    pending = ctx.plan.hset.get(key, {})
    for name in names:
        del state[name]
        pending.pop(name, None)
    ctx.plan.hdel.setdefault(key, set()).update(names)


def apply_payment(ctx: BatchContext, event: PaymentEvent, at_s: int) -> None:
    tenant = ctx.label("tenant", event.tenant or "")
    if not ctx.windowed("payment_attempts", {"tenant": tenant, "status": event.status}, at_s):
        ctx.quality("events_late", Topic.PAYMENT)
    state = _customer(ctx, event.customer_id)
    if event.status != "succeeded":
        _record_failure(ctx, event.customer_id, tenant, state, at_s)
        return
    agent = ctx.label("agent", event.agent_id or "")
    labels = {"tenant": tenant, "currency": event.currency, "agent": agent}
    ctx.windowed("collected_amount_minor", labels, at_s, event.amount_minor)
    _write(ctx, event.customer_id, state, {"ps": str(at_s), "pf": ""})
    ctx.plan.unindex(ctx.keys.struggling(ctx.partition), f"{tenant}{FIELD_SEP}{event.customer_id}")
    _attribute(ctx, event, state, at_s)
    view_s = int(state.get("v", "-1"))
    if 0 <= at_s - view_s <= ctx.timing.attribution_s:
        source_labels = {"source": state["vs"], "tenant": tenant}
        ctx.unique("landing_paying_customers", source_labels, at_s, event.customer_id)


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
    if (event.kind, event.status, event.direction) != ("installment_plan", "made", "self_service"):
        return
    state = _customer(ctx, event.customer_id)
    view_s = int(state.get("v", "-1"))
    if 0 <= at_s - view_s <= ctx.timing.attribution_s:
        ctx.windowed("landing_installment_plans", {"source": state["vs"], "tenant": tenant}, at_s)


def _attribute(ctx: BatchContext, event: PaymentEvent, state: dict[str, str], at_s: int) -> None:
    candidates = _candidates(state)
    mid = attribute_payment(Payment(at_s, event.message_id), candidates, ctx.timing.attribution_s)
    if mid is None:
        return
    paid = _Paid(at_s, event.amount_minor, event.currency)
    if f"m:{mid}" in state:
        _credit(ctx, event.customer_id, state, mid, paid)
    elif event.message_id:
        _hold(ctx, event.customer_id, state, mid, paid)


@dataclass(frozen=True, slots=True)
class _Paid:
    at_s: int
    amount_minor: int
    currency: str

    def encode(self) -> str:
        return f"{self.at_s},{self.amount_minor},{self.currency}"

    @classmethod
    def decode(cls, token: str) -> _Paid:
        at_s, amount, currency = token.split(",")
        return cls(int(at_s), int(amount), currency)


def _credit(
    ctx: BatchContext, customer_id: str, state: dict[str, str], mid: str, paid: _Paid
) -> None:
    labels = dict(zip(FUNNEL_DIMS, state[f"m:{mid}"].split(FIELD_SEP), strict=True))
    sent_s = int(state[f"s:{mid}"])
    ctx.windowed(
        "attributed_amount_minor",
        {**labels, "currency": paid.currency},
        sent_s,
        paid.amount_minor,
    )
    if f"p:{mid}" in state:
        return  # a message counts as paid once
    _write(ctx, customer_id, state, {f"p:{mid}": str(paid.at_s)})
    ctx.windowed("messages_paid", labels, sent_s)
    ctx.observe("send_to_payment_seconds", labels, paid.at_s - sent_s)
    opened = state.get(f"o:{mid}")
    if opened is not None:
        ctx.observe("open_to_payment_seconds", labels, paid.at_s - int(opened))


def _hold(
    ctx: BatchContext, customer_id: str, state: dict[str, str], mid: str, paid: _Paid
) -> None:
    """Keep a payment naming a message the customer side has not heard of yet.

    The message's touch crosses the repartition topic, so after a backlog or a
    restart a payment can be applied before the delivery it pays for. Its own
    ``message_id`` wins attribution whatever arrives later, so the payment waits
    in the customer's hash (``h:<message_id>``) and is credited when the
    message's first touch arrives. Bounded like the messages the hash remembers.
    """
    held = [name for name in state if name.startswith("h:")]
    if f"h:{mid}" not in state and len(held) >= ctx.timing.max_customer_messages:
        ctx.total("state_limit_hits", {"limit": "max_customer_messages"})
        return
    tokens = state.get(f"h:{mid}", "")
    _write(ctx, customer_id, state, {f"h:{mid}": f"{tokens} {paid.encode()}".strip()})


def _credit_held(ctx: BatchContext, customer_id: str, state: dict[str, str], mid: str) -> None:
    """Credit the payments held for ``mid`` now that its first touch has arrived."""
    held = state.get(f"h:{mid}")
    if not held:
        return
    for token in held.split():
        _credit(ctx, customer_id, state, mid, _Paid.decode(token))
    _forget(ctx, customer_id, state, [f"h:{mid}"])


def _credit_view_to_campaign(ctx: BatchContext, touch: Touch, state: dict[str, str]) -> None:
    """A landing view ends its campaign's silence: the viewed message's, else the customer's
    latest clicked or delivered one within the attribution window."""
    mid = attribute_payment(
        Payment(touch.at_s, touch.message_id or None), _candidates(state), ctx.timing.attribution_s
    )
    if mid is None or f"m:{mid}" not in state:
        return
    labels = dict(zip(FUNNEL_DIMS, state[f"m:{mid}"].split(FIELD_SEP), strict=True))
    name = FIELD_SEP.join((LAST_VIEW, labels["campaign"], labels["tenant"]))
    ctx.plan.keep_max(ctx.keys.totals(ctx.partition), name, touch.at_s)


def _candidates(state: dict[str, str]) -> list[CandidateMessage]:
    return [
        CandidateMessage(name[2:], float(value), _float_or_none(state.get(f"k:{name[2:]}")))
        for name, value in state.items()
        if name.startswith("d:")
    ]


def _record_failure(
    ctx: BatchContext, customer_id: str, tenant: str, state: dict[str, str], at_s: int
) -> None:
    """Keep recent failures; N of them in 24 h with no success since makes a struggling customer."""
    since_s = max(at_s - STRUGGLING_WINDOW_S, int(state.get("ps", "-1")))
    failures = sorted(int(t) for t in state.get("pf", "").split() if int(t) > since_s)
    failures = [*failures, at_s][-_KEEP_FAILURES:]
    _write(ctx, customer_id, state, {"pf": " ".join(map(str, failures))})
    needed = ctx.timing.struggling_min_failures
    if len(failures) >= needed:
        # struggling until the oldest of the last N failures is 24 h old
        ctx.plan.index(
            ctx.keys.struggling(ctx.partition),
            f"{tenant}{FIELD_SEP}{customer_id}",
            failures[-needed],
            replace=True,
        )


def _customer(ctx: BatchContext, customer_id: str) -> dict[str, str]:
    return ctx.customers.setdefault(customer_id, {})


def _write(
    ctx: BatchContext, customer_id: str, state: dict[str, str], updates: dict[str, str]
) -> None:
    if not updates:
        return
    state.update(updates)
    key = ctx.keys.customer(ctx.partition, customer_id)
    ctx.plan.hdel.get(key, set()).difference_update(updates)  # forgotten, then touched again
    ctx.plan.set_fields(key, updates)
    ctx.plan.expire_in(key, ctx.timing.retention_s)


def _float_or_none(value: str | None) -> float | None:
    return float(value) if value is not None else None
