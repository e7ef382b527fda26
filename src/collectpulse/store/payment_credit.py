"""Payment attribution on the customer side: a symmetric join of payments and message touches.

A payment naming its message is credited once that message's first touch is
known (else held in ``h:<message_id>``). A payment without one goes to the
customer's latest clicked, else latest delivered message within the attribution
window (kpi-catalog section 5); its entry stays in the ``u`` list, and every
touch that arrives later re-runs the choice, moving the credit when a message
delivered or clicked before the payment reaches the customer side after it. So
the result does not depend on which side arrived first.

A message's paid state is the list of payment times credited to it (``p:<id>``):
it counts once in ``messages_paid`` while the list is not empty, and its earliest
payment is what ``send_to_payment_seconds`` and ``open_to_payment_seconds``
observe. Moving credit is an increment by a negative amount of the same fields.
"""

from __future__ import annotations

from dataclasses import dataclass

from collectpulse.kpi.attribution import CandidateMessage, Payment, attribute_payment
from collectpulse.store import send_time
from collectpulse.store.context import FUNNEL_DIMS, BatchContext
from collectpulse.store.customer_state import dump_list, forget, load_list, write
from collectpulse.store.keys import FIELD_SEP

UNNAMED = "u"
"""Succeeded payments without ``message_id``: ``[[at_s, amount, currency, message_id], ...]``
(``message_id`` empty while nothing qualifies)."""
MAX_UNNAMED = 100


@dataclass(frozen=True, slots=True)
class Paid:
    at_s: int
    amount_minor: int
    currency: str

    def encode(self) -> str:
        return f"{self.at_s},{self.amount_minor},{self.currency}"

    @classmethod
    def decode(cls, token: str) -> Paid:
        at_s, amount, currency = token.split(",")
        return cls(int(at_s), int(amount), currency)


def candidates(state: dict[str, str]) -> list[CandidateMessage]:
    """The customer's delivered messages, with their earliest delivery and click.

    A click proves delivery: a clicked message whose delivery receipt has not
    reached the customer side (or never will) is delivered at its click.
    """
    found = []
    for name, value in state.items():
        if name.startswith("k:") and f"d:{name[2:]}" not in state:
            found.append(CandidateMessage(name[2:], float(value), float(value)))
        elif name.startswith("d:"):
            mid = name[2:]
            found.append(CandidateMessage(mid, float(value), _float_or_none(state.get(f"k:{mid}"))))
    return found


def on_payment(
    ctx: BatchContext, customer_id: str, state: dict[str, str], message_id: str | None, paid: Paid
) -> None:
    if message_id:
        if f"m:{message_id}" in state:
            credit(ctx, customer_id, state, message_id, paid)
        else:
            _hold(ctx, customer_id, state, message_id, paid)
        return
    mid = _choose(ctx, state, paid.at_s)
    entries = load_list(state, UNNAMED)
    entries.append([paid.at_s, paid.amount_minor, paid.currency, mid or ""])
    if len(entries) > MAX_UNNAMED:
        ctx.total(
            "state_limit_hits", {"limit": "max_customer_outcomes"}, len(entries) - MAX_UNNAMED
        )
        entries.sort(key=lambda e: int(e[0]))
        entries = entries[-MAX_UNNAMED:]
    write(ctx, customer_id, state, {UNNAMED: dump_list(entries)})
    if mid:
        credit(ctx, customer_id, state, mid, paid)


def on_touch(
    ctx: BatchContext, customer_id: str, state: dict[str, str], message_id: str, *, new: bool
) -> None:
    """After a touch added a message or moved one of its times: credit what waited for it."""
    if new:
        _credit_held(ctx, customer_id, state, message_id)
    entries = load_list(state, UNNAMED)
    moved = False
    for entry in entries:
        at_s, amount, currency, old = int(entry[0]), int(entry[1]), str(entry[2]), str(entry[3])
        mid = _choose(ctx, state, at_s) or ""
        if mid == old:
            continue
        paid = Paid(at_s, amount, currency)
        if old:
            uncredit(ctx, customer_id, state, old, paid)
        if mid:
            credit(ctx, customer_id, state, mid, paid)
        entry[3] = mid
        moved = True
    if moved:
        write(ctx, customer_id, state, {UNNAMED: dump_list(entries)})


