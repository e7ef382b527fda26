"""``GET /api/v1/targets``: each target in force with its period-to-date attainment (K24).

Prometheus gets only ``agents_below_target``; the per-agent (and per-team, per-tenant)
attainment is JSON (catalog section 9). The figures are ``kpi.targets``' over the
daily facts, the roster and the targets the exporter reads for ``/metrics``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import tzinfo
from typing import Any

from collectpulse.kpi.collectors import agent_teams
from collectpulse.kpi.targets import attainment
from collectpulse.settings import Settings
from collectpulse.store.client import StoreClient
from collectpulse.store.collector_net import read_net
from collectpulse.store.keys import FIELD_SEP, Keys
from collectpulse.store.roster import RosterStore
from collectpulse.store.targets import TargetStore
from collectpulse.zones import zone

SCOPES = ("agent", "team", "tenant")


async def target_rows(client: StoreClient, settings: Settings, now_s: int) -> list[dict[str, Any]]:
    """Every target in force, with its actual so far, attainment and whether it is below."""
    keys = Keys(settings.key_prefix)
    partitions = sorted(int(p) for p in await client.smembers(keys.partitions()))
    facts = await read_net(client, keys, partitions, now_s)
    roster = await RosterStore(client, settings.key_prefix).entries()
    targets = await TargetStore(client, settings.key_prefix).targets()
    pipe = client.pipeline(transaction=False)
    for p in partitions:
        pipe.hgetall(keys.account_agents(p))
    collectors: dict[tuple[str, str], set[str]] = defaultdict(set)
    for reply in await pipe.execute() if partitions else []:
        for name, count in reply.items():
            text = name.decode() if isinstance(name, bytes) else str(name)
            tenant, team, agent = text.split(FIELD_SEP, 2)
            if int(count) > 0:
                collectors[(tenant, team)].add(agent)
    teams = agent_teams(
        {(e.tenant, e.agent_id): (e.team, e.role, e.status) for e in roster},
        {pair: frozenset(agents) for pair, agents in collectors.items()},
    )

    def tz_of(tenant: str) -> tzinfo:
        return zone(settings.tenant_time_zones.get(tenant, settings.default_time_zone))

    return attainment(targets, facts, teams, now_s, tz_of)


__all__ = ["SCOPES", "target_rows"]
