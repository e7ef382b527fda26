"""PromQL for dashboard panels, rendered from the KPI definitions table (no I/O, no Grafana).

Every metric name comes from `collectpulse.kpi.model.metric_name` (or a
recording rule over it, `dashboards.recorded`) and every label matcher from
the KPI's own labels: a panel filters by a template variable only when the
KPI carries that label, so a renamed metric or label changes the generated
queries instead of silently breaking them.

Two rules hold for every query:

- Ratios are recomputed from their counters (``sum by`` the panel's grouping,
  numerator over denominator): averaging exported ratios across campaigns or
  tenants would weigh ten messages like ten thousand.
- Raw exporter series are first deduplicated with ``max without (instance)``:
  every exporter serves the same numbers (they all read the store), so summing
  over several scraped exporters would multiply every count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from collectpulse.dashboards import recorded
from collectpulse.kpi.definitions import counter_by_name
from collectpulse.kpi.model import Counter, Gauge, Histogram, Kpi, Ratio, Term, metric_name

WINDOW = "window"
"""The label (and template variable) naming a rolling window."""

FILTER_VARIABLES: Mapping[str, str] = {
    "channel": "channel",
    "campaign": "campaign",
    "tenant": "tenant",
}
"""Label -> the multi-value template variable that filters it (``label=~"$variable"``)."""

RATE_INTERVAL = "$__rate_interval"
RANGE = "$__range"


class PromQLError(ValueError):
    """A query asks for a label or value its KPI does not have."""


@dataclass(frozen=True)
class Selection:
    """Which samples of a KPI a query reads: fixed label values and variable filters.

    ``where`` pins labels to one of some values (``status=~"broken|kept"``, or
    ``bounce_type="hard"`` for one value); ``filters`` names the labels filtered
    by their template variable; ``exclude`` drops a value (``agent!=""``);
    ``also`` filters another label by a variable (``source=~"$channel"``).
    """

    where: tuple[tuple[str, tuple[str, ...]], ...] = ()
    filters: tuple[str, ...] = tuple(FILTER_VARIABLES)
    exclude: tuple[tuple[str, str], ...] = ()
    also: tuple[tuple[str, str], ...] = ()

    def pin(self, **where: str) -> Selection:
        """This selection with labels pinned to single values: ``ALL.pin(status="kept")``."""
        pinned = tuple((label, (value,)) for label, value in sorted(where.items()))
        return replace(self, where=(*self.where, *pinned))

    def labels(self, own: Sequence[str]) -> set[str]:
        """The labels of ``own`` this selection constrains."""
        named = {
            *self.filters,
            *(label for label, _ in self.where),
            *(label for label, _ in self.exclude),
            *(label for label, _ in self.also),
        }
        return named & set(own)


ALL = Selection()
UNFILTERED = Selection(filters=())


def label_names(kpi: Kpi) -> tuple[str, ...]:
    """The labels a KPI's samples carry, ``window`` excluded."""
    if isinstance(kpi, Counter):
        return tuple(label.name for label in kpi.labels)
    return kpi.labels


def metric_name_of(kpi: Kpi) -> str:
    """The KPI's primary metric name (the windowed one for distinct-count counters)."""
    if isinstance(kpi, Counter) and not kpi.has_total:
        return metric_name(kpi, windowed=True)
    return metric_name(kpi)


