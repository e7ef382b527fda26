"""K11 on /metrics for an agency tenant: revenue is the allocated commission, not the cash."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from collectpulse.exporter.costs import cost_ratios
from collectpulse.kpi.accounts import AccountTotals
from collectpulse.kpi.allocation import AllocationTotals
from collectpulse.kpi.costs import Cost, RevenueModel
from collectpulse.store.reader import StoreView

NOW_S = 1_806_406_000  # 2027-03-30T12:06:40Z
DAY = date(2027, 3, 20)
MARCH = date(2027, 3, 1), date(2027, 4, 1)


def _view(models: dict[str, RevenueModel]) -> StoreView:
    # 31,000 labour over March's 31 days: 1,000 a day, so 30 days in W cost 30,000
    costs = (Cost("lab", "acme", "labour", "EUR", 31_000, *MARCH),)
    # 4 open accounts in EUR now; 100,000 allocated (x 1,500 bp) and 20,000 not
    accounts = AccountTotals(receivables={("acme", "EUR", "2027-03-30"): (50_000, 4)})
    allocation = AllocationTotals(
        days={("acme", "EUR", DAY): {"a": 100_000, "c": 100_000 * 1_500, "u": 20_000}}
    )
    return StoreView(
        NOW_S,
        (0,),
        {},
        {"1h": {}},
        accounts=accounts,
        allocation=allocation,
        costs=costs,
        revenue_models=models,
    )


def test_an_agency_tenant_earns_its_commission_and_an_in_house_one_its_cash() -> None:
    agency = cost_ratios(_view({"acme": "agency"}), lambda _tenant: date(2027, 3, 30))
    in_house = cost_ratios(_view({}), lambda _tenant: date(2027, 3, 30))
    # W = 30d: 30 days of labour = 30,000; H = 4 open now
    assert agency[("EUR", "acme", "30d")].profit_per_account == (15_000 - 30_000) / 4
    assert in_house[("EUR", "acme", "30d")].profit_per_account == (120_000 - 30_000) / 4


def test_cost_per_contact_waits_for_a_window_counted_in_the_tenants_own_days() -> None:
    # attempts counted since 23:30 UTC on 02-28: still 02-28 in UTC, already 03-01 in
    # Berlin, so Berlin's 30d (03-01 .. 03-30) starts on a partly uncounted day
    since_s = int(datetime(2027, 2, 28, 23, 30, tzinfo=UTC).timestamp())
    attempts = {(t, DAY): 10 for t in ("acme", "berlin")}
    costs = tuple(Cost(f"lab-{t}", t, "labour", "EUR", 31_000, *MARCH) for t in ("acme", "berlin"))
    view = _view({})
    accounts = replace(view.accounts, attempts=attempts, attempts_since_s=since_s)
    zoned = replace(view, accounts=accounts, costs=costs, tenant_zones={"berlin": "Europe/Berlin"})
    rows = cost_ratios(zoned, lambda _tenant: date(2027, 3, 30))
    assert rows[("EUR", "acme", "30d")].cost_per_contact == 30_000 / 10
    assert rows[("EUR", "berlin", "30d")].cost_per_contact is None
    assert rows[("EUR", "acme", "90d")].cost_per_contact is None  # 90d starts in January
    fresh = replace(zoned, accounts=replace(accounts, attempts_since_s=0))
    assert cost_ratios(fresh, lambda _tenant: date(2027, 3, 30))[
        ("EUR", "berlin", "30d")
    ].cost_per_contact == pytest.approx(30_000 / 10)
