"""Pure: the few headline KPIs ``collectpulse run`` prints, summed from a /metrics text.

Ratios here are all-time ratios of the summed counters (every campaign,
channel and tenant together), the same definitions as the per-label gauges:
delivered / sent and opened / delivered, absent (``n/a``) while the
denominator is 0.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

_SUMMED = (
    "collectpulse_events_received_total",
    "collectpulse_messages_sent_total",
    "collectpulse_messages_delivered_total",
    "collectpulse_messages_opened_total",
    "collectpulse_messages_paid_total",
)
_COLLECTED = "collectpulse_collected_amount_minor_total"


@dataclass(frozen=True, slots=True)
class Headline:
    received: float
    sent: float
    delivered: float
    opened: float
    paid: float
    collected_minor: dict[str, float] = field(default_factory=dict)

    def line(self) -> str:
        """One terminal line: counts, the two funnel ratios, money per currency."""
        collected = ", ".join(
            f"{currency} {amount:.0f}" for currency, amount in sorted(self.collected_minor.items())
        )
        return (
            f"events received: {self.received:.0f} | sent {self.sent:.0f}, "
            f"delivered {_ratio(self.delivered, self.sent)}, "
            f"opened {_ratio(self.opened, self.delivered)}, paid {self.paid:.0f}, "
            f"collected (minor units) {collected or 'none yet'}"
        )


def headline(metrics_text: str) -> Headline:
    """Sum the headline counters over every label set of ``metrics_text``."""
    sums: dict[str, float] = defaultdict(float)
    collected: dict[str, float] = defaultdict(float)
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name in _SUMMED:
                sums[sample.name] += sample.value
            elif sample.name == _COLLECTED:
                collected[sample.labels.get("currency", "?")] += sample.value
    received, sent, delivered, opened, paid = (sums[name] for name in _SUMMED)
    return Headline(received, sent, delivered, opened, paid, dict(collected))


def _ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.1%}" if denominator else "n/a"
