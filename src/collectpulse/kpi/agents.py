"""The per-agent KPIs of catalog §9 (agents and contacts), a section of the one KPI table.

``kpi.definitions`` adds these to ``COUNTERS`` and ``RATIOS``; the store, the exporter,
docs/KPIS.md and the dashboards see no difference. Agent credit follows §9: a promise
and its outcome count for the agent who made it.
"""

from __future__ import annotations

from collectpulse.kpi.labels import AGENT, PROMISE_STATUS, TENANT
from collectpulse.kpi.model import Bucketing, Counter, Ratio, term

AGENT_COUNTERS: tuple[Counter, ...] = (
    Counter(
        "agent_promises",
        "Promises made by each agent, and their outcomes (kept, broken, cancelled) credited "
        "to the agent who made them whoever reports the outcome (catalog K7); windowed by "
        "each event's own time. Agents past the label cap report as __other__; the "
        "complete table is GET /api/v1/agents.",
        "promises",
        (PROMISE_STATUS, AGENT, TENANT),
        Bucketing.ACTIVITY,
    ),
)

AGENT_RATIOS: tuple[Ratio, ...] = (
    Ratio(
        "agent_promise_kept",
        (term("agent_promises", status="kept"),),
        (term("agent_promises", status="kept"), term("agent_promises", status="broken")),
        "Per agent: share of the promises resolved in the window (kept or broken) that "
        "were kept, credited to the agent who made them (catalog K7).",
        ("agent", "tenant"),
    ),
)
