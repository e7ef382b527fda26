"""K22 in the store's plan: views by device, the load-time histogram, and old field layouts."""

from __future__ import annotations

from typing import Any

from tests.unit.store.test_effects import KEYS, PARTITION, ago, in_bucket, plan, record, total

from collectpulse.events.models import Topic
from collectpulse.kpi.computed import LANDING_LOAD_BUCKETS_S
from collectpulse.kpi.histograms import bucket_index
from collectpulse.kpi.ratios import labelset
from collectpulse.store.context import Record
from collectpulse.store.fields import counter_field, histogram_field
from collectpulse.store.keys import FIELD_SEP
from collectpulse.store.plan import WritePlan
from collectpulse.store.totals import parse_counter_fields


def view(visitor_id: str, **v2: Any) -> Record:
    return record(Topic.PAGEVIEW, 100, visitor_id=visitor_id, source="sms", **v2)


def load_fields(written: WritePlan) -> dict[str, int]:
    totals = KEYS.totals(PARTITION)
    prefix = "landing_load_seconds" + FIELD_SEP
    return {
        name: value
        for (key, name), value in written.incr.items()
        if key == totals and name.startswith(prefix)
    }


def test_a_v2_pageview_counts_under_its_device_and_observes_its_load_time() -> None:
    written = plan(
        Topic.PAGEVIEW,
        view("v1", schema_version=2, device="mobile", load_ms=2300),
        view("v2", schema_version=2, device="mobile", load_ms=250),
        view("v3", schema_version=2, device="desktop", load_ms=0),
    )

    mobile = {"source": "sms", "device": "mobile", "tenant": ""}
    desktop = {**mobile, "device": "desktop"}
    assert total(written, "landing_pageviews", mobile) == 2
    assert in_bucket(written, "landing_pageviews", ago(100), mobile) == 2
    assert total(written, "landing_pageviews", desktop) == 1
    assert bucket_index(2.3, LANDING_LOAD_BUCKETS_S) == 5  # (2.0, 2.5]
    assert bucket_index(0.25, LANDING_LOAD_BUCKETS_S) == 0  # le is inclusive
    assert load_fields(written) == {
        histogram_field("landing_load_seconds", mobile, 5): 1,
        histogram_field("landing_load_seconds", mobile, 0): 1,
        histogram_field("landing_load_seconds", mobile, "sum_ms"): 2550,
        histogram_field("landing_load_seconds", desktop, 0): 1,
        histogram_field("landing_load_seconds", desktop, "sum_ms"): 0,
    }


def test_a_v1_pageview_counts_under_an_empty_device_and_observes_nothing() -> None:
    written = plan(Topic.PAGEVIEW, view("v1"))

    assert total(written, "landing_pageviews", {"source": "sms", "tenant": ""}) == 1
    assert counter_field("landing_pageviews", {"source": "sms", "tenant": ""}).split(FIELD_SEP) == [
        "landing_pageviews",
        "sms",
        "",
        "",
    ]
    assert load_fields(written) == {}


def test_a_device_without_load_time_counts_the_view_only() -> None:
    written = plan(Topic.PAGEVIEW, view("v1", schema_version=2, device="tablet"))

    assert total(written, "landing_pageviews", {"source": "sms", "device": "tablet"}) == 1
    assert load_fields(written) == {}


def test_views_stored_before_the_device_label_read_as_an_empty_device_and_add_up() -> None:
    old = FIELD_SEP.join(("landing_pageviews", "email", "acme"))
    new = counter_field("landing_pageviews", {"source": "email", "tenant": "acme"})
    mobile = counter_field("landing_pageviews", {"source": "email", "device": "mobile"})
    broken = FIELD_SEP.join(("landing_pageviews", "email"))

    parsed = parse_counter_fields({old: 3, new: 2, mobile: 4, broken: 9})

    assert parsed["landing_pageviews"] == {
        labelset(source="email", device="", tenant="acme"): 5.0,
        labelset(source="email", device="mobile", tenant=""): 4.0,
    }
