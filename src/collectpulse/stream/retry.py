"""Wait out an unavailable Redis or broker instead of losing or skipping a batch.

A batch is acknowledged only after its effects are durable, so the agent
must not give up on it: it retries with capped exponential backoff. Which
dependency failed is read from the error (a batch's apply writes Redis and may
publish to Kafka); ``DependencyState`` logs one line when it goes down and one
when it is back, and the heartbeat carries the state to the exporter.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiokafka.errors import KafkaError
from redis.exceptions import (
    ClusterDownError,
    RedisClusterUnreachableError,
    RedisError,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from collectpulse.dependencies import Dependencies, describe

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRIABLE: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    # a Redis Cluster between a master's death and its replica's promotion, or a
    # multi-key call on a slot being migrated, once redis-py's own retries are spent
    ClusterDownError,
    TryAgainError,
    SlotNotCoveredError,
    RedisClusterUnreachableError,
    KafkaError,
    ConnectionError,
    TimeoutError,
)


class DependencyState(Dependencies):
    """The worker's view of Redis and Kafka, shared by its agents, probe and heartbeat."""

    def __init__(self) -> None:
        super().__init__(log)


def failing_dependency(exc: BaseException, default: str) -> str:
    if isinstance(exc, RedisError | SlotNotCoveredError | RedisClusterUnreachableError):
        return "redis"
    if isinstance(exc, KafkaError):
        return "kafka"
    return default


async def until_done(
    action: Callable[[], Awaitable[T]],
    state: Dependencies,
    *,
    what: str,
    first_delay_s: float = 0.1,
    max_delay_s: float = 5.0,
) -> T:
    """Run ``action`` until it succeeds, backing off on retriable errors.

    ``what`` names the dependency blamed for errors that do not say (an OSError).
    """
    delay_s = first_delay_s
    failed: set[str] = set()
    while True:
        ticket = state.attempt()
        try:
            result = await action()
        except RETRIABLE as exc:
            dependency = failing_dependency(exc, what)
            failed.add(dependency)
            state.failed(dependency, describe(exc), ticket)
            await asyncio.sleep(delay_s)
            delay_s = min(delay_s * 2, max_delay_s)
            continue
        for dependency in failed:
            state.worked(dependency, ticket)
        return result
