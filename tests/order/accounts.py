"""The portfolio gauges /metrics must show for a log's account events, from the catalog.

Rules (kpi-catalog sections 8-9), none depending on arrival order: an account's
state is its valid event with the highest ``version`` (duplicates dropped; an event
in another currency than the placement's is not valid); open means status ``open``
or ``in_plan``; days past due = today's UTC date minus ``due_date``, bucketed
``current`` (<= 0), ``1_30``, ``31_60``, ``61_90``, ``91_plus``; a null agent or team
reports ``__unassigned__``; active collectors of a team are the agents with an open
account of the team assigned.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from tests.faults.oracle import Key, P, labels

FAMILIES = frozenset(
    {
        f"{P}open_accounts",
        f"{P}receivables_minor",
        f"{P}accounts_per_collector",
        f"{P}currency_mismatch_total",
    }
)
UNASSIGNED = "__unassigned__"


def bucket(dpd: int) -> str:
    for edge, name in ((0, "current"), (30, "1_30"), (60, "31_60"), (90, "61_90")):
        if dpd <= edge:
            return name
    return "91_plus"


def account_samples(
    bodies: Iterable[dict[str, Any]], today: date | None = None
) -> dict[Key, float]:
    """``bodies``: the log's account events without duplicates."""
    today = today or datetime.now(UTC).date()
    events = list(bodies)
    placed = {b["account_id"]: b["currency"] for b in events if b["change"] == "placed"}
    state: dict[str, dict[str, Any]] = {}
    for body in sorted(events, key=lambda b: b["version"]):
        if body["currency"] == placed.get(body["account_id"], body["currency"]):
            state[body["account_id"]] = body
    samples: dict[Key, float] = defaultdict(float)
    team_accounts: dict[tuple[str, str | None], int] = defaultdict(int)
    collectors: dict[tuple[str, str | None], set[str]] = defaultdict(set)
    for b in state.values():
        if b["status"] not in ("open", "in_plan"):
            continue
        dpd_bucket = bucket((today - date.fromisoformat(b["due_date"])).days)
        team, agent, tenant = b.get("team") or UNASSIGNED, b.get("agent_id"), b.get("tenant")
        key = labels(
            status=b["status"],
            dpd_bucket=dpd_bucket,
            team=team,
            agent=agent or UNASSIGNED,
            tenant=tenant,
        )
        samples[(f"{P}open_accounts", key)] += 1
        money = labels(currency=b["currency"], dpd_bucket=dpd_bucket, tenant=tenant)
        samples[(f"{P}receivables_minor", money)] += b["balance_minor"]
        team_accounts[(team, tenant)] += 1
        if agent:
            collectors[(team, tenant)].add(agent)
    for (team, tenant), agents in collectors.items():
        ratio = team_accounts[(team, tenant)] / len(agents)
        samples[(f"{P}accounts_per_collector", labels(team=team, tenant=tenant))] = ratio
    return dict(samples)
