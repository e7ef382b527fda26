"""The ``cost`` topic's agent: validate, dead-letter the bad, store the standing costs.

A small topic read beside the partition agent like the roster (kpi-catalog section
8): nothing in the hot path joins it; the exporter reads the stored costs
(``store.costs``) for K11 and K12. A cost's tenant is stored as its reported label
(``store.tenant_label``: the tenant label's cap and redaction), so K11/K12 join K10 and
the contact attempts on the same label and no personal-looking tenant reaches /metrics.
Every record goes through the store's per-partition offset guard, the dead-lettered
ones too, so its data-quality counts (received, invalid, dead-lettered, key mismatch,
duplicate, tenant label overflow) are exactly once. A batch is acknowledged only after
its DLQ records are on the broker and its records in Redis.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import faust

from collectpulse.events.decode import Invalid, decode, future_event
from collectpulse.events.models import ReferenceTopic
from collectpulse.events.roster import CostEvent, reference_key
from collectpulse.settings import Settings
from collectpulse.store.client import StoreClient
from collectpulse.store.costs import CostStore, quality_field
from collectpulse.store.effects import Record
from collectpulse.store.fields import counter_field
from collectpulse.store.tenant_label import TenantLabels
from collectpulse.stream import transport
from collectpulse.stream.agents import SendDlq, dead_letter
from collectpulse.stream.batch import RecordBatch
from collectpulse.stream.failfast import each_batch
from collectpulse.stream.retry import DependencyState, until_done

COST = ReferenceTopic.COST
OVERFLOW = counter_field("label_overflows", {"label": "tenant"})
"""Counted (exactly once, with the record's other counts) when the tenant is reported
as ``__other__`` or ``__redacted__``, as the partition writer counts it."""


def decode_costs(
    batch: RecordBatch, *, max_bytes: int, now_s: int, future_tolerance_s: int
) -> list[Record]:
    """Each record as a ``CostEvent`` or the ``Invalid`` that sends it to the DLQ;
    ``key_ok`` says whether its Kafka key is its cost_id."""
    out = []
    for r in batch.records:
        event = decode(COST, r.value, max_bytes=max_bytes)
        key_ok = True
        if isinstance(event, CostEvent):
            key_ok = r.key == reference_key(event)
            at_s = int(event.occurred_at.timestamp())
            ahead = future_event(at_s, now_s=now_s, tolerance_s=future_tolerance_s)
            if ahead is not None:
                event = ahead
        out.append(Record(r.offset, r.value or b"", event, r.timestamp, key_ok))
    return out


def record_counts(record: Record) -> tuple[str, ...]:
    """The data-quality total fields one record adds to."""
    received = quality_field("events_received")
    if isinstance(record.event, Invalid):
        reason = record.event.reason
        return (
            received,
            quality_field("events_invalid", reason=reason),
            quality_field("events_dead_lettered"),
        )
    return (received,) if record.key_ok else (received, quality_field("events_key_mismatch"))


def make_cost_agent(
    store: CostStore,
    labels: TenantLabels,
    send_dlq: SendDlq,
    *,
    max_bytes: int,
    future_tolerance_s: int,
    state: DependencyState,
    clock: Callable[[], float] = time.time,
) -> Callable[[Any], Awaitable[None]]:
    """The agent body (``stream`` is a Faust stream of the topic's batches)."""

    async def apply(batch: RecordBatch) -> None:
        now = clock()
        records = decode_costs(
            batch, max_bytes=max_bytes, now_s=int(now), future_tolerance_s=future_tolerance_s
        )
        await until_done(partial(dead_letter, batch, records, send_dlq), state, what="kafka")
        for record in records:
            event = record.event if isinstance(record.event, CostEvent) else None
            counts, tenant = record_counts(record), None
            if event is not None:
                admit = partial(labels.report, event.tenant)
                tenant = await until_done(admit, state, what="redis")
                if tenant != (event.tenant or ""):
                    counts = (*counts, OVERFLOW)
            keep = partial(
                store.store, event, batch.partition, record.offset, counts=counts, tenant=tenant
            )
            await until_done(keep, state, what="redis")
        await until_done(partial(store.prune, now), state, what="redis")

    return each_batch(apply, "cost agent")


def add_cost_agent(
    app: faust.App,
    settings: Settings,
    client: StoreClient,
    send_dlq: SendDlq,
    state: DependencyState,
) -> None:
    """Declare the cost agent on ``app`` (call from ``create_app``)."""
    body = make_cost_agent(
        CostStore(client, settings.key_prefix),
        TenantLabels(client, settings.key_prefix, settings.label_cap),
        send_dlq,
        max_bytes=settings.max_event_bytes,
        future_tolerance_s=settings.future_tolerance_s,
        state=state,
    )
    topic = transport.batch_topic(app, settings.topic(COST.value))
    app.agent(topic, name="collectpulse.costs")(body)


__all__ = ["add_cost_agent", "decode_costs", "make_cost_agent", "record_counts"]