def on_open_moved(
    ctx: BatchContext, state: dict[str, str], message_id: str, old_open: str | None
) -> None:
    """The message's earliest open changed: re-observe open -> payment if it is paid."""
    first = _first_paid(state, message_id)
    if first is None:
        return
    labels = _labels(state, message_id)
    if old_open is not None:
        ctx.observe("open_to_payment_seconds", labels, first - int(old_open), count=-1)
    ctx.observe("open_to_payment_seconds", labels, first - int(state[f"o:{message_id}"]))


def credit(
    ctx: BatchContext, customer_id: str, state: dict[str, str], mid: str, paid: Paid
) -> None:
    _move(ctx, customer_id, state, mid, paid, sign=1)


def uncredit(
    ctx: BatchContext, customer_id: str, state: dict[str, str], mid: str, paid: Paid
) -> None:
    if f"m:{mid}" in state:  # a message forgotten since can give nothing back
        _move(ctx, customer_id, state, mid, paid, sign=-1)


def _move(
    ctx: BatchContext, customer_id: str, state: dict[str, str], mid: str, paid: Paid, *, sign: int
) -> None:
    labels = _labels(state, mid)
    sent_s = int(state[f"s:{mid}"])
    ctx.windowed(
        "attributed_amount_minor",
        {**labels, "currency": paid.currency},
        sent_s,
        sign * paid.amount_minor,
    )
    old = _paid_times(state, mid)
    new = list(old)
    if sign > 0:
        new.append(paid.at_s)
    elif paid.at_s in new:
        new.remove(paid.at_s)
    if new:
        write(ctx, customer_id, state, {f"p:{mid}": " ".join(map(str, sorted(new)))})
    else:
        forget(ctx, customer_id, state, [f"p:{mid}"])
    if bool(old) != bool(new):
        ctx.windowed("messages_paid", labels, sent_s, sign)
        send_time.count(ctx, "paid", state[f"m:{mid}"], sent_s, sign)
    old_first, new_first = min(old, default=None), min(new, default=None)
    if old_first != new_first:
        if old_first is not None:
            _observe_paid(ctx, state, mid, labels, old_first, count=-1)
        if new_first is not None:
            _observe_paid(ctx, state, mid, labels, new_first, count=1)


def _observe_paid(
    ctx: BatchContext,
    state: dict[str, str],
    mid: str,
    labels: dict[str, str],
    first_s: int,
    *,
    count: int,
) -> None:
    ctx.observe("send_to_payment_seconds", labels, first_s - int(state[f"s:{mid}"]), count=count)
    opened = state.get(f"o:{mid}")
    if opened is not None:
        ctx.observe("open_to_payment_seconds", labels, first_s - int(opened), count=count)


def _choose(ctx: BatchContext, state: dict[str, str], at_s: int) -> str | None:
    mid = attribute_payment(Payment(at_s, None), candidates(state), ctx.timing.attribution_s)
    return mid if mid is not None and f"m:{mid}" in state else None


def _hold(ctx: BatchContext, customer_id: str, state: dict[str, str], mid: str, paid: Paid) -> None:
    """Keep a payment naming a message the customer side has not heard of yet.

    Its own ``message_id`` wins attribution whatever arrives later, so the payment
    waits in ``h:<message_id>`` and is credited when the message's first touch
    arrives. Bounded like the messages the hash remembers.
    """
    held = [name for name in state if name.startswith("h:")]
    if f"h:{mid}" not in state and len(held) >= ctx.timing.max_customer_messages:
        ctx.total("state_limit_hits", {"limit": "max_customer_messages"})
        return
    tokens = state.get(f"h:{mid}", "")
    write(ctx, customer_id, state, {f"h:{mid}": f"{tokens} {paid.encode()}".strip()})


def _credit_held(ctx: BatchContext, customer_id: str, state: dict[str, str], mid: str) -> None:
    held = state.get(f"h:{mid}")
    if not held:
        return
    for token in held.split():
        credit(ctx, customer_id, state, mid, Paid.decode(token))
    forget(ctx, customer_id, state, [f"h:{mid}"])


def _paid_times(state: dict[str, str], mid: str) -> list[int]:
    return [int(t) for t in state.get(f"p:{mid}", "").split()]


def _first_paid(state: dict[str, str], mid: str) -> int | None:
    return min(_paid_times(state, mid), default=None)


def _labels(state: dict[str, str], mid: str) -> dict[str, str]:
    return dict(zip(FUNNEL_DIMS, state[f"m:{mid}"].split(FIELD_SEP), strict=True))


def _float_or_none(value: str | None) -> float | None:
    return float(value) if value is not None else None
