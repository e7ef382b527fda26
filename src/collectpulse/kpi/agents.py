"""The per-agent KPIs of catalog §9 (agents and contacts), a section of the one KPI table.

``kpi.definitions`` adds these to ``COUNTERS`` and ``RATIOS``; the store, the exporter,
docs/KPIS.md and the dashboards see no difference. Agent credit follows §9: a promise
and its outcome count for the agent who made it.
"""

from __future__ import annotations

from collectpulse.kpi.labels import AGENT, DIRECTION, PROMISE_KIND, PROMISE_STATUS, TENANT
from collectpulse.kpi.model import Bucketing, Counter, Label, Ratio, Term, term

COHORT_STATUS = Label("status", ("made", "kept"))

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
    Counter(
        "promise_cohort",
        "Promises made (status made) and, of them, those kept so far (status kept), both "
        "in the bucket of the promise's made time, by the made event's direction and kind, "
        "credited to the agent who made it: a kept arriving days later still counts for "
        "the window the promise was made in (catalog K4-K6). Once per promise, whatever "
        "the order or repeats of its made and kept events.",
        "promises",
        (DIRECTION, PROMISE_KIND, AGENT, TENANT, COHORT_STATUS),
        Bucketing.PROMISE_COHORT,
    ),
)

_OUTBOUND_RPCS = (term("contact_attempts", direction="outbound", outcome="right_party"),)
_MADE = term("promise_cohort", status="made")
_KEPT = term("promise_cohort", status="kept")


def _outbound_promises(**where: str) -> tuple[Term, ...]:
    return (term("promise_cohort", direction="outbound", **where),)


AGENT_RATIOS: tuple[Ratio, ...] = (
    Ratio(
        "agent_promise_kept",
        (term("agent_promises", status="kept"),),
        (term("agent_promises", status="kept"), term("agent_promises", status="broken")),
        "Per agent: share of the promises resolved in the window (kept or broken) that "
        "were kept, credited to the agent who made them (catalog K7).",
        ("agent", "tenant"),
    ),
    Ratio(
        "outbound_ptp_per_rpc",
        _outbound_promises(kind="promise_to_pay", status="made"),
        _OUTBOUND_RPCS,
        "Outbound promises to pay made in the window per outbound right-party contact in "
        "the window (catalog K4); no link between the two is needed. Per agent (the "
        "promise's maker, the contact's agent).",
        ("agent", "tenant"),
        mixed_windows=True,
    ),
    Ratio(
        "outbound_kept_per_rpc",
        _outbound_promises(status="kept"),
        _OUTBOUND_RPCS,
        "Outbound promises made in the window and kept so far per outbound right-party "
        "contact in the window (catalog K5). It grows while the window's promises "
        "resolve: read a window that ended longer ago than the promises' horizon.",
        ("agent", "tenant"),
        mixed_windows=True,
    ),
    Ratio(
        "promise_kept_cohort",
        (_KEPT,),
        (_MADE,),
        "Of the promises made in the window, the share kept so far, by direction and kind "
        "(installment_plan: plan completion), credited to the maker (catalog K6). Grows "
        "while the window's promises resolve.",
        ("direction", "kind", "agent", "tenant"),
    ),
)
