"""The live page's portfolio section: DSO, ADD and CEI (K13-K15), collected per account
(K10), cost to collect, cost per contact and profit per account (K11, K12) per currency,
tenant and window, with the receivables they are computed from: the numbers /metrics
exports.

Computed by the same functions as the exporter's gauges (``kpi.dso`` on the view's
account totals, ``exporter.costs`` on its costs, each tenant's dates in its own time
zone), so a cell and its sample cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from collectpulse.exporter.accounts import RATIO_GAUGES, tenant_today
from collectpulse.exporter.costs import cost_ratios
from collectpulse.kpi import allocation, dso
from collectpulse.store.reader import StoreView
from collectpulse.ui.cells import DASH, num

COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("receivables_minor", "receivables", "count"),
    ("past_due_minor", "past due", "count"),
    ("dso_days", "DSO", "days"),
    ("best_possible_dso_days", "best possible DSO", "days"),
    ("add_days", "ADD", "days"),
    ("cei_ratio", "CEI", "ratio"),
    ("cash_cei_ratio", "cash CEI", "ratio"),
    ("balance_weighted_dpd_days", "balance-weighted DPD", "days"),
    ("handled_accounts", "accounts handled", "count"),
    ("collected_per_account", "collected per account", "count"),
    ("collected_unallocated_minor", "unallocated", "count"),
    ("cost_minor", "cost", "count"),
    ("cost_to_collect_ratio", "cost to collect", "ratio"),
    ("cost_per_contact", "cost per contact", "count"),
    ("profit_per_account", "profit per account", "count"),
)
"""(key, title, unit) of every value column; the key is the gauge's name where one exists."""


def portfolio_panel(view: StoreView, keep: Mapping[str, str]) -> list[dict[str, Any]]:
    """One row per (currency, tenant, window) with flows or receivables; ``keep`` filters
    the tenant. None where the gauge has no sample (S = 0, a zero denominator)."""
    today = tenant_today(view)
    ratios = dso.portfolio_ratios(view.accounts, today)
    weighted = dso.balance_weighted_dpd(view.accounts, today)
    now = dso.receivables_now(view.accounts, today)
    allocated = allocation.collected_per_account(view.allocation, view.accounts, today)
    costs = cost_ratios(view, today)
    rows = []
    for (currency, tenant, window), r in sorted(ratios.items()):
        if keep.get("tenant", tenant) != tenant:
            continue
        e = now.get((tenant, currency))
        k10 = allocated.get((currency, tenant, window))
        cost = costs.get((currency, tenant, window))
        rows.append(
            {
                "labels": {"currency": currency, "tenant": tenant, "window": window},
                "values": {
                    "receivables_minor": e.total if e else 0,
                    "past_due_minor": e.past_due if e else 0,
                    "dso_days": r.dso_days,
                    "best_possible_dso_days": r.best_possible_dso_days,
                    "add_days": r.add_days,
                    "cei_ratio": r.cei_ratio,
                    "cash_cei_ratio": r.cash_cei_ratio,
                    "balance_weighted_dpd_days": weighted.get((currency, tenant)),
                    "handled_accounts": k10.handled if k10 else None,
                    "collected_per_account": k10.collected_per_account if k10 else None,
                    "collected_unallocated_minor": k10.unallocated_minor if k10 else None,
                    "cost_minor": cost.cost_minor if cost else None,
                    "cost_to_collect_ratio": cost.cost_to_collect_ratio if cost else None,
                    "cost_per_contact": cost.cost_per_contact if cost else None,
                    "profit_per_account": cost.profit_per_account if cost else None,
                },
            }
        )
    return rows


_COSTS = ("cost_minor", "cost_to_collect_ratio", "cost_per_contact", "profit_per_account")
_WINDOWED = frozenset(
    {
        *RATIO_GAUGES,
        "handled_accounts",
        "collected_per_account",
        "collected_unallocated_minor",
        *_COSTS,
    }
)
_GAUGES = _WINDOWED | {"balance_weighted_dpd_days"}


