"""The contact centre's reference data for the `agent-floor` scenario: the dialer's roster
on the `agent` topic and each agent's daily targets on the `target` topic.

Pure: the same roster the dialer uses (``dialer.roster``), every agent an active
collector, and per agent a daily target of promises made and right-party contacts,
valid from the first day of the current month. No team targets: the catalog keys a
target by ``scope:scope_id:metric:period``, without the tenant, and the simulated
tenants share team names.
"""

from __future__ import annotations

from datetime import datetime

from collectpulse.events.roster import AgentEvent, TargetEvent
from collectpulse.simulate.dialer import roster
from collectpulse.simulate.scenario import Scenario

DAILY_PROMISES = 6.0
DAILY_RPCS = 25.0


def floor_records(scenario: Scenario, now: datetime) -> list[AgentEvent | TargetEvent]:
    """Every tenant's roster entries, then the agents' daily targets."""
    stamp = int(now.timestamp())
    month_start = now.date().replace(day=1)
    agents: list[AgentEvent | TargetEvent] = []
    targets: list[AgentEvent | TargetEvent] = []
    for tenant in scenario.tenants:
        for agent in roster(tenant):
            agents.append(
                AgentEvent(
                    event_id=f"sim-agent-{agent.agent_id}-{stamp}",
                    occurred_at=now,
                    tenant=tenant.name,
                    agent_id=agent.agent_id,
                    team=agent.team,
                    role="collector",
                    status="active",
                )
            )
            for metric, value in (("promises_made", DAILY_PROMISES), ("rpc_count", DAILY_RPCS)):
                targets.append(
                    TargetEvent(
                        event_id=f"sim-target-{agent.agent_id}-{metric}-{stamp}",
                        occurred_at=now,
                        tenant=tenant.name,
                        scope="agent",
                        scope_id=agent.agent_id,
                        metric=metric,
                        period="day",
                        value=value,
                        valid_from=month_start,
                    )
                )
    return agents + targets


__all__ = ["floor_records"]
