"""Real-broker helpers: create co-partitioned topics, publish, read back."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from collectpulse.events.models import Topic
from collectpulse.kafka.connection import kafka_options
from collectpulse.settings import Settings
from collectpulse.store.touches import TOUCH_TOPIC
from collectpulse.stream.deadletter import DLQ_TOPIC

Message = tuple[bytes | None, bytes]


async def create_topics(settings: Settings, extra: Iterable[str] = ()) -> None:
    """The canonical topics, the DLQ and the touch repartition topic, all co-partitioned."""
    internal = [settings.topic(DLQ_TOPIC), settings.topic(TOUCH_TOPIC)]
    names = [settings.topic(t.value) for t in Topic] + [*internal, *extra]
    admin = AIOKafkaAdminClient(**kafka_options(settings))
    await admin.start()
    try:
        new = [NewTopic(n, settings.topic_partitions, 1) for n in names]
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics(new)
    finally:
        await admin.close()


async def publish(settings: Settings, topic: str, messages: Sequence[Message]) -> None:
    producer = AIOKafkaProducer(**kafka_options(settings), acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(topic, value=value, key=key) for key, value in messages]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def read_all(
    settings: Settings, topic: str, *, expect: int, timeout_s: float = 60.0
) -> list[tuple[bytes | None, bytes | None, dict[str, bytes]]]:
    """Read ``expect`` records of ``topic`` from the beginning (fails on timeout)."""
    consumer = AIOKafkaConsumer(
        topic,
        **kafka_options(settings),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    out: list[tuple[bytes | None, bytes | None, dict[str, bytes]]] = []
    try:
        async with asyncio.timeout(timeout_s):
            while len(out) < expect:
                batches = await consumer.getmany(timeout_ms=500)
                for records in batches.values():
                    out.extend((r.key, r.value, dict(r.headers)) for r in records)
    finally:
        await consumer.stop()
    return out


@dataclass(frozen=True)
class Consumed:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes]


async def read_to_end(
    settings: Settings, topic: str, *, timeout_s: float = 120.0
) -> list[Consumed]:
    """Every record ``topic`` (created by ``create_topics``) holds now, up to the end
    offsets read at the start."""
    consumer = AIOKafkaConsumer(
        **kafka_options(settings),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    out: list[Consumed] = []
    try:
        async with asyncio.timeout(timeout_s):
            tps = [TopicPartition(topic, p) for p in range(settings.topic_partitions)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            positions = {tp: await consumer.position(tp) for tp in tps}
            while any(positions[tp] < ends[tp] for tp in tps):
                batches = await consumer.getmany(timeout_ms=500)
                for tp, records in batches.items():
                    out.extend(
                        Consumed(tp.partition, r.offset, r.key, r.value, dict(r.headers))
                        for r in records
                        if r.offset < ends[tp]
                    )
                    positions[tp] = await consumer.position(tp)
    finally:
        await consumer.stop()
    return out


async def end_offsets(settings: Settings, topics: Iterable[str]) -> dict[tuple[str, int], int]:
    """(topic, partition) -> the offset the next record will get, for topics of ``settings``."""
    consumer = AIOKafkaConsumer(**kafka_options(settings))
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in topics for p in range(settings.topic_partitions)]
        ends = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    return {(tp.topic, tp.partition): offset for tp, offset in ends.items()}
