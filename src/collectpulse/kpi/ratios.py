"""Ratio arithmetic: safe division and the evaluation of Ratio definitions over counter values.

Counter values arrive as ``{counter name: {label set: value}}`` for one window,
as the store reads them. A label set is a sorted tuple of ``(label, value)``
pairs (build one with `labelset`); an absent optional label is ``""``.
"""

from __future__ import annotations

import math
import operator
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping

from collectpulse.kpi.definitions import RATIOS
from collectpulse.kpi.model import Ratio, Term

LabelSet = tuple[tuple[str, str], ...]
CounterValues = Mapping[str, Mapping[LabelSet, float]]
RatioValues = dict[LabelSet, float | None]


def labelset(labels: Mapping[str, str] | None = None, /, **more: str) -> LabelSet:
    """Build the canonical (sorted) label set key from a mapping and/or keywords."""
    merged = {**(labels or {}), **more}
    return tuple(sorted(merged.items()))


def ratio(numerator: float, denominator: float) -> float | None:
    """Divide, returning None (never 0, inf or NaN) when the ratio is undefined.

    A zero denominator means "nothing to measure yet", which a dashboard must
    show as no data rather than as a 0% rate that would fire alerts.
    """
    if denominator == 0 or math.isnan(numerator) or math.isnan(denominator):
        return None
    return numerator / denominator


TermSums = dict[tuple[Term, tuple[str, ...]], Mapping[LabelSet, float]]
"""(term, group labels) -> the term's sums per group, shared by the ratios of one window."""


def evaluate_ratio(
    definition: Ratio, values: CounterValues, shared: TermSums | None = None
) -> RatioValues:
    """Evaluate one Ratio per group of its labels, summing counters over the other labels.

    Every group seen on either side gets a value; a group whose denominator
    sums to zero gets None. An empty window yields an empty result. Ratios of one
    window may pass the same ``shared`` dict, so a term they share (messages sent is
    four ratios' denominator) is summed once.
    """
    shared = {} if shared is None else shared
    numerators = _sum_by_group(definition.numerator, definition.labels, values, shared)
    denominators = _sum_by_group(definition.denominator, definition.labels, values, shared)
    groups = numerators.keys() | denominators.keys()
    return {
        group: ratio(numerators.get(group, 0.0), denominators.get(group, 0.0))
        for group in sorted(groups)
    }


def evaluate_all(
    values: CounterValues, definitions: Iterable[Ratio] = RATIOS
) -> dict[str, RatioValues]:
    """Evaluate every Ratio definition (by default the whole table) over one window's values."""
    shared: TermSums = {}
    return {d.name: evaluate_ratio(d, values, shared) for d in definitions}


def _sum_by_group(
    terms: tuple[Term, ...], group_labels: tuple[str, ...], values: CounterValues, shared: TermSums
) -> Mapping[LabelSet, float]:
    parts = []
    for t in terms:
        part = shared.get((t, group_labels))
        if part is None:
            part = shared[(t, group_labels)] = _term_by_group(t, group_labels, values)
        parts.append(part)
    if len(parts) == 1:
        return parts[0]
    sums: dict[LabelSet, float] = defaultdict(float)
    for part in parts:
        for group, value in part.items():
            sums[group] += value
    return sums


def _term_by_group(
    t: Term, group_labels: tuple[str, ...], values: CounterValues
) -> dict[LabelSet, float]:
    sums: dict[LabelSet, float] = defaultdict(float)
    # a counter's label sets share their label names: plan the projection once per
    # shape (positions of the group's and the filter's labels), not once per series
    plans: dict[tuple[str, ...], _Projection] = {}
    for series, value in values.get(t.counter, {}).items():
        shape = tuple(map(_NAME, series))
        plan = plans.get(shape)
        if plan is None:
            plan = plans[shape] = _Projection(shape, group_labels, t.where)
        group = plan.group(series)
        if group is not None:
            sums[group] += value
    return sums


class _Projection:
    """The group of a label set of one shape, or None when a term's filter excludes it."""

    def __init__(
        self,
        shape: tuple[str, ...],
        group_labels: tuple[str, ...],
        where: tuple[tuple[str, str], ...],
    ) -> None:
        at = {name: i for i, name in enumerate(shape)}
        # an absent label reads as "" (labelset's canonical form of a missing optional label)
        self._picks = [(at.get(name), name) for name in sorted(set(group_labels))]
        self._where = [(at.get(name), wanted) for name, wanted in where]

        # the group is the label set itself (the funnel ratios of the funnel counters)
        self._whole = not where and [i for i, _ in self._picks] == list(range(len(shape)))
        positions = [i for i, _ in self._picks]
        # every group label present (the usual case): the pairs picked in C
        self._pick: Callable[[LabelSet], LabelSet] | None = None
        if positions and None not in positions:
            get = operator.itemgetter(*positions, 0)  # a trailing index keeps a tuple
            self._pick = lambda series: get(series)[:-1]

    def group(self, series: LabelSet) -> LabelSet | None:
        if self._whole:
            return series
        for i, wanted in self._where:
            if (series[i][1] if i is not None else "") != wanted:
                return None
        if self._pick is not None:
            return self._pick(series)
        return tuple(series[i] if i is not None else (name, "") for i, name in self._picks)


_NAME = operator.itemgetter(0)
