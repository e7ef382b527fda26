"""A prometheus-client collector over one ``StoreView``: every family from the KPI table.

The view is read from Redis per scrape, so any number of exporter processes
report the same numbers (kpi-catalog section 6).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from collectpulse.exporter import computed
from collectpulse.exporter.known import known_label_sets
from collectpulse.kpi.definitions import COUNTERS, HISTOGRAMS, RATIOS
from collectpulse.kpi.histograms import cumulative_buckets
from collectpulse.kpi.model import Aggregation, metric_name
from collectpulse.kpi.ratios import LabelSet, evaluate_ratio
from collectpulse.store.keys import FIELD_SEP
from collectpulse.store.reader import StoreView, parse_counter_fields


class StoreCollector(Collector):
    """Yields collectpulse's metric families for one store view."""

    def __init__(self, view: StoreView, *, experiment_min_sample: int = 100) -> None:
        self._view = view
        self._min_sample = experiment_min_sample

    def collect(self) -> Iterator[Metric]:
        yield from self._counters()
        yield from self._ratios()
        yield from self._histograms()
        yield from computed.experiments(self._view, self._min_sample)
        yield from computed.landing_silence(self._view)
        yield from computed.struggling(self._view)
        yield from computed.pipeline(self._view)

    def _counters(self) -> Iterator[Metric]:
        totals = parse_counter_fields(self._view.totals)
        known = known_label_sets(self._view, totals)
        windows = self._view.windows
        for counter in COUNTERS:
            labels = [label.name for label in counter.labels]
            counted = totals.get(counter.name, {})
            in_window = {w: values.get(counter.name, {}) for w, values in windows.items()}
            # every series the store knows is exported everywhere, as 0 where it has no count
            rows = _rows(labels, known[counter.name], counted, *in_window.values())
            if counter.has_total:
                family = CounterMetricFamily(metric_name(counter), counter.help, labels=labels)
                for series, label_values in rows:
                    family.add_metric(label_values, counted.get(series, 0.0))
                yield family
            if counter.windowed:
                name = metric_name(counter, windowed=True)
                help_text = counter.help
                if counter.aggregation is Aggregation.HLL:
                    help_text += " Summed over partitions, each holding distinct keys."
                gauge = GaugeMetricFamily(name, help_text, labels=[*labels, "window"])
                for window, window_values in in_window.items():
                    for series, label_values in rows:
                        value = window_values.get(series, 0.0)
                        gauge.add_metric([*label_values, window], value)
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
                if not any(counts):
                    # only observations taken back (a payment credit that moved):
                    # the same as never observed, whichever order the events came in
                    continue
                family.add_metric(
                    list(label_values),
                    buckets=cumulative_buckets(counts, histogram.buckets_s),
                    sum_value=buckets.get("sum_ms", 0) / 1000,
                )
            yield family


def _rows(
    names: list[str], known: Iterable[LabelSet], *counted: Mapping[LabelSet, float]
) -> list[tuple[LabelSet, list[str]]]:
    """Every label set known or counted anywhere, sorted, with its values in ``names`` order."""
    series = set(known)
    for values in counted:
        series.update(values)
    return [(s, _values_in_order(s, names)) for s in sorted(series)]


def _values_in_order(series: LabelSet, names: list[str]) -> list[str]:
    as_dict = dict(series)
    return [as_dict.get(name, "") for name in names]


def _ordered(series: tuple[tuple[str, str], ...], names: list[str]) -> list[tuple[str, str]]:
    as_dict = dict(series)
    return [(name, as_dict.get(name, "")) for name in names]
