"""Contact rules (kpi-catalog section 9, K1-K3): one count per finished attempt.

A contact is counted in the activity bucket of its ``occurred_at`` (when the
outcome was known) under its direction, channel and outcome, and the capped
team, agent and dialer-campaign labels; the outbound ratios (right-party,
contact, wrong-number) are read from these counts. A repeat of a
``contact_id`` never gets here: ``effects`` dedupes contacts on it
(``events.keys.dedupe_id``). An unidentified inbound contact (no customer)
counts in the volumes like any other.

Each attempt also counts, per tenant, in its tenant-local day's flow hash (field
``<tenant> n``, kept as long as the flows): the 30d/90d attempts K12's cost per
contact divides by, beyond the activity windows. The partition's totals hash keeps
since when it counts them (``attempts_since``, kept at its minimum): 0 when its first
write ever was by a version that counts, else the time of its first write by one (an
upgrade: the attempts applied before were not counted), so K12 can leave out a window
that starts before it.
"""

from __future__ import annotations

from datetime import date

from collectpulse.events.models import ContactEvent, Topic
from collectpulse.store import agent_ledger
from collectpulse.store.account_flows import FLOW_RETENTION_DAYS
from collectpulse.store.context import BatchContext
from collectpulse.store.keys import DAY_S, FIELD_SEP
from collectpulse.zones import local_date, zone

ATTEMPTS = "n"
"""The flow-hash kind of a tenant's contact attempts that day (``<tenant> n``)."""
ATTEMPTS_SINCE = "attempts_since"
"""The totals-hash field: Unix seconds since which the partition counts attempts."""
_EPOCH = date(1970, 1, 1).toordinal()


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
    _count_day(ctx, event.tenant or "", labels["tenant"], at_s)
    if event.direction == "outbound":
        agent, tenant = event.agent_id or "", labels["tenant"]
        agent_ledger.count(ctx, "outbound_attempts", agent, tenant, at_s)
        if event.outcome == "right_party":
            agent_ledger.count(ctx, "outbound_rpcs", agent, tenant, at_s)


def _count_day(ctx: BatchContext, tenant: str, label: str, at_s: int) -> None:
    timing = ctx.timing
    day = local_date(at_s, zone(timing.tenant_zones.get(tenant, timing.default_zone)))
    # a local day ends at most 14 h after its UTC end: one day of slack
    expires_s = (day.toordinal() - _EPOCH + 2 + FLOW_RETENTION_DAYS) * DAY_S - timing.now_s
    if expires_s <= 0:
        return
    key = ctx.keys.flows(ctx.partition, day.isoformat())
    ctx.plan.add(key, f"{label}{FIELD_SEP}{ATTEMPTS}", 1)
    ctx.plan.expire_in(key, expires_s)


def mark_counting(ctx: BatchContext, first_write: bool) -> None:
    """Keep since when this partition counts attempts (every write; the minimum stays).

    ``first_write``: no stream of the partition was ever applied, so nothing went
    uncounted (0); else this write's time, which the first write of an upgrade fixes.
    """
    ctx.plan.keep_min(ctx.totals_key, ATTEMPTS_SINCE, 0 if first_write else ctx.timing.now_s)
