"""The portfolio gauges (K9 open accounts and accounts per collector, K18 receivables,
K20 outbound attempts per handled account) from the account aggregates of one
``StoreView``."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import Metric

from collectpulse.exporter.computed import gauge_family
from collectpulse.kpi import accounts as kpi
from collectpulse.kpi.handled import attempts_per_account
from collectpulse.store.reader import StoreView

TENANT_ZONE = "UTC"
"""Days past due use the UTC date until a tenant time-zone setting exists."""


def portfolio(view: StoreView) -> Iterator[Metric]:
    today = kpi.local_date(view.now_s, TENANT_ZONE)
    opened = gauge_family("open_accounts")
    for labels, count in sorted(kpi.open_accounts(view.accounts, today).items()):
        opened.add_metric(list(labels), count)
    yield opened
    per_collector = gauge_family("accounts_per_collector")
    for pair, ratio in sorted(kpi.accounts_per_collector(view.accounts).items()):
        per_collector.add_metric(list(pair), ratio)
    yield per_collector
    balances = gauge_family("receivables_minor")
    for triple, balance in sorted(kpi.receivables(view.accounts, today).items()):
        balances.add_metric(list(triple), balance)
    yield balances
    per_account = gauge_family("outbound_attempts_per_account", "window")
    open_now = kpi.open_by_team(view.accounts)
    for window, values in view.windows.items():
        for (team, tenant), value in attempts_per_account(open_now, values).items():
            per_account.add_metric([team, tenant, window], value)
    yield per_account
