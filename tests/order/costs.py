"""K11 and K12 samples /metrics must show for a log's cost and contact events.

Rules (kpi-catalog sections 8-9), computed without collectpulse code, days in UTC:
- per cost_id the event with the latest ``occurred_at`` stands (tie: the larger
  event_id), whatever the arrival order; the same event_id again changes nothing;
- a cost's amount is spread day by day over period_start .. period_end (exclusive):
  amount // days each day, the remainder added to the first day;
- windows 30d and 90d of whole days ending today; per (tenant, currency, window) with a
  cost overlapping W: ``cost_minor`` by category; cost_per_contact = (labour +
  telephony) / contact attempts in W (distinct contact_id, any direction; none without
  attempts); cost_to_collect_ratio = all cost / net collected in W (none unless > 0);
  profit_per_account = (net collected - all cost) / H(W), none unless labour costs cover
  every day of W in that currency, or while H = 0 (every tenant in_house).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tests.faults.oracle import Key, P, labels

WINDOWS = (("30d", 30), ("90d", 90))
COST_FAMILIES = frozenset(
    {
        f"{P}cost_minor",
        f"{P}cost_per_contact",
        f"{P}cost_to_collect_ratio",
        f"{P}profit_per_account",
    }
)


COST_RATIOS = COST_FAMILIES - {f"{P}cost_minor"}
"""Families absent where the catalog says "no sample"."""


def _day(text: str) -> date:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).date()


def standing(costs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The standing event per cost_id: latest occurred_at, then the larger event_id."""
    best: dict[str, dict[str, Any]] = {}
    for event in costs:
        rank = (datetime.fromisoformat(event["occurred_at"]), event["event_id"])
        held = best.get(event["cost_id"])
        if held is None or rank > (datetime.fromisoformat(held["occurred_at"]), held["event_id"]):
            best[event["cost_id"]] = event
    return list(best.values())


def daily(cost: dict[str, Any]) -> dict[date, int]:
    """The cost's share of each day of its period."""
    start, end = date.fromisoformat(cost["period_start"]), date.fromisoformat(cost["period_end"])
    days = [start + timedelta(days=i) for i in range((end - start).days)]
    shares = dict.fromkeys(days, cost["amount_minor"] // len(days))
    shares[start] += cost["amount_minor"] - shares[start] * len(days)
    return shares


def collected(
    payments: Iterable[dict[str, Any]], allocation: Mapping[Key, float], today: date
) -> dict[tuple[str, str, str], tuple[int, int]]:
    """(tenant, currency, window) -> (net collected, H): net = succeeded - reversed
    amounts (distinct payments) on the day of their own occurred_at; H from the K10
    oracle's ``handled_accounts`` samples (``tests.order.allocation``)."""
    out: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for p in payments:
        if p["status"] not in ("succeeded", "reversed"):
            continue
        sign = -1 if p["status"] == "reversed" else 1
        for window, days in WINDOWS:
            if (today - _day(p["occurred_at"])).days < days:
                out[(p.get("tenant") or "", p["currency"], window)][0] += sign * p["amount_minor"]
    for (name, ls), value in allocation.items():
        if name == f"{P}handled_accounts":
            got = dict(ls)
            out[(got.get("tenant", ""), got["currency"], got["window"])][1] = int(value)
    return {key: (net, handled) for key, (net, handled) in out.items()}


def cost_samples(
    costs: Iterable[dict[str, Any]],
    contacts: Iterable[dict[str, Any]],
    collected: Mapping[tuple[str, str, str], tuple[int, int]],
    today: date,
) -> dict[Key, float]:
    """``costs``: every valid cost event as published (corrections and repeats included);
    ``contacts``: the valid contact events; ``collected``: (tenant, currency, window) ->
    (net collected, accounts handled H)."""
    attempts: dict[tuple[str, str], set[str]] = defaultdict(set)
    for contact in contacts:
        for window, days in WINDOWS:
            if today - _day(contact["occurred_at"]) < timedelta(days=days):
                attempts[(contact.get("tenant") or "", window)].add(contact["contact_id"])
    spent: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    labour_days: dict[tuple[str, str, str], set[date]] = defaultdict(set)
    for cost in standing(costs):
        for window, n in WINDOWS:
            window_days = {today - timedelta(days=i) for i in range(n)}
            shares = {d: v for d, v in daily(cost).items() if d in window_days}
            if not shares:
                continue
            key = (cost.get("tenant") or "", cost["currency"], window)
            spent[key][cost["category"]] += sum(shares.values())
            if cost["category"] == "labour":
                labour_days[key] |= shares.keys()
    out: dict[Key, float] = {}
    for (tenant, currency, window), by_category in spent.items():
        ls = {"currency": currency, "tenant": tenant, "window": window}
        for category, amount in by_category.items():
            out[(f"{P}cost_minor", labels(category=category, **ls))] = amount
        total = sum(by_category.values())
        tried = len(attempts.get((tenant, window), ()))
        if tried:
            contact_cost = by_category.get("labour", 0) + by_category.get("telephony", 0)
            out[(f"{P}cost_per_contact", labels(**ls))] = contact_cost / tried
        net, handled = collected.get((tenant, currency, window), (0, 0))
        if net > 0:
            out[(f"{P}cost_to_collect_ratio", labels(**ls))] = total / net
        n = dict(WINDOWS)[window]
        covered = len(labour_days.get((tenant, currency, window), ())) == n
        if covered and handled > 0:
            out[(f"{P}profit_per_account", labels(**ls))] = (net - total) / handled
    return out
