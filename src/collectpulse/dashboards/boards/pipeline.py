"""Pipeline health: events received, invalid and dead-lettered, lag, last event, data quality."""

from __future__ import annotations

from collectpulse.dashboards import promql, recorded
from collectpulse.dashboards.boards.common import counter, describe, gauge, histogram, legend
from collectpulse.dashboards.boards.gateway_row import gateway_row
from collectpulse.dashboards.model import Board, Panel, PanelKind, Query, Row, Unit
from collectpulse.dashboards.promql import UNFILTERED

SCRAPE_JOB = "collectpulse"
"""The Prometheus job scraping the exporters (deploy/prometheus/prometheus.yml)."""

TOPIC = ("topic",)
_RECEIVED = counter("events_received")
_INVALID = counter("events_invalid")
_DEAD = counter("events_dead_lettered")
_APPLY_LAG = histogram("apply_lag_seconds")
_LAST_EVENT = gauge("last_event_timestamp_seconds")
_LAG = gauge("processing_lag_seconds")
_CONSUMER_LAG = gauge("consumer_lag_records")
_OFFSET = gauge("applied_offset")
_LIVE = gauge("live_workers")
_UP = gauge("dependency_up")
_HEARTBEAT = gauge("worker_heartbeat_age_seconds")
_ASSIGNED = gauge("worker_assigned_partitions")
_WAIT_TIMEOUTS = gauge("worker_redis_wait_timeouts")
PARTITION = ("topic", "partition")
WORKER = ("worker",)


def _throughput_row() -> Row:
    received_5m = recorded.derived("topic", _RECEIVED, "rate5m")
    dead_15m = recorded.derived("topic", _DEAD, "increase15m")
    return Row(
        "Throughput",
        (
            Panel(
                "Events received per second",
                PanelKind.STAT,
                (Query(promql.per_second(_RECEIVED, (), UNFILTERED), "events/s"),),
                describe(_RECEIVED),
                Unit.PER_SECOND,
                width=6,
                height=4,
            ),
            Panel(
                "Dead-lettered in the last 15 min",
                PanelKind.STAT,
                (Query(f"sum({promql.recorded_rule(dead_15m, _DEAD, TOPIC)})", "records"),),
                describe(_DEAD),
                width=6,
                height=4,
            ),
            Panel(
                "Dead-lettered (all time)",
                PanelKind.STAT,
                (Query(promql.total_sum(_DEAD, (), UNFILTERED), "records"),),
                describe(_DEAD),
                width=6,
                height=4,
            ),
            Panel(
                "Exporters up",
                PanelKind.STAT,
                (Query(f'sum(up{{job="{SCRAPE_JOB}"}})', "up"),),
                f"Exporters Prometheus scrapes successfully (job {SCRAPE_JOB}).",
                width=6,
                height=4,
            ),
            Panel(
                "Events received per second by topic (5 min rate)",
                PanelKind.TIMESERIES,
                (Query(promql.recorded_rule(received_5m, _RECEIVED, TOPIC), legend(TOPIC)),),
                describe(_RECEIVED),
                Unit.PER_SECOND,
            ),
            Panel(
                "Invalid events per second by reason",
                PanelKind.TIMESERIES,
                (
                    Query(
                        promql.per_second(_INVALID, ("topic", "reason"), UNFILTERED),
                        legend(("topic", "reason")),
                    ),
                ),
                describe(_INVALID),
                Unit.PER_SECOND,
            ),
            Panel(
                "Dead-lettered per second by topic",
                PanelKind.TIMESERIES,
                (Query(promql.per_second(_DEAD, TOPIC, UNFILTERED), legend(TOPIC)),),
                describe(_DEAD),
                Unit.PER_SECOND,
            ),
            Panel(
                "Event anomalies (all time) by topic",
                PanelKind.TABLE,
                tuple(
                    Query(promql.total_sum(counter(name), TOPIC, UNFILTERED), column)
                    for name, column in (
                        ("events_duplicate", "duplicate"),
                        ("events_late", "late"),
                        ("events_orphaned", "orphaned"),
                        ("events_key_mismatch", "key mismatch"),
                    )
                ),
                describe(
                    *(
                        counter(n)
                        for n in (
                            "events_duplicate",
                            "events_late",
                            "events_orphaned",
                            "events_key_mismatch",
                        )
                    )
                ),
            ),
        ),
    )


