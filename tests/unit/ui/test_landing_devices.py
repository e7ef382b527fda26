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

    mobile = labelset(source="sms", device="mobile", tenant="t1")
    values |= {
        "landing_unique_visitors_by_device": {mobile: 4.0},
        "landing_paying_customers_by_device": {mobile: 1.0},
        "landing_installment_plans_by_device": {mobile: 2.0},
    }

    rows = table_rows(table, columns, values, {"tenant": "t1"})

    assert [c.metric for c in columns] == [
        "collectpulse_windowed_landing_pageviews",
        "collectpulse_windowed_landing_unique_visitors_by_device",
        "collectpulse_windowed_landing_paying_customers_by_device",
        "collectpulse_windowed_landing_installment_plans_by_device",
        "collectpulse_landing_conversion_by_device_ratio",
        "collectpulse_installment_request_by_device_ratio",
    ]
    zero = {
        "landing_unique_visitors_by_device": 0.0,
        "landing_paying_customers_by_device": 0.0,
        "landing_installment_plans_by_device": 0.0,
        "landing_conversion_by_device": None,
        "installment_request_by_device": None,
    }
    assert rows == [
        {
            "labels": {"source": "sms", "device": "", "tenant": "t1"},
            "values": {"landing_pageviews": 2.0, **zero},
        },
        {
            "labels": {"source": "sms", "device": "mobile", "tenant": "t1"},
            "values": {
                "landing_pageviews": 5.0,
                "landing_unique_visitors_by_device": 4.0,
                "landing_paying_customers_by_device": 1.0,
                "landing_installment_plans_by_device": 2.0,
                "landing_conversion_by_device": 0.25,
                "installment_request_by_device": 0.5,
            },
        },
    ]


def test_the_source_table_no_longer_shows_views_it_could_not_sum_by_device() -> None:
    keys = [c.counter for c in table_columns(BY_KEY["landing"]) if c.counter]
    assert "landing_pageviews" not in keys
    assert "landing_unique_visitors" in keys
