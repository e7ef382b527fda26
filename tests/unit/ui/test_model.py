"""The live model: every table cell is the /metrics sample it names; ratios absent at 0/0."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from collectpulse.exporter.collector import StoreCollector
from collectpulse.kpi.ratios import labelset
from collectpulse.store.fields import counter_field
from collectpulse.store.reader import StoreView
from collectpulse.store.series import BucketSeries, bucket_starts
from collectpulse.store.totals import LAST_EVENT
from collectpulse.ui.model import BadQuery, Filters, live_model

NOW_S = 1_700_000_000
A = {"channel": "email", "campaign": "spring", "variant": "control", "segment": "s", "tenant": "t1"}
B = {**A, "variant": "short"}
SMS = {**A, "channel": "sms", "tenant": "t2"}


def _funnel(labels: dict[str, str], sent: int, delivered: int, paid: int) -> dict[Any, float]:
    return {
        "messages_sent": {labelset(labels): sent},
        "messages_delivered": {labelset(labels): delivered},
        "messages_paid": {labelset(labels): paid},
    }


def _merge(*parts: dict[str, dict[Any, float]]) -> dict[str, dict[Any, float]]:
    out: dict[str, dict[Any, float]] = {}
    for part in parts:
        for counter, series in part.items():
            out.setdefault(counter, {}).update(series)
    return out


def _view() -> StoreView:
    hour = _merge(
        _funnel(A, 200, 150, 15),
        _funnel(B, 200, 160, 30),
        _funnel(SMS, 0, 0, 0),
        {
            "promises": {
                labelset(direction="inbound", kind="promise_to_pay", tenant="t1", status="made"): 3
            },
            "messages_bounced_any": {labelset(A): 50},
        },
    )
    totals = {counter_field("messages_sent", A): 200, f"{LAST_EVENT}\x1fdelivery": NOW_S - 10}
    return StoreView(NOW_S, (0,), totals, {"1h": hour, "24h": hour})


def _samples(view: StoreView) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(view, experiment_min_sample=100))
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in registry.collect()
        for s in family.samples
    }


def test_every_table_cell_equals_the_metrics_sample_it_names() -> None:
    view = _view()
    model = live_model(view, window="1h", filters=Filters(), min_sample=100)
    samples = _samples(view)
    checked = 0
    for table in model["tables"]:
        for row in table["rows"]:
            for column in table["columns"]:
                labels = {**row["labels"], **column["where"], "window": "1h"}
                key = (column["metric"], frozenset(labels.items()))
                cell = row["values"][column["key"]]
                assert samples.get(key) == cell, (key, cell)
                checked += 1
    assert checked > 20


def test_a_ratio_with_a_zero_denominator_is_none_not_zero() -> None:
    model = live_model(_view(), window="1h", filters=Filters(), min_sample=100)
    funnel = next(t for t in model["tables"] if t["key"] == "funnel")
    sms = next(r for r in funnel["rows"] if r["labels"]["channel"] == "sms")
    assert sms["values"]["delivery"] is None
    promises = next(t for t in model["tables"] if t["key"] == "promises")
    assert promises["rows"][0]["values"]["promise_kept"] is None


def test_filters_keep_only_matching_rows_and_ignore_tables_without_the_label() -> None:
    model = live_model(
        _view(), window="1h", filters=Filters(tenant="t1", variant="short"), min_sample=100
    )
    funnel = next(t for t in model["tables"] if t["key"] == "funnel")
    assert [r["labels"]["variant"] for r in funnel["rows"]] == ["short"]
    promises = next(t for t in model["tables"] if t["key"] == "promises")
    assert len(promises["rows"]) == 1  # promises have no variant label


def test_experiment_compares_each_variant_with_control_and_names_its_metrics() -> None:
    view = _view()
    model = live_model(view, window="1h", filters=Filters(), min_sample=100)
    (campaign,) = model["experiments"]["campaigns"]
    assert campaign["control"] == "control"
    assert [a["delivered"] for a in campaign["arms"]] == [150, 160]
    (cmp,) = campaign["comparisons"]
    assert cmp["lift"] == pytest.approx((30 / 160 - 15 / 150) / (15 / 150))
    assert cmp["lift_low"] < cmp["lift"] < cmp["lift_high"]
    labels = {"campaign": "spring", "variant": "short", "control": "control", "tenant": "t1"}
    sample = _samples(view)[
        ("collectpulse_experiment_p_value", frozenset({**labels, "window": "1h"}.items()))
    ]
    assert cmp["p_value"] == sample


def test_below_the_minimum_sample_the_statistics_are_withheld() -> None:
    model = live_model(_view(), window="1h", filters=Filters(), min_sample=1000)
    (cmp,) = model["experiments"]["campaigns"][0]["comparisons"]
    assert cmp["sufficient_sample"] is False
    assert cmp["lift"] is None and cmp["lift_low"] is None and cmp["p_value"] is None


def test_the_hard_bounce_condition_is_computed_from_the_thresholds() -> None:
    model = live_model(_view(), window="1h", filters=Filters(), min_sample=100)
    names = {(a["alert"], a["labels"].get("campaign")) for a in model["alerts"]["active"]}
    # 50 of the 400 spring/email/t1 messages bounced in 24h: 12.5% > 10%, 400 >= 200 sent
    assert ("CollectpulseHighBounceRatio", "spring") in names


def test_minute_series_sum_the_filtered_series_per_bucket() -> None:
    starts = bucket_starts(NOW_S, 60, 3)
    series = BucketSeries(
        60,
        starts,
        {"messages_sent": {labelset(A): [1.0, 2.0, 3.0], labelset(SMS): [5.0, 0.0, 0.0]}},
    )
    model = live_model(
        _view(), window="1h", filters=Filters(channel="email"), min_sample=100, series=series
    )
    sent = next(line for line in model["series"]["lines"] if line["title"] == "sent")
    assert sent["points"] == [1.0, 2.0, 3.0]
    assert model["series"]["starts"] == list(starts)
    assert starts[-1] == NOW_S - NOW_S % 60


def test_an_unknown_window_is_refused_with_the_valid_ones() -> None:
    with pytest.raises(BadQuery, match="1h, 24h"):
        live_model(_view(), window="2h", filters=Filters(), min_sample=100)
