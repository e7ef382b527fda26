"""K11 profit per account and K12 cost per contact / cost to collect: pure arithmetic.

A cost (``cost`` topic, kpi-catalog section 8) covers the tenant-local days
``period_start`` .. ``period_end`` (exclusive); its amount is spread over them, the
floor of amount / days per day and the remainder on the first day, so a window holds
exactly the days' shares it overlaps. One cost per cost_id: the record with the
latest ``occurred_at`` (tie: the larger event_id) is the cost (``store.costs``).
Windows are whole tenant-local days ending today (30d, 90d), as for K10 and K13-K15.
No FX: every number is per currency.

K12 cost_per_contact = (labour + telephony) cost in W / contact attempts in W (all
directions; absent for a W that starts before the attempts were counted, an upgrade);
cost_to_collect_ratio = all cost in W / net collected in W (allocated +
unallocated). K11 profit_per_account = (revenue - all cost in W) / H(W), revenue =
net collected (``in_house`` tenants) or the allocated net x commission (``agency``
tenants, given as an input); absent unless ``labour`` cost covers every day of W in
that currency.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from collectpulse.kpi.dso import FLOW_WINDOWS, TenantToday

CONTACT_CATEGORIES = frozenset({"labour", "telephony"})
"""The costs of making contact attempts (K12 cost_per_contact's numerator)."""
COVERING_CATEGORY = "labour"
"""K11 is absent unless this category's costs cover every day of the window."""
RevenueModel = Literal["in_house", "agency"]
REVENUE_MODELS: tuple[RevenueModel, ...] = ("in_house", "agency")


@dataclass(frozen=True, slots=True)
class Cost:
    """One cost as stored: the standing record of its cost_id."""

    cost_id: str
    tenant: str
    category: str
    currency: str
    amount_minor: int
    period_start: date
    period_end: date
    """Exclusive: the day after the period's last one."""
    team: str = ""


def amount_within(cost: Cost, first: date, last: date) -> int:
    """The part of ``cost`` spread on the days ``first`` .. ``last`` (inclusive)."""
    days = (cost.period_end - cost.period_start).days
    start, end = max(cost.period_start, first), min(cost.period_end, last + timedelta(days=1))
    overlap = (end - start).days
    if days <= 0 or overlap <= 0:
        return 0
    per_day = cost.amount_minor // days
    remainder = cost.amount_minor - per_day * days if first <= cost.period_start <= last else 0
    return per_day * overlap + remainder


def covers(periods: Iterable[tuple[date, date]], first: date, last: date) -> bool:
    """Whether the (start, exclusive end) periods together cover every day first..last."""
    reached = first  # every day before it is covered
    for start, end in sorted(periods):
        if start > reached:
            break
        reached = max(reached, end)
    return reached > last


@dataclass(frozen=True)
class CostWindow:
    """One (tenant, currency, window)'s costs by category and the labour coverage."""

    by_category: Mapping[str, int] = field(default_factory=dict)
    labour_covers: bool = False

    @property
    def total(self) -> int:
        return sum(self.by_category.values())

    @property
    def contact_cost(self) -> int:
        return sum(v for k, v in self.by_category.items() if k in CONTACT_CATEGORIES)


def window_costs(
    costs: Iterable[Cost], today: TenantToday
) -> dict[tuple[str, str, str], CostWindow]:
    """(tenant, currency, window) -> the costs overlapping W, for every triple with one."""
    sums: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    labour: dict[tuple[str, str, str], list[tuple[date, date]]] = defaultdict(list)
    bounds: dict[tuple[str, str], tuple[date, date]] = {}
    for cost in costs:
        last = today(cost.tenant)
        for window, days in FLOW_WINDOWS:
            first = last - timedelta(days=days - 1)
            if cost.period_end <= first or cost.period_start > last:
                continue
            key = (cost.tenant, cost.currency, window)
            bounds[(cost.tenant, window)] = (first, last)
            sums[key][cost.category] += amount_within(cost, first, last)
            if cost.category == COVERING_CATEGORY:
                labour[key].append((cost.period_start, cost.period_end))
    return {
        key: CostWindow(dict(by), covers(labour.get(key, ()), *bounds[(key[0], key[2])]))
        for key, by in sums.items()
    }


@dataclass(frozen=True)
class Collected:
    """One (tenant, currency, window)'s net collected and accounts handled (from K10)."""

    allocated_minor: int
    unallocated_minor: int
    handled: int

    @property
    def net_minor(self) -> int:
        return self.allocated_minor + self.unallocated_minor


@dataclass(frozen=True, slots=True)
class CostRatios:
    """K11 and K12 of one (currency, tenant, window); None where the KPI is absent."""

    cost_minor: int
    cost_per_contact: float | None
    cost_to_collect_ratio: float | None
    profit_per_account: float | None


def cost_ratios(
    costs: Mapping[tuple[str, str, str], CostWindow],
    collected: Mapping[tuple[str, str, str], Collected],
    attempts: Mapping[tuple[str, str], int],
    models: Mapping[str, RevenueModel],
    agency_revenue: Mapping[tuple[str, str, str], float],
) -> dict[tuple[str, str, str], CostRatios]:
    """(currency, tenant, window) -> K11/K12 for every (tenant, currency, window) with cost.

    ``collected`` and ``costs`` are keyed (tenant, currency, window), ``attempts``
    (tenant, window): contact attempts in W. ``models``: tenant -> revenue model
    (default ``in_house``). ``agency_revenue``, keyed (tenant, currency, window): the
    allocated net x commission_bp / 10 000 of an ``agency`` tenant
    (``kpi.allocation.agency_revenue``); none for the window: it earned 0.

    cost_per_contact is absent without attempts, cost_to_collect_ratio while net
    collected is not positive, profit_per_account unless labour covers W or while H = 0.
    """
    out = {}
    for (tenant, currency, window), cost in sorted(costs.items()):
        got = collected.get((tenant, currency, window), Collected(0, 0, 0))
        tried = attempts.get((tenant, window), 0)
        per_contact = cost.contact_cost / tried if tried > 0 else None
        to_collect = cost.total / got.net_minor if got.net_minor > 0 else None
        profit = None
        if cost.labour_covers and got.handled > 0:
            # an agency that collected nothing in W earned no commission: revenue 0
            revenue = (
                agency_revenue.get((tenant, currency, window), 0.0)
                if models.get(tenant, "in_house") == "agency"
                else got.net_minor
            )
            profit = (revenue - cost.total) / got.handled
        out[(currency, tenant, window)] = CostRatios(cost.total, per_contact, to_collect, profit)
    return out


def window_attempts(
    daily: Mapping[tuple[str, date], int],
    today: TenantToday,
    counted_from: TenantToday | None = None,
) -> dict[tuple[str, str], int]:
    """(tenant, window) -> contact attempts over the window's tenant-local days.

    ``counted_from``: tenant -> the local day attempt counting began (an upgrade: the
    attempts applied before were not counted, that day's partly). A window whose first
    day is on or before it has no count, so no cost_per_contact (not one ~30x too high).
    """
    out: dict[tuple[str, str], int] = defaultdict(int)
    for (tenant, day), count in daily.items():
        last = today(tenant)
        began = counted_from(tenant) if counted_from is not None else date.min
        for window, days in FLOW_WINDOWS:
            first = last - timedelta(days=days - 1)
            if first <= day <= last and first > began:
                out[(tenant, window)] += count
    return dict(out)


__all__ = [
    "CONTACT_CATEGORIES",
    "COVERING_CATEGORY",
    "REVENUE_MODELS",
    "Collected",
    "Cost",
    "CostRatios",
    "CostWindow",
    "RevenueModel",
    "amount_within",
    "cost_ratios",
    "covers",
    "window_attempts",
    "window_costs",
]
