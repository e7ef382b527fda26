"""K10 collected per account and K16 recovery by placement cohort: pure arithmetic.

The store books, per tenant-local day, the net collected allocated to accounts
(``a``) and unallocated (``u``), and the accounts leaving (``x``) and re-entering
(``e``) the open statuses; per placement month the placed balance (``p``), the net
allocated so far (``n``) and within 30/60/90/180 days of placement (``a30``...)
(``store.allocation``). Windows are whole tenant-local days ending today, as for
K13-K15 (``kpi.dso``).

K10 = net allocated in W / H(W), with H(W) = open accounts now + exits(W) -
re-entries(W) = the accounts open at the start of W plus those placed in W.
K16 = net allocated to the accounts placed in month c so far / their placed balance.

By team: the store books the allocated net (``a``), its commission (``c``, minor x bp)
and the exits and re-entries per team too, the team being the one of the account
version in force at the payment's time (an exit: the team left; a re-entry: the team
joined, as K20). K10 by team = that net / H by team, with open now by (tenant,
currency, team) from the account aggregates. The tenant's K10 is computed from the
tenant's sums, never from the teams' ratios (a mean of ratios is not the ratio of
sums). Unallocated net has no team. K11's agency revenue = the commission / 10 000.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from collectpulse.kpi import portfolio as formulas
from collectpulse.kpi.accounts import AccountTotals
from collectpulse.kpi.dso import FLOW_WINDOWS, TenantToday

UNASSIGNED = "__unassigned__"
"""The team of accounts without one (and of what was booked before teams were kept)."""
BP = 10_000
"""Basis points per unit: commission_bp / BP is the agency's share of the net."""

AGES_DAYS = (30, 60, 90, 180)
COHORT_MONTHS = 12
"""K16 reports the placement months of the last year, the current one included."""


@dataclass(frozen=True)
class AllocationTotals:
    """The allocation aggregates summed over partitions (``store.allocation_reader``)."""

    days: Mapping[tuple[str, str, date], Mapping[str, int]] = field(default_factory=dict)
    """(tenant, currency, tenant-local day) -> kind (a, u, x, e) -> amount or count."""
    cohorts: Mapping[tuple[str, str, str], Mapping[str, int]] = field(default_factory=dict)
    """(tenant, currency, YYYY-MM) -> kind (p, n, a30, a60, a90, a180) -> minor units."""
    placed: Mapping[tuple[str, date], Mapping[tuple[date, date | None], int]] = field(
        default_factory=dict
    )
    """(tenant, placement day) -> (due date at placement, day first paid_in_full or
    settled, None if not yet) -> accounts (K17)."""
    teams: Mapping[tuple[str, str, str, date], Mapping[str, int]] = field(default_factory=dict)
    """(tenant, currency, team, tenant-local day) -> kind (a, x, e, c) -> net, count or
    net x commission_bp (``days`` holds their sums over teams)."""


def window_sums(
    totals: AllocationTotals, today: TenantToday, days: int
) -> dict[tuple[str, str], dict[str, int]]:
    """(tenant, currency) -> kind -> sum over the ``days`` local days ending today."""
    out: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (tenant, currency, day), kinds in totals.days.items():
        last = today(tenant)
        if last - timedelta(days=days - 1) <= day <= last:
            acc = out[(tenant, currency)]
            for kind, value in kinds.items():
                acc[kind] += value
    # a pair whose credit was all moved away (zeros left in the buckets) has nothing to show
    return {pair: dict(kinds) for pair, kinds in out.items() if any(kinds.values())}


def open_now(accounts: AccountTotals) -> dict[tuple[str, str], int]:
    """(tenant, currency) -> open accounts now (from the receivables' counts)."""
    out: dict[tuple[str, str], int] = defaultdict(int)
    for (tenant, currency, _due), (_balance, count) in accounts.receivables.items():
        out[(tenant, currency)] += count
    return dict(out)


def open_by_team(accounts: AccountTotals) -> dict[tuple[str, str, str], int]:
    """(tenant, currency, team) -> open accounts now. Accounts stored before the team
    count (in the receivables' count, in no team's) count as ``__unassigned__``, so the
    teams always sum to the tenant's open accounts."""
    out: dict[tuple[str, str, str], int] = defaultdict(int)
    known: dict[tuple[str, str], int] = defaultdict(int)
    for (tenant, currency, team), count in accounts.open_teams.items():
        out[(tenant, currency, team)] += count
        known[(tenant, currency)] += count
    for (tenant, currency), total in open_now(accounts).items():
        if total > known[(tenant, currency)]:
            out[(tenant, currency, UNASSIGNED)] += total - known[(tenant, currency)]
    return {triple: n for triple, n in out.items() if n}


