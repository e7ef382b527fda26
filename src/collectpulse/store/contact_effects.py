"""Contact rules (kpi-catalog section 9, K1-K3): one count per finished attempt.

A contact is counted in the activity bucket of its ``occurred_at`` (when the
outcome was known) under its direction, channel and outcome, and the capped
team, agent and dialer-campaign labels; the outbound ratios (right-party,
contact, wrong-number) are read from these counts. A repeat of a
``contact_id`` never gets here: ``effects`` dedupes contacts on it
(``events.keys.dedupe_id``). An unidentified inbound contact (no customer)
counts in the volumes like any other.
"""

from __future__ import annotations

from collectpulse.events.models import ContactEvent, Topic
from collectpulse.store import agent_ledger
from collectpulse.store.context import BatchContext


def apply_contact(ctx: BatchContext, event: ContactEvent, at_s: int) -> None:
    labels = {
        "tenant": ctx.label("tenant", event.tenant or ""),
        "direction": event.direction,
        "channel": event.channel,
        "outcome": event.outcome,
        "team": ctx.label("team", event.team or ""),
        "agent": ctx.agent(event.tenant, event.agent_id),
        "dialer_campaign": ctx.label("dialer_campaign", event.dialer_campaign or ""),
    }
    if not ctx.windowed("contact_attempts", labels, at_s):
        ctx.quality("events_late", Topic.CONTACT)
    if event.direction == "outbound":
        agent, tenant = event.agent_id or "", labels["tenant"]
        agent_ledger.count(ctx, "outbound_attempts", agent, tenant, at_s)
        if event.outcome == "right_party":
            agent_ledger.count(ctx, "outbound_rpcs", agent, tenant, at_s)
