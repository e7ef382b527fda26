"""The shapes of KPI definitions (counters, ratios, gauges, histograms) and their metric names.

`definitions.py` holds the one table built from these shapes; everything that
names a Redis counter, a Prometheus family, a doc row or a dashboard panel
derives the name from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

PREFIX = "collectpulse_"
WINDOWED_PREFIX = f"{PREFIX}windowed_"
_SNAKE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")


class Bucketing(StrEnum):
    """Which bucket an increment lands in, and so what a windowed value means."""

    COHORT = "cohort"
    """The bucket of the message's send time: "of the messages sent in the window"."""
    ACTIVITY = "activity"
    """The bucket of the event's own occurred_at: "what happened in the window"."""
    PROMISE_COHORT = "promise_cohort"
    """The bucket of the promise's made time: "of the promises made in the window"."""
    TOTAL = "total"
    """All-time, never windowed."""


class Aggregation(StrEnum):
    """How a counter's buckets combine into a window."""

    SUM = "sum"
    """Integer increments, summed over buckets; also kept as an all-time total."""
    HLL = "hll"
    """Distinct members in a HyperLogLog per bucket, merged over buckets (an estimate)."""


@dataclass(frozen=True)
class Label:
    """A label dimension: a closed set of values, or an open one capped at a cardinality."""

    name: str
    values: tuple[str, ...] = ()
    """The closed set of values; empty means open and cardinality-capped (``__other__``)."""
    optional: bool = False
    """An absent value is exported as the empty string, which Prometheus treats as no label."""


@dataclass(frozen=True)
class Counter:
    """A raw aggregate the store increments per bucket."""

    name: str
    help: str
    family: str
    labels: tuple[Label, ...]
    bucketing: Bucketing
    aggregation: Aggregation = Aggregation.SUM

    @property
    def windowed(self) -> bool:
        """Whether the counter is kept per bucket and read over rolling windows."""
        return self.bucketing is not Bucketing.TOTAL

    @property
    def has_total(self) -> bool:
        """Whether an all-time, monotonic total exists (distinct estimates have none)."""
        return self.aggregation is Aggregation.SUM

    def label(self, name: str) -> Label:
        """Return the label called ``name``; KeyError names the counter when it has none."""
        for label in self.labels:
            if label.name == name:
                return label
        raise KeyError(f"counter {self.name!r} has no label {name!r}")


@dataclass(frozen=True)
class Term:
    """One addend of a ratio side: a counter, optionally restricted to some label values."""

    counter: str
    where: tuple[tuple[str, str], ...] = ()

    def render(self) -> str:
        """Render as PromQL-like text, e.g. ``promises{status="kept"}``."""
        if not self.where:
            return self.counter
        matchers = ",".join(f'{name}="{value}"' for name, value in self.where)
        return f"{self.counter}{{{matchers}}}"


def term(counter: str, **where: str) -> Term:
    """Build a Term: ``term("promises", status="kept")``."""
    return Term(counter, tuple(sorted(where.items())))


@dataclass(frozen=True)
class Ratio:
    """A windowed ratio of two sums of counter terms, grouped by ``labels``.

    Counter labels not listed in ``labels`` are summed over before dividing.
    """

    name: str
    numerator: tuple[Term, ...]
    denominator: tuple[Term, ...]
    help: str
    labels: tuple[str, ...]
    mixed_windows: bool = False
    """The sides are bucketed differently on purpose (promises by made time per contact
    by its own time, catalog K5); otherwise mixing bucketings is a definition error."""

    def formula(self) -> str:
        """Render the definition as text, e.g. ``a / (b + c)``."""
        return f"{_render_side(self.numerator)} / {_render_side(self.denominator)}"


@dataclass(frozen=True)
class Gauge:
    """A point-in-time value computed by the exporter from the store (not a bucket sum)."""

    name: str
    help: str
    family: str
    labels: tuple[str, ...]
    windowed: bool = False


@dataclass(frozen=True)
class Histogram:
    """An all-time response-time histogram with fixed bucket bounds in seconds."""

    name: str
    help: str
    family: str
    labels: tuple[str, ...]
    buckets_s: tuple[float, ...]


Kpi = Counter | Ratio | Gauge | Histogram


def metric_name(kpi: Kpi, *, windowed: bool = False) -> str:
    """Return the Prometheus sample name of a KPI.

    A summing counter has an all-time ``collectpulse_<name>_total`` (a Prometheus
    counter) and, when bucketed, a rolling-window gauge
    ``collectpulse_windowed_<name>`` with a ``window`` label; the two need
    different names because a counter family and a gauge family may not share one.
    Ratios are ``collectpulse_<name>_ratio``; gauges and histograms carry their
    unit in their own name.
    """
    if isinstance(kpi, Counter):
        return _counter_metric_name(kpi, windowed=windowed)
    if isinstance(kpi, Ratio):
        return f"{PREFIX}{kpi.name}_ratio"
    return f"{PREFIX}{kpi.name}"


def metric_names(kpi: Kpi) -> tuple[str, ...]:
    """Return every Prometheus sample name a KPI is exported under."""
    if isinstance(kpi, Counter):
        names = [metric_name(kpi)] if kpi.has_total else []
        if kpi.windowed:
            names.append(metric_name(kpi, windowed=True))
        return tuple(names)
    return (metric_name(kpi),)


def is_snake_case(name: str) -> bool:
    """Tell whether a name is lower snake_case, as every KPI and label name must be."""
    return _SNAKE.fullmatch(name) is not None


def _counter_metric_name(counter: Counter, *, windowed: bool) -> str:
    if windowed:
        if not counter.windowed:
            raise ValueError(f"counter {counter.name!r} is all-time only; it has no window")
        return f"{WINDOWED_PREFIX}{counter.name}"
    if not counter.has_total:
        raise ValueError(f"counter {counter.name!r} is a distinct estimate; it has no total")
    return f"{PREFIX}{counter.name}_total"


def _render_side(terms: tuple[Term, ...]) -> str:
    rendered = " + ".join(t.render() for t in terms)
    return f"({rendered})" if len(terms) > 1 else rendered
