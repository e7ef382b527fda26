"""Shorthands the board modules share: KPI look-ups, legends, descriptions, ratio panels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from collectpulse.dashboards import promql
from collectpulse.dashboards.model import Panel, PanelKind, Query, Unit
from collectpulse.dashboards.promql import ALL, Selection
from collectpulse.kpi.definitions import GAUGES, HISTOGRAMS, counter_by_name, ratio_by_name
from collectpulse.kpi.model import Counter, Gauge, Histogram, Kpi, Ratio

K = TypeVar("K", Gauge, Histogram)

__all__ = [
    "counter",
    "describe",
    "gauge",
    "histogram",
    "legend",
    "ratio",
    "ratio_panel",
]


def counter(name: str) -> Counter:
    return counter_by_name(name)


def ratio(name: str) -> Ratio:
    return ratio_by_name(name)


def gauge(name: str) -> Gauge:
    return _named(GAUGES, name)


def histogram(name: str) -> Histogram:
    return _named(HISTOGRAMS, name)


def _named(table: Sequence[K], name: str) -> K:
    for kpi in table:
        if kpi.name == name:
            return kpi
    raise KeyError(f"unknown KPI {name!r}; known: {sorted(k.name for k in table)}")


def legend(by: Sequence[str], fallback: str = "") -> str:
    """``{{channel}} {{campaign}}`` for a grouping; ``fallback`` when there is none."""
    return " ".join(f"{{{{{label}}}}}" for label in by) or fallback


def describe(*kpis: Kpi, note: str = "") -> str:
    """A panel description from the KPI definitions' help texts (what a Grafana user reads)."""
    if len(kpis) == 1:
        text = kpis[0].help
    else:
        text = " ".join(f"{promql.metric_name_of(kpi)}: {kpi.help}" for kpi in kpis)
    return f"{text} {note}".strip()


def ratio_panel(
    name: str,
    by: Sequence[str],
    selection: Selection = ALL,
    *,
    title: str,
    kind: PanelKind = PanelKind.TIMESERIES,
    width: int = 8,
    bounded: bool = True,
) -> Panel:
    """One Ratio definition, recomputed from its counters and grouped by ``by``."""
    definition = ratio(name)
    query = Query(promql.ratio(definition, by, selection), legend(by, title))
    formula = f"Definition: {definition.formula()}, per {', '.join(by) or 'selection'}."
    return Panel(
        title,
        kind,
        (query,),
        f"{definition.help} {formula}",
        Unit.RATIO,
        width=width,
        height=4 if kind is PanelKind.STAT else 8,
        bounded=bounded,
    )
