"""The live model: everything the live page (and ``collectpulse top``) shows, as plain JSON data.

A pure function of the store view the Prometheus collector reads, so the page's
numbers are /metrics' numbers. Ratios are None (JSON null) when their
denominator is 0, never 0. Each KPI table says which /metrics sample each cell is
(``ui.tables``); the page puts that on the cell, and the browser tests compare.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from collectpulse.exporter.health import Probes
from collectpulse.kpi.definitions import counter_by_name
from collectpulse.kpi.model import metric_name
from collectpulse.store.reader import StoreView
from collectpulse.store.series import BucketSeries
from collectpulse.ui import alerts
from collectpulse.ui.agent_targets import agent_targets_panel
from collectpulse.ui.customer_experiments import customer_panel
from collectpulse.ui.experiments import experiment_panel
from collectpulse.ui.experiments import metrics as experiment_metrics
from collectpulse.ui.health import pipeline_health
from collectpulse.ui.portfolio import portfolio_panel, recovery_panel, team_panel
from collectpulse.ui.tables import TABLES, table_columns, table_rows
from collectpulse.ui.team_promises import team_promises_panel

FILTER_LABELS = ("tenant", "campaign", "variant", "channel")
SERIES: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    ("sent", "messages_sent", ()),
    ("delivered", "messages_delivered", ()),
    ("opened", "messages_opened", ()),
    ("clicked", "messages_clicked", ()),
    ("paid", "messages_paid", ()),
    ("landing views", "landing_pageviews", ()),
    ("payments succeeded", "payment_attempts", (("status", "succeeded"),)),
)
"""The per-minute charts: (title, counter, label restriction)."""
SERIES_COUNTERS = frozenset(counter for _, counter, _ in SERIES)
SERIES_MINUTES = 60


class BadQuery(ValueError):
    """A window or filter the page cannot show; the message names the parameter."""


@dataclass(frozen=True)
class Filters:
    """Label values to keep; None keeps every value. A table without the label ignores it."""

    tenant: str | None = None
    campaign: str | None = None
    variant: str | None = None
    channel: str | None = None

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Filters:
        """From ``?tenant=&campaign=&variant=&channel=``; an empty value is no filter."""
        return cls(**{name: query.get(name) or None for name in FILTER_LABELS})

    def keep(self) -> dict[str, str]:
        """Label -> wanted value, for the filters that are set."""
        return {name: value for name in FILTER_LABELS if (value := getattr(self, name))}


def live_model(
    view: StoreView,
    *,
    window: str,
    filters: Filters,
    min_sample: int,
    series: BucketSeries | None = None,
    probes: Probes | None = None,
    horizon: str = "7d",
) -> dict[str, Any]:
    """The whole page for ``window`` (one of the view's windows) and ``filters``.

    ``series``: the per-minute buckets (``store.series``), None to leave charts empty;
    ``probes``: what the exporter found of Redis and Kafka, None when Kafka was not asked;
    ``horizon``: the experiments' outcome horizon (``COLLECTPULSE_EXPERIMENT_HORIZON``).
    """
    if window not in view.windows:
        raise BadQuery(f"window must be one of {', '.join(view.windows)}; got {window!r}")
    values = view.windows[window]
    keep = filters.keep()
    tables = []
    for table in TABLES:
        columns = table_columns(table)
        tables.append(
            {
                "key": table.key,
                "title": table.title,
                "caption": table.caption,
                "labels": list(table.labels),
                "columns": [c.as_json() for c in columns],
                "rows": table_rows(table, columns, values, keep),
                "filtered_by": [name for name in keep if name in table.labels],
            }
        )
    health = pipeline_health(view, probes, view.now_s)
    portfolio = portfolio_panel(view, keep)
    return {
        "as_of": view.now_s,
        "window": window,
        "windows": list(view.windows),
        "filters": {name: getattr(filters, name) for name in FILTER_LABELS},
        "options": filter_options(view),
        "tables": tables,
        "experiments": {
            "min_sample": min_sample,
            "metrics": experiment_metrics(),
            "campaigns": experiment_panel(values, min_sample=min_sample, keep=keep),
            "customers": customer_panel(view, keep, horizon),
        },
        "series": minute_series(series, keep),
        "alerts": {
            "active": [
                *alerts.bounce_alerts(view.windows),
                *alerts.silence_alerts(view.totals, view.windows.get("1h"), view.now_s),
                *alerts.contact_alerts(view.windows.get("1h")),
                *alerts.pipeline_alerts(health, view.now_s),
                *alerts.portfolio_alerts(portfolio),
            ],
            "not_evaluated": list(alerts.NOT_EVALUATED),
        },
        "pipeline": health,
        "portfolio": portfolio,
        "recovery": recovery_panel(view, keep),
        "team_collected": team_panel(view, keep),
        "agent_targets": agent_targets_panel(view, keep),
        "team_promises": team_promises_panel(view, keep),
        "struggling_customers": len(view.struggling),
    }


def filter_options(view: StoreView) -> dict[str, list[str]]:
    """The values each filter can take: every value seen in a funnel series of any window."""
    seen: dict[str, set[str]] = {name: set() for name in FILTER_LABELS}
    for values in view.windows.values():
        for series in values.get("messages_sent", {}):
            for name, value in series:
                if name in seen and value:
                    seen[name].add(value)
    for name in ("tenant", "campaign", "variant"):
        seen[name] |= {v for v in view.label_values.get(name, ()) if v}
    channels = counter_by_name("messages_sent").label("channel").values
    seen["channel"] |= set(channels)
    return {name: sorted(values) for name, values in seen.items()}


def minute_series(series: BucketSeries | None, keep: Mapping[str, str]) -> dict[str, Any]:
    """Each chart's counts per bucket, summed over the series ``keep`` lets through."""
    if series is None:
        return {"step_s": None, "starts": [], "lines": []}
    lines = []
    for title, counter, where in SERIES:
        points = [0.0] * len(series.starts)
        for labelset, counts in series.values.get(counter, {}).items():
            labels = dict(labelset)
            if any(labels.get(k, v) != v for k, v in (*keep.items(), *where)):
                continue
            points = [a + b for a, b in zip(points, counts, strict=True)]
        lines.append(
            {
                "title": title,
                "metric": metric_name(counter_by_name(counter), windowed=True),
                "points": points,
            }
        )
    return {"step_s": series.step_s, "starts": list(series.starts), "lines": lines}
