"""The agent: decode partition batches, dead-letter the bad records, apply the rest.

One agent consumes every canonical topic and the customer-touch topic. They
are co-partitioned and share a partition's ``{pN}`` slot in Redis, so the
batches of one partition that arrive together (whatever their topic) are
applied in one read and one write (``StoreWriter.apply_partition``): a live
stream's small batches then share the round trips instead of paying them per
topic. Decoding lives in ``events.decode`` and counting in ``store``. A batch
is acknowledged (and so its offset committed) only after its effects are
durable in Redis together with the partition's applied offsets.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any

from collectpulse.events.decode import Invalid, decode, future_event
from collectpulse.events.keys import key_mismatch
from collectpulse.events.models import EventBase, Topic
from collectpulse.store.effects import Record
from collectpulse.store.writer import StoreWriter
from collectpulse.stream.batch import RecordBatch
from collectpulse.stream.deadletter import dlq_headers
from collectpulse.stream.failfast import exit_on_batch_failure
from collectpulse.stream.retry import DependencyState, until_done

log = logging.getLogger(__name__)

# Batches one take() groups: enough for several batches of each of the 8
# topics of the partitions a worker usually owns, and a bound on what a backlog
# keeps in memory (each batch up to COLLECTPULSE_BATCH_MAX_RECORDS records).
TAKE_BATCHES = 64
TAKE_WITHIN_S = 0.01
# Records of one partition applied in one write: bounds a Lua call's time (Redis
# serves nobody else meanwhile) and the worker's memory (bench/pipeline.py, 200k
# backlog: peak RSS 467-598 MB at 10,000, 380 MB at 5,000, the rate within noise).
MAX_RECORDS_PER_APPLY = 5_000

SendDlq = Callable[[bytes | None, bytes | None, Any], Awaitable[Any]]
"""(key, value, headers) -> awaitable that completes once the broker has the record."""


def decode_batch(
    topic: Topic, batch: RecordBatch, *, max_bytes: int, now_s: int, future_tolerance_s: int
) -> list[Record]:
    """Decode each record; note whether a valid event carries the key the contract names.

    An event dated more than ``future_tolerance_s`` after ``now_s`` (the
    worker's clock, read once per batch) becomes an ``Invalid`` (``future_event``).
    """
    latest_s = now_s + future_tolerance_s
    out = []
    for r in batch.records:
        event: EventBase | Invalid = decode(topic, r.value, max_bytes=max_bytes)
        if isinstance(event, Invalid):
            key_ok, occurred_s = True, -1
        else:
            key_ok = key_mismatch(event, r.key) is None
            occurred_s = int(event.occurred_at.timestamp())
            if occurred_s > latest_s:  # rare: build the Invalid only then
                ahead = future_event(occurred_s, now_s=now_s, tolerance_s=future_tolerance_s)
                if ahead is not None:
                    event, occurred_s = ahead, -1
        out.append(Record(r.offset, r.value or b"", event, r.timestamp, key_ok, occurred_s))
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


def make_partition_agent(
    streams: Mapping[str, Topic | None],
    writer: StoreWriter,
    send_dlq: SendDlq,
    *,
    max_bytes: int,
    future_tolerance_s: int,
    state: DependencyState,
    clock: Callable[[], float] = time.time,
) -> Callable[[Any], Awaitable[None]]:
    """The agent body (``stream`` is a Faust stream of batches of every topic in ``streams``).

    ``streams`` maps a Kafka topic name to its canonical topic, or to None for
    the customer-touch topic. Events dated more than ``future_tolerance_s``
    ahead of ``clock`` are dead-lettered (``future_event``), whichever way
    they came in: provider events are checked here too, on the canonical
    topic their normaliser published them to.
    """

    async def apply(partition: int, batches: list[RecordBatch]) -> None:
        events: dict[Topic, list[Record]] = {}
        touches: list[tuple[int, bytes | None]] = []
        now_s = int(clock())
        for batch in batches:
            topic = streams[batch.topic]
            if topic is None:
                touches.extend((r.offset, r.value) for r in batch.records)
                continue
            records = decode_batch(
                topic,
                batch,
                max_bytes=max_bytes,
                now_s=now_s,
                future_tolerance_s=future_tolerance_s,
            )
            await until_done(partial(dead_letter, batch, records, send_dlq), state, what="kafka")
            events.setdefault(topic, []).extend(records)
        write = partial(writer.apply_partition, partition, events, touches)
        await until_done(write, state, what="redis")

    async def apply_in_order(partition: int, batches: list[RecordBatch]) -> None:
        for run in _runs(batches, MAX_RECORDS_PER_APPLY):
            await apply(partition, run)

    async def agent(stream: Any) -> None:
        # Partitions are independent: apply them side by side so one partition's
        # Redis and Kafka round trips do not wait for another's. Within a
        # partition each topic's order is kept. take() acknowledges the whole
        # group only after this iteration, i.e. after every effect is durable.
        async for batches in stream.take(TAKE_BATCHES, within=TAKE_WITHIN_S):
            by_partition: dict[int, list[RecordBatch]] = {}
            for batch in batches:
                by_partition.setdefault(batch.partition, []).append(batch)
            try:
                await asyncio.gather(*(apply_in_order(p, g) for p, g in by_partition.items()))
            except Exception as exc:  # not an outage: until_done waits those out
                exit_on_batch_failure(exc, "partition agent")

    return agent


def _runs(batches: list[RecordBatch], max_records: int) -> list[list[RecordBatch]]:
    """Consecutive runs of ``batches`` of at most ``max_records`` records (a bigger batch alone)."""
    runs: list[list[RecordBatch]] = [[]]
    size = 0
    for batch in batches:
        if runs[-1] and size + len(batch.records) > max_records:
            runs.append([])
            size = 0
        runs[-1].append(batch)
        size += len(batch.records)
    return runs
