"""The exporter's text rendering writes exactly what prometheus_client's generate_latest
writes, for collectpulse's families and for anything else it is handed."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector

from collectpulse.exporter.collector import StoreCollector
from collectpulse.exporter.exposition import render
from collectpulse.store.fields import counter_field, histogram_field
from collectpulse.store.reader import LAST_EVENT, StoreView

NOW_S = 1_800_000_000


class Families(Collector):
    def __init__(self, *families: Metric) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        yield from self._families


def reference(*families: Metric) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Families(*families))
    return generate_latest(registry)


def test_counters_gauges_and_histograms_render_byte_for_byte_like_generate_latest() -> None:
    counter = CounterMetricFamily("cp_sent", "Sent \\ messages\nper campaign", labels=["b", "a"])
    counter.add_metric(['quote " here', "back\\slash"], 3)
    counter.add_metric(["new\nline", ""], 1e10)
    gauge = GaugeMetricFamily("cp_ratio", "A ratio.", labels=["window"])
    gauge.add_metric(["1h"], 0.123456789)
    gauge.add_metric(["24h"], float("nan"))
    plain = GaugeMetricFamily("cp_workers", "Live workers.", value=2)
    histogram = HistogramMetricFamily("cp_lag_seconds", "Lag.", labels=["topic"])
    histogram.add_metric(["open"], buckets=[("0.5", 1), ("1.0", 4), ("+Inf", 5)], sum_value=3.5)

    families = (counter, gauge, plain, histogram)
    assert render(families) == reference(*families)


def test_other_family_types_are_left_to_generate_latest() -> None:
    info = InfoMetricFamily("cp_build", "Build.", value={"version": "1"})
    summary = SummaryMetricFamily("cp_size_bytes", "Size.", count_value=2, sum_value=10)
    created = CounterMetricFamily("cp_runs", "Runs.", value=1, created=1_700_000_000.0)

    assert render([info, summary, created]) == reference(info, summary, created)


def test_a_whole_store_view_renders_like_generate_latest() -> None:
    funnel = {"channel": "email", "campaign": 'sp"ring', "variant": "a", "segment": "default"}
    view = StoreView(
        NOW_S,
        (0,),
        {
            counter_field("messages_sent", funnel): 10,
            counter_field("messages_opened", funnel): 4,
            histogram_field("send_to_open_seconds", funnel, 2): 4,
            histogram_field("send_to_open_seconds", funnel, "sum_ms"): 2_400_000,
            f"{LAST_EVENT}\x1fopen": NOW_S - 5,
        },
        {"1h": {}},
        offsets={("open", 0): 12},
    )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(view))

    assert render(StoreCollector(view).collect()) == generate_latest(registry)
