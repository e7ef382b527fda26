"""The live page's pipeline-health panel: workers, dependencies and, per topic, how far along.

Built with the exporter's own health functions (``exporter.health``) over the same
store view and broker positions, so each number equals its /metrics sample.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from collectpulse.exporter.computed import processing_lag_s
from collectpulse.exporter.health import Probes, consumer_lag, dependency_up, live_workers
from collectpulse.exporter.known import TOPICS
from collectpulse.store.keys import FIELD_SEP
from collectpulse.store.reader import StoreView
from collectpulse.store.totals import (
    LAST_APPLIED_MS,
    LAST_EVENT,
    LAST_EVENT_MS,
    parse_counter_fields,
)


def pipeline_health(view: StoreView, probes: Probes | None, now_s: float) -> dict[str, Any]:
    """Workers, dependency state and a row per topic; ``probes`` None: Kafka not asked."""
    fields: dict[str, dict[str, int]] = defaultdict(dict)
    for raw, value in view.totals.items():
        name, _, topic = raw.partition(FIELD_SEP)
        if name in (LAST_EVENT, LAST_EVENT_MS, LAST_APPLIED_MS):
            fields[topic][name] = value
    totals = parse_counter_fields(view.totals)
    per_topic: dict[str, dict[str, float]] = defaultdict(dict)
    for counter in ("events_received", "events_dead_lettered"):
        for series, count in totals.get(counter, {}).items():
            per_topic[dict(series)["topic"]][counter] = count
    lag: dict[str, int] = {}
    if probes is not None and probes.positions is not None:
        for (topic, _), records in consumer_lag(view.offsets, probes.positions).items():
            lag[topic] = lag.get(topic, 0) + records
    topics: dict[str, dict[str, Any]] = {}
    for topic in sorted(fields.keys() | per_topic.keys() | lag.keys()):
        times = fields.get(topic, {})
        zero = 0.0 if topic in TOPICS else None
        counted = per_topic.get(topic, {})
        last_s = times.get(LAST_EVENT)
        processing = (
            processing_lag_s(times[LAST_EVENT_MS], times[LAST_APPLIED_MS])
            if LAST_EVENT_MS in times and LAST_APPLIED_MS in times and last_s is not None
            else None
        )
        topics[topic] = {
            "last_event_s": last_s,
            "last_event_age_s": None if last_s is None else max(now_s - last_s, 0.0),
            "processing_lag_s": processing,
            "consumer_lag_records": lag.get(topic),
            # as /metrics: 0 for a canonical topic not counted yet, None for the touch topic
            "events_received": counted.get("events_received", zero),
            "events_dead_lettered": counted.get("events_dead_lettered", zero),
        }
    provider_dlq = sum(totals.get("provider_records_dead_lettered", {}).values())
    up: dict[str, bool | None] = {"redis": True, "kafka": None}
    if probes is not None:
        up = {**dependency_up(probes, view.heartbeats, now_s)}
    return {
        "live_workers": len(live_workers(view.heartbeats, now_s)),
        "workers": [
            {
                "worker": beat.worker,
                "age_s": max(now_s - beat.beat_s, 0.0),
                "partitions": list(beat.partitions),
                "healthy": beat.healthy,
                "reason": beat.reason,
            }
            for beat in view.heartbeats
        ],
        "dependencies": up,
        "topics": topics,
        "dead_lettered_total": sum(t["events_dead_lettered"] or 0.0 for t in topics.values())
        + provider_dlq,
        "provider_dead_lettered": provider_dlq,
    }