def team_window_sums(
    totals: AllocationTotals, today: TenantToday, days: int
) -> dict[tuple[str, str, str], dict[str, int]]:
    """(tenant, currency, team) -> kind -> sum over the ``days`` local days ending today."""
    out: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (tenant, currency, team, day), kinds in totals.teams.items():
        if _within(day, today(tenant), days):
            acc = out[(tenant, currency, team)]
            for kind, value in kinds.items():
                acc[kind] += value
    return {triple: dict(kinds) for triple, kinds in out.items() if any(kinds.values())}


@dataclass(frozen=True, slots=True)
class TeamPerAccount:
    """One (currency, team, tenant, window)'s K10 by team (None: H = 0)."""

    allocated_minor: int
    handled: int
    collected_per_account: float | None


def team_collected_per_account(
    allocation: AllocationTotals, accounts: AccountTotals, today: TenantToday
) -> dict[tuple[str, str, str, str], TeamPerAccount]:
    """(currency, team, tenant, window) -> K10 by team and its parts."""
    opened = open_by_team(accounts)
    out = {}
    for window, days in FLOW_WINDOWS:
        sums = team_window_sums(allocation, today, days)
        for tenant, currency, team in sorted(opened.keys() | sums.keys()):
            kinds = sums.get((tenant, currency, team), {})
            now, exits = opened.get((tenant, currency, team), 0), kinds.get("x", 0)
            handled = formulas.handled_accounts(now, exits, min(kinds.get("e", 0), now + exits))
            allocated = kinds.get("a", 0)
            out[(currency, team, tenant, window)] = TeamPerAccount(
                allocated_minor=allocated,
                handled=handled,
                collected_per_account=formulas.per_account(allocated, handled),
            )
    return out


def agency_revenue(
    allocation: AllocationTotals, today: TenantToday
) -> dict[tuple[str, str, str], float]:
    """K11's agency revenue: (currency, tenant, window) -> Σ net allocated x the
    commission_bp of the account version in force at the payment's time / 10 000, in
    minor units (not rounded). An account version without commission_bp earns 0;
    unallocated net earns nothing. Every pair with allocation data has a value."""
    out = {}
    for window, days in FLOW_WINDOWS:
        for (tenant, currency), kinds in window_sums(allocation, today, days).items():
            out[(currency, tenant, window)] = kinds.get("c", 0) / BP
    return out


def agency_revenue_by_team(
    allocation: AllocationTotals, today: TenantToday
) -> dict[tuple[str, str, str, str], float]:
    """``agency_revenue`` per (currency, team, tenant, window)."""
    out = {}
    for window, days in FLOW_WINDOWS:
        for (tenant, currency, team), kinds in team_window_sums(allocation, today, days).items():
            out[(currency, team, tenant, window)] = kinds.get("c", 0) / BP
    return out


@dataclass(frozen=True, slots=True)
class PerAccount:
    """One (currency, tenant, window)'s K10 inputs and value (None: H = 0)."""

    allocated_minor: int
    unallocated_minor: int
    handled: int
    collected_per_account: float | None


def collected_per_account(
    allocation: AllocationTotals, accounts: AccountTotals, today: TenantToday
) -> dict[tuple[str, str, str], PerAccount]:
    """(currency, tenant, window) -> K10 and its parts, for every pair with data."""
    opened = open_now(accounts)
    out = {}
    for window, days in FLOW_WINDOWS:
        sums = window_sums(allocation, today, days)
        for tenant, currency in sorted(opened.keys() | sums.keys()):
            kinds = sums.get((tenant, currency), {})
            now, exits = opened.get((tenant, currency), 0), kinds.get("x", 0)
            # never negative (a counter read beside a racing write must not break a scrape)
            handled = formulas.handled_accounts(now, exits, min(kinds.get("e", 0), now + exits))
            allocated = kinds.get("a", 0)
            out[(currency, tenant, window)] = PerAccount(
                allocated_minor=allocated,
                unallocated_minor=kinds.get("u", 0),
                handled=handled,
                collected_per_account=formulas.per_account(allocated, handled),
            )
    return out


REPAID_DPD = (7, 30, 60, 90)
"""K17's days past the due date at placement."""


