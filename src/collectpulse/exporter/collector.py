"""Every family from the KPI table over one ``StoreView``, and a prometheus-client
collector of them.

The view is read from Redis per scrape, so any number of exporter processes
report the same numbers (kpi-catalog section 6). The summed families are built as
plain rows (``exporter.families``), which /metrics renders straight to text.
"""

from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping

from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from collectpulse.exporter import computed
from collectpulse.exporter.accounts import portfolio
from collectpulse.exporter.experiments import customer_experiments
from collectpulse.exporter.exposition import render
from collectpulse.exporter.families import AnyFamily, Family, HistogramFamily, to_metric
from collectpulse.exporter.known import known_label_sets
from collectpulse.exporter.send_time import send_time
from collectpulse.kpi.definitions import COUNTERS, HISTOGRAMS, RATIOS
from collectpulse.kpi.histograms import cumulative_buckets
from collectpulse.kpi.model import Aggregation, Histogram, metric_name
from collectpulse.kpi.ratios import LabelSet, TermSums, evaluate_ratio
from collectpulse.store.fields import histogram_series
from collectpulse.store.keys import FIELD_SEP
from collectpulse.store.reader import StoreView
from collectpulse.store.totals import parse_counter_fields


def kpi_families(
    view: StoreView, *, experiment_min_sample: int = 100
) -> Iterator[AnyFamily | Metric]:
    """Every KPI family of ``view``: the summed ones as plain rows, the computed ones as
    prometheus_client families."""
    yield from summed_families(view)
    yield from computed_families(view, experiment_min_sample=experiment_min_sample)


def summed_families(view: StoreView) -> Iterator[AnyFamily]:
    """The families derived from ``view.totals``, ``windows`` and ``label_values`` alone
    (nothing else of the view, not its clock), so ``view.summed`` stands for them."""
    yield from _counters(view)
    yield from _ratios(view)
    yield from _histograms(view)


def computed_families(view: StoreView, *, experiment_min_sample: int) -> Iterator[Metric]:
    """The families computed at the view's time (or from its other parts)."""
    yield from computed.experiments(view, experiment_min_sample)
    yield from customer_experiments(view)
    yield from computed.landing_silence(view)
    yield from computed.struggling(view)
    yield from portfolio(view)
    yield from send_time(view)
    yield from computed.pipeline(view)


class SummedText:
    """The text of the last view's summed families, reused for a view whose ``summed``
    token is the same object (the store did not move): at 1,000 campaign x variant
    combinations that is ~75k samples not rebuilt and re-rendered. Not thread-safe:
    one render at a time (ViewCache.body holds a lock)."""

    def __init__(self) -> None:
        self._last: tuple[object, bytes] | None = None

    def render(self, view: StoreView) -> bytes:
        token = view.summed
        if token is not None and self._last is not None and self._last[0] is token:
            return self._last[1]
        body = render(summed_families(view))
        self._last = None if token is None else (token, body)
        return body


class StoreCollector(Collector):
    """Yields collectpulse's metric families for one store view."""

    def __init__(self, view: StoreView, *, experiment_min_sample: int = 100) -> None:
        self._view = view
        self._min_sample = experiment_min_sample

    def collect(self) -> Iterator[Metric]:
        for family in kpi_families(self._view, experiment_min_sample=self._min_sample):
            yield family if isinstance(family, Metric) else to_metric(family)


def _counters(view: StoreView) -> Iterator[Family]:
    totals = parse_counter_fields(view.totals)
    known = known_label_sets(view, totals)
    for counter in COUNTERS:
        labels = tuple(label.name for label in counter.labels)
        counted = totals.get(counter.name, {})
        in_window = {w: values.get(counter.name, {}) for w, values in view.windows.items()}
        # every series the store knows is exported everywhere, as 0 where it has no count
        rows = _rows(labels, known[counter.name], counted, *in_window.values())
        if counter.has_total:
            yield Family(
                metric_name(counter).removesuffix("_total"),
                "counter",
                counter.help,
                labels,
                [(values, counted.get(series, 0.0)) for series, values in rows],
            )
        if counter.windowed:
            help_text = counter.help
            if counter.aggregation is Aggregation.HLL:
                help_text += " Summed over partitions, each holding distinct keys."
            yield Family(
                metric_name(counter, windowed=True),
                "gauge",
                help_text,
                (*labels, "window"),
                [
                    ((*values, window), window_values.get(series, 0.0))
                    for window, window_values in in_window.items()
                    for series, values in rows
                ],
            )


