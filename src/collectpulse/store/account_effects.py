"""Account state: one hash per account at the highest ``version`` seen, and the
partition's point-in-time aggregates over open accounts (kpi-catalog sections 8-9).

Every ``account`` event carries the account's full state after a change, so the
state is simply the event with the highest version: a lower or equal version
arriving later changes nothing and counts in ``account_stale_versions``. The
aggregates are updated by the difference between the contribution of the state
held and that of the new state, so whatever order the versions arrive in, the
partition ends with the contribution of the highest version:

- ``acc-open``: open accounts by tenant, status, team, agent and due date (K9);
- ``acc-recv``: balance and count of open accounts by tenant, currency and due
  date (receivables E, K18), and open accounts by tenant, currency and team
  (``<tenant> <currency> <team> t``: H(W) of K10 by team). An account stored before
  the team count has no ``tf`` and is in no ``t`` field until its next version: the
  reader counts the difference to the receivables' count as ``__unassigned__``
  (``kpi.allocation.open_by_team``);
- ``acc-agents``: open assigned accounts per uncapped agent id (active collectors);
- ``flow:<day>``: the daily balance flows S and R (``store.account_flows``);
- ``account_exits`` / ``account_reentries`` (bucket counters): transitions of the
  version chain, stale versions included (``store.account_transitions``, K20).

Days past due are computed from the due dates when read (``kpi.accounts``), so
nothing here needs a timer. The account hash remembers the exact fields it
contributed (labels as capped at the time), so taking a contribution back never
depends on the label registry's state later.

The currency is fixed at ``placed``: an event in another currency than the
placement's (or, while the placement has not been seen, than the state held) is
counted in ``currency_mismatch`` and not applied.
"""

from __future__ import annotations

from collectpulse.events.models import OPEN_STATUSES, AccountEvent, Topic
from collectpulse.store import account_transitions, allocation, assignee_credit
from collectpulse.store.account_flows import book_flows
from collectpulse.store.context import BatchContext
from collectpulse.store.keys import FIELD_SEP

UNASSIGNED = "__unassigned__"
"""The agent (and team) label of open accounts nobody is assigned to."""

# Fields of an account's hash.
VERSION = "v"
CURRENCY = "cur"
PLACED_CURRENCY = "pc"
"""The currency of the account's ``placed`` event, once seen (even as a stale version)."""
OPEN_FIELD = "of"
RECV_FIELD = "rf"
AGENT_FIELD = "af"
TEAM_FIELD = "tf"
BALANCE = "bal"
_STATE_FIELDS = ("st", "due", "ag", "tm", "tn", "seg", "cid")


def apply_account(ctx: BatchContext, event: AccountEvent, occurred_s: int) -> None:
    """Apply one account event (already deduplicated on its event id): its state when it
    is the newest version, its balance flows whatever its version (store.account_flows)."""
    key = ctx.keys.account(ctx.partition, event.account_id)
    state = ctx.accounts.setdefault(event.account_id, {})
    updates: dict[str, str] = {}
    if event.change == "placed" and PLACED_CURRENCY not in state:
        updates[PLACED_CURRENCY] = event.currency
    reference = state.get(PLACED_CURRENCY) or state.get(CURRENCY)
    if reference is not None and event.currency != reference:
        ctx.quality("currency_mismatch", Topic.ACCOUNT)
    else:
        updates.update(book_flows(ctx, state, event, occurred_s))
        # exits and re-entries follow the version chain, stale versions included (K20)
        updates.update(account_transitions.record(ctx, state, event))
        assignee_credit.on_account(ctx, event, occurred_s)
        if event.version <= int(state.get(VERSION, "0")):
            ctx.quality("account_stale_versions", Topic.ACCOUNT)
        else:
            updates.update(_replace(ctx, state, event))
        allocation.on_account(ctx, event, occurred_s)
    if updates:
        state.update(updates)
        ctx.plan.set_fields(key, updates)


def _replace(ctx: BatchContext, state: dict[str, str], event: AccountEvent) -> dict[str, str]:
    """Move the aggregates from ``state``'s contribution to ``event``'s; the new fields."""
    k, p, plan = ctx.keys, ctx.partition, ctx.plan
    old_balance = int(state.get(BALANCE, "0"))
    if state.get(OPEN_FIELD):
        plan.add_net(k.open_accounts(p), state[OPEN_FIELD], -1)
    if state.get(RECV_FIELD):
        plan.add_net(k.receivables(p), f"{state[RECV_FIELD]}{FIELD_SEP}b", -old_balance)
        plan.add_net(k.receivables(p), f"{state[RECV_FIELD]}{FIELD_SEP}n", -1)
    if state.get(AGENT_FIELD):
        plan.add_net(k.account_agents(p), state[AGENT_FIELD], -1)
    if state.get(TEAM_FIELD):
        plan.add_net(k.receivables(p), f"{state[TEAM_FIELD]}{FIELD_SEP}t", -1)
    open_field = recv_field = agent_field = team_field = ""
    if event.status in OPEN_STATUSES:
        tenant = ctx.label("tenant", event.tenant or "")
        team = ctx.label("team", event.team) if event.team else UNASSIGNED
        agent = ctx.agent(event.tenant, event.agent_id) if event.agent_id else UNASSIGNED
        due = event.due_date.isoformat()
        open_field = FIELD_SEP.join((tenant, event.status, team, agent, due))
        recv_field = FIELD_SEP.join((tenant, event.currency, due))
        plan.add_net(k.open_accounts(p), open_field, 1)
        plan.add_net(k.receivables(p), f"{recv_field}{FIELD_SEP}b", event.balance_minor)
        plan.add_net(k.receivables(p), f"{recv_field}{FIELD_SEP}n", 1)
        team_field = FIELD_SEP.join((tenant, event.currency, team))
        plan.add_net(k.receivables(p), f"{team_field}{FIELD_SEP}t", 1)
        if event.agent_id:
            agent_field = FIELD_SEP.join((tenant, team, event.agent_id))
            plan.add_net(k.account_agents(p), agent_field, 1)
    values = (
        event.status,
        event.due_date.isoformat(),
        event.agent_id or "",
        event.team or "",
        event.tenant or "",
        event.segment or "",
        event.customer_id,
    )
    return {
        VERSION: str(event.version),
        CURRENCY: event.currency,
        BALANCE: str(event.balance_minor),
        OPEN_FIELD: open_field,
        RECV_FIELD: recv_field,
        AGENT_FIELD: agent_field,
        TEAM_FIELD: team_field,
        **dict(zip(_STATE_FIELDS, values, strict=True)),
    }


__all__ = ["UNASSIGNED", "apply_account"]
