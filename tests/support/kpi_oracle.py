"""Building blocks of the tests' own KPI oracles (written from the catalog, not from src).

Both tests/integration/test_kpis_end_to_end.py and the fault harness (tests/faults)
compute ratios from counted series the same way: group the series by some labels,
then divide, leaving out groups whose denominator is 0 ("no value", never 0).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

Labels = frozenset[tuple[str, str]]

FUNNEL_RATIOS = {  # ratio: (numerator counter, extra numerator labels, denominator counter)
    "delivery": ("messages_delivered", {}, "messages_sent"),
    "bounce": ("messages_bounced_any", {}, "messages_sent"),
    "hard_bounce": ("messages_bounced", {"bounce_type": "hard"}, "messages_sent"),
    "soft_bounce": ("messages_bounced", {"bounce_type": "soft"}, "messages_sent"),
    "open": ("messages_opened", {}, "messages_delivered"),
    "human_open": ("messages_opened_human", {}, "messages_delivered"),
    "click_through": ("messages_clicked", {}, "messages_delivered"),
    "click_to_open": ("messages_clicked", {}, "messages_opened"),
}


def sum_by(
    series: Mapping[Labels, float], group: Iterable[str], where: Mapping[str, str] | None = None
) -> Counter[Labels]:
    """Sum the series whose labels match ``where``, grouped by the labels in ``group``."""
    names = set(group)
    out: Counter[Labels] = Counter()
    for labels, value in series.items():
        as_dict = dict(labels)
        if all(as_dict.get(k) == v for k, v in (where or {}).items()):
            out[frozenset((k, v) for k, v in labels if k in names)] += value
    return out


def divide(
    numerator: Mapping[Labels, float], denominator: Mapping[Labels, float]
) -> dict[Labels, float]:
    return {g: numerator.get(g, 0) / d for g, d in denominator.items() if d}
