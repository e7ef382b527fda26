"""The agents' facts per tenant-local day: K8 (collected per collector) and K24 (targets).

K8 divides a team's net collected over 7 or 30 days by its active collectors, and K24
compares a calendar day's, week's or month's figures with the agents' targets; an
agent's team is the roster's (else the team of its open accounts), known only when
read. So every fact the per-agent ledger counts (``store.agent_ledger``: collected,
promises made, kept and broken, outbound attempts and RPCs, the promise cohort; K4-K7
by team read them too, ``kpi.team_promises``) is also added, by the
agent's uncapped id, to the hash of its tenant-local day (``cp:{pN}:agnet:<day>``),
like the daily balance flows, and a reversal subtracts its amount from collected: the
day's collected is net. The exporter sums the days it needs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from collectpulse.store.client import StoreClient
from collectpulse.store.context import BatchContext
from collectpulse.store.keys import DAY_S, FIELD_SEP, Keys
from collectpulse.zones import local_date, zone

UNASSIGNED = "__unassigned__"
"""What no agent earned (as ``store.agent_ledger`` names it)."""
RETENTION_DAYS = 31
"""Days a day's hash is kept after it ends: the 30-day window and a day of zone slack."""


def book(
    ctx: BatchContext,
    column: str,
    agent_id: str,
    tenant: str,
    at_s: int,
    amount: int = 1,
    currency: str = "",
) -> None:
    """Add ``amount`` to ``agent_id``'s ``column`` on the local day of ``at_s``."""
    timing = ctx.timing
    day = local_date(at_s, zone(timing.tenant_zones.get(tenant, timing.default_zone)))
    end_s = (day.toordinal() - 719_162 + 1) * DAY_S  # 719_162 = date(1970, 1, 1).toordinal()
    ttl_s = end_s + RETENTION_DAYS * DAY_S - timing.now_s
    if ttl_s <= 0:
        return
    agent = (agent_id or UNASSIGNED).replace(FIELD_SEP, "")
    key = ctx.keys.agent_net(ctx.partition, day.isoformat())
    ctx.plan.incr[(key, FIELD_SEP.join((column, tenant, currency, agent)))] += amount
    ctx.plan.expire_in(key, ttl_s)


READ_DAYS = 32
"""UTC today + 1 and the 31 days before it cover every tenant's last 30 local days."""


DailyFacts = dict[tuple[str, str, str, str, date], int]
"""(column, tenant, currency, agent id, tenant-local day) -> the day's sum."""


async def read_net(
    client: StoreClient, keys: Keys, partitions: Sequence[int], now_s: float
) -> DailyFacts:
    """The last ``READ_DAYS`` days' facts, summed over partitions."""
    last = datetime.fromtimestamp(now_s, UTC).date() + timedelta(days=1)
    days = [last - timedelta(days=i) for i in range(READ_DAYS)]
    if not partitions:
        return {}
    pipe = client.pipeline(transaction=False)
    for p in partitions:
        for day in days:
            pipe.hgetall(keys.agent_net(p, day.isoformat()))
    replies = await pipe.execute()
    sums: DailyFacts = defaultdict(int)
    for i, hashed in enumerate(replies):
        day = days[i % len(days)]
        for name, value in hashed.items():
            text = name.decode() if isinstance(name, bytes) else str(name)
            column, tenant, currency, agent = text.split(FIELD_SEP, 3)
            sums[(column, tenant, currency, agent, day)] += int(value)
    return {k: v for k, v in sums.items() if v}


__all__ = ["READ_DAYS", "RETENTION_DAYS", "DailyFacts", "book", "read_net"]
