"""Promises credited to the agent who made them (catalog §9, "Agent credit"; K7).

A promise's ``made`` event names the agent; its ``kept``, ``broken`` or ``cancelled``
event is credited to that agent whatever it carries, at its own time. The customer's
hash (promises are keyed by ``customer_id``) remembers each promise's maker,
``pa:<promise_id>`` = made time, agent id, tenant; an outcome that arrives before its
``made`` waits in ``ph:<promise_id>`` and is credited when the ``made`` comes, so the
counts are the same in any arrival order. A second ``made`` of one promise (another
event id) is not a second promise. The hash is kept until a promise can no longer
resolve (``KEEP_AFTER_DUE_S`` after its due date), not just for the retention.

The same memory gives the promise cohort (K4-K6, ``promise_cohort``): the ``made``
counts in the bucket of its own time, and the promise's first ``kept`` in the bucket
of that made time, under the made event's direction, kind, maker and tenant, which
``pa:`` also keeps, with whether the kept was counted (once per promise, whichever of
made and kept came first). A maker remembered before the cohort existed (three parts)
has no cohort made count, so its kept is not counted there either. The daily per-agent
facts (``store.collector_net``) also get the cohort per direction and kind, for K6 by
team (``kpi.team_promises``); ``pa:``'s seventh part marks a made booked there, and
only a marked promise's kept is booked there (a maker of six parts was made before
those columns existed: its kept would have no made beside it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time

from collectpulse.events.models import PromiseEvent
from collectpulse.kpi.team_promises import cohort_column
from collectpulse.store import agent_ledger, collector_net
from collectpulse.store.context import BatchContext
from collectpulse.store.customer_state import KEEP_UNTIL, dump_list, forget, load_list, write
from collectpulse.store.keys import FIELD_SEP

MAKER, HELD = "pa:", "ph:"
MAX_PROMISES = 50
"""Per customer: makers remembered and promises with outcomes waiting (oldest go)."""
KEEP_AFTER_DUE_S = 35 * 86_400
MAX_KEEP_S = 400 * 86_400
_KEPT = ("0", "1")
_KEPT_FIELDS = ("made_s", "agent", "tenant", "direction", "kind", "kept")
"""A ``pa:`` value's parts (joined by FIELD_SEP); before the cohort only the first three."""
_DAILY = "d"
"""``pa:``'s seventh part: the made is booked in the daily per-direction-and-kind columns
(absent in a maker stored before they existed)."""
_LEDGER = {"made": "promises_made", "kept": "promises_kept", "broken": "promises_broken"}


def apply(
    ctx: BatchContext,
    customer_id: str,
    state: dict[str, str],
    event: PromiseEvent,
    at_s: int,
    tenant: str,
) -> None:
    pid = event.promise_id
    maker = state.get(MAKER + pid)
    if event.status == "made":
        if maker is not None:
            return  # the promise was made already (its first made event wins)
        agent = (event.agent_id or "").replace(FIELD_SEP, "")
        held = load_list(state, HELD + pid)
        kept = any(status == "kept" for status, _, _ in held)
        made = (str(at_s), agent, tenant, event.direction, event.kind, _KEPT[kept], _DAILY)
        updates = {MAKER + pid: FIELD_SEP.join(made)}
        _keep_until(ctx, state, updates, event, at_s)
        write(ctx, customer_id, state, updates)
        _credit(ctx, "made", agent, tenant, at_s)
        _cohort(ctx, made, "made")
        if kept:
            _cohort(ctx, made, "kept")
        for status, outcome_s, outcome_tenant in held:
            _credit(ctx, str(status), agent, str(outcome_tenant), int(outcome_s))
        if held:
            forget(ctx, customer_id, state, [HELD + pid])
        _bound(ctx, customer_id, state, MAKER)
        return
    if maker is not None:
        parts = maker.split(FIELD_SEP)
        _credit(ctx, event.status, parts[1], tenant, at_s)
        kept_at = len(_KEPT_FIELDS) - 1
        if event.status == "kept" and len(parts) > kept_at and parts[kept_at] != "1":
            parts[kept_at] = "1"
            write(ctx, customer_id, state, {MAKER + pid: FIELD_SEP.join(parts)})
            _cohort(ctx, parts, "kept")
        return
    held = [*load_list(state, HELD + pid), [event.status, at_s, tenant]]
    updates = {HELD + pid: dump_list(held)}
    _keep_until(ctx, state, updates, event, at_s)
    write(ctx, customer_id, state, updates)
    _bound(ctx, customer_id, state, HELD)


def _cohort(ctx: BatchContext, made: Sequence[str], status: str) -> None:
    """Count in ``promise_cohort`` at the made time (``made``: the ``pa:`` parts)."""
    made_s, agent, tenant, direction, kind = made[:5]
    labels = {
        "direction": direction,
        "kind": kind,
        "agent": ctx.label("agent", agent),
        "tenant": tenant,
        "status": status,
    }
    ctx.windowed("promise_cohort", labels, int(made_s))
    outbound = direction == "outbound"
    columns = [f"promises_{status}_cohort"]
    if outbound and status == "kept":
        columns.append("outbound_kept_cohort")
    elif outbound and kind == "promise_to_pay":
        columns.append("outbound_ptp_made")
    for column in columns:
        agent_ledger.count(ctx, column, agent, tenant, int(made_s))
    # K6 by team is read per direction and kind from the daily facts only; a kept is
    # booked there only beside its made (the mark), else the team's ratio could pass 1
    if _DAILY in made[len(_KEPT_FIELDS) :]:
        collector_net.book(ctx, cohort_column(status, direction, kind), agent, tenant, int(made_s))


def _credit(ctx: BatchContext, status: str, agent: str, tenant: str, at_s: int) -> None:
    labels = {"status": status, "agent": ctx.agent(tenant, agent), "tenant": tenant}
    ctx.windowed("agent_promises", labels, at_s)
    column = _LEDGER.get(status)
    if column is not None:
        agent_ledger.count(ctx, column, agent, tenant, at_s)


def _keep_until(
    ctx: BatchContext,
    state: dict[str, str],
    updates: dict[str, str],
    event: PromiseEvent,
    at_s: int,
) -> None:
    """Keep the customer's hash until the promise can no longer resolve."""
    due_s = int(datetime.combine(event.due_date, time(), UTC).timestamp())
    until = min(max(due_s, at_s) + KEEP_AFTER_DUE_S, ctx.timing.now_s + MAX_KEEP_S)
    if until > int(state.get(KEEP_UNTIL, "0")):
        updates[KEEP_UNTIL] = str(until)


def _bound(ctx: BatchContext, customer_id: str, state: dict[str, str], prefix: str) -> None:
    """At most ``MAX_PROMISES`` entries of a kind; the oldest beyond are forgotten, counted."""
    entries = [name for name in state if name.startswith(prefix)]
    if len(entries) <= MAX_PROMISES:
        return
    entries.sort(key=lambda name: _age_key(state[name], prefix))
    dropped = entries[: len(entries) - MAX_PROMISES]
    ctx.total("state_limit_hits", {"limit": "max_customer_promises"}, len(dropped))
    forget(ctx, customer_id, state, dropped)


def _age_key(value: str, prefix: str) -> int:
    if prefix == MAKER:
        return int(value.split(FIELD_SEP, 1)[0])
    held = load_list({"x": value}, "x")
    return min((int(item[1]) for item in held), default=0)
