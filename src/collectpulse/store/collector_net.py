"""Net collected per credited agent and tenant-local day, for K8 (collected per collector).

K8 divides a team's net collected over 7 or 30 days by its active collectors; a team
is the agent's (the roster's, else the team of the agent's open accounts), known only
when read. So a payment adds its amount (a reversal subtracts it) to the credited
agent's uncapped id in the hash of its tenant-local day (``cp:{pN}:agnet:<day>``),
like the daily balance flows: the exporter sums the days and maps agents to teams.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from collectpulse.events.models import PaymentEvent
from collectpulse.store.agent_ledger import UNASSIGNED
from collectpulse.store.client import StoreClient
from collectpulse.store.context import BatchContext
from collectpulse.store.keys import DAY_S, FIELD_SEP, Keys
from collectpulse.zones import local_date, zone

RETENTION_DAYS = 31
"""Days a day's hash is kept after it ends: the 30-day window and a day of zone slack."""


def book(
    ctx: BatchContext, event: PaymentEvent, tenant: str, agent_id: str, at_s: int, sign: int
) -> None:
    """Add ``sign`` x the payment's amount to ``agent_id``'s net of its local day."""
    timing = ctx.timing
    day = local_date(at_s, zone(timing.tenant_zones.get(event.tenant or "", timing.default_zone)))
    end_s = (day.toordinal() - 719_162 + 1) * DAY_S  # 719_162 = date(1970, 1, 1).toordinal()
    ttl_s = end_s + RETENTION_DAYS * DAY_S - timing.now_s
    if ttl_s <= 0:
        return
    agent = (agent_id or UNASSIGNED).replace(FIELD_SEP, "")
    key = ctx.keys.agent_net(ctx.partition, day.isoformat())
    ctx.plan.incr[(key, FIELD_SEP.join((tenant, event.currency, agent)))] += (
        sign * event.amount_minor
    )
    ctx.plan.expire_in(key, ttl_s)


READ_DAYS = 32
"""UTC today + 1 and the 31 days before it cover every tenant's last 30 local days."""


async def read_net(
    client: StoreClient, keys: Keys, partitions: Sequence[int], now_s: float
) -> dict[tuple[str, str, str, date], int]:
    """(tenant, currency, agent id, tenant-local day) -> net collected, over partitions."""
    last = datetime.fromtimestamp(now_s, UTC).date() + timedelta(days=1)
    days = [last - timedelta(days=i) for i in range(READ_DAYS)]
    if not partitions:
        return {}
    pipe = client.pipeline(transaction=False)
    for p in partitions:
        for day in days:
            pipe.hgetall(keys.agent_net(p, day.isoformat()))
    replies = await pipe.execute()
    sums: dict[tuple[str, str, str, date], int] = defaultdict(int)
    for i, hashed in enumerate(replies):
        day = days[i % len(days)]
        for name, value in hashed.items():
            text = name.decode() if isinstance(name, bytes) else str(name)
            tenant, currency, agent = text.split(FIELD_SEP, 2)
            sums[(tenant, currency, agent, day)] += int(value)
    return {k: v for k, v in sums.items() if v}


__all__ = ["READ_DAYS", "RETENTION_DAYS", "book", "read_net"]
