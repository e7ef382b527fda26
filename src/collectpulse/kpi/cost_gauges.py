"""The K11 and K12 gauges of the one definitions table (gathered by ``kpi.computed``).

Computed by the exporter from the standing costs (``store.costs``), the net collected
and accounts handled of K10 (``kpi.allocation``) and the contact attempts per
tenant-local day (``kpi.costs``).
"""

from __future__ import annotations

from collectpulse.kpi.model import Gauge

_WINDOWED = ("currency", "tenant", "window")
"""``window`` is 30d or 90d (whole tenant-local days ending today), as for K10, K13-K15."""
_SPREAD = (
    "a cost's amount is spread over the tenant-local days of its period (floor per day, "
    "the remainder on the first day) and W holds the days' shares it overlaps; per "
    "cost_id the record with the latest occurred_at counts; no currency conversion"
)
_NET = "net collected = succeeded payments - reversed amounts, allocated or not"

COST_GAUGES: tuple[Gauge, ...] = (
    Gauge(
        "cost_minor",
        f"Operating cost in the window by category, minor units ({_SPREAD}).",
        "portfolio",
        ("category", "currency", "tenant", "window"),
    ),
    Gauge(
        "cost_per_contact",
        f"(labour + telephony) cost in the window / contact attempts in the window, all "
        f"directions, per tenant ({_SPREAD}). Absent without attempts in W, and for a W "
        "that starts on or before the tenant-local day the store began counting contact "
        "attempts (an upgrade from a version that did not count them).",
        "portfolio",
        _WINDOWED,
    ),
    Gauge(
        "cost_to_collect_ratio",
        f"All cost in the window / net collected in the window ({_SPREAD}; {_NET}). "
        "Absent while net collected in W is not positive.",
        "portfolio",
        _WINDOWED,
    ),
    Gauge(
        "profit_per_account",
        f"(revenue - all cost in the window) / accounts handled H(W), minor units; revenue "
        f"= net collected ({_NET}) for an in_house tenant, the allocated net x commission_bp "
        f"/ 10000 for an agency tenant (COLLECTPULSE_TENANT_REVENUE_MODELS); H(W) as for "
        f"collected_per_account ({_SPREAD}). Absent unless labour cost covers every day of "
        "W in that currency, and while H = 0; an agency tenant's commission is that of the "
        "account version in force at each payment's time (none: 0).",
        "portfolio",
        _WINDOWED,
    ),
)
