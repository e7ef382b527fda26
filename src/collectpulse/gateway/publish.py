"""Kafka side of the gateway: publish a verified body to ``raw.<provider>``, acknowledged.

One idempotent producer (``acks=all``, ``enable_idempotence``) per gateway.
``publish`` returns only once the broker acknowledged the record, or raises
``KafkaUnavailable`` within ``timeout_s`` (the server answers 503 and the
provider retries). A record whose wait timed out may still be written later by
the producer; the provider's retry is then a duplicate, which the engine
drops on the event id the adapters derive (docs/GATEWAY.md, "Delivery").

The producer connects in the background: a gateway started while Kafka is
down serves 503 (and /readyz says why) until the first connection succeeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from collectpulse.dependencies import describe
from collectpulse.kafka.connection import kafka_options
from collectpulse.settings import Settings

log = logging.getLogger(__name__)

CONNECT_RETRY_S = (0.5, 1.0, 2.0, 5.0)
"""Waits between connection attempts at start-up; the last one repeats."""
PROBE_TIMEOUT_S = 2.0
RECORD_OVERHEAD_BYTES = 16_384
"""Room for the key and the record batch framing above the largest body accepted."""
_FAILURES = (KafkaError, OSError)


class KafkaUnavailable(Exception):
    """Kafka did not acknowledge the record in time; retriable, the message says why."""


class Publisher:
    """Publishes bodies to the raw topic of their provider (``topics``: provider -> topic)."""

    def __init__(
        self,
        settings: Settings,
        topics: Mapping[str, str],
        *,
        timeout_s: float,
        max_body_bytes: int,
    ) -> None:
        self._settings = settings
        self.topics = dict(topics)
        self._timeout_s = timeout_s
        self._max_request_bytes = max_body_bytes + RECORD_OVERHEAD_BYTES
        self._producer: AIOKafkaProducer | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._last_error = "not connected yet"

    def start(self) -> None:
        """Begin connecting in the background (retried until it succeeds or ``close``)."""
        if self._connecting is None:
            self._connecting = asyncio.create_task(self._connect(), name="gateway-kafka-connect")

    async def _connect(self) -> None:
        attempt = 0
        while True:
            producer = AIOKafkaProducer(
                **kafka_options(self._settings),
                client_id="collectpulse-gateway",
                acks="all",
                enable_idempotence=True,
                max_request_size=self._max_request_bytes,
                request_timeout_ms=int(self._timeout_s * 1000),
                metadata_max_age_ms=self._settings.kafka_metadata_max_age_ms,
            )
            try:
                await producer.start()
            except _FAILURES as exc:
                with contextlib.suppress(*_FAILURES):
                    await producer.stop()
                self._last_error = describe(exc)
                if attempt == 0:
                    log.warning("gateway: Kafka not reachable yet, retrying: %s", self._last_error)
                await asyncio.sleep(CONNECT_RETRY_S[min(attempt, len(CONNECT_RETRY_S) - 1)])
                attempt += 1
                continue
            self._producer = producer
            log.info("gateway: connected to Kafka at %s", self._settings.kafka_bootstrap_servers)
            return

    async def close(self) -> None:
        """Stop connecting; flush and close the producer (waits for records in flight)."""
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def publish(self, provider: str, key: bytes | None, body: bytes) -> None:
        """Write ``body`` to ``provider``'s raw topic; returns once the broker has it."""
        producer = self._producer
        if producer is None:
            raise KafkaUnavailable(f"not connected to Kafka ({self._last_error})")
        try:
            async with asyncio.timeout(self._timeout_s):
                sent = await producer.send(self.topics[provider], body, key=key)
                # shielded: giving up on the wait must not touch the producer's batch
                await asyncio.shield(sent)
        except TimeoutError:
            raise KafkaUnavailable(
                f"no acknowledgement from Kafka within {self._timeout_s:g} s"
            ) from None
        except KafkaError as exc:
            raise KafkaUnavailable(describe(exc)) from None

    async def readiness_problems(self) -> list[str]:
        """Empty when connected and every raw topic's partitions are known (a metadata
        round trip now); else one line per problem."""
        producer = self._producer
        if producer is None:
            return [f"kafka: not connected ({self._last_error})"]
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                cluster = await producer.client.fetch_all_metadata()
        except TimeoutError:
            return ["kafka: no metadata answer within the timeout"]
        except _FAILURES as exc:
            return [f"kafka: {describe(exc)}"]
        return [
            f"kafka: topic {topic} ({provider}) does not exist or is not visible"
            for provider, topic in self.topics.items()
            if not cluster.partitions_for_topic(topic)
        ]
