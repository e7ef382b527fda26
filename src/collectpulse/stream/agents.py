"""The agents: decode a partition batch, dead-letter the bad records, apply the rest.

Each agent is the short ``async for`` loop Faust examples show; decoding lives
in ``events.decode`` and counting in ``store``. A batch is acknowledged (and so
its offset committed) only after ``StoreWriter.apply`` has made its effects
durable in Redis together with the partition's applied offset.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from collectpulse.events.decode import Invalid, decode
from collectpulse.events.keys import key_mismatch
from collectpulse.events.models import Topic
from collectpulse.store.effects import Record
from collectpulse.store.writer import StoreWriter
from collectpulse.stream.batch import RecordBatch
from collectpulse.stream.deadletter import dlq_headers
from collectpulse.stream.failfast import exit_on_batch_failure
from collectpulse.stream.retry import DependencyState, until_done

log = logging.getLogger(__name__)

# Batches applied side by side per agent: enough to cover every partition a
# worker usually owns twice over, and a bound on what a backlog keeps in memory
# (each batch up to COLLECTPULSE_BATCH_MAX_RECORDS records; 64 let eight agents
# hold ~2.7 million records in the soak, docs/RELIABILITY.md).
TAKE_BATCHES = 16
TAKE_WITHIN_S = 0.01

SendDlq = Callable[[bytes | None, bytes | None, Any], Awaitable[Any]]
"""(key, value, headers) -> awaitable that completes once the broker has the record."""


def decode_batch(topic: Topic, batch: RecordBatch, *, max_bytes: int) -> list[Record]:
    """Decode each record; note whether a valid event carries the key the contract names."""
    out = []
    for r in batch.records:
        event = decode(topic, r.value, max_bytes=max_bytes)
        key_ok = isinstance(event, Invalid) or key_mismatch(event, r.key) is None
        out.append(Record(r.offset, r.value or b"", event, r.timestamp_ms, key_ok))
    return out


async def dead_letter(batch: RecordBatch, records: list[Record], send: SendDlq) -> int:
    """Publish every invalid record of the batch to the DLQ and wait for the broker."""
    pending = []
    for raw, record in zip(batch.records, records, strict=True):
        if isinstance(record.event, Invalid):
            headers = dlq_headers(
                source_topic=batch.topic,
                partition=batch.partition,
                offset=record.offset,
                invalid=record.event,
            )
            log.warning(
                "dead-lettering %s[%d]@%d: %s (%s)",
                batch.topic,
                batch.partition,
                record.offset,
                record.event.reason,
                record.event.error_class,
            )
            pending.append(await send(raw.key, raw.value, list(headers)))
    if pending:
        await asyncio.gather(*pending)
    return len(pending)


def make_agent(
    topic: Topic,
    writer: StoreWriter,
    send_dlq: SendDlq,
    *,
    max_bytes: int,
    state: DependencyState,
) -> Callable[[Any], Awaitable[None]]:
    """The agent body for one canonical topic (``stream`` is a Faust stream of batches)."""

    async def apply_in_order(batches: list[RecordBatch]) -> None:
        for batch in batches:
            records = decode_batch(topic, batch, max_bytes=max_bytes)
            await until_done(partial(dead_letter, batch, records, send_dlq), state, what="kafka")
            apply = partial(writer.apply, topic, batch.partition, records)
            await until_done(apply, state, what="redis")

    async def agent(stream: Any) -> None:
        # Batches of different partitions are independent: apply them side by
        # side so one partition's Redis and Kafka round trips do not wait for
        # another's. Within a partition, order is kept. take() acknowledges the
        # whole group only after this iteration, i.e. after every effect is
        # durable in Redis.
        async for batches in stream.take(TAKE_BATCHES, within=TAKE_WITHIN_S):
            by_partition: dict[int, list[RecordBatch]] = {}
            for batch in batches:
                by_partition.setdefault(batch.partition, []).append(batch)
            try:
                await asyncio.gather(*(apply_in_order(g) for g in by_partition.values()))
            except Exception as exc:  # not an outage: until_done waits those out
                exit_on_batch_failure(exc, f"{topic.value} agent")

    agent.__name__ = f"{topic.value}_agent"
    agent.__qualname__ = agent.__name__
    return agent
