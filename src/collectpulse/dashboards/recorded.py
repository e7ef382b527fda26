"""The Prometheus recording rules (deploy/prometheus/rules/recording.yml) the dashboards reuse.

The rules pre-aggregate the funnel counts and some gauges at a few levels,
named ``collectpulse:<level>:<kpi name>``, and already count the series of
several exporters once. A panel reads a rule when one exists at a level that
keeps every label the panel groups or filters by, and the raw exporter series
otherwise. A unit test checks each name and label set here against the rule file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from collectpulse.kpi.model import Counter, Gauge, Kpi

NAMESPACE = "collectpulse"

LEVELS: dict[str, tuple[str, ...]] = {
    "channel": ("channel",),
    "campaign": ("campaign",),
    "source": ("source",),
    "topic": ("topic",),
    "provider": ("provider",),
    "campaign_channel": ("campaign", "channel"),
    "campaign_channel_variant": ("campaign", "channel", "variant"),
}
"""Level name -> the labels its rules keep (besides ``ALWAYS_KEPT`` where the KPI has them)."""

ALWAYS_KEPT = ("tenant", "bounce_type")
"""Labels every level keeps when the KPI carries them (plus ``window`` for windowed KPIs)."""

_FUNNEL_LEVELS = ("channel", "campaign", "campaign_channel", "campaign_channel_variant")

RULE_LEVELS: dict[str, tuple[str, ...]] = {
    **{
        name: _FUNNEL_LEVELS
        for name in (
            "messages_sent",
            "messages_delivered",
            "messages_bounced_any",
            "messages_bounced",
            "messages_opened",
            "messages_opened_human",
            "messages_clicked",
            "messages_paid",
        )
    },
    "landing_unique_visitors": ("source",),
    "landing_silence_seconds": ("campaign",),
    "last_event_timestamp_seconds": ("topic",),
    "processing_lag_seconds": ("topic",),
    "consumer_lag_records": ("topic",),
}
"""Windowed counter or gauge name -> the levels recording.yml records it at."""


@dataclass(frozen=True)
class Rule:
    """One recorded series: its name and the labels it keeps."""

    name: str
    labels: tuple[str, ...]


def rule_for(kpi: Counter | Gauge, needed: Iterable[str]) -> Rule | None:
    """The narrowest recorded series of ``kpi`` keeping every label in ``needed``, if any."""
    own = _labels(kpi)
    wanted = {label for label in needed if label in own}
    candidates = []
    for level in RULE_LEVELS.get(kpi.name, ()):
        kept = (*LEVELS[level], *(label for label in ALWAYS_KEPT if label in own))
        if wanted <= set(kept):
            candidates.append(Rule(f"{NAMESPACE}:{level}:{kpi.name}", kept))
    return min(candidates, key=lambda rule: len(rule.labels), default=None)


def derived(level: str, kpi: Kpi, operation: str) -> Rule:
    """A rule applying ``operation`` to a KPI at a level.

    e.g. ``collectpulse:topic:events_received:rate5m``; a KPI name starting with
    the level drops it (``provider_records_dead_lettered`` at level ``provider``
    is ``collectpulse:provider:records_dead_lettered:<operation>``).
    """
    stem = kpi.name.removeprefix(f"{level}_")
    return Rule(f"{NAMESPACE}:{level}:{stem}:{operation}", LEVELS[level])


def _labels(kpi: Counter | Gauge) -> tuple[str, ...]:
    if isinstance(kpi, Counter):
        return tuple(label.name for label in kpi.labels)
    return kpi.labels
