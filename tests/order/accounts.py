"""The portfolio gauges /metrics must show for a log's account events, from the catalog.

Rules (kpi-catalog sections 8-9), none depending on arrival order: an account's
state is its valid event with the highest ``version`` (duplicates dropped; an event
in another currency than the placement's is not valid); open means status ``open``
or ``in_plan``; days past due = today's UTC date minus ``due_date``, bucketed
``current`` (<= 0), ``1_30``, ``31_60``, ``61_90``, ``91_plus``; a null agent or team
reports ``__unassigned__``; active collectors of a team are the agents with an open
account of the team assigned.

Flows (K13-K15): every valid event's ``delta_minor`` is S (> 0) or R (< 0) on the UTC
day of its ``occurred_at``, a ``payment``'s also cash; between consecutive versions
(version order) phi(before) - phi(after) is booked the same way on the later one's
day, phi = the balance of a terminal status, 0 while open. Over the whole days of
30d / 90d ending today: DSO = E / S x days, best possible = E_cur / S x days, ADD =
E_pd / S x days (none while S = 0); B = E - S + R, CEI = (B + S - E) / (B + S - E_cur),
cash CEI = cash / (B + S - E_cur) (none while that is 0); balance-weighted DPD over
open past-due balances.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from tests.faults.oracle import Key, P, labels

FLOW_FAMILIES = frozenset(
    {
        f"{P}dso_days",
        f"{P}best_possible_dso_days",
        f"{P}add_days",
        f"{P}cei_ratio",
        f"{P}cash_cei_ratio",
        f"{P}balance_weighted_dpd_days",
    }
)
"""Families that are absent where the catalog says "no sample": compared as ratios."""
FAMILIES = (
    frozenset(
        {
            f"{P}open_accounts",
            f"{P}receivables_minor",
            f"{P}accounts_per_collector",
            f"{P}currency_mismatch_total",
        }
    )
    | FLOW_FAMILIES
)
OPEN = ("open", "in_plan")
UNASSIGNED = "__unassigned__"


def bucket(dpd: int) -> str:
    for edge, name in ((0, "current"), (30, "1_30"), (60, "31_60"), (90, "61_90")):
        if dpd <= edge:
            return name
    return "91_plus"


def valid_accounts(valid: Iterable[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The account events of a deduplicated log, without those in another currency than
    their account's placement."""
    events = [b for topic, b in valid if topic == "account"]
    placed = {b["account_id"]: b["currency"] for b in events if b["change"] == "placed"}
    return [b for b in events if b["currency"] == placed.get(b["account_id"], b["currency"])]


def account_samples(
    bodies: Iterable[dict[str, Any]], today: date | None = None
) -> dict[Key, float]:
    """``bodies``: the log's account events without duplicates."""
    today = today or datetime.now(UTC).date()
    events = list(bodies)
    placed = {b["account_id"]: b["currency"] for b in events if b["change"] == "placed"}
    valid = [b for b in events if b["currency"] == placed.get(b["account_id"], b["currency"])]
    state: dict[str, dict[str, Any]] = {}
    for body in sorted(valid, key=lambda b: b["version"]):
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
    return {**samples, **flow_samples(valid, state.values(), today)}


Pair = tuple[str, str | None]
"""(currency, tenant)."""


def flow_samples(
    valid: Iterable[dict[str, Any]], state: Iterable[dict[str, Any]], today: date
) -> dict[Key, float]:
    """K13-K15 from the valid events (flows) and each account's highest version (E)."""
    daily: dict[tuple[Pair, date], list[int]] = defaultdict(lambda: [0, 0, 0])

    def book(pair: Pair, day: date, amount: int) -> None:
        daily[(pair, day)][0 if amount > 0 else 1] += abs(amount)

    versions: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for body in valid:
        versions[body["account_id"]].append(body)
    for bodies in versions.values():
        before = 0
        for b in sorted(bodies, key=lambda b: b["version"]):
            pair, day = (b["currency"], b.get("tenant")), _utc_day(b["occurred_at"])
            book(pair, day, b["delta_minor"])
            if b["change"] == "payment" and b["delta_minor"] < 0:
                daily[(pair, day)][2] -= b["delta_minor"]
            after = 0 if b["status"] in OPEN else b["balance_minor"]
            book(pair, day, before - after)
            before = after
    e: dict[Pair, int] = defaultdict(int)
    e_cur: dict[Pair, int] = defaultdict(int)
    past_due: dict[Pair, list[tuple[int, int]]] = defaultdict(list)
    for b in state:
        if b["status"] in OPEN:
            pair = (b["currency"], b.get("tenant"))
            dpd = (today - date.fromisoformat(b["due_date"])).days
            e[pair] += b["balance_minor"]
            e_cur[pair] += b["balance_minor"] if dpd <= 0 else 0
            if dpd >= 1 and b["balance_minor"] > 0:
                past_due[pair].append((b["balance_minor"], dpd))
    out: dict[Key, float] = {}
    for window, days in (("30d", 30), ("90d", 90)):
        flows: dict[Pair, list[int]] = defaultdict(lambda: [0, 0, 0])
        for (pair, day), amounts in daily.items():
            if 0 <= (today - day).days < days:
                flows[pair] = [a + b for a, b in zip(flows[pair], amounts, strict=True)]
        for pair in e.keys() | flows.keys():
            s, r, cash = flows.get(pair, [0, 0, 0])
            now, current = e.get(pair, 0), e_cur.get(pair, 0)
            key = labels(currency=pair[0], tenant=pair[1], window=window)
            if s:
                out[(f"{P}dso_days", key)] = now / s * days
                out[(f"{P}best_possible_dso_days", key)] = current / s * days
                out[(f"{P}add_days", key)] = (now - current) / s * days
            opening = now - s + r
            denominator = opening + s - current
            if denominator > 0:
                out[(f"{P}cei_ratio", key)] = (opening + s - now) / denominator
                out[(f"{P}cash_cei_ratio", key)] = cash / denominator
    for pair, weighted in past_due.items():
        total = sum(balance for balance, _ in weighted)
        value = sum(balance * dpd for balance, dpd in weighted) / total
        out[(f"{P}balance_weighted_dpd_days", labels(currency=pair[0], tenant=pair[1]))] = value
    return out


def _utc_day(text: str) -> date:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).date()
