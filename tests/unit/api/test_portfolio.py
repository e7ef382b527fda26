"""The K10 spread and K16 curves' shaping (pure), checked against the OpenAPI schemas."""

from __future__ import annotations

from datetime import date

import jsonschema

from collectpulse.api.openapi import document
from collectpulse.api.portfolio import collected_rows, recovery_rows
from collectpulse.kpi.accounts import AccountTotals
from collectpulse.kpi.allocation import AllocationTotals, distribution

TODAY = date(2027, 3, 31)


def today(_tenant: str) -> date:
    return TODAY


def schema(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({**document(), "$ref": f"#/components/schemas/{name}"})


def test_the_spread_counts_handled_accounts_without_collections_as_zero() -> None:
    spread = distribution([500, 100, -20, 0], handled=10)
    assert (spread.accounts, spread.paid_accounts) == (10, 3)
    # -20, 0 x7, 100, 500: the 5th is 0, the 9th is 100
    assert (spread.p50_minor, spread.p90_minor) == (0, 100)
    assert distribution([], 0).p50_minor is None
    assert distribution([7, 9], 1).accounts == 2  # paid but never handled: still counted


def test_rows_for_one_window_and_tenant() -> None:
    accounts = AccountTotals(receivables={("acme", "EUR", "2027-03-01"): (5000, 4)})
    totals = AllocationTotals(
        days={("acme", "EUR", date(2027, 3, 30)): {"a": 900, "u": 10}},
        cohorts={("acme", "EUR", "2027-02"): {"p": 1000, "n": 300, "a30": 100, "a60": 300}},
    )
    per_account = {("acme", "EUR", date(2027, 3, 30)): {"x1": 600, "x2": 300}}
    rows = collected_rows("30d", totals, accounts, per_account, today, None)
    schema("CollectedPerAccount").validate(
        {"window": "30d", "as_of": "2027-03-31T00:00:00Z", "rows": rows}
    )
    assert rows == [
        {
            "tenant": "acme",
            "currency": "EUR",
            "handled_accounts": 4,
            "allocated_net_minor": 900,
            "unallocated_net_minor": 10,
            "collected_per_account": 225.0,
            "accounts": 4,
            "paid_accounts": 2,
            "p50_minor": 0,
            "p90_minor": 600,
        }
    ]
    assert collected_rows("30d", totals, accounts, per_account, today, "other") == []
    cohorts = recovery_rows(totals, today, "acme")
    schema("Recovery").validate({"as_of": "2027-03-31T00:00:00Z", "cohorts": cohorts})
    assert [(c["cohort"], c["recovery_ratio"]) for c in cohorts] == [("2027-02", 0.3)]
    assert [p["recovery_ratio"] for p in cohorts[0]["curve"]] == [0.1, 0.3, 0.0, 0.0]
