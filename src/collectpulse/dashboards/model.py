"""What a dashboard shows, as plain data: boards, rows, panels, queries and template variables.

The board modules (`dashboards.boards`) declare these; `dashboards.grafana`
turns them into Grafana's JSON model. Keeping the declaration free of the
Grafana SDK lets tests walk every query without building a dashboard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

# A Grafana variable reference; ``$1`` (a label_replace group) is not one.
_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_]\w*)\}|([A-Za-z_]\w*))")


class PanelKind(StrEnum):
    """The Grafana visualisations collectpulse uses (the panel ``type``)."""

    TIMESERIES = "timeseries"
    STAT = "stat"
    BAR_GAUGE = "bargauge"
    TABLE = "table"
    HEATMAP = "heatmap"

    @property
    def instant(self) -> bool:
        """Whether the panel shows one value per series (an instant query), not a history."""
        return self in (PanelKind.STAT, PanelKind.BAR_GAUGE, PanelKind.TABLE)


class Unit(StrEnum):
    """Grafana unit ids for the quantities collectpulse exports."""

    RATIO = "percentunit"
    COUNT = "short"
    PER_SECOND = "cps"
    SECONDS = "s"
    NONE = "none"


@dataclass(frozen=True)
class Query:
    """One PromQL target of a panel and how its series are named in the legend."""

    expr: str
    legend: str = ""

    def variables(self) -> set[str]:
        """Template variables the expression references (``$x`` or ``${x}``)."""
        return {a or b for a, b in _VARIABLE.findall(self.expr)}


@dataclass(frozen=True)
class Panel:
    """One panel: what it shows (queries), how (kind, unit) and what it means (description)."""

    title: str
    kind: PanelKind
    queries: tuple[Query, ...]
    description: str
    unit: Unit = Unit.COUNT
    width: int = 12
    height: int = 8
    stacked: bool = False
    bounded: bool = True
    """Ratio panels run from 0 to 1 unless unbounded (a lift can be negative or above 1)."""
    rows: bool = False
    """A heatmap whose series are its rows, named by their legend (a send hour), rather
    than a histogram's cumulative ``le`` buckets."""


@dataclass(frozen=True)
class Row:
    """A titled group of panels, laid out left to right and wrapped at 24 columns."""

    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Variable:
    """A template variable: a PromQL label lookup, or a fixed list of values.

    ``include_all`` variables are multi-value and filter with ``=~``; their
    "All" value is ``.*``, which also matches an empty (absent) label.
    """

    name: str
    label: str
    description: str
    query: str = ""
    """``label_values(<selector>, <label>)``, run against the data source."""
    values: tuple[str, ...] = ()
    """Fixed values, when ``query`` is empty."""
    include_all: bool = True
    default: str = ""
    """The value selected when the dashboard opens; empty means "All"."""


@dataclass(frozen=True)
class Board:
    """A whole dashboard: identity, rows, and the variables its queries may reference."""

    uid: str
    title: str
    description: str
    rows: tuple[Row, ...]
    tags: tuple[str, ...] = field(default=())

    def panels(self) -> tuple[Panel, ...]:
        return tuple(panel for row in self.rows for panel in row.panels)

    def queries(self) -> tuple[Query, ...]:
        return tuple(query for panel in self.panels() for query in panel.queries)

    def variables_used(self) -> set[str]:
        """Variables referenced by the board's queries (Grafana's own ``$__`` ones excluded)."""
        used = set().union(*(query.variables() for query in self.queries()))
        return {name for name in used if not name.startswith("__")}
