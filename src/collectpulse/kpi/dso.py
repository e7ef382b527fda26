"""K13-K15 per currency and tenant from receivables now and the daily flows: no I/O.

Windows are whole tenant-local days ending today: ``30d`` is today and the 29 days
before it. S(W), R(W) and the cash part of R are the sums of the daily flow buckets
(store.account_flows) over the window, E and E_cur the open balances now, and the
formulas are those of ``kpi.portfolio`` (B(W) = E - S(W) + R(W), no snapshot). A
formula without a sample (S = 0, a zero denominator) yields no value.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from collectpulse.kpi import portfolio as formulas
from collectpulse.kpi.accounts import AccountTotals, days_past_due

FLOW_WINDOWS: tuple[tuple[str, int], ...] = (("30d", 30), ("90d", 90))
"""The windows of K13-K15 (name, days)."""

TenantToday = Callable[[str], date]
"""Tenant (label value) -> its local date now."""


@dataclass(frozen=True, slots=True)
class PortfolioRatios:
    """One (currency, tenant, window)'s K13-K15 values; None: no sample."""

    dso_days: float | None
    best_possible_dso_days: float | None
    add_days: float | None
    cei_ratio: float | None
    cash_cei_ratio: float | None


def receivables_now(
    totals: AccountTotals, today: TenantToday
) -> dict[tuple[str, str], formulas.Receivables]:
    """(tenant, currency) -> E and E_cur (the part with DPD <= 0) on each tenant's today."""
    total: dict[tuple[str, str], int] = defaultdict(int)
    current: dict[tuple[str, str], int] = defaultdict(int)
    for (tenant, currency, due), (balance, count) in totals.receivables.items():
        if not count:
            continue
        total[(tenant, currency)] += balance
        if days_past_due(date.fromisoformat(due), today(tenant)) <= 0:
            current[(tenant, currency)] += balance
    return {pair: formulas.Receivables(e, current[pair]) for pair, e in total.items()}


def window_flows(
    totals: AccountTotals, today: TenantToday, days: int
) -> dict[tuple[str, str], formulas.Flows]:
    """(tenant, currency) -> S, R and cash over the ``days`` local days ending today."""
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for (tenant, currency, day), amounts in totals.flows.items():
        last = today(tenant)
        if last - timedelta(days=days - 1) <= day <= last:
            acc = sums[(tenant, currency)]
            for i, amount in enumerate(amounts):
                acc[i] += amount
    out = {}
    for pair, (up, down, cash) in sums.items():
        up, down = max(up, 0), max(down, 0)
        out[pair] = formulas.Flows(up, down, min(max(cash, 0), down))
    return out


def portfolio_ratios(
    totals: AccountTotals, today: TenantToday
) -> dict[tuple[str, str, str], PortfolioRatios]:
    """(currency, tenant, window) -> K13-K15, for every pair with receivables or flows."""
    now = receivables_now(totals, today)
    out = {}
    for window, days in FLOW_WINDOWS:
        flows = window_flows(totals, today, days)
        for tenant, currency in sorted(now.keys() | flows.keys()):
            e = now.get((tenant, currency), formulas.Receivables(0, 0))
            f = flows.get((tenant, currency), formulas.Flows(0, 0))
            out[(currency, tenant, window)] = PortfolioRatios(
                dso_days=formulas.dso_days(e, f, days),
                best_possible_dso_days=formulas.best_possible_dso_days(e, f, days),
                add_days=formulas.add_days(e, f, days),
                cei_ratio=formulas.cei_ratio(e, f),
                cash_cei_ratio=formulas.cash_cei_ratio(e, f),
            )
    return out


def balance_weighted_dpd(totals: AccountTotals, today: TenantToday) -> dict[tuple[str, str], float]:
    """K14 (currency, tenant) -> Σ balance·DPD / Σ balance over open past-due accounts.

    Every account of one due date has the same DPD, so the per-due-date balance sums
    give the exact weighted mean; absent where nothing is past due.
    """
    pairs: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for (tenant, currency, due), (balance, count) in totals.receivables.items():
        if count:
            dpd = days_past_due(date.fromisoformat(due), today(tenant))
            pairs[(currency, tenant)].append((balance, dpd))
    out = {}
    for key, values in sorted(pairs.items()):
        value = formulas.balance_weighted_dpd_days(values)
        if value is not None:
            out[key] = value
    return out


def ratio_values(
    ratios: Mapping[tuple[str, str, str], PortfolioRatios], name: str
) -> dict[tuple[str, str, str], float]:
    """One of the K13-K15 fields, samples without a value left out."""
    out = {}
    for labels, values in ratios.items():
        value = getattr(values, name)
        if value is not None:
            out[labels] = float(value)
    return out


__all__ = [
    "FLOW_WINDOWS",
    "PortfolioRatios",
    "TenantToday",
    "balance_weighted_dpd",
    "portfolio_ratios",
    "ratio_values",
    "receivables_now",
    "window_flows",
]
