"""Point-in-time portfolio KPIs from the account aggregates: pure arithmetic, no I/O.

The store keeps, per partition, open accounts and receivables by due date
(``store.account_effects``); days past due (DPD) and their buckets are computed
here at read time (kpi-catalog section 9), so an account moves from ``current``
to ``1_30`` at local midnight without any timer or write.

DPD of an account on local date ``today`` = ``today - due_date`` in days; past due
means DPD >= 1. Buckets: ``current`` (DPD <= 0), ``1_30``, ``31_60``, ``61_90``,
``91_plus``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

DPD_EDGES: tuple[int, ...] = (0, 30, 60, 90)
"""Inclusive upper DPD of every bucket but the last."""
DPD_BUCKETS: tuple[str, ...] = ("current", "1_30", "31_60", "61_90", "91_plus")


def days_past_due(due: date, today: date) -> int:
    """Days past due on ``today``: negative before the due date, 0 on it."""
    return (today - due).days


def dpd_bucket(dpd: int) -> str:
    """The bucket name of a DPD value."""
    for edge, name in zip(DPD_EDGES, DPD_BUCKETS, strict=False):
        if dpd <= edge:
            return name
    return DPD_BUCKETS[-1]


@dataclass(frozen=True)
class AccountTotals:
    """The account aggregates summed over partitions (see ``store.account_reader``)."""

    open: Mapping[tuple[str, str, str, str, str], int] = field(default_factory=dict)
    """(tenant, status, team, agent, due_date ISO) -> open accounts."""
    receivables: Mapping[tuple[str, str, str], tuple[int, int]] = field(default_factory=dict)
    """(tenant, currency, due_date ISO) -> (balance in minor units, open accounts)."""
    collectors: Mapping[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    """(tenant, team) -> agent ids with at least one open account assigned."""
    flows: Mapping[tuple[str, str, date], tuple[int, int, int]] = field(default_factory=dict)
    """(tenant, currency, tenant-local day) -> (S, R, cash part of R), minor units."""
    open_teams: Mapping[tuple[str, str, str], int] = field(default_factory=dict)
    """(tenant, currency, team) -> open accounts (accounts stored before it: in none)."""
    attempts: Mapping[tuple[str, date], int] = field(default_factory=dict)
    """(tenant, tenant-local day) -> contact attempts, all directions (K12)."""
    attempts_since_s: int | None = None
    """Unix seconds since which every partition counts ``attempts`` (0: always; None: no
    partition wrote since counting began); the attempts applied before are missing."""


Today = date | Callable[[str], date]
"""A date, or tenant -> its local date (each tenant's DPD counts in its own time zone)."""


def _on(today: Today, tenant: str) -> date:
    return today if isinstance(today, date) else today(tenant)


def open_by_team(totals: AccountTotals) -> dict[tuple[str, str], int]:
    """(team, tenant) -> open accounts now (``__unassigned__``: no team)."""
    out: dict[tuple[str, str], int] = defaultdict(int)
    for (tenant, _status, team, _agent, _due), count in totals.open.items():
        out[(team, tenant)] += count
    return dict(out)


def open_accounts(totals: AccountTotals, today: Today) -> dict[tuple[str, str, str, str, str], int]:
    """K9: (status, dpd_bucket, team, agent, tenant) -> open accounts on ``today``."""
    out: dict[tuple[str, str, str, str, str], int] = defaultdict(int)
    for (tenant, status, team, agent, due), count in totals.open.items():
        bucket = dpd_bucket(days_past_due(date.fromisoformat(due), _on(today, tenant)))
        out[(status, bucket, team, agent, tenant)] += count
    return {labels: count for labels, count in out.items() if count}


def receivables(totals: AccountTotals, today: Today) -> dict[tuple[str, str, str], int]:
    """K18: (currency, dpd_bucket, tenant) -> open balance (minor units) on ``today``.

    A bucket whose open accounts all have a zero balance reports 0; a bucket
    without open accounts reports nothing.
    """
    out: dict[tuple[str, str, str], int] = defaultdict(int)
    for (tenant, currency, due), (balance, count) in totals.receivables.items():
        if count:
            bucket = dpd_bucket(days_past_due(date.fromisoformat(due), _on(today, tenant)))
            out[(currency, bucket, tenant)] += balance
    return dict(out)


def accounts_per_collector(totals: AccountTotals) -> dict[tuple[str, str], float]:
    """K9: (team, tenant) -> open accounts of the team / its active collectors.

    Without a roster, the active collectors of a team are the agents with at least
    one open account of that team assigned to them; the numerator counts every open
    account of the team, assigned or not. Absent for a team without collectors.
    """
    accounts: dict[tuple[str, str], int] = defaultdict(int)
    for (tenant, _status, team, _agent, _due), count in totals.open.items():
        accounts[(team, tenant)] += count
    out = {}
    for (tenant, team), agents in totals.collectors.items():
        if agents:
            out[(team, tenant)] = accounts.get((team, tenant), 0) / len(agents)
    return out


__all__ = [
    "DPD_BUCKETS",
    "DPD_EDGES",
    "AccountTotals",
    "Today",
    "accounts_per_collector",
    "days_past_due",
    "dpd_bucket",
    "open_accounts",
    "receivables",
]
