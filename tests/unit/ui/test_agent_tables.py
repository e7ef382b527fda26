"""K4-K6 and K19 on the live page: every new ratio joins a table, one /metrics sample a cell."""

from __future__ import annotations

from collectpulse.kpi.definitions import RATIOS
from collectpulse.kpi.ratios import labelset
from collectpulse.ui.tables import TABLES, table_columns, table_rows

BY_KEY = {table.key: table for table in TABLES}
NEW = (
    "outbound_ptp_per_rpc",
    "outbound_kept_per_rpc",
    "promise_kept_cohort",
    "self_service_share",
    "self_service_amount_share",
    "self_service_promise_share",
)


def test_every_new_ratio_is_a_column_of_exactly_one_table() -> None:
    for name in NEW:
        tables = [t.key for t in TABLES if name in {c.key for c in table_columns(t)}]
        assert len(tables) == 1, (name, tables)
    assert set(NEW) <= {r.name for r in RATIOS}


def test_the_self_service_table_shows_scheduled_apart_and_the_shares() -> None:
    table = BY_KEY["self_service"]
    columns = table_columns(table)

    def who(by: str, n: float) -> tuple[tuple[tuple[str, str], ...], float]:
        return labelset(initiated_by=by, currency="EUR", tenant="t1"), n

    values = {
        "initiated_payments": dict([who("self_service", 3), who("agent", 1), who("scheduled", 4)]),
        "initiated_amount_minor": dict([who("self_service", 30), who("agent", 90)]),
    }
    [row] = table_rows(table, columns, values, {})
    assert row["labels"] == {"currency": "EUR", "tenant": "t1"}
    cells = row["values"]
    assert cells["initiated_payments_scheduled"] == 4
    assert cells["self_service_share"] == 0.75
    assert cells["self_service_amount_share"] == 0.25


def test_the_cohort_table_keeps_made_and_kept_so_far_per_maker() -> None:
    table = BY_KEY["promise_cohort"]
    base = {"direction": "outbound", "kind": "promise_to_pay", "agent": "ann", "tenant": ""}
    values = {
        "promise_cohort": {
            labelset(base, status="made"): 4.0,
            labelset(base, status="kept"): 1.0,
        }
    }
    [row] = table_rows(table, table_columns(table), values, {})
    assert row["values"] == {
        "promise_cohort_made": 4.0,
        "promise_cohort_kept": 1.0,
        "promise_kept_cohort": 0.25,
    }
