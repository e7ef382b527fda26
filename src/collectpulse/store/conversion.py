"""Landing conversion by source and installment requests: a symmetric join of views and outcomes.

A known customer's landing views reach the customer side as touches (through the
repartition topic); payments and promises arrive there directly. Either side may
come first, so both are kept in the customer's hash for the attribution window
and whichever arrives second credits the pair (kpi-catalog section 6):

- a succeeded payment at ``P`` counts its customer as paying
  (``landing_paying_customers``, a HyperLogLog in ``P``'s bucket) for every
  source the customer viewed from within ``[P - window, P]``;
- a self-service installment plan made at ``T`` counts once in
  ``landing_installment_plans`` (``T``'s bucket) for every such source.

Every source, not only the latest view's: "of the visitors from e-mail, how many
paid" is a question about the set of views, which no arrival order changes,
where "the latest view" would move credit each time an older view arrived late.

The same credit goes by (source, device) of the crediting views too (K22:
``landing_paying_customers_by_device``, ``landing_installment_plans_by_device``):
a customer who viewed from e-mail on mobile and on desktop counts once under
each pair, and once under e-mail in the by-source counters, so the by-device
series are read per device, never summed back into a source.
"""

from __future__ import annotations

from dataclasses import dataclass

from collectpulse.kpi.attribution import CandidateMessage, Payment, attribute_payment
from collectpulse.store.context import FUNNEL_DIMS, BatchContext
from collectpulse.store.customer_state import dump_list, forget, load_list, write
from collectpulse.store.keys import FIELD_SEP
from collectpulse.store.message_effects import LAST_VIEW
from collectpulse.store.touches import Touch

VIEWS = "vw"
"""``[[at_s, source, message_id, device], ...]``, oldest first (no device: stored
before views carried one, read as ``""``)."""
PAYMENTS = "py"
"""Succeeded payments: ``[[at_s, tenant], ...]``."""
PLANS = "ip"
"""Self-service installment plans made: ``[[at_s, tenant], ...]``."""
MAX_ITEMS = 100
"""Per list and customer; older entries beyond it are forgotten and counted."""
_LEGACY_VIEW = ("v", "vs")
"""The latest view alone, as versions before the symmetric join kept it."""


@dataclass(frozen=True, slots=True)
class View:
    at_s: int
    source: str
    message_id: str
    device: str = ""

    def encode(self) -> list[int | str]:
        return [self.at_s, self.source, self.message_id, self.device]


def views(state: dict[str, str]) -> list[View]:
    found = [
        View(int(item[0]), str(item[1]), str(item[2]), str(item[3]) if len(item) > 3 else "")
        for item in load_list(state, VIEWS)
        if len(item) >= 3
    ]
    if "v" in state and "vs" in state:
        found.append(View(int(state["v"]), state["vs"], ""))
    return found


def sources_within(seen: list[View], at_s: int, window_s: int) -> set[str]:
    """Sources viewed within ``[at_s - window_s, at_s]``."""
    return {source for source, _ in pairs_within(seen, at_s, window_s)}


def pairs_within(seen: list[View], at_s: int, window_s: int) -> set[tuple[str, str]]:
    """(source, device) pairs viewed within ``[at_s - window_s, at_s]``."""
    return {(v.source, v.device) for v in seen if at_s - window_s <= v.at_s <= at_s}


def add_view(
    ctx: BatchContext, touch: Touch, state: dict[str, str], candidates: list[CandidateMessage]
) -> None:
    """Keep the view and credit the payments and plans that were waiting for it."""
    before = views(state)
    view = View(touch.at_s, touch.source, touch.message_id, touch.device)
    if view in before:
        return  # a repeated touch: its credit was given the first time
    window_s = ctx.timing.attribution_s
    for at_s, tenant in _outcomes(state, PAYMENTS):
        if view.at_s <= at_s <= view.at_s + window_s:
            labels = {"source": view.source, "tenant": tenant}
            ctx.unique("landing_paying_customers", labels, at_s, touch.customer_id)
            by_device = {**labels, "device": view.device}
            ctx.unique("landing_paying_customers_by_device", by_device, at_s, touch.customer_id)
    for at_s, tenant in _outcomes(state, PLANS):
        if not view.at_s <= at_s <= view.at_s + window_s:
            continue
        labels = {"source": view.source, "tenant": tenant}
        if view.source not in sources_within(before, at_s, window_s):
            ctx.windowed("landing_installment_plans", labels, at_s)
        if (view.source, view.device) not in pairs_within(before, at_s, window_s):
            by_device = {**labels, "device": view.device}
            ctx.windowed("landing_installment_plans_by_device", by_device, at_s)
    kept = _bounded(ctx, [*before, view])
    write(ctx, touch.customer_id, state, {VIEWS: dump_list([v.encode() for v in kept])})
    forget(ctx, touch.customer_id, state, [name for name in _LEGACY_VIEW if name in state])
    credit_silence(ctx, state, [view], candidates)


