"""K22 on the live page: views by device get a table of their own, one /metrics sample a cell."""

from __future__ import annotations

from collectpulse.kpi.ratios import labelset
from collectpulse.ui.tables import TABLES, table_columns, table_rows

BY_KEY = {table.key: table for table in TABLES}


def test_views_are_tabled_by_source_device_and_tenant() -> None:
    table = BY_KEY["landing_devices"]
    columns = table_columns(table)
    values = {
        "landing_pageviews": {
            labelset(source="sms", device="mobile", tenant="t1"): 5.0,
            labelset(source="sms", device="", tenant="t1"): 2.0,
            labelset(source="email", device="desktop", tenant="t2"): 1.0,
        }
    }

    rows = table_rows(table, columns, values, {"tenant": "t1"})

    assert [c.metric for c in columns] == ["collectpulse_windowed_landing_pageviews"]
    assert rows == [
        {
            "labels": {"source": "sms", "device": "", "tenant": "t1"},
            "values": {"landing_pageviews": 2.0},
        },
        {
            "labels": {"source": "sms", "device": "mobile", "tenant": "t1"},
            "values": {"landing_pageviews": 5.0},
        },
    ]


def test_the_source_table_no_longer_shows_views_it_could_not_sum_by_device() -> None:
    keys = [c.counter for c in table_columns(BY_KEY["landing"]) if c.counter]
    assert "landing_pageviews" not in keys
    assert "landing_unique_visitors" in keys