def _workers_row() -> Row:
    dependency = ("dependency",)
    return Row(
        "Workers and dependencies",
        (
            Panel(
                "Live workers",
                PanelKind.STAT,
                (Query(promql.gauge(_LIVE, (), UNFILTERED), "workers"),),
                describe(_LIVE),
                width=6,
                height=4,
            ),
            Panel(
                "Dependencies up",
                PanelKind.STAT,
                (Query(promql.gauge(_UP, dependency, UNFILTERED, op="min"), legend(dependency)),),
                describe(_UP),
                width=6,
                height=4,
            ),
            Panel(
                "Partitions assigned per worker",
                PanelKind.BAR_GAUGE,
                (Query(promql.gauge(_ASSIGNED, WORKER, UNFILTERED), legend(WORKER)),),
                describe(_ASSIGNED),
                width=12,
                height=4,
            ),
            Panel(
                "Worker heartbeat age",
                PanelKind.TIMESERIES,
                (Query(promql.gauge(_HEARTBEAT, WORKER, UNFILTERED), legend(WORKER)),),
                describe(_HEARTBEAT),
                Unit.SECONDS,
            ),
            Panel(
                "Redis WAIT timeouts per worker (since its start)",
                PanelKind.TIMESERIES,
                (Query(promql.gauge(_WAIT_TIMEOUTS, WORKER, UNFILTERED), legend(WORKER)),),
                describe(_WAIT_TIMEOUTS),
            ),
            Panel(
                "Consumer lag by topic (records)",
                PanelKind.TIMESERIES,
                (Query(promql.gauge(_CONSUMER_LAG, TOPIC, UNFILTERED, op="sum"), legend(TOPIC)),),
                describe(_CONSUMER_LAG),
            ),
            Panel(
                "Partitions: applied offset and consumer lag",
                PanelKind.TABLE,
                (
                    Query(promql.gauge(_OFFSET, PARTITION, UNFILTERED), "applied offset"),
                    Query(promql.gauge(_CONSUMER_LAG, PARTITION, UNFILTERED), "lag (records)"),
                ),
                describe(_OFFSET, _CONSUMER_LAG),
                width=24,
            ),
        ),
    )


def _lag_row() -> Row:
    p95 = recorded.derived("topic", _APPLY_LAG, "p95_rate5m")
    return Row(
        "Lag",
        (
            Panel(
                "Seconds since the last event by topic",
                PanelKind.TIMESERIES,
                (Query(f"time() - {promql.gauge(_LAST_EVENT, TOPIC, UNFILTERED)}", legend(TOPIC)),),
                describe(_LAST_EVENT),
                Unit.SECONDS,
            ),
            Panel(
                "Processing lag by topic",
                PanelKind.TIMESERIES,
                (Query(promql.gauge(_LAG, TOPIC, UNFILTERED), legend(TOPIC)),),
                describe(_LAG),
                Unit.SECONDS,
            ),
            Panel(
                "Apply lag p95 by topic (5 min)",
                PanelKind.TIMESERIES,
                (Query(promql.recorded_rule(p95, _APPLY_LAG, TOPIC), legend(TOPIC)),),
                describe(_APPLY_LAG),
                Unit.SECONDS,
            ),
            Panel(
                "Apply lag distribution",
                PanelKind.HEATMAP,
                (Query(promql.bucket_increase(_APPLY_LAG), "{{le}}"),),
                describe(_APPLY_LAG),
                Unit.SECONDS,
            ),
        ),
    )


def _quality_row() -> Row:
    skipped = counter("provider_events_skipped")
    provider_dead = counter("provider_records_dead_lettered")
    overflows = counter("label_overflows")
    limits = counter("state_limit_hits")
    return Row(
        "Data quality",
        (
            Panel(
                "Provider events skipped (all time)",
                PanelKind.BAR_GAUGE,
                (
                    Query(
                        promql.total_sum(skipped, ("provider", "kind"), UNFILTERED),
                        legend(("provider", "kind")),
                    ),
                ),
                describe(skipped),
                width=8,
            ),
            Panel(
                "Provider records dead-lettered (last 15 min)",
                PanelKind.BAR_GAUGE,
                (
                    Query(
                        promql.recorded_rule(
                            recorded.derived("provider", provider_dead, "increase15m"),
                            provider_dead,
                            ("provider",),
                        ),
                        legend(("provider",)),
                    ),
                ),
                describe(provider_dead),
                width=8,
            ),
            Panel(
                "Label overflows (all time)",
                PanelKind.BAR_GAUGE,
                (Query(promql.total_sum(overflows, ("label",), UNFILTERED), legend(("label",))),),
                describe(overflows),
                width=8,
            ),
            Panel(
                "State limit hits (all time)",
                PanelKind.BAR_GAUGE,
                (Query(promql.total_sum(limits, ("limit",), UNFILTERED), legend(("limit",))),),
                describe(limits),
                width=8,
            ),
        ),
    )


BOARD = Board(
    uid="collectpulse-pipeline",
    title="collectpulse / Pipeline health",
    description=(
        "Is the pipeline keeping up? Events received, invalid and dead-lettered records, "
        "lag from publish and from event time to the store, data-quality counters, and the "
        "webhook gateway's requests."
    ),
    rows=(_throughput_row(), _workers_row(), _lag_row(), _quality_row(), gateway_row()),
    tags=("pipeline",),
)
