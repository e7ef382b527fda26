"""A prometheus-client collector over one ``StoreView``: every family from the KPI table.

The view is read from Redis per scrape, so any number of exporter processes
report the same numbers (kpi-catalog section 6).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from collectpulse.kpi.definitions import COUNTERS, GAUGES, HISTOGRAMS, RATIOS
from collectpulse.kpi.histograms import cumulative_buckets
from collectpulse.kpi.model import Aggregation, metric_name
from collectpulse.kpi.ratios import evaluate_ratio
from collectpulse.store.keys import FIELD_SEP
from collectpulse.store.reader import StoreView, parse_counter_fields

_LAST_EVENT = "last_event_s"
_LAST_APPLIED = "last_applied_s"


class StoreCollector(Collector):
    """Yields collectpulse's metric families for one store view."""

    def __init__(self, view: StoreView) -> None:
        self._view = view

    def collect(self) -> Iterator[Metric]:
        yield from self._counters()
        yield from self._ratios()
        yield from self._histograms()
        yield from self._pipeline()

    def _counters(self) -> Iterator[Metric]:
        totals = parse_counter_fields(self._view.totals)
        for counter in COUNTERS:
            labels = [label.name for label in counter.labels]
            if counter.has_total:
                family = CounterMetricFamily(metric_name(counter), counter.help, labels=labels)
                for series, value in sorted(totals.get(counter.name, {}).items()):
                    family.add_metric([v for _, v in _ordered(series, labels)], value)
                yield family
            if counter.windowed:
                name = metric_name(counter, windowed=True)
                help_text = counter.help
                if counter.aggregation is Aggregation.HLL:
                    help_text += " Summed over partitions, each holding distinct keys."
                gauge = GaugeMetricFamily(name, help_text, labels=[*labels, "window"])
                for window, values in self._view.windows.items():
                    for series, value in sorted(values.get(counter.name, {}).items()):
                        gauge.add_metric([*(v for _, v in _ordered(series, labels)), window], value)
                yield gauge

    def _ratios(self) -> Iterator[Metric]:
        for definition in RATIOS:
            help_text = f"{definition.help} Definition: {definition.formula()}."
            family = GaugeMetricFamily(
                metric_name(definition), help_text, labels=[*definition.labels, "window"]
            )
            for window, values in self._view.windows.items():
                for series, value in evaluate_ratio(definition, values).items():
                    if value is not None:
                        ordered = _ordered(series, list(definition.labels))
                        family.add_metric([*(v for _, v in ordered), window], value)
            yield family

    def _histograms(self) -> Iterator[Metric]:
        for histogram in HISTOGRAMS:
            per_series: dict[tuple[str, ...], dict[str, int]] = defaultdict(dict)
            prefix = histogram.name + FIELD_SEP
            for raw, value in self._view.totals.items():
                if raw.startswith(prefix):
                    *labels, bucket = raw.split(FIELD_SEP)[1:]
                    per_series[tuple(labels)][bucket] = value
            family = HistogramMetricFamily(
                metric_name(histogram), histogram.help, labels=list(histogram.labels)
            )
            for label_values, buckets in sorted(per_series.items()):
                counts = [buckets.get(str(i), 0) for i in range(len(histogram.buckets_s) + 1)]
                family.add_metric(
                    list(label_values),
                    buckets=cumulative_buckets(counts, histogram.buckets_s),
                    sum_value=float(buckets.get("sum", 0)),
                )
            yield family

    def _pipeline(self) -> Iterator[Metric]:
        last_event = _gauge_family("last_event_timestamp_seconds")
        lag = _gauge_family("processing_lag_seconds")
        applied: dict[str, int] = {}
        for raw, value in self._view.totals.items():
            name, _, topic = raw.partition(FIELD_SEP)
            if name == _LAST_APPLIED:
                applied[topic] = value
        for raw, value in sorted(self._view.totals.items()):
            name, _, topic = raw.partition(FIELD_SEP)
            if name == _LAST_EVENT:
                last_event.add_metric([topic], value)
                if topic in applied:
                    lag.add_metric([topic], max(applied[topic] - value, 0))
        yield last_event
        yield lag
        offsets = GaugeMetricFamily(
            "collectpulse_applied_offset",
            "Last Kafka offset whose effects are in the store, per topic and partition "
            "(the position a worker resumes from).",
            labels=["topic", "partition"],
        )
        for (topic, partition), offset in sorted(self._view.offsets.items()):
            offsets.add_metric([topic, str(partition)], offset)
        yield offsets


def _gauge_family(name: str, *extra_labels: str) -> GaugeMetricFamily:
    gauge = next(g for g in GAUGES if g.name == name)
    return GaugeMetricFamily(metric_name(gauge), gauge.help, labels=[*gauge.labels, *extra_labels])


def _ordered(series: tuple[tuple[str, str], ...], names: list[str]) -> list[tuple[str, str]]:
    as_dict = dict(series)
    return [(name, as_dict.get(name, "")) for name in names]
