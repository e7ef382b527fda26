"""The K13-K15 gauges of the one definitions table (gathered by ``kpi.computed``).

Computed by the exporter from receivables now and the daily flow buckets
(``kpi.dso``); the formulas are ``kpi.portfolio``'s. Windows are whole days local to
the tenant, ``30d`` and ``90d``, ending today.
"""

from __future__ import annotations

from collectpulse.kpi.model import Gauge

_BY = ("currency", "tenant")
_WINDOWED = ("currency", "tenant", "window")
"""``window`` is 30d or 90d, not one of COLLECTPULSE_WINDOWS: a label of its own."""
_FLOWS = (
    "S = sum of the positive balance changes of account events in the window (placements, "
    "charges, reversals, upward adjustments) in the window W (30d or 90d: whole days "
    "local to the tenant ending today, by the day of occurred_at)"
)
_NO_S = "absent while S = 0"
_PERIOD = "the period (simple) method, not countback"

DAY_GAUGES = ("dso_days", "best_possible_dso_days", "add_days", "balance_weighted_dpd_days")
"""Gauges in days, not Prometheus' base unit seconds: the catalog names them so (K13, K14)
and every receivables report reads DSO and ADD in days; ``promtool check metrics``'s
base-unit lint on them is expected."""

PORTFOLIO_GAUGES: tuple[Gauge, ...] = (
    Gauge(
        "dso_days",
        f"Days sales outstanding, {_PERIOD}: E / S x days(W), with E the open balance now "
        f"and {_FLOWS}; {_NO_S}. Caveat: when only delinquent placements are published, "
        "this is days of placements outstanding, not of sales.",
        "portfolio",
        _WINDOWED,
    ),
    Gauge(
        "best_possible_dso_days",
        "Best possible DSO: E_cur / S x days(W), with E_cur the open balance not past due "
        f"(DPD <= 0) now; {_NO_S}.",
        "portfolio",
        _WINDOWED,
    ),
    Gauge(
        "add_days",
        "Average days delinquent: DSO - best possible DSO = E_pd / S x days(W), with E_pd "
        f"the past-due open balance now; {_NO_S}.",
        "portfolio",
        _WINDOWED,
    ),
    Gauge(
        "cei_ratio",
        "Collection effectiveness index: (B + S - E) / (B + S - E_cur) = R / (R + E_pd), "
        "with S the window's total (not per month), R = minus the sum of the negative "
        "balance changes (payments, discounts, write-offs, downward adjustments, the "
        "residual balance of an account leaving the open statuses) and B = E - S + R "
        "derived (no snapshot); counts write-offs and discounts as collected, as the "
        "standard CEI does. In [0, 1]; absent while the denominator is 0.",
        "portfolio",
        _WINDOWED,
    ),
    Gauge(
        "cash_cei_ratio",
        "Cash CEI: only the balance reductions of account events with change payment in "
        "the numerator, the CEI's denominator R + E_pd unchanged; in [0, 1], at most the "
        "CEI; absent while the denominator is 0.",
        "portfolio",
        _WINDOWED,
    ),
    Gauge(
        "balance_weighted_dpd_days",
        "Balance-weighted days past due now: sum of balance x DPD / sum of balance over "
        "open past-due accounts (DPD >= 1, tenant-local date); absent when none is past due.",
        "portfolio",
        _BY,
    ),
)
