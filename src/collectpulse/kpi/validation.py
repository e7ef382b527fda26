"""Consistency checks of the KPI definitions table, so a bad edit fails a test, not a dashboard."""

from __future__ import annotations

from collections import Counter as Multiset
from collections.abc import Iterable, Sequence
from itertools import pairwise

from collectpulse.kpi.model import (
    Aggregation,
    Counter,
    Histogram,
    Kpi,
    Ratio,
    Term,
    is_snake_case,
    metric_name,
    metric_names,
)


def definition_problems(kpis: Sequence[Kpi]) -> list[str]:
    """List every inconsistency in a definitions table; an empty list means it is sound."""
    counters = {k.name: k for k in kpis if isinstance(k, Counter)}
    problems = _naming_problems(kpis)
    for kpi in kpis:
        if isinstance(kpi, Ratio):
            problems += _ratio_problems(kpi, counters)
        elif isinstance(kpi, Histogram):
            problems += _histogram_problems(kpi)
    return problems


def _naming_problems(kpis: Sequence[Kpi]) -> list[str]:
    problems = [f"{k.name!r} is not snake_case" for k in kpis if not is_snake_case(k.name)]
    problems += [f"{k.name!r} has empty help" for k in kpis if not k.help.strip()]
    names = Multiset(name for k in kpis for name in _exposed_names(k))
    problems += [f"metric name {n!r} is used {c} times" for n, c in names.items() if c > 1]
    return problems


def _exposed_names(kpi: Kpi) -> list[str]:
    """Every family and sample name the KPI occupies in the exposition, to catch collisions.

    A list, not a set: a counter's windowed gauge colliding with its own
    counter family must count twice.
    """
    names = list(metric_names(kpi))
    if isinstance(kpi, Counter) and kpi.has_total:
        family = metric_name(kpi).removesuffix("_total")
        names += [family, f"{family}_created"]
    if isinstance(kpi, Histogram):
        family = metric_name(kpi)
        names += [f"{family}{suffix}" for suffix in ("_bucket", "_sum", "_count", "_created")]
    return names


def _ratio_problems(definition: Ratio, counters: dict[str, Counter]) -> list[str]:
    problems: list[str] = []
    bucketings: set[str] = set()
    for t in (*definition.numerator, *definition.denominator):
        counter = counters.get(t.counter)
        if counter is None:
            problems.append(f"ratio {definition.name!r} uses unknown counter {t.counter!r}")
            continue
        bucketings.add(counter.bucketing)
        problems += _term_problems(definition, t, counter)
    if len(bucketings) > 1 and not definition.mixed_windows:
        problems.append(f"ratio {definition.name!r} mixes bucketings {sorted(bucketings)}")
    if not definition.numerator or not definition.denominator:
        problems.append(f"ratio {definition.name!r} has an empty side")
    return problems


def _term_problems(definition: Ratio, t: Term, counter: Counter) -> list[str]:
    where = f"ratio {definition.name!r}, counter {counter.name!r}"
    label_names = {label.name for label in counter.labels}
    problems = [f"{where}: no label {n!r}" for n in definition.labels if n not in label_names]
    if not counter.windowed:
        problems.append(f"{where}: an all-time counter cannot be windowed")
    if counter.aggregation is Aggregation.HLL and label_names - set(definition.labels):
        # distinct estimates of different label values overlap, so they cannot be summed
        problems.append(f"{where}: a distinct count must keep all its labels")
    for name, value in t.where:
        problems += _filter_problems(where, counter, name, value)
    return problems


def _filter_problems(where: str, counter: Counter, name: str, value: str) -> list[str]:
    try:
        label = counter.label(name)
    except KeyError:
        return [f"{where}: filters on missing label {name!r}"]
    if label.values and value not in label.values:
        return [f"{where}: {name}={value!r} is not one of {label.values}"]
    return []


def _histogram_problems(histogram: Histogram) -> list[str]:
    bounds = histogram.buckets_s
    if not bounds or not _strictly_increasing(bounds) or bounds[0] <= 0:
        return [f"histogram {histogram.name!r} needs positive, strictly increasing buckets"]
    return []


def _strictly_increasing(values: Iterable[float]) -> bool:
    return all(a < b for a, b in pairwise(values))
