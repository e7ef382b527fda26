"""The ``agent`` topic's agent: validate roster entries, dead-letter the bad, store the rest.

A small compacted topic keyed by agent_id (kpi-catalog section 8), read beside the
partition agent like the experiment topic: nothing in the hot path joins it. The
stored roster (``store.roster``) decides which agents hold the ``agent`` label's
slots (active agents first) and which agents are active collectors (K8). A batch is
acknowledged only after its DLQ records are on the broker and its entries in Redis.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import faust

from collectpulse.events.decode import decode, future_event
from collectpulse.events.models import ReferenceTopic
from collectpulse.events.roster import AgentEvent
from collectpulse.settings import Settings
from collectpulse.store.client import StoreClient
from collectpulse.store.effects import Record
from collectpulse.store.roster import RosterStore
from collectpulse.stream import transport
from collectpulse.stream.agents import SendDlq, dead_letter
from collectpulse.stream.batch import RecordBatch
from collectpulse.stream.failfast import exit_on_batch_failure
from collectpulse.stream.retry import DependencyState, until_done


def decode_roster(
    batch: RecordBatch, *, max_bytes: int, now_s: int, future_tolerance_s: int
) -> list[Record]:
    """Each record as an ``AgentEvent`` or the ``Invalid`` that sends it to the DLQ."""
    out = []
    for r in batch.records:
        event = decode(ReferenceTopic.AGENT, r.value, max_bytes=max_bytes)
        if isinstance(event, AgentEvent):
            at_s = int(event.occurred_at.timestamp())
            ahead = future_event(at_s, now_s=now_s, tolerance_s=future_tolerance_s)
            if ahead is not None:
                event = ahead
        out.append(Record(r.offset, r.value or b"", event, r.timestamp))
    return out


def make_roster_agent(
    store: RosterStore,
    send_dlq: SendDlq,
    *,
    max_bytes: int,
    future_tolerance_s: int,
    state: DependencyState,
    clock: Callable[[], float] = time.time,
) -> Callable[[Any], Awaitable[None]]:
    """The agent body (``stream`` is a Faust stream of the topic's batches)."""

    async def apply(batch: RecordBatch) -> None:
        records = decode_roster(
            batch, max_bytes=max_bytes, now_s=int(clock()), future_tolerance_s=future_tolerance_s
        )
        await until_done(partial(dead_letter, batch, records, send_dlq), state, what="kafka")
        for record in records:
            if isinstance(record.event, AgentEvent):
                keep = partial(store.store, record.event, batch.partition, record.offset)
                await until_done(keep, state, what="redis")

    async def agent(stream: Any) -> None:
        async for batch in stream:
            try:
                await apply(batch)
            except Exception as exc:  # not an outage: until_done waits those out
                exit_on_batch_failure(exc, "roster agent")

    return agent


def add_roster_agent(
    app: faust.App,
    settings: Settings,
    client: StoreClient,
    send_dlq: SendDlq,
    state: DependencyState,
) -> None:
    """Declare the roster agent on ``app`` (call from ``create_app``)."""
    source = transport.batch_topic(app, settings.topic(ReferenceTopic.AGENT.value))
    body = make_roster_agent(
        RosterStore(client, settings.key_prefix),
        send_dlq,
        max_bytes=settings.max_event_bytes,
        future_tolerance_s=settings.future_tolerance_s,
        state=state,
    )
    app.agent(source, name="collectpulse.roster")(body)


__all__ = ["add_roster_agent", "decode_roster", "make_roster_agent"]
