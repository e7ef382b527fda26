"""The portfolio gauges (K9 open accounts and accounts per collector, K18 receivables,
K13-K15 DSO, ADD and CEI, K20 outbound attempts per handled account, K8 and K4-K7 by
team, K11-K12 costs) from the
account aggregates of one ``StoreView``.

Dates are local to each tenant (``collectpulse.zones``, Settings.tenant_time_zones):
an account's DPD and the days a window sums are the tenant's, not the server's.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, tzinfo
from functools import cache
from typing import Any

from prometheus_client.core import Metric

from collectpulse.exporter.computed import gauge_family
from collectpulse.exporter.costs import cost_gauges
from collectpulse.kpi import accounts as kpi
from collectpulse.kpi import allocation, dso, targets
from collectpulse.kpi.collectors import agent_teams, collected_per_collector
from collectpulse.kpi.handled import attempts_per_account
from collectpulse.kpi.team_promises import TEAM_PROMISE_GAUGES, TeamValues, team_promises
from collectpulse.store.reader import StoreView
from collectpulse.zones import local_date, zone

RATIO_GAUGES = (
    "dso_days",
    "best_possible_dso_days",
    "add_days",
    "cei_ratio",
    "cash_cei_ratio",
)
"""The windowed K13-K15 gauges, named as the fields of ``kpi.dso.PortfolioRatios``."""


def tenant_today(view: StoreView) -> dso.TenantToday:
    """Tenant label value -> its local date at the view's time."""

    @cache
    def today(tenant: str) -> date:
        name = view.tenant_zones.get(tenant, view.default_zone)
        return local_date(view.now_s, zone(name))

    return today


def target_rows(view: StoreView) -> list[dict[str, Any]]:
    """K24: every target in force with its period-to-date actual (``kpi.targets``)."""
    teams = agent_teams(view.roster, view.accounts.collectors)

    def tz_of(tenant: str) -> tzinfo:
        return zone(view.tenant_zones.get(tenant, view.default_zone))

    return targets.attainment(list(view.targets), view.agent_net, teams, view.now_s, tz_of)


def team_values(view: StoreView) -> TeamValues:
    """K4-K7 by team (``kpi.team_promises``) on the view."""
    return team_promises(view.agent_net, view.roster, view.accounts.collectors, tenant_today(view))


def team_promise_families(values: TeamValues) -> Iterator[Metric]:
    for gauge in TEAM_PROMISE_GAUGES:
        family = gauge_family(gauge.name)
        for labels, value in sorted(values[gauge.name].items()):
            family.add_metric(list(labels), value)
        yield family


def portfolio(view: StoreView) -> Iterator[Metric]:
    today = tenant_today(view)
    opened = gauge_family("open_accounts")
    for labels, count in sorted(kpi.open_accounts(view.accounts, today).items()):
        opened.add_metric(list(labels), count)
    yield opened
    per_collector = gauge_family("accounts_per_collector")
    for pair, ratio in sorted(kpi.accounts_per_collector(view.accounts).items()):
        per_collector.add_metric(list(pair), ratio)
    yield per_collector
    teams = agent_teams(view.roster, view.accounts.collectors)
    collected = gauge_family("collected_per_collector")
    k8 = collected_per_collector(view.agent_net, view.roster, view.accounts.collectors, today)
    for k8_labels, value in sorted(k8.items()):
        collected.add_metric(list(k8_labels), value)
    yield collected
    yield from team_promise_families(team_values(view))
    below = gauge_family("agents_below_target")
    for k24_labels, count in sorted(targets.agents_below_target(target_rows(view), teams).items()):
        below.add_metric(list(k24_labels), count)
    yield below
    balances = gauge_family("receivables_minor")
    for triple, balance in sorted(kpi.receivables(view.accounts, today).items()):
        balances.add_metric(list(triple), balance)
    yield balances
    ratios = dso.portfolio_ratios(view.accounts, today)
    for name in RATIO_GAUGES:
        family = gauge_family(name)
        for window_labels, value in sorted(dso.ratio_values(ratios, name).items()):
            family.add_metric(list(window_labels), value)
        yield family
    weighted = gauge_family("balance_weighted_dpd_days")
    for pair, days in sorted(dso.balance_weighted_dpd(view.accounts, today).items()):
        weighted.add_metric(list(pair), days)
    yield weighted
    per_account = gauge_family("outbound_attempts_per_account", "window")
    open_now = kpi.open_by_team(view.accounts)
    for window, values in view.windows.items():
        for (team, tenant), value in attempts_per_account(open_now, values).items():
            per_account.add_metric([team, tenant, window], value)
    yield per_account
    yield from allocated(view, today)
    yield from cost_gauges(view, today)


def allocated(view: StoreView, today: dso.TenantToday) -> Iterator[Metric]:
    """K10 per window (with its parts), per tenant and per team, and K16 per placement
    cohort."""
    per_account = gauge_family("collected_per_account")
    unallocated = gauge_family("collected_unallocated_minor")
    handled = gauge_family("handled_accounts")
    rows = allocation.collected_per_account(view.allocation, view.accounts, today)
    for labels, row in sorted(rows.items()):
        if row.collected_per_account is not None:
            per_account.add_metric(list(labels), row.collected_per_account)
        unallocated.add_metric(list(labels), row.unallocated_minor)
        handled.add_metric(list(labels), row.handled)
    yield from (per_account, unallocated, handled)
    team_ratio = gauge_family("team_collected_per_account")
    team_handled = gauge_family("team_handled_accounts")
    by_team = allocation.team_collected_per_account(view.allocation, view.accounts, today)
    for team_labels, team_row in sorted(by_team.items()):
        if team_row.collected_per_account is not None:
            team_ratio.add_metric(list(team_labels), team_row.collected_per_account)
        team_handled.add_metric(list(team_labels), team_row.handled)
    yield from (team_ratio, team_handled)
    recovery = gauge_family("recovery_ratio")
    for labels, cohort in allocation.cohorts(view.allocation, today).items():
        if cohort.recovery_ratio is not None:
            recovery.add_metric(list(labels), cohort.recovery_ratio)
    yield recovery
    repaid = gauge_family("repaid_by_dpd_ratio")
    for labels, ratio in sorted(allocation.repaid_by_dpd(view.allocation, today).items()):
        repaid.add_metric(list(labels), ratio)
    yield repaid
