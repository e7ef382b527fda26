"""The K11 and K12 gauges (``kpi.cost_gauges``) from one ``StoreView``: the standing
costs, K10's net collected and accounts handled, and the daily contact attempts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from prometheus_client.core import Metric

from collectpulse.exporter.computed import gauge_family
from collectpulse.kpi import allocation, costs
from collectpulse.kpi.dso import TenantToday
from collectpulse.store.view import StoreView
from collectpulse.zones import local_date, zone


def cost_ratios(
    view: StoreView, today: TenantToday
) -> dict[tuple[str, str, str], costs.CostRatios]:
    """(currency, tenant, window) -> K11/K12 (also the live page's portfolio rows)."""
    per_account = allocation.collected_per_account(view.allocation, view.accounts, today)
    collected = {
        (tenant, currency, window): costs.Collected(
            row.allocated_minor, row.unallocated_minor, row.handled
        )
        for (currency, tenant, window), row in per_account.items()
    }
    return costs.cost_ratios(
        costs.window_costs(view.costs, today),
        collected,
        costs.window_attempts(view.accounts.attempts, today, counted_from(view)),
        view.revenue_models,
        {
            (tenant, currency, window): revenue
            for (currency, tenant, window), revenue in allocation.agency_revenue(
                view.allocation, today
            ).items()
        },
    )


def counted_from(view: StoreView) -> TenantToday | None:
    """Tenant -> the local day the store began counting contact attempts (None: no mark,
    no write since: nothing counted that a window could miss)."""
    since_s = view.accounts.attempts_since_s
    if not since_s:
        return None

    def began(tenant: str) -> date:
        return local_date(since_s, zone(view.tenant_zones.get(tenant, view.default_zone)))

    return began


def cost_gauges(view: StoreView, today: TenantToday) -> Iterator[Metric]:
    by_category = gauge_family("cost_minor")
    for (tenant, currency, window), spent in sorted(costs.window_costs(view.costs, today).items()):
        for category, amount in sorted(spent.by_category.items()):
            by_category.add_metric([category, currency, tenant, window], amount)
    yield by_category
    rows = cost_ratios(view, today)
    for name in ("cost_per_contact", "cost_to_collect_ratio", "profit_per_account"):
        family = gauge_family(name)
        for labels, row in sorted(rows.items()):
            value = getattr(row, name)
            if value is not None:
                family.add_metric(list(labels), value)
        yield family


__all__ = ["cost_gauges", "cost_ratios", "counted_from"]
