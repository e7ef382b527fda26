"""The headline numbers of ``collectpulse top``, summed from the live page's model.

``ui.model.live_model`` gives the page's tables for one window and tenant, each
row one /metrics series; the headline adds the rows up, as PromQL's ``sum()``
over those series would, and divides the sums the way the KPI table's ratio
definitions do. So the terminal shows the page's numbers, totalled.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from collectpulse.kpi.ratios import ratio

FUNNEL_STAGES = ("sent", "delivered", "opened", "clicked", "paid")
STAGE_RATIOS = {
    "delivered": ("delivery", "sent"),
    "opened": ("open", "delivered"),
    "clicked": ("click_through", "delivered"),
    "paid": ("message_payment", "delivered"),
}
"""Stage -> (ratio shown beside it, the stage it is a share of)."""
BOUNCE_RATIOS = ("bounce", "hard_bounce", "soft_bounce")
PAYMENT_OUTCOMES = ("succeeded", "failed", "aborted")


@dataclass(frozen=True)
class TopicHealth:
    topic: str
    last_event_age_s: float | None
    """Seconds since the newest applied event's time; None when none was applied."""
    processing_lag_s: float | None
    consumer_lag_records: int | None
    """Summed over the topic's partitions; None when Kafka's positions are unknown."""


@dataclass(frozen=True)
class Pipeline:
    live_workers: int
    dead_lettered: float
    """Records sent to the dead-letter topic, all-time (canonical and provider)."""
    consumer_lag_records: int | None
    """Summed over every topic; None when Kafka's positions are unknown."""
    dependencies: Mapping[str, bool | None] = field(default_factory=dict)
    """redis / kafka -> up (None: not asked)."""
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
    """Every tenant's (the model does not break it down)."""
    pipeline: Pipeline
    tenants: tuple[str, ...] = ()
    """The tenants the model offers as filters, to cycle through."""


def headline(model: Mapping[str, Any]) -> Headline:
    """Total the live model (``ui.model.live_model``) built for one window and tenant."""
    tables = {table["key"]: table["rows"] for table in model["tables"]}
    funnel_rows = [row["values"] for row in tables["funnel"]]
    funnel = {stage: _sum(funnel_rows, f"messages_{stage}") for stage in FUNNEL_STAGES}
    ratios: dict[str, float | None] = {
        name: ratio(funnel[stage], funnel[base]) for stage, (name, base) in STAGE_RATIOS.items()
    }
    for name in BOUNCE_RATIOS:
        # the table has each row's ratio, not its bounced count: ratio x sent gives it back
        bounced = sum((row[name] or 0.0) * row["messages_sent"] for row in funnel_rows)
        ratios[name] = ratio(bounced, funnel["sent"])
    ratios.update(_payments_promises_landing(tables))
    collected: dict[str, float] = {}
    for row in tables["collected"]:
        currency = row["labels"].get("currency", "")
        collected[currency] = collected.get(currency, 0.0) + row["values"]["collected_amount_minor"]
    return Headline(
        as_of_s=int(model["as_of"]),
        window=model["window"],
        tenant=model["filters"]["tenant"],
        funnel=funnel,
        ratios=ratios,
        collected_minor=dict(sorted(collected.items())),
        struggling_customers=int(model["struggling_customers"]),
        pipeline=pipeline(model["pipeline"]),
        tenants=tuple(model["options"]["tenant"]),
    )


def _payments_promises_landing(tables: Mapping[str, Any]) -> dict[str, float | None]:
    payments = [row["values"] for row in tables["payments"]]
    promises = [row["values"] for row in tables["promises"]]
    landing = [row["values"] for row in tables["landing"]]
    attempts = sum(_sum(payments, f"payment_attempts_{o}") for o in PAYMENT_OUTCOMES)
    kept, broken = _sum(promises, "promises_kept"), _sum(promises, "promises_broken")
    return {
        "payment_success": ratio(_sum(payments, "payment_attempts_succeeded"), attempts),
        "promise_kept": ratio(kept, kept + broken),
        "landing_conversion": ratio(
            _sum(landing, "landing_paying_customers"), _sum(landing, "landing_unique_visitors")
        ),
    }


def pipeline(health: Mapping[str, Any]) -> Pipeline:
    """The model's pipeline panel (``ui.health.pipeline_health``), with lag totalled."""
    topics = tuple(
        TopicHealth(
            topic,
            row["last_event_age_s"],
            row["processing_lag_s"],
            row["consumer_lag_records"],
        )
        for topic, row in health["topics"].items()
    )
    lags = [t.consumer_lag_records for t in topics if t.consumer_lag_records is not None]
    return Pipeline(
        live_workers=int(health["live_workers"]),
        dead_lettered=float(health["dead_lettered_total"]),
        consumer_lag_records=sum(lags) if lags else None,
        dependencies=dict(health["dependencies"]),
        topics=topics,
    )


def _sum(rows: Iterable[Mapping[str, float | None]], key: str) -> float:
    return sum(row.get(key) or 0.0 for row in rows)