def _ratios(view: StoreView) -> Iterator[Family]:
    shared: dict[str, TermSums] = {window: {} for window in view.windows}
    for definition in RATIOS:
        # a group is the sorted pairs of exactly the ratio's labels: values by position
        by_name = sorted(definition.labels)
        at = [by_name.index(name) for name in definition.labels]
        family = Family(
            metric_name(definition),
            "gauge",
            f"{definition.help} Definition: {definition.formula()}.",
            (*definition.labels, "window"),
        )
        for window, values in view.windows.items():
            for series, value in evaluate_ratio(definition, values, shared[window]).items():
                if value is not None:
                    family.rows.append(((*(series[i][1] for i in at), window), value))
        yield family


def _histograms(view: StoreView) -> Iterator[HistogramFamily]:
    fields: dict[str, dict[tuple[str, ...], dict[str, int]]] = {
        h.name: defaultdict(dict) for h in HISTOGRAMS
    }
    for raw, value in view.totals.items():
        name, sep, rest = raw.partition(FIELD_SEP)
        by_labels = fields.get(name)
        if by_labels is not None and sep:
            *labels, bucket = rest.split(FIELD_SEP)
            by_labels[tuple(labels)][bucket] = value
    for histogram in HISTOGRAMS:
        family = HistogramFamily(metric_name(histogram), histogram.help, histogram.labels)
        for label_values, counts, sum_ms in _series(histogram, fields[histogram.name]):
            if not any(counts):
                # only observations taken back (a payment credit that moved):
                # the same as never observed, whichever order the events came in
                continue
            buckets = cumulative_buckets(counts, histogram.buckets_s)
            family.rows.append((label_values, buckets, sum_ms / 1000))
        yield family


def _series(
    histogram: Histogram, fields: Mapping[tuple[str, ...], Mapping[str, int]]
) -> list[tuple[tuple[str, ...], list[int], int]]:
    """Sorted (label values, count per bucket, sum in ms), fields of a legacy label
    layout summed into today's series."""
    merged: dict[tuple[str, ...], dict[str, int]] = {}
    for raw_values, buckets in fields.items():
        values = histogram_series(histogram.name, raw_values)
        if values is None:
            continue
        into = merged.get(values)
        if into is None:
            merged[values] = dict(buckets)
        else:
            for bucket, value in buckets.items():
                into[bucket] = into.get(bucket, 0) + value
    indexes = [str(i) for i in range(len(histogram.buckets_s) + 1)]
    return [
        (values, [buckets.get(i, 0) for i in indexes], buckets.get("sum_ms", 0))
        for values, buckets in sorted(merged.items())
    ]


def _rows(
    names: tuple[str, ...], known: Iterable[LabelSet], *counted: Mapping[LabelSet, float]
) -> list[tuple[LabelSet, tuple[str, ...]]]:
    """Every label set known or counted anywhere, sorted, with its values in ``names`` order."""
    series = set(known)
    for values in counted:
        series.update(values)
    # label sets of one counter share their names: positions found once per shape
    plans: dict[tuple[str, ...], list[int | None]] = {}
    rows = []
    for s in sorted(series):
        shape = tuple(map(_NAME, s))
        at = plans.get(shape)
        if at is None:
            at = plans[shape] = [shape.index(n) if n in shape else None for n in names]
        rows.append((s, tuple(s[i][1] if i is not None else "" for i in at)))
    return rows


_NAME = operator.itemgetter(0)
