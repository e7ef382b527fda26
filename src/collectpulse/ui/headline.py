"""The headline numbers of ``collectpulse top`` for one window and tenant, from a store view.

Counts are the windowed counters the exporter exports, summed over the labels
the headline does not show; ratios are the KPI table's own ``Ratio``
definitions evaluated with ``evaluate_ratio`` grouped by tenant only (or not
at all for every tenant), so each number equals the sum the same PromQL would
take over ``/metrics``. Pipeline health reuses the exporter's functions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from collectpulse.exporter.broker import LogPositions
from collectpulse.exporter.computed import processing_lag_s
from collectpulse.exporter.health import consumer_lag, live_workers
from collectpulse.kpi.definitions import ratio_by_name
from collectpulse.kpi.ratios import CounterValues, evaluate_ratio, labelset
from collectpulse.store.keys import FIELD_SEP
from collectpulse.store.reader import LAST_APPLIED_MS, LAST_EVENT_MS, StoreView

FUNNEL_STAGES = (
    ("sent", "messages_sent"),
    ("delivered", "messages_delivered"),
    ("opened", "messages_opened"),
    ("clicked", "messages_clicked"),
    ("paid", "messages_paid"),
)
"""(stage shown, windowed counter) from the top of the funnel down."""
STAGE_RATIOS = {"delivered": "delivery", "opened": "open", "clicked": "click_through"}
"""The ratio shown beside a stage (paid's is ``message_payment``)."""
HEADLINE_RATIOS = (
    "delivery",
    "open",
    "click_through",
    "message_payment",
    "bounce",
    "hard_bounce",
    "soft_bounce",
    "landing_conversion",
    "payment_success",
    "promise_kept",
)
_DLQ_COUNTERS = ("events_dead_lettered", "provider_records_dead_lettered")


@dataclass(frozen=True)
class TopicHealth:
    topic: str
    last_event_ms: int
    """Newest occurred_at applied from the topic (Unix ms)."""
    processing_lag_s: float | None
    """Newest event's time to its apply; None before the worker recorded an apply."""


@dataclass(frozen=True)
class Pipeline:
    live_workers: int
    dead_lettered: int
    """Records sent to the dead-letter topic, all-time (canonical and provider)."""
    consumer_lag_records: int | None
    """Summed over partitions; None when Kafka's log positions are unknown."""
    topics: tuple[TopicHealth, ...] = ()


@dataclass(frozen=True)
class Headline:
    """Everything one frame of ``collectpulse top`` shows."""

    as_of_s: int
    window: str
    tenant: str | None
    """None: every tenant summed."""
    funnel: Mapping[str, float]
    """Stage -> messages sent in the window that reached it."""
    ratios: Mapping[str, float | None]
    """Ratio name -> value; None while its denominator is 0."""
    collected_minor: Mapping[str, float]
    """Currency -> amount_minor collected in the window."""
    struggling_customers: int
    pipeline: Pipeline
    kafka_error: str | None = None
    tenants: tuple[str, ...] = field(default_factory=tuple)
    """The tenants the store knows, to cycle through."""


def headline(
    view: StoreView,
    window: str,
    tenant: str | None,
    *,
    positions: LogPositions | None = None,
    kafka_error: str | None = None,
) -> Headline:
    """The headline of ``view`` in ``window`` (a name of ``Settings.windows``)."""
    values = view.windows.get(window, {})
    return Headline(
        as_of_s=view.now_s,
        window=window,
        tenant=tenant,
        funnel={stage: _sum(values, c, tenant) for stage, c in FUNNEL_STAGES},
        ratios={name: _ratio(name, values, tenant) for name in HEADLINE_RATIOS},
        collected_minor=_by_currency(values, tenant),
        struggling_customers=sum(1 for s in view.struggling if tenant in (None, s.tenant)),
        pipeline=pipeline_health(view, positions),
        kafka_error=kafka_error,
        tenants=known_tenants(view),
    )


def known_tenants(view: StoreView) -> tuple[str, ...]:
    """Tenants admitted in the tenant registry ("" is the events that name none)."""
    return tuple(sorted(view.label_values.get("tenant", frozenset())))


def pipeline_health(view: StoreView, positions: LogPositions | None) -> Pipeline:
    newest_ms: dict[str, int] = {}
    applied_ms: dict[str, int] = {}
    dead_lettered = 0
    for raw, value in view.totals.items():
        name, _, rest = raw.partition(FIELD_SEP)
        if name == LAST_EVENT_MS:
            newest_ms[rest] = value
        elif name == LAST_APPLIED_MS:
            applied_ms[rest] = value
        elif name in _DLQ_COUNTERS:
            dead_lettered += value
    topics = tuple(
        TopicHealth(
            topic,
            event_ms,
            processing_lag_s(event_ms, applied_ms[topic]) if topic in applied_ms else None,
        )
        for topic, event_ms in sorted(newest_ms.items())
    )
    lag = None
    if positions is not None:
        lag = sum(consumer_lag(view.offsets, positions).values())
    return Pipeline(
        live_workers=len(live_workers(view.heartbeats, view.now_s)),
        dead_lettered=dead_lettered,
        consumer_lag_records=lag,
        topics=topics,
    )


def _sum(values: CounterValues, counter: str, tenant: str | None) -> float:
    return sum(
        value
        for series, value in values.get(counter, {}).items()
        if tenant is None or dict(series).get("tenant", "") == tenant
    )


def _ratio(name: str, values: CounterValues, tenant: str | None) -> float | None:
    """The table's ratio with its other labels summed over, as ``sum by (tenant)`` would."""
    definition = ratio_by_name(name)
    grouped = dataclasses.replace(definition, labels=() if tenant is None else ("tenant",))
    group = labelset() if tenant is None else labelset(tenant=tenant)
    return evaluate_ratio(grouped, values).get(group)


def _by_currency(values: CounterValues, tenant: str | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for series, value in values.get("collected_amount_minor", {}).items():
        labels = dict(series)
        if tenant is None or labels.get("tenant", "") == tenant:
            currency = labels.get("currency", "")
            out[currency] = out.get(currency, 0.0) + value
    return dict(sorted(out.items()))
