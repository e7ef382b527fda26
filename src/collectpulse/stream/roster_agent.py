"""The ``agent`` and ``target`` topics' agents: validate, dead-letter the bad, store the rest.

Small compacted topics (kpi-catalog section 8), read beside the partition agent like
the experiment topic: nothing in the hot path joins them. The stored roster
(``store.roster``) decides which agents hold the ``agent`` label's slots (active
agents first) and which agents are active collectors (K8); the stored targets
(``store.targets``) are what K24 compares with. A ``target`` record with a null value
is a tombstone: it deletes its key's target and is not dead-lettered. A batch is
acknowledged only after its DLQ records are on the broker and its entries in Redis,
with the partition's applied offset (``store.reference_offsets``) at its last record.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import partial
from typing import Any

import faust

from collectpulse.events.decode import decode, future_event
from collectpulse.events.models import ReferenceTopic
from collectpulse.events.roster import AgentEvent, TargetEvent, reference_key
from collectpulse.settings import Settings
from collectpulse.store.client import StoreClient
from collectpulse.store.effects import Record
from collectpulse.store.roster import RosterStore
from collectpulse.store.targets import TargetStore
from collectpulse.stream import transport
from collectpulse.stream.agents import SendDlq, dead_letter
from collectpulse.stream.batch import RecordBatch
from collectpulse.stream.failfast import each_batch
from collectpulse.stream.retry import DependencyState, until_done

TARGET = ReferenceTopic.TARGET


def decode_roster(
    batch: RecordBatch,
    *,
    max_bytes: int,
    now_s: int,
    future_tolerance_s: int,
    topic: ReferenceTopic = ReferenceTopic.AGENT,
) -> list[Record]:
    """Each record as its topic's event or the ``Invalid`` that sends it to the DLQ
    (a target tombstone, a null value, is left out: it is no event)."""
    out = []
    for r in batch.records:
        if topic is TARGET and r.value is None:
            continue
        event = decode(topic, r.value, max_bytes=max_bytes)
        if isinstance(event, AgentEvent | TargetEvent):
            at_s = int(event.occurred_at.timestamp())
            ahead = future_event(at_s, now_s=now_s, tolerance_s=future_tolerance_s)
            if ahead is not None:
                event = ahead
        out.append(Record(r.offset, r.value or b"", event, r.timestamp))
    return out


def make_roster_agent(
    store: RosterStore | TargetStore,
    send_dlq: SendDlq,
    *,
    max_bytes: int,
    future_tolerance_s: int,
    state: DependencyState,
    clock: Callable[[], float] = time.time,
) -> Callable[[Any], Awaitable[None]]:
    """The agent body (``stream`` is a Faust stream of the topic's batches)."""

    topic = ReferenceTopic.AGENT if isinstance(store, RosterStore) else TARGET

    async def apply(batch: RecordBatch) -> None:
        records = decode_roster(
            batch,
            max_bytes=max_bytes,
            now_s=int(clock()),
            future_tolerance_s=future_tolerance_s,
            topic=topic,
        )
        if records:  # the batch's records but the tombstones, which are no events
            kept = [r for r in batch.records if r.value is not None or topic is not TARGET]
            decoded = replace(
                batch, records=kept, first_offset=kept[0].offset, last_offset=kept[-1].offset
            )
            await until_done(partial(dead_letter, decoded, records, send_dlq), state, what="kafka")
        events = {r.offset: r.event for r in records}
        stored = -1  # the last offset whose store call also moved the applied offset
        for r in batch.records:
            event = events.get(r.offset)
            if isinstance(store, RosterStore):
                if isinstance(event, AgentEvent):
                    keep = partial(store.store, event, batch.partition, r.offset)
                    await until_done(keep, state, what="redis")
                    stored = r.offset
                continue
            if event is None or isinstance(event, TargetEvent):
                key = r.key.decode(errors="replace") if r.key else None
                if isinstance(event, TargetEvent):
                    key = key or reference_key(event).decode()
                if key is not None:
                    keep = partial(store.store, key, event, batch.partition, r.offset)
                    await until_done(keep, state, what="redis")
                    stored = r.offset
        if stored < batch.last_offset:  # trailing records that stored nothing were read too
            mark = partial(store.mark, batch.partition, batch.last_offset)
            await until_done(mark, state, what="redis")

    return each_batch(apply, "roster agent")


def add_roster_agent(
    app: faust.App,
    settings: Settings,
    client: StoreClient,
    send_dlq: SendDlq,
    state: DependencyState,
) -> None:
    """Declare the roster and target agents on ``app`` (call from ``create_app``)."""
    stores = (
        (ReferenceTopic.AGENT, RosterStore(client, settings.key_prefix), "collectpulse.roster"),
        (ReferenceTopic.TARGET, TargetStore(client, settings.key_prefix), "collectpulse.targets"),
    )
    for topic, store, name in stores:
        body = make_roster_agent(
            store,
            send_dlq,
            max_bytes=settings.max_event_bytes,
            future_tolerance_s=settings.future_tolerance_s,
            state=state,
        )
        app.agent(transport.batch_topic(app, settings.topic(topic.value)), name=name)(body)


__all__ = ["add_roster_agent", "decode_roster", "make_roster_agent"]
