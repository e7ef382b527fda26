"""K8 ``collected_per_collector``: a team's net collected over 7 or 30 days per active
collector (kpi-catalog section 9), from the daily per-agent nets (store.collector_net).

Active collectors of a team are the roster's agents with status ``active`` and role
``collector``; a tenant without a roster counts instead the agents with at least one
open account of the team assigned now. An agent's collections go to its roster team,
else to the team of its open accounts; what no team claims (``__unassigned__``
included) has no collectors and reports nothing. Windows are whole days local to the
tenant ending today, as the portfolio gauges' windows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date, timedelta

from collectpulse.kpi.accounts import Today
from collectpulse.kpi.model import Gauge

WINDOWS_DAYS = {"7d": 7, "30d": 30}
COLLECTED = "collected_amount_minor"
"""The daily facts' column of net collected (succeeded minus reversed)."""
NO_TEAM = "__unassigned__"

RosterRow = tuple[str, str, str]
"""(team, role, status) of a roster entry."""

COLLECTOR_GAUGES = (
    Gauge(
        "collected_per_collector",
        "Net collected (succeeded minus reversed payments, minor units) of the team in the "
        "window (7d or 30d: whole days local to the tenant ending today) per active "
        "collector: the roster's active agents with role collector, or without a roster "
        "the agents with at least one open account of the team assigned. A payment counts "
        "for its agent_id, else its account's assignee at its time; the agent's team is the "
        "roster's, else its open accounts'. Absent for a team without collectors.",
        "portfolio",
        ("currency", "team", "tenant", "window"),
    ),
)


def active_collectors(
    roster: Mapping[tuple[str, str], RosterRow],
    collectors: Mapping[tuple[str, str], frozenset[str]],
) -> dict[tuple[str, str], frozenset[str]]:
    """(tenant, team) -> its active collectors: the roster's where the tenant has one."""
    rostered = {tenant for tenant, _ in roster}
    out: dict[tuple[str, str], set[str]] = defaultdict(set)
    for (tenant, agent), (team, role, status) in roster.items():
        if status == "active" and role == "collector":
            out[(tenant, team)].add(agent)
    for (tenant, team), agents in collectors.items():
        if tenant not in rostered:
            out[(tenant, team)].update(agents)
    return {pair: frozenset(agents) for pair, agents in out.items() if agents}


def agent_teams(
    roster: Mapping[tuple[str, str], RosterRow],
    collectors: Mapping[tuple[str, str], frozenset[str]],
) -> dict[tuple[str, str], str]:
    """(tenant, agent id) -> its team: the roster's, else the team of its open accounts."""
    team_of: dict[tuple[str, str], str] = {}
    for (tenant, team), agents in sorted(collectors.items()):
        for agent in agents:
            team_of.setdefault((tenant, agent), team)
    for (tenant, agent), (team, _, _) in roster.items():
        team_of[(tenant, agent)] = team
    return team_of


def collected_per_collector(
    facts: Mapping[tuple[str, str, str, str, date], int],
    roster: Mapping[tuple[str, str], RosterRow],
    collectors: Mapping[tuple[str, str], frozenset[str]],
    today: Today,
) -> dict[tuple[str, str, str, str], float]:
    """(currency, team, tenant, window) -> net collected / active collectors; ``facts``
    are the daily per-agent facts ``(column, tenant, currency, agent, day) -> sum``."""
    team_of = agent_teams(roster, collectors)
    active = active_collectors(roster, collectors)
    sums: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for (column, tenant, currency, agent, day), amount in facts.items():
        if column != COLLECTED:
            continue
        team = team_of.get((tenant, agent), NO_TEAM)
        local = today if isinstance(today, date) else today(tenant)
        for window, days in WINDOWS_DAYS.items():
            if local - timedelta(days=days) < day <= local:
                sums[(currency, team, tenant, window)] += amount
    return {
        labels: amount / len(active[(labels[2], labels[1])])
        for labels, amount in sums.items()
        if (labels[2], labels[1]) in active
    }


__all__ = [
    "COLLECTOR_GAUGES",
    "WINDOWS_DAYS",
    "RosterRow",
    "active_collectors",
    "agent_teams",
    "collected_per_collector",
]
