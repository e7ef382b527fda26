"""Wait out an unavailable Redis or broker instead of losing or skipping a batch.

A batch is acknowledged only after its effects are durable, so the agent
must not give up on it: it retries with capped exponential backoff, logs one
line when the dependency goes away and one when it is back, and reports the
state through ``DependencyState`` (readiness, metrics).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from aiokafka.errors import KafkaError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRIABLE: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    KafkaError,
    ConnectionError,
    TimeoutError,
)


@dataclass
class DependencyState:
    """Whether the agents' last attempt at the store/broker worked, and why not."""

    healthy: bool = True
    reason: str = ""
    failures: int = field(default=0)


async def until_done(
    action: Callable[[], Awaitable[T]],
    state: DependencyState,
    *,
    what: str,
    first_delay_s: float = 0.1,
    max_delay_s: float = 5.0,
) -> T:
    """Run ``action`` until it succeeds, backing off on retriable errors."""
    delay_s = first_delay_s
    while True:
        try:
            result = await action()
        except RETRIABLE as exc:
            state.failures += 1
            if state.healthy:
                state.healthy, state.reason = False, f"{what}: {type(exc).__name__}"
                log.warning("%s unavailable (%s); retrying with backoff", what, type(exc).__name__)
            await asyncio.sleep(delay_s)
            delay_s = min(delay_s * 2, max_delay_s)
            continue
        if not state.healthy:
            log.warning("%s available again after %d failed attempts", what, state.failures)
            state.healthy, state.reason, state.failures = True, "", 0
        return result
