"""The worker's own look at Redis and Kafka, once per heartbeat.

The agents learn about an outage only from the batches they apply: while the
broker is down no batch arrives, and after Redis is back an idle worker would
never say so. The probe reports to the same ``Dependencies`` as the agents,
so the worker logs the change and its heartbeat carries it to the exporter.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaClient
from aiokafka.errors import KafkaError
from redis.exceptions import RedisError

from collectpulse.dependencies import Dependencies, describe
from collectpulse.kafka.connection import kafka_options
from collectpulse.settings import Settings
from collectpulse.store.client import StoreClient

PROBE_TIMEOUT_S = 2.0


async def _report(
    state: Dependencies,
    name: str,
    check: Callable[[], Awaitable[object]],
    errors: tuple[type[Exception], ...],
    timeout_s: float,
) -> None:
    """``check`` answered within ``timeout_s``: ``name`` works; one of ``errors``: it failed."""
    ticket = state.attempt()
    try:
        async with asyncio.timeout(timeout_s):
            await check()
    except errors as exc:
        state.failed(name, describe(exc), ticket)
    else:
        state.worked(name, ticket)


async def probe_redis(client: StoreClient, state: Dependencies, *, timeout_s: float) -> None:
    await _report(state, "redis", client.ping, (RedisError, OSError, TimeoutError), timeout_s)


async def probe_kafka(settings: Settings, state: Dependencies, *, timeout_s: float) -> None:
    """Bootstrap a fresh client: an answered metadata request, as the exporter's /readyz."""
    client = AIOKafkaClient(
        **kafka_options(settings),
        client_id="collectpulse-worker-probe",
        request_timeout_ms=int(timeout_s * 1000),
    )
    try:
        await _report(
            state, "kafka", client.bootstrap, (KafkaError, OSError, TimeoutError), timeout_s
        )
    finally:
        await client.close()


async def probe(
    client: StoreClient,
    settings: Settings,
    state: Dependencies,
    *,
    timeout_s: float = PROBE_TIMEOUT_S,
) -> None:
    await asyncio.gather(
        probe_redis(client, state, timeout_s=timeout_s),
        probe_kafka(settings, state, timeout_s=timeout_s),
    )
