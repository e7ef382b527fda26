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
