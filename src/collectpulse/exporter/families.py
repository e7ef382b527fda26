"""Metric families as plain rows of label values: what a scrape shows, before any format.

The store collector builds these instead of prometheus_client families: a scrape of a
large store is ~100k samples, and a ``Sample`` with a label dict per sample costs more
than the text it becomes. ``exposition.render`` writes them straight to the text format
(label strings rendered once per label set); ``to_metric`` turns one into the
prometheus_client family for a ``CollectorRegistry`` (tests, the ``Collector`` idiom).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

LabelValues = tuple[str, ...]


@dataclass(slots=True)
class Family:
    """A counter or gauge family: ``rows`` of (label values in ``labels`` order, value)."""

    name: str
    """The family name; a counter's without ``_total`` (its samples get the suffix)."""
    kind: Literal["counter", "gauge"]
    help: str
    labels: tuple[str, ...]
    rows: list[tuple[LabelValues, float]] = field(default_factory=list)


@dataclass(slots=True)
class HistogramFamily:
    """A histogram family: ``rows`` of (label values, cumulative ``(le, count)`` buckets
    ending at ``+Inf``, sum)."""

    name: str
    help: str
    labels: tuple[str, ...]
    rows: list[tuple[LabelValues, list[tuple[str, int]], float]] = field(default_factory=list)


AnyFamily = Family | HistogramFamily


def to_metric(family: AnyFamily) -> Metric:
    """The prometheus_client family with the same samples."""
    labels = list(family.labels)
    if isinstance(family, HistogramFamily):
        histogram = HistogramMetricFamily(family.name, family.help, labels=labels)
        for values, buckets, sum_value in family.rows:
            histogram.add_metric(list(values), buckets=buckets, sum_value=sum_value)
        return histogram
    metric: CounterMetricFamily | GaugeMetricFamily
    if family.kind == "counter":
        metric = CounterMetricFamily(family.name, family.help, labels=labels)
    else:
        metric = GaugeMetricFamily(family.name, family.help, labels=labels)
    for values, value in family.rows:
        metric.add_metric(list(values), value)
    return metric