def repaid_by_dpd(
    totals: AllocationTotals, today: TenantToday
) -> dict[tuple[str, str, str], float]:
    """K17 (dpd, tenant, window) -> of the accounts placed in W whose due date + dpd days
    has come (local today), the share that reached paid_in_full or settled by then; no
    sample while none is old enough (``kpi.portfolio.repaid_by_dpd_ratio`` on counts)."""
    counts: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for window, days in FLOW_WINDOWS:
        for (tenant, day), accounts in totals.placed.items():
            last = today(tenant)
            if not _within(day, last, days):
                continue
            for (due, resolved), n in accounts.items():
                for dpd in REPAID_DPD:
                    deadline = due + timedelta(days=dpd)
                    if deadline > last:
                        continue
                    tally = counts[(str(dpd), tenant, window)]
                    tally[0] += n
                    if resolved is not None and resolved <= deadline:
                        tally[1] += n
    return {key: repaid / eligible for key, (eligible, repaid) in counts.items() if eligible}


def _within(day: date, last: date, days: int) -> bool:
    return last - timedelta(days=days - 1) <= day <= last


def nearest_rank(sorted_values: list[int], q: float) -> int:
    """The q-quantile by the nearest-rank method (the smallest value with at least
    q of the population at or below it); ``sorted_values`` ascending, not empty."""
    rank = max(math.ceil(q * len(sorted_values)), 1)
    return sorted_values[rank - 1]


@dataclass(frozen=True, slots=True)
class Distribution:
    """K10 per account in one window: each handled account's net allocated."""

    accounts: int
    """The population: handled accounts, or the accounts paid if more (an account
    paid but never placed is counted, not dropped)."""
    paid_accounts: int
    """Accounts with a non-zero net allocated in the window."""
    p50_minor: int | None
    p90_minor: int | None


def distribution(per_account: list[int], handled: int) -> Distribution:
    """p50 and p90 of the net allocated per account over H(W) accounts: the handled
    accounts nothing was allocated to count as 0 (nearest rank; None without accounts)."""
    paid = [v for v in per_account if v]
    population = max(handled, len(paid))
    if population == 0:
        return Distribution(0, 0, None, None)
    values = sorted([0] * (population - len(paid)) + paid)
    return Distribution(population, len(paid), nearest_rank(values, 0.5), nearest_rank(values, 0.9))


def cohort_months(today: date) -> list[str]:
    """The last ``COHORT_MONTHS`` months ending with ``today``'s, oldest first."""
    index = today.year * 12 + today.month - 1
    months = [index - i for i in range(COHORT_MONTHS)]
    return [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in reversed(months)]


@dataclass(frozen=True, slots=True)
class Cohort:
    """One placement month's K16: placed balance, net allocated so far and by age."""

    placed_minor: int
    collected_minor: int
    by_age: Mapping[int, int]
    """Age in days (AGES_DAYS) -> net allocated within that many days of placement."""

    @property
    def recovery_ratio(self) -> float | None:
        return formulas.recovery_ratio(self.collected_minor, self.placed_minor)

    def curve(self) -> dict[int, float | None]:
        """The recovery age curve: age -> net allocated within it / placed balance."""
        return {
            age: formulas.recovery_ratio(self.by_age.get(age, 0), self.placed_minor)
            for age in AGES_DAYS
        }


def cohorts(allocation: AllocationTotals, today: TenantToday) -> dict[tuple[str, str, str], Cohort]:
    """(currency, cohort month, tenant) -> the cohort, for the last 12 placement months."""
    out = {}
    for (tenant, currency, month), kinds in sorted(allocation.cohorts.items()):
        if month not in cohort_months(today(tenant)):
            continue
        out[(currency, month, tenant)] = Cohort(
            placed_minor=kinds.get("p", 0),
            collected_minor=kinds.get("n", 0),
            by_age={age: kinds.get(f"a{age}", 0) for age in AGES_DAYS},
        )
    return out


__all__ = [
    "AGES_DAYS",
    "BP",
    "COHORT_MONTHS",
    "REPAID_DPD",
    "UNASSIGNED",
    "AllocationTotals",
    "Cohort",
    "Distribution",
    "PerAccount",
    "TeamPerAccount",
    "agency_revenue",
    "agency_revenue_by_team",
    "cohort_months",
    "cohorts",
    "collected_per_account",
    "distribution",
    "nearest_rank",
    "open_by_team",
    "open_now",
    "repaid_by_dpd",
    "team_collected_per_account",
    "team_window_sums",
    "window_sums",
]
