"""The exporter's view of Kafka: is the broker reachable, and where do the partitions end.

``/readyz`` bootstraps a fresh client (a metadata round trip) under a short timeout;
the consumer-lag metric needs every partition's first and end offset, fetched by one
long-lived consumer without a group and cached for a few seconds, so scrapes stay
fast and a broker outage costs a scrape at most ``timeout_s`` once per cache period.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from aiokafka import AIOKafkaClient, AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from collectpulse.dependencies import Dependencies, describe
from collectpulse.events.models import Topic
from collectpulse.kafka.connection import kafka_options
from collectpulse.settings import Settings
from collectpulse.store.touches import TOUCH_TOPIC

KAFKA_TIMEOUT_S = 2.0
OFFSETS_MAX_AGE_S = 5.0
LAG_TOPICS = (*(t.value for t in Topic), TOUCH_TOPIC)
"""The topics whose applied offsets the store keeps (without the prefix)."""

_FAILURES = (KafkaError, OSError, TimeoutError)


class BrokerUnavailable(Exception):
    """Kafka could not be reached or answered within the timeout; the message says how."""


@dataclass(frozen=True)
class LogPositions:
    """Per (topic without prefix, partition): the log's first offset and its end offset."""

    begin: Mapping[tuple[str, int], int]
    end: Mapping[tuple[str, int], int]


class Broker:
    """Kafka reachability and log positions for one exporter; safe for concurrent scrapes."""

    def __init__(
        self,
        settings: Settings,
        *,
        timeout_s: float = KAFKA_TIMEOUT_S,
        max_age_s: float = OFFSETS_MAX_AGE_S,
        clock: Callable[[], float] = time.monotonic,
        dependencies: Dependencies | None = None,
    ) -> None:
        self._settings = settings
        self._deps = dependencies
        self._timeout_s = timeout_s
        self._max_age_s = max_age_s
        self._clock = clock
        self._consumer: AIOKafkaConsumer | None = None
        self._lock = asyncio.Lock()
        self._cached: LogPositions | BrokerUnavailable | None = None
        self._cached_at = 0.0

    def _options(self) -> dict[str, object]:
        return {
            **kafka_options(self._settings),
            "client_id": "collectpulse-exporter",
            "request_timeout_ms": int(self._timeout_s * 1000),
        }

    async def ping(self) -> None:
        """Bootstrap a fresh client (cluster metadata from a broker); raise BrokerUnavailable."""
        client = AIOKafkaClient(**self._options())
        try:
            async with asyncio.timeout(self._timeout_s):
                await client.bootstrap()
        except _FAILURES as exc:
            raise BrokerUnavailable(_describe(exc)) from None
        finally:
            await client.close()

    async def positions(self) -> LogPositions:
        """First and end offsets of the lag topics that exist, at most ``max_age_s`` old."""
        async with self._lock:
            if self._cached is None or self._clock() - self._cached_at >= self._max_age_s:
                # reported here, where Kafka is asked: a cached answer says nothing about now
                ticket = self._deps.attempt() if self._deps else 0
                try:
                    self._cached = await self._fetch()
                except BrokerUnavailable as exc:
                    self._cached = exc
                    if self._deps:
                        self._deps.failed("kafka", str(exc), ticket)
                else:
                    if self._deps:
                        self._deps.worked("kafka", ticket)
                self._cached_at = self._clock()
            if isinstance(self._cached, BrokerUnavailable):
                raise self._cached
            return self._cached

    async def _fetch(self) -> LogPositions:
        try:
            async with asyncio.timeout(self._timeout_s):
                consumer = await self._started()
                existing = await consumer.topics()
                tps = [
                    TopicPartition(self._settings.topic(name), p)
                    for name in LAG_TOPICS
                    if self._settings.topic(name) in existing
                    for p in range(self._settings.topic_partitions)
                ]
                if not tps:
                    return LogPositions({}, {})
                begin = await consumer.beginning_offsets(tps)
                end = await consumer.end_offsets(tps)
        except _FAILURES as exc:
            await self.close()
            raise BrokerUnavailable(_describe(exc)) from None
        prefix = self._settings.topic_prefix
        return LogPositions(
            begin={(tp.topic.removeprefix(prefix), tp.partition): o for tp, o in begin.items()},
            end={(tp.topic.removeprefix(prefix), tp.partition): o for tp, o in end.items()},
        )

    async def _started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(**self._options(), enable_auto_commit=False, group_id=None)
            try:
                await consumer.start()
            except BaseException:
                await consumer.stop()
                raise
            self._consumer = consumer
        return self._consumer

    async def close(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer within the timeout"
    return describe(exc)
