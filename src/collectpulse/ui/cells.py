"""One number of the live page: its text, and its element tagged with the /metrics
sample it shows (see ``ui.render``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from html import escape

DASH = "\u2014"


def fmt(value: float | None, unit: str) -> str:
    """A value as the page shows it; None (an undefined ratio, no data) is a dash."""
    if value is None:
        return DASH
    if unit == "ratio":
        return f"{value * 100:.1f}%"
    if unit == "lift":
        return f"{value * 100:+.1f}%"
    if unit == "p":
        return f"{value:.3g}"
    if unit == "seconds":
        return f"{value:,.1f} s"
    if unit == "days":
        return f"{value:,.1f} d"
    if unit == "time":
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{value:,.0f}"


def num(
    value: float | None,
    unit: str,
    metric: str = "",
    labels: Mapping[str, str] | None = None,
    *,
    tag: str = "td",
    agg: str = "",
) -> str:
    """A number element, tagged with its /metrics sample when ``metric`` is given."""
    attrs = ' class="num"'
    if metric:
        attrs += f' data-metric="{metric}" data-labels="{_attr(json.dumps(labels or {}))}"'
        attrs += f' data-value="{"" if value is None else repr(float(value))}"'
        if agg:
            attrs += f' data-agg="{agg}"'
    return f"<{tag}{attrs}>{escape(fmt(value, unit))}</{tag}>"


def _attr(text: str) -> str:
    return escape(text, quote=True)
