"""The ``experiment`` topic's agent: validate configurations, dead-letter the bad, store the rest.

A small compacted topic keyed by campaign (kpi-catalog section 8), read beside
the partition agent: its records are never joined in the hot path, the
exporter reads the stored configurations (``store.experiment_config``). A
record is dead-lettered when its model refuses it (weights that do not sum to
1, an unknown control, a start after its own ``occurred_at``) or when its
``occurred_at`` or ``started_at`` is ahead of the worker's clock by more than
the future tolerance. A batch is acknowledged only after its DLQ records are
on the broker and its configurations in Redis, with the partition's applied
offset (``store.reference_offsets``) at its last record.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import faust

from collectpulse.events.decode import decode, future_event
from collectpulse.events.models import ReferenceTopic
from collectpulse.events.roster import ExperimentEvent
from collectpulse.settings import Settings
from collectpulse.store.client import StoreClient
from collectpulse.store.effects import Record
from collectpulse.store.experiment_config import ExperimentStore
from collectpulse.stream import transport
from collectpulse.stream.agents import SendDlq, dead_letter
from collectpulse.stream.batch import RecordBatch
from collectpulse.stream.failfast import each_batch
from collectpulse.stream.retry import DependencyState, until_done


def decode_configs(
    batch: RecordBatch, *, max_bytes: int, now_s: int, future_tolerance_s: int
) -> list[Record]:
    """Each record as an ``ExperimentEvent`` or the ``Invalid`` that sends it to the DLQ."""
    out = []
    for r in batch.records:
        event = decode(ReferenceTopic.EXPERIMENT, r.value, max_bytes=max_bytes)
        if isinstance(event, ExperimentEvent):
            latest_s = max(event.occurred_at.timestamp(), event.started_at.timestamp())
            ahead = future_event(int(latest_s), now_s=now_s, tolerance_s=future_tolerance_s)
            if ahead is not None:
                event = ahead
        out.append(Record(r.offset, r.value or b"", event, r.timestamp))
    return out


def make_experiment_agent(
    store: ExperimentStore,
    send_dlq: SendDlq,
    *,
    max_bytes: int,
    future_tolerance_s: int,
    state: DependencyState,
    clock: Callable[[], float] = time.time,
) -> Callable[[Any], Awaitable[None]]:
    """The agent body (``stream`` is a Faust stream of the topic's batches)."""

    async def apply(batch: RecordBatch) -> None:
        records = decode_configs(
            batch, max_bytes=max_bytes, now_s=int(clock()), future_tolerance_s=future_tolerance_s
        )
        await until_done(partial(dead_letter, batch, records, send_dlq), state, what="kafka")
        stored = -1  # the last offset whose store call also moved the applied offset
        for record in records:
            if isinstance(record.event, ExperimentEvent):
                keep = partial(store.store, record.event, batch.partition, record.offset)
                await until_done(keep, state, what="redis")
                stored = record.offset
        if stored < batch.last_offset:  # trailing dead-lettered records were read too
            mark = partial(store.mark, batch.partition, batch.last_offset)
            await until_done(mark, state, what="redis")

    return each_batch(apply, "experiment agent")


def add_experiment_agent(
    app: faust.App,
    settings: Settings,
    client: StoreClient,
    send_dlq: SendDlq,
    state: DependencyState,
) -> None:
    """Declare the experiment agent on ``app`` (call from ``create_app``)."""
    source = transport.batch_topic(app, settings.topic(ReferenceTopic.EXPERIMENT.value))
    body = make_experiment_agent(
        ExperimentStore(client, settings.key_prefix),
        send_dlq,
        max_bytes=settings.max_event_bytes,
        future_tolerance_s=settings.future_tolerance_s,
        state=state,
    )
    app.agent(source, name="collectpulse.experiment")(body)


__all__ = ["add_experiment_agent", "decode_configs", "make_experiment_agent"]
