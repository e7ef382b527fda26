"""Real-broker helpers: create co-partitioned topics, publish, read back."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
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