def portfolio_section(rows: Sequence[Mapping[str, Any]]) -> str:
    """K13-K15 per currency, tenant and window (30d, 90d), with E and E_pd now."""
    body = []
    for row in rows:
        labels, values = row["labels"], row["values"]
        cells = f'<th scope="row">{escape(labels["currency"])}</th>'
        cells += f"<td>{escape(labels['tenant']) or DASH}</td><td>{escape(labels['window'])}</td>"
        for key, _, unit in COLUMNS:
            sample = {k: v for k, v in labels.items() if k != "window" or key in _WINDOWED}
            metric, agg = (f"collectpulse_{key}", "") if key in _GAUGES else ("", "")
            if key == "receivables_minor":
                metric, agg = f"collectpulse_{key}", "sum"
                sample = {k: v for k, v in sample.items() if k != "window"}
            elif key == "cost_minor":  # summed over the categories
                agg = "sum"
            cells += num(values[key], unit, metric, sample, agg=agg)
        body.append(f"<tr>{cells}</tr>")
    head = "".join(
        f'<th scope="col">{escape(t)}</th>'
        for t in ("currency", "tenant", "window", *(t for _, t, _ in COLUMNS))
    )
    empty = f'<tr><td colspan="{3 + len(COLUMNS)}">No account events yet.</td></tr>'
    return (
        '<section aria-labelledby="portfolio-h"><h2 id="portfolio-h">Portfolio: DSO, ADD, '
        "CEI and costs over whole days of the tenant's time zone</h2>"
        '<table id="t-portfolio"><caption>Receivables now (minor units), the flows and '
        "costs of the window; a dash where S = 0 or nothing is collectable, and where a "
        "cost KPI has no sample (no attempts, nothing collected, labour not covering the "
        "window)</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body) or empty}</tbody></table>"
        "</section>"
    )


def recovery_panel(view: StoreView, keep: Mapping[str, str]) -> list[dict[str, Any]]:
    """K16 per currency, placement month of the last 12 and tenant (``kpi.allocation``)."""
    rows = []
    for (currency, month, tenant), cohort in allocation.cohorts(
        view.allocation, tenant_today(view)
    ).items():
        if keep.get("tenant", tenant) != tenant:
            continue
        rows.append(
            {
                "labels": {"currency": currency, "cohort": month, "tenant": tenant},
                "placed_minor": cohort.placed_minor,
                "collected_minor": cohort.collected_minor,
                "recovery_ratio": cohort.recovery_ratio,
            }
        )
    return rows


def recovery_section(rows: Sequence[Mapping[str, Any]]) -> str:
    """Recovery by placement month: placed, net collected allocated, their ratio."""
    body = []
    for row in rows:
        labels = row["labels"]
        cells = f'<th scope="row">{escape(labels["cohort"])}</th>'
        cells += f"<td>{escape(labels['currency'])}</td><td>{escape(labels['tenant']) or DASH}</td>"
        cells += num(row["placed_minor"], "count") + num(row["collected_minor"], "count")
        cells += num(row["recovery_ratio"], "ratio", "collectpulse_recovery_ratio", labels)
        body.append(f"<tr>{cells}</tr>")
    head = "".join(
        f'<th scope="col">{t}</th>'
        for t in ("placed in", "currency", "tenant", "placed", "collected", "recovery")
    )
    empty = '<tr><td colspan="6">No placement in the last 12 months.</td></tr>'
    return (
        '<section aria-labelledby="recovery-h"><h2 id="recovery-h">Recovery by placement '
        'month</h2><table id="t-recovery"><caption>Net collected allocated to the accounts '
        "placed in the month so far over their placed balance (minor units); age curves "
        "at /api/v1/recovery</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body) or empty}</tbody></table>"
        "</section>"
    )


def team_panel(view: StoreView, keep: Mapping[str, str]) -> list[dict[str, Any]]:
    """K10 by team per currency, team, tenant and window (``kpi.allocation``), with the
    accounts handled and the net allocated it divides."""
    rows = []
    today = tenant_today(view)
    by_team = allocation.team_collected_per_account(view.allocation, view.accounts, today)
    for (currency, team, tenant, window), row in sorted(by_team.items()):
        if keep.get("tenant", tenant) != tenant:
            continue
        rows.append(
            {
                "labels": {"currency": currency, "team": team, "tenant": tenant, "window": window},
                "allocated_minor": row.allocated_minor,
                "team_handled_accounts": row.handled,
                "team_collected_per_account": row.collected_per_account,
            }
        )
    return rows


def team_section(rows: Sequence[Mapping[str, Any]]) -> str:
    """Net collected per account handled, by the team of the account at payment time."""
    body = []
    for row in rows:
        labels = row["labels"]
        cells = f'<th scope="row">{escape(labels["team"])}</th>'
        cells += "".join(
            f"<td>{escape(labels[k]) or DASH}</td>" for k in ("currency", "tenant", "window")
        )
        cells += num(row["allocated_minor"], "count")
        for key in ("team_handled_accounts", "team_collected_per_account"):
            cells += num(row[key], "count", f"collectpulse_{key}", labels)
        body.append(f"<tr>{cells}</tr>")
    titles = ("team", "currency", "tenant", "window", "allocated", "handled", "per account")
    head = "".join(f'<th scope="col">{t}</th>' for t in titles)
    empty = '<tr><td colspan="7">No allocated payment or open account yet.</td></tr>'
    return (
        '<section aria-labelledby="team-k10-h"><h2 id="team-k10-h">Collected per account '
        'by team</h2><table id="t-team-k10"><caption>Net collected allocated to the team\'s '
        "accounts (the team of the account at the payment's time) over the accounts it "
        "handled, minor units; a dash where none was handled</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body) or empty}</tbody></table>"
        "</section>"
    )