def selector(
    kpi: Kpi,
    selection: Selection = ALL,
    *,
    windowed: bool = False,
    suffix: str = "",
    name: str = "",
    labels: Sequence[str] = (),
    window: str = "",
) -> str:
    """``name{matchers}`` for a KPI (or a recording rule ``name`` keeping ``labels``).

    ``windowed`` picks a counter's rolling-window series and adds the window
    matcher (``$window``, or the fixed ``window`` of a KPI with windows of its own).
    Raises PromQLError when ``selection`` names a label the series lacks or a value
    outside a closed label's set.
    """
    own = tuple(labels) or label_names(kpi)
    matchers = [
        f'{label}=~"${FILTER_VARIABLES[label]}"'
        for label in own
        if label in selection.filters and label in FILTER_VARIABLES
    ]
    for label, values in selection.where:
        for value in values:
            _check_value(kpi, own, label, value)
        operator, text = ("=", values[0]) if len(values) == 1 else ("=~", "|".join(values))
        matchers.append(f'{label}{operator}"{text}"')
    for label, value in selection.exclude:
        _check_value(kpi, own, label, value)
        matchers.append(f'{label}!="{value}"')
    for label, variable in selection.also:
        _check_value(kpi, own, label, "")
        matchers.append(f'{label}=~"${variable}"')
    if windowed or (isinstance(kpi, Gauge) and kpi.windowed):
        matchers.append(f'{WINDOW}="{window or "$" + WINDOW}"')
    if not name:
        name = metric_name(kpi, windowed=windowed) if isinstance(kpi, Counter) else metric_name(kpi)
    return f"{name}{suffix}{{{','.join(matchers)}}}" if matchers else f"{name}{suffix}"


def _check_value(kpi: Kpi, own: Sequence[str], label: str, value: str) -> None:
    if label not in own:
        raise PromQLError(f"{metric_name_of(kpi)} has no label {label!r} (series keeps {own})")
    if isinstance(kpi, Counter) and value:
        closed = kpi.label(label).values
        if closed and value not in closed:
            raise PromQLError(f"{label}={value!r} is not one of {closed} ({kpi.name})")


def by_clause(by: Sequence[str]) -> str:
    return f" by ({', '.join(by)}) " if by else " "


def check_grouping(kpi: Kpi, by: Sequence[str]) -> None:
    """Raise PromQLError when a panel groups by a label the KPI does not carry."""
    missing = [label for label in by if label not in label_names(kpi)]
    if missing:
        raise PromQLError(f"{metric_name_of(kpi)} has no label(s) {missing} to group by")


def dedup(expr: str) -> str:
    """One series per label set however many exporters were scraped (they serve the same)."""
    return f"max without (instance) ({expr})"


def windowed_sum(
    counter: Counter,
    by: Sequence[str] = (),
    selection: Selection = ALL,
    *,
    rename: tuple[str, str] | None = None,
) -> str:
    """The counter's value over the selected window, summed by ``by``.

    Reads the narrowest recording rule that keeps the grouped and filtered
    labels, else the deduplicated exporter series. ``rename=(source, target)``
    copies a label before grouping (a landing ``source`` grouped as ``channel``).
    """
    own = label_names(counter)
    check_grouping(counter, [label for label in by if not rename or label != rename[1]])
    rule = recorded.rule_for(counter, {*by, *selection.labels(own)})
    if rule is not None:
        series = selector(counter, selection, windowed=True, name=rule.name, labels=rule.labels)
    else:
        series = dedup(selector(counter, selection, windowed=True))
    if rename:
        series = relabel(series, source=rename[0], target=rename[1])
    return f"sum{by_clause(by)}({series})"


def total_sum(counter: Counter, by: Sequence[str] = (), selection: Selection = ALL) -> str:
    """The counter's all-time value, summed by ``by``."""
    check_grouping(counter, by)
    return f"sum{by_clause(by)}({dedup(selector(counter, selection))})"


def per_second(counter: Counter, by: Sequence[str] = (), selection: Selection = ALL) -> str:
    """The counter's rate per second over Grafana's rate interval, summed by ``by``."""
    check_grouping(counter, by)
    rate = f"rate({selector(counter, selection)}[{RATE_INTERVAL}])"
    return f"sum{by_clause(by)}({dedup(rate)})"


def gauge(
    kpi: Gauge, by: Sequence[str] = (), selection: Selection = ALL, *, op: str = "max"
) -> str:
    """A gauge aggregated by ``by`` with ``op`` (max, min, sum), from a rule when one fits."""
    check_grouping(kpi, by)
    rule = recorded.rule_for(kpi, {*by, *selection.labels(kpi.labels)})
    if rule is not None:
        series = selector(kpi, selection, name=rule.name, labels=rule.labels)
    else:
        series = dedup(selector(kpi, selection))
    return f"{op}{by_clause(by)}({series})"


