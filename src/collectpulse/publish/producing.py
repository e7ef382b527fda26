"""Produce validated records to Kafka (idempotent, ``acks=all``) and say where each landed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.structs import RecordMetadata

from collectpulse.kafka.connection import kafka_options
from collectpulse.kafka.errors import BrokerUnavailableError
from collectpulse.kafka.topics import ensure_topics
from collectpulse.publish.reading import Record
from collectpulse.settings import Settings

CLIENT_ID = "collectpulse-publish"


@dataclass(frozen=True, slots=True)
class Published:
    """A record Kafka acknowledged: where it is now."""

    record: Record
    topic: str
    partition: int
    offset: int


async def produce(settings: Settings, records: Sequence[Record]) -> list[Published]:
    """Send ``records`` in order and wait for every acknowledgement.

    Raises ``KafkaSetupError`` (unreachable broker, topics not co-partitioned)
    before anything is sent, ``PublishFailedError`` when a record is not
    acknowledged; the error lists what was acknowledged before it.
    """
    await _prepare_topics(settings)
    producer = AIOKafkaProducer(
        **kafka_options(settings),
        client_id=CLIENT_ID,
        acks="all",
        enable_idempotence=True,
    )
    try:
        await producer.start()
    except KafkaError as exc:
        await producer.stop()
        raise _unreachable(settings, exc) from exc
    try:
        return await _send_all(producer, settings, records)
    finally:
        await producer.stop()


async def _send_all(
    producer: AIOKafkaProducer, settings: Settings, records: Sequence[Record]
) -> list[Published]:
    # Everything is queued before anything is awaited: batches, not a round trip per record.
    queued: list[tuple[Record, str, asyncio.Future[RecordMetadata]]] = []
    for record in records:
        topic = settings.topic(record.topic.value)
        try:
            queued.append((record, topic, await producer.send(topic, record.value, key=record.key)))
        except KafkaError as exc:
            raise PublishFailedError(record, await _acknowledged(queued), exc) from exc
    published: list[Published] = []
    for record, topic, future in queued:
        try:
            metadata = await future
        except KafkaError as exc:
            raise PublishFailedError(record, published, exc) from exc
        published.append(Published(record, topic, metadata.partition, metadata.offset))
    return published


async def _acknowledged(
    queued: Sequence[tuple[Record, str, asyncio.Future[RecordMetadata]]],
) -> list[Published]:
    published = []
    for record, topic, future in queued:
        try:
            metadata = await future
        except KafkaError:
            continue
        published.append(Published(record, topic, metadata.partition, metadata.offset))
    return published


class PublishFailedError(Exception):
    """Kafka did not acknowledge ``record``; ``published`` were acknowledged before it."""

    def __init__(self, record: Record, published: list[Published], cause: KafkaError) -> None:
        super().__init__(
            f"line {record.line}: Kafka did not acknowledge event {record.event_id}: "
            f"{type(cause).__name__}: {cause}; {len(published)} record(s) before it were published"
        )
        self.published = published


async def _prepare_topics(settings: Settings) -> None:
    admin = AIOKafkaAdminClient(**kafka_options(settings), client_id=CLIENT_ID)
    try:
        await admin.start()
        await ensure_topics(admin, settings)
    except KafkaError as exc:
        raise _unreachable(settings, exc) from exc
    finally:
        await admin.close()


def _unreachable(settings: Settings, exc: KafkaError) -> BrokerUnavailableError:
    return BrokerUnavailableError(
        f"Kafka at {settings.kafka_bootstrap_servers} (COLLECTPULSE_KAFKA_BOOTSTRAP_SERVERS) "
        f"failed: {type(exc).__name__}: {exc}"
    )
