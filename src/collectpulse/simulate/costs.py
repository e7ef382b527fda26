"""Monthly operating costs for every simulated run (K11, K12): published on the `cost` topic.

Pure: per tenant, in its currency, a labour, telephony, messaging and platform cost for
each calendar month from ``MONTHS`` months back to the current one, so labour covers
every day of the 30- and 90-day windows (profit per account needs that) and a year of
portfolio history has its costs. Amounts scale with the tenant's customers; the ids
are stable per month, so a rerun publishes corrections of the same costs, not new ones.
"""

from __future__ import annotations

from datetime import date, datetime

from collectpulse.events.roster import CostEvent
from collectpulse.simulate.scenario import Scenario

MONTHS = 13
"""The current month and the twelve before it (the portfolio scenario's year)."""
PER_CUSTOMER_MINOR = {"labour": 25, "telephony": 6, "messaging": 3}
"""Monthly cost per customer of the tenant, minor units."""
PLATFORM_MINOR = 150_000
"""The monthly platform fee, whatever the tenant's size."""


def _month(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def cost_records(scenario: Scenario, now: datetime) -> list[CostEvent]:
    """Every tenant's monthly costs of the last ``MONTHS`` months, by category."""
    stamp = int(now.timestamp())
    current = now.year * 12 + now.month - 1
    out = []
    for tenant in scenario.tenants:
        for index in range(current - MONTHS + 1, current + 1):
            start, end = _month(index), _month(index + 1)
            amounts = {k: v * tenant.customers for k, v in PER_CUSTOMER_MINOR.items()}
            amounts["platform"] = PLATFORM_MINOR
            for category, amount in amounts.items():
                cost_id = f"sim-{tenant.name}-{category}-{start:%Y-%m}"
                out.append(
                    CostEvent(
                        event_id=f"{cost_id}-{stamp}",
                        occurred_at=now,
                        tenant=tenant.name,
                        cost_id=cost_id,
                        category=category,
                        amount_minor=amount,
                        currency=tenant.currency,
                        period_start=start,
                        period_end=end,
                    )
                )
    return out


__all__ = ["MONTHS", "cost_records"]
