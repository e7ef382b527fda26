"""Worker heartbeat: each worker records in Redis, every few seconds, that it is alive, which
partitions it is assigned and whether its dependencies work.

Any exporter reads these beats (``StoreReader``) to answer ``/readyz`` ("a consumer is
assigned") and to export the number of live workers and each one's heartbeat age,
without talking to the workers. All beats live in one hash ``cp:{meta}:heartbeats``
(field = worker id), so one HGETALL reads them and no key scan is needed; each beat
also drops the fields of workers silent for longer than ``HEARTBEAT_FORGET_S``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any

import faust
from redis.exceptions import RedisError

from collectpulse.dependencies import describe
from collectpulse.settings import Settings
from collectpulse.store.client import StoreClient
from collectpulse.store.heartbeats import HEARTBEAT_FORGET_S, HEARTBEAT_INTERVAL_S, WorkerBeat
from collectpulse.store.keys import Keys
from collectpulse.stream.probe import probe
from collectpulse.stream.retry import DependencyState

log = logging.getLogger(__name__)


def worker_id() -> str:
    """Unique per process: host name and pid (a restarted worker is a new worker)."""
    return f"{socket.gethostname()}-{os.getpid()}"


class Heartbeat:
    """Writes one worker's beat; never raises (a missed beat is the signal)."""

    def __init__(
        self,
        client: StoreClient,
        keys: Keys,
        worker: str,
        *,
        assigned: Callable[[], Iterable[int]],
        state: DependencyState,
        wait_timeouts: Callable[[], int] = lambda: 0,
        clock: Callable[[], float] = time.time,
        timeout_s: float = HEARTBEAT_INTERVAL_S,
    ) -> None:
        self._redis = client
        self._key = keys.heartbeats()
        self.worker = worker
        self._assigned = assigned
        self._state = state
        self._wait_timeouts = wait_timeouts
        self._clock = clock
        self._timeout_s = timeout_s

    def record(self) -> WorkerBeat:
        return WorkerBeat(
            worker=self.worker,
            beat_s=self._clock(),
            partitions=tuple(sorted(set(self._assigned()))),
            healthy=self._state.healthy,
            reason=self._state.reason,
            wait_timeouts=self._wait_timeouts(),
        )

    async def beat(self) -> bool:
        """Write this worker's beat and forget long-silent workers; False when Redis failed."""
        beat = self.record()
        ticket = self._state.attempt()
        try:
            async with asyncio.timeout(self._timeout_s):
                pipe = self._redis.pipeline(transaction=False)
                pipe.hset(self._key, self.worker, beat.encode())
                pipe.hgetall(self._key)
                _, beats = await pipe.execute()
                silent = [
                    worker
                    for worker, raw in beats.items()
                    if _is_silent(worker, raw, beat.beat_s - HEARTBEAT_FORGET_S)
                ]
                if silent:
                    await self._redis.hdel(self._key, *silent)
        except (RedisError, OSError, TimeoutError) as exc:
            # one log line per outage (DependencyState), not one per missed beat
            self._state.failed("redis", describe(exc), ticket)
            return False
        self._state.worked("redis", ticket)
        if self.record().reason != beat.reason:
            # this write is what showed Redis is back: do not leave "redis down" standing
            with contextlib.suppress(RedisError, OSError, TimeoutError):
                async with asyncio.timeout(self._timeout_s):
                    await self._redis.hset(self._key, self.worker, self.record().encode())
        return True

    async def forget(self) -> None:
        """Remove this worker's beat on a clean shutdown, so it stops counting as live at once."""
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._redis.hdel(self._key, self.worker)
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("heartbeat of %s not removed: %s", self.worker, type(exc).__name__)


def _is_silent(worker: bytes | str, raw: bytes | str, before_s: float) -> bool:
    name = worker.decode() if isinstance(worker, bytes) else worker
    beat = WorkerBeat.decode(name, raw)
    return beat is None or beat.beat_s < before_s


def install_heartbeat(
    app: faust.App,
    client: StoreClient,
    settings: Settings,
    state: DependencyState,
    *,
    wait_timeouts: Callable[[], int] = lambda: 0,
) -> Heartbeat:
    """Probe and beat every ``HEARTBEAT_INTERVAL_S``, beat right after each rebalance, and
    forget on shutdown."""
    prefix = settings.topic_prefix

    def assigned() -> list[int]:
        return [tp.partition for tp in app.consumer.assignment() if tp.topic.startswith(prefix)]

    heartbeat = Heartbeat(
        client,
        Keys(settings.key_prefix),
        worker_id(),
        assigned=assigned,
        state=state,
        wait_timeouts=wait_timeouts,
    )
    pending: set[asyncio.Task[bool]] = set()

    def beat_soon(*_: Any, **__: Any) -> None:
        # not awaited: a slow Redis must not hold up Faust's rebalance
        task = asyncio.ensure_future(heartbeat.beat())
        pending.add(task)
        task.add_done_callback(pending.discard)

    @app.timer(interval=HEARTBEAT_INTERVAL_S)  # type: ignore[untyped-decorator]
    async def worker_heartbeat() -> None:
        # probe first, so the beat carries the state as of now
        await probe(client, settings, state)
        await heartbeat.beat()

    async def forget(*_: Any, **__: Any) -> None:
        await heartbeat.forget()

    app.on_partitions_assigned.connect(beat_soon)
    app.on_partitions_revoked.connect(beat_soon)
    app.on_before_shutdown.connect(forget)
    return heartbeat