def add_payment(
    ctx: BatchContext, customer_id: str, state: dict[str, str], at_s: int, tenant: str
) -> None:
    pairs = pairs_within(views(state), at_s, ctx.timing.attribution_s)
    for source in {source for source, _ in pairs}:
        ctx.unique(
            "landing_paying_customers", {"source": source, "tenant": tenant}, at_s, customer_id
        )
    for source, device in pairs:
        labels = {"source": source, "device": device, "tenant": tenant}
        ctx.unique("landing_paying_customers_by_device", labels, at_s, customer_id)
    _remember(ctx, customer_id, state, PAYMENTS, at_s, tenant)


def add_plan(
    ctx: BatchContext, customer_id: str, state: dict[str, str], at_s: int, tenant: str
) -> None:
    pairs = pairs_within(views(state), at_s, ctx.timing.attribution_s)
    for source in {source for source, _ in pairs}:
        ctx.windowed("landing_installment_plans", {"source": source, "tenant": tenant}, at_s)
    for source, device in pairs:
        labels = {"source": source, "device": device, "tenant": tenant}
        ctx.windowed("landing_installment_plans_by_device", labels, at_s)
    _remember(ctx, customer_id, state, PLANS, at_s, tenant)


def credit_silence(
    ctx: BatchContext, state: dict[str, str], seen: list[View], candidates: list[CandidateMessage]
) -> None:
    """A view ends its campaign's silence: the viewed message's, else the customer's
    latest clicked or delivered one within the attribution window (whichever of the
    view and the message's touch arrived last gives the credit)."""
    for view in seen:
        mid = attribute_payment(
            Payment(view.at_s, view.message_id or None), candidates, ctx.timing.attribution_s
        )
        if mid is None or f"m:{mid}" not in state:
            continue
        labels = dict(zip(FUNNEL_DIMS, state[f"m:{mid}"].split(FIELD_SEP), strict=True))
        name = FIELD_SEP.join((LAST_VIEW, labels["campaign"], labels["tenant"]))
        ctx.plan.keep_max(ctx.keys.totals(ctx.partition), name, view.at_s)


def _outcomes(state: dict[str, str], name: str) -> list[tuple[int, str]]:
    return [(int(at_s), str(tenant)) for at_s, tenant in load_list(state, name)]


def _remember(
    ctx: BatchContext, customer_id: str, state: dict[str, str], name: str, at_s: int, tenant: str
) -> None:
    items = sorted([*_outcomes(state, name), (at_s, tenant)])
    horizon_s = ctx.timing.now_s - ctx.timing.retention_s
    items = [item for item in items if item[0] >= horizon_s]
    if len(items) > MAX_ITEMS:
        ctx.total("state_limit_hits", {"limit": "max_customer_outcomes"}, len(items) - MAX_ITEMS)
        items = items[-MAX_ITEMS:]
    write(ctx, customer_id, state, {name: dump_list([list(item) for item in items])})


def _bounded(ctx: BatchContext, seen: list[View]) -> list[View]:
    horizon_s = ctx.timing.now_s - ctx.timing.retention_s
    kept = sorted(
        (v for v in seen if v.at_s >= horizon_s),
        key=lambda v: (v.at_s, v.source, v.message_id, v.device),
    )
    if len(kept) > MAX_ITEMS:
        ctx.total("state_limit_hits", {"limit": "max_customer_views"}, len(kept) - MAX_ITEMS)
        kept = kept[-MAX_ITEMS:]
    return kept