def stage_ratio(
    kpi: Gauge, by: Sequence[str], numerator: str, denominator: str, window: str
) -> str:
    """A windowed gauge with a ``stage`` label (K21 send slots): ``stage=numerator`` over
    ``stage=denominator``, summed by ``by`` in the fixed ``window``; as ``ratio``, a
    group without a denominator has no sample."""
    check_grouping(kpi, by)

    def side(stage: str) -> str:
        series = selector(kpi, ALL.pin(stage=stage), window=window)
        return f"sum{by_clause(by)}({dedup(series)})"

    top, below = side(numerator), side(denominator)
    return f"({top} or {below} * 0) / ({below} > 0)"


def recorded_rule(
    rule: recorded.Rule, kpi: Kpi, by: Sequence[str] = (), selection: Selection = UNFILTERED
) -> str:
    """A derived recording rule over a KPI (e.g. its 5-minute rate), max by ``by``."""
    missing = [label for label in by if label not in rule.labels]
    if missing:
        raise PromQLError(f"{rule.name} keeps no label(s) {missing}")
    return f"max{by_clause(by)}({selector(kpi, selection, name=rule.name, labels=rule.labels)})"


def ratio(definition: Ratio, by: Sequence[str] = (), selection: Selection = ALL) -> str:
    """The Ratio recomputed from its windowed counters, grouped by ``by``.

    A group whose numerator has no series counts as 0 (the exporter's rule),
    and a group whose denominator is 0 has no sample: never 0, never NaN.
    """
    numerator = _side(definition.numerator, by, selection)
    denominator = _side(definition.denominator, by, selection)
    return f"({numerator} or {denominator} * 0) / ({denominator} > 0)"


def _side(terms: Sequence[Term], by: Sequence[str], selection: Selection) -> str:
    """One side of a ratio: its terms as one selector on their shared counter.

    ``kept + broken`` becomes ``status=~"broken|kept"``: one sum, so a group
    with only one of the two still has a denominator. Terms may share other
    pinned labels (``direction="outbound"``) as long as exactly one label varies.
    """
    counters = {t.counter for t in terms}
    if len(counters) != 1:
        raise PromQLError(f"a ratio side must sum one counter, got {sorted(counters)}")
    pinned: dict[str, set[str]] = {}
    for t in terms:
        for label, value in t.where:
            pinned.setdefault(label, set()).add(value)
    varying = [label for label, values in pinned.items() if len(values) > 1]
    if len(terms) > 1 and (
        len(varying) != 1
        or any(len(t.where) != len(pinned) for t in terms)
        or len(set(terms)) != len(terms)
    ):
        raise PromQLError(f"terms {terms} do not differ in exactly one label")
    where = tuple((label, tuple(sorted(values))) for label, values in sorted(pinned.items()))
    counter = counter_by_name(terms[0].counter)
    return windowed_sum(counter, by, replace(selection, where=(*selection.where, *where)))


def quantile(
    histogram: Histogram,
    q: float,
    by: Sequence[str] = (),
    selection: Selection = ALL,
    *,
    over: str = RANGE,
) -> str:
    """The q-quantile of the observations made during ``over`` (default: the dashboard range)."""
    check_grouping(histogram, by)
    bucket = selector(histogram, selection, suffix="_bucket")
    grouped = by_clause(("le", *by))
    return f"histogram_quantile({q:g}, sum{grouped}({dedup(f'increase({bucket}[{over}])')}))"


def bucket_increase(histogram: Histogram, selection: Selection = UNFILTERED) -> str:
    """Observations per bucket per rate interval, for a heatmap (target format ``heatmap``)."""
    bucket = selector(histogram, selection, suffix="_bucket")
    return f"sum by (le) ({dedup(f'increase({bucket}[{RATE_INTERVAL}])')})"


def relabel(expr: str, *, target: str, source: str) -> str:
    """Copy label ``source`` into ``target`` (e.g. a landing ``source`` shown as a channel)."""
    return f'label_replace({expr}, "{target}", "$1", "{source}", "(.*)")'
