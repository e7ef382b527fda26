"""The agents table's shaping, sorting and paging (pure)."""

from __future__ import annotations

import pytest

from collectpulse.api.agents import BadQuery, agent_rows, page
from collectpulse.store.agent_ledger import field


def ledger() -> dict[str, int]:
    return {
        field("promises_made", "ag-1", "t1"): 4,
        field("promises_kept", "ag-1", "t1"): 3,
        field("promises_broken", "ag-1", "t1"): 1,
        field("promises_made", "ag-2", "t1"): 4,
        field("collected_amount_minor", "ag-2", "t1", "EUR"): 500,
        field("collected_amount_minor", "ag-2", "t2", "EUR"): 250,
        field("collected_amount_minor", "ag-2", "t2", "GBP"): 70,
        field("collected_amount_minor", "", "t1", "EUR"): 9,
        "unknown_column\x1fag-9\x1ft1\x1f": 1,
    }


def test_rows_sum_tenants_and_keep_currencies_apart() -> None:
    rows = {r["agent"]: r for r in agent_rows(ledger(), None)}
    assert set(rows) == {"ag-1", "ag-2", "__unassigned__"}
    assert rows["ag-2"]["collected_amount_minor"] == {"EUR": 750, "GBP": 70}
    assert rows["ag-1"]["promise_kept_ratio"] == 0.75
    assert rows["ag-2"]["promise_kept_ratio"] is None  # nothing resolved
    only_t2 = agent_rows(ledger(), "t2")
    assert [r["agent"] for r in only_t2] == ["ag-2"]


def test_sorting_puts_ties_by_agent_id_and_missing_values_last_in_both_orders() -> None:
    rows = agent_rows(ledger(), None)
    made = page(rows, sort="promises_made", descending=True, offset=0, limit=10)
    assert [r["agent"] for r in made] == ["ag-1", "ag-2", "__unassigned__"]
    ratio_up = page(rows, sort="promise_kept_ratio", descending=False, offset=0, limit=10)
    ratio_down = page(rows, sort="promise_kept_ratio", descending=True, offset=0, limit=10)
    assert ratio_up[0]["agent"] == ratio_down[0]["agent"] == "ag-1"
    assert [r["agent"] for r in ratio_up[1:]] == ["__unassigned__", "ag-2"]
    money = page(rows, sort="collected_amount_minor", descending=True, offset=1, limit=1)
    assert [r["agent"] for r in money] == ["__unassigned__"]


def test_an_unknown_sort_column_is_refused_by_name() -> None:
    with pytest.raises(BadQuery, match="sort must be one of agent"):
        page([], sort="salary", descending=True, offset=0, limit=1)


def test_an_agent_id_holding_the_field_separator_stays_one_row() -> None:
    rows = agent_rows({field("promises_made", "odd\x1fid", "t1"): 1}, None)
    assert [r["agent"] for r in rows] == ["oddid"]


def test_promise_cohort_ratios_per_rpc_and_per_promise_made() -> None:
    cohort = {
        field("outbound_rpcs", "ag-1", "t1"): 4,
        field("outbound_ptp_made", "ag-1", "t1"): 2,
        field("outbound_kept_cohort", "ag-1", "t1"): 1,
        field("promises_made_cohort", "ag-1", "t1"): 5,
        field("promises_kept_cohort", "ag-1", "t1"): 2,
        field("promises_made_cohort", "ag-2", "t1"): 1,
    }
    rows = {r["agent"]: r for r in agent_rows(cohort, None)}
    assert rows["ag-1"]["outbound_ptp_per_rpc_ratio"] == 0.5
    assert rows["ag-1"]["outbound_kept_per_rpc_ratio"] == 0.25
    assert rows["ag-1"]["promise_kept_cohort_ratio"] == 0.4
    assert rows["ag-2"]["outbound_ptp_per_rpc_ratio"] is None  # no RPCs
    assert rows["ag-2"]["promise_kept_cohort_ratio"] == 0.0
