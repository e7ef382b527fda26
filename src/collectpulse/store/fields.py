"""Counter fields built from the KPI definitions table, so store and exporter agree."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from collectpulse.kpi.definitions import COUNTERS, HISTOGRAMS
from collectpulse.store.keys import FIELD_SEP

# label names in definition order, per counter / histogram
LABEL_ORDER: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        **{c.name: tuple(label.name for label in c.labels) for c in COUNTERS},
        **{h.name: h.labels for h in HISTOGRAMS},
    }
)


def counter_field(counter: str, labels: Mapping[str, str]) -> str:
    """``counter`` plus its label values in definition order; a missing label is ``""``."""
    order = LABEL_ORDER[counter]
    return FIELD_SEP.join((counter, *(labels.get(name, "") for name in order)))


def histogram_field(histogram: str, labels: Mapping[str, str], bucket: int | str) -> str:
    """A histogram bucket's field; ``bucket`` is an index, or ``sum`` / ``count``."""
    return f"{counter_field(histogram, labels)}{FIELD_SEP}{bucket}"


LEGACY_HISTOGRAM_LABELS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        name: ("channel", "campaign", "variant", "tenant")
        for name in (
            "send_to_open_seconds",
            "send_to_click_seconds",
            "send_to_payment_seconds",
            "open_to_payment_seconds",
        )
    }
)
"""Label orders a histogram's fields had before: response times were by variant too.
A store written before keeps those fields (all-time totals); they are summed into the
series without the dropped labels, so nothing observed is lost, and an observation
taken back after the change cancels the one it took back."""


LEGACY_COUNTER_LABELS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"landing_pageviews": ("source", "tenant")}
)
"""Label orders a counter's fields had before: views gained ``device`` (K22). Fields written
before read as ``device=""``, like a view that does not say its device."""


def counter_series(name: str, values: list[str]) -> dict[str, str] | None:
    """A counter field's labels in today's order (a legacy layout gets ``""`` for the labels
    it lacked), or None for an unknown counter or a field that fits neither layout."""
    order = LABEL_ORDER.get(name)
    if order is None:
        return None
    if len(values) == len(order):
        return dict(zip(order, values, strict=True))
    legacy = LEGACY_COUNTER_LABELS.get(name)
    if legacy is None or len(values) != len(legacy):
        return None
    by_name = dict(zip(legacy, values, strict=True))
    return {label: by_name.get(label, "") for label in order}


def histogram_series(name: str, values: tuple[str, ...]) -> tuple[str, ...] | None:
    """A histogram field's label values in today's order (a legacy layout projected onto
    it), or None when ``values`` fits neither layout."""
    order = LABEL_ORDER[name]
    if len(values) == len(order):
        return values
    legacy = LEGACY_HISTOGRAM_LABELS.get(name)
    if legacy is None or len(values) != len(legacy):
        return None
    return tuple(values[legacy.index(label)] for label in order)
