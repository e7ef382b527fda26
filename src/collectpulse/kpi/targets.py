"""K24 target attainment: period-to-date actual / target (kpi-catalog section 9).

A target names a scope (an agent, a team or the tenant), a metric and a calendar
period (the tenant's local day, ISO week from Monday, or month). Its actual is summed
from the agents' daily facts (``store.collector_net``) over the period's local days
so far: an agent's own, a team's agents' (the roster's team, else the team of the
agent's open accounts), or the tenant's. Money targets compare net collected in the
target's currency. Counts and money are *below target* when the actual is under the
target times the elapsed share of the period; a ratio does not accumulate, so it is
below when it is under the target itself (and not judged before it has a
denominator). Prometheus gets only ``agents_below_target`` (agent-scope targets, by
metric, team and tenant); the per-target attainment is JSON (``GET /api/v1/targets``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from collectpulse.kpi.model import Gauge

NO_TEAM = "__unassigned__"
COLUMNS: Mapping[str, tuple[str, tuple[str, ...] | None]] = {
    "collected_amount_minor": ("collected_amount_minor", None),
    "promises_made": ("promises_made", None),
    "rpc_count": ("outbound_rpcs", None),
    "rpc_ratio": ("outbound_rpcs", ("outbound_attempts",)),
    "promise_kept_ratio": ("promises_kept", ("promises_kept", "promises_broken")),
}
"""Target metric -> (numerator column of the daily facts, denominator columns of a ratio)."""

TARGET_GAUGES = (
    Gauge(
        "agents_below_target",
        "Agents under an agent target of theirs now: a count or amount (collected net, "
        "promises made, RPCs) under target x the elapsed share of its calendar period "
        "(local day, week from Monday, month), or a ratio (RPC ratio, promise kept ratio) "
        "under the target itself. Per-target attainment: GET /api/v1/targets.",
        "promises",
        ("metric", "team", "tenant"),
    ),
)

Facts = Mapping[tuple[str, str, str, str, date], int]
"""(column, tenant, currency, agent id, tenant-local day) -> the day's sum."""


@dataclass(frozen=True, slots=True)
class Target:
    """One key's target with its values by ``valid_from``."""

    key: str
    tenant: str
    scope: str
    scope_id: str
    metric: str
    period: str
    currency: str
    values: tuple[tuple[date, float], ...]
    """(valid_from, value), oldest first."""

    def in_force(self, today: date) -> float | None:
        """The value valid on ``today`` (the latest ``valid_from`` not after it)."""
        valid = [value for since, value in self.values if since <= today]
        return valid[-1] if valid else None


def period_days(period: str, today: date) -> tuple[date, date]:
    """The period holding ``today``: (first day, first day after it)."""
    if period == "day":
        return today, today + timedelta(days=1)
    if period == "week":
        start = today - timedelta(days=today.weekday())
        return start, start + timedelta(days=7)
    start = today.replace(day=1)
    following = (start + timedelta(days=32)).replace(day=1)
    return start, following


def elapsed_share(period: str, now_s: float, tz: tzinfo) -> float:
    """How much of the local period holding ``now_s`` has passed, in [0, 1]."""
    today = datetime.fromtimestamp(now_s, tz).date()
    first, after = period_days(period, today)
    start_s = datetime.combine(first, time(), tz).timestamp()
    end_s = datetime.combine(after, time(), tz).timestamp()
    return min(max((now_s - start_s) / (end_s - start_s), 0.0), 1.0)


def attainment(
    targets: list[Target],
    facts: Facts,
    team_of: Mapping[tuple[str, str], str],
    now_s: float,
    tz_of: Callable[[str], tzinfo],
) -> list[dict[str, Any]]:
    """One row per target in force: its actual so far, attainment and whether it is below."""
    rows = []
    for target in sorted(targets, key=lambda t: t.key):
        tz = tz_of(target.tenant)
        today = datetime.fromtimestamp(now_s, tz).date()
        value = target.in_force(today)
        if value is None or target.metric not in COLUMNS:
            continue
        first, _ = period_days(target.period, today)
        top, below = COLUMNS[target.metric]
        sums: dict[str, int] = defaultdict(int)
        for (column, tenant, currency, agent, day), amount in facts.items():
            if tenant != target.tenant or not first <= day <= today:
                continue
            if target.currency and currency != target.currency:
                continue
            if _in_scope(target, agent, team_of.get((tenant, agent), NO_TEAM)):
                sums[column] += amount
        actual: float | None
        if below is None:
            actual = float(sums[top])
        else:
            denominator = sum(sums[c] for c in below)
            actual = sums[top] / denominator if denominator else None
        share = elapsed_share(target.period, now_s, tz)
        expected = value if below is not None else value * share
        rows.append(
            {
                "scope": target.scope,
                "scope_id": target.scope_id,
                "metric": target.metric,
                "period": target.period,
                "tenant": target.tenant,
                "currency": target.currency or None,
                "period_start": first.isoformat(),
                "target": value,
                "actual": actual,
                "attainment": actual / value if actual is not None and value > 0 else None,
                "elapsed_share": share,
                "below_target": actual is not None and actual < expected,
            }
        )
    return rows


def agents_below_target(
    rows: list[dict[str, Any]], team_of: Mapping[tuple[str, str], str]
) -> dict[tuple[str, str, str], int]:
    """(metric, team, tenant) -> agents below one of their agent-scope targets."""
    agents: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for row in rows:
        if row["scope"] == "agent":
            tenant, agent = row["tenant"], row["scope_id"]
            labels = (row["metric"], team_of.get((tenant, agent), NO_TEAM), tenant)
            agents[labels]  # every agent-target's labels report, 0 when none is below
            if row["below_target"]:
                agents[labels].add(agent)
    return {labels: len(found) for labels, found in agents.items()}


def _in_scope(target: Target, agent: str, team: str) -> bool:
    if target.scope == "agent":
        return agent == target.scope_id
    if target.scope == "team":
        return team == target.scope_id
    return True


__all__ = [
    "COLUMNS",
    "TARGET_GAUGES",
    "Facts",
    "Target",
    "agents_below_target",
    "attainment",
    "elapsed_share",
    "period_days",
]
