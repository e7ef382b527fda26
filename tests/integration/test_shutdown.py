"""SIGTERM mid-stream: the worker finishes its in-flight batches and exits within the timeout.

Two cases, each followed by a fresh worker that drains the rest and exact
counts on /metrics:

- a normal stop under load exits 0, having committed to Kafka exactly the
  offsets it applied to the store;
- a stop while the in-flight batch cannot finish (Redis writes paused) exits
  with code 3 after ``COLLECTPULSE_SHUTDOWN_TIMEOUT`` and a log line that
  says so; nothing is lost or counted twice once the fresh worker has run.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from redis.asyncio import Redis

from collectpulse.events.models import Topic
from collectpulse.settings import Settings, duration_s
from collectpulse.store.writer import StoreWriter
from collectpulse.stream.shutdown import SHUTDOWN_TIMED_OUT
from tests.integration.test_worker_kill import (
    applied_so_far,
    drain_and_check,
    ground_truth_stream,
)
from tests.support.kafka import create_topics, publish
from tests.support.processes import GROUP_ENV, collectpulse_process

BATCH_RECORDS = 10
# hang guard only: the worker must have exited long before
EXIT_WAIT_MARGIN_S = 60


async def publish_stream(settings: Settings) -> tuple[int, dict]:  # type: ignore[type-arg]
    stream, truth = ground_truth_stream(time.time())
    await create_topics(settings)
    for topic, records in stream.items():
        await publish(settings, settings.topic(topic.value), records)
    return sum(len(r) for r in stream.values()), truth


async def wait_applied(
    client: Redis, settings: Settings, at_least: int, proc: subprocess.Popen[bytes]
) -> None:
    while True:
        assert proc.poll() is None, "the worker died on its own"
        if await applied_so_far(client, settings) >= at_least:
            return
        await asyncio.sleep(0.002)


async def exit_code(proc: subprocess.Popen[bytes], settings: Settings) -> int:
    limit = duration_s(settings.shutdown_timeout) + EXIT_WAIT_MARGIN_S
    return await asyncio.to_thread(proc.wait, limit)


async def sigterm_mid_stream(
    settings: Settings,
    client: Redis,
    log: Path,
    published: int,
    just_before: Callable[[], Awaitable[object]] | None = None,
) -> int:
    """A worker SIGTERMed once a quarter of the stream is applied (``just_before`` runs
    right before the signal); its exit code."""
    with collectpulse_process(settings, "worker", "-l", "warn", log=log, **GROUP_ENV) as worker:
        await wait_applied(client, settings, published // 4, worker)
        if just_before is not None:
            await just_before()
        os.kill(worker.pid, signal.SIGTERM)
        return await exit_code(worker, settings)


async def committed_and_applied(settings: Settings, client: Redis) -> tuple[dict, dict]:  # type: ignore[type-arg]
    """Per canonical (topic, partition): the group's committed offset, and the store's next."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        raw = await admin.list_consumer_group_offsets(settings.consumer_group)
    finally:
        await admin.close()
    canonical = {settings.topic(t.value): t.value for t in Topic}
    committed = {
        (canonical[tp.topic], tp.partition): meta.offset
        for tp, meta in raw.items()
        if tp.topic in canonical and meta.offset >= 0
    }
    writer = StoreWriter(client, settings)
    applied = {}
    for partition in range(settings.topic_partitions):
        for topic, offset in (await writer.applied_offsets(partition)).items():
            if topic in canonical.values():
                applied[(topic, partition)] = offset + 1
    return committed, applied


async def test_sigterm_under_load_finishes_the_in_flight_batch_and_exits_0(
    settings: Settings, redis_client: Redis, tmp_path: Path
) -> None:
    settings = settings.model_copy(
        update={"batch_max_records": BATCH_RECORDS, "shutdown_timeout": "30s"}
    )
    async with asyncio.timeout(150):
        published, truth = await publish_stream(settings)
        log = tmp_path / "worker-1.log"
        code = await sigterm_mid_stream(settings, redis_client, log, published)
        at_exit = await applied_so_far(redis_client, settings)
        assert code == 0, log.read_text(errors="replace")[-3000:]
        assert at_exit < published, "the stop must cut the stream"
        text = log.read_text(errors="replace")
        assert "SIGTERM: finishing the in-flight batches" in text
        assert "in-flight batches applied and committed" in text
        # durable and acknowledged: Kafka has exactly what the store applied
        committed, applied = await committed_and_applied(settings, redis_client)
        assert committed == applied
        await drain_and_check(settings, tmp_path, published, truth)


async def test_sigterm_with_a_stuck_batch_exits_3_after_the_timeout_and_loses_nothing(
    settings: Settings, redis_client: Redis, tmp_path: Path
) -> None:
    settings = settings.model_copy(
        update={"batch_max_records": BATCH_RECORDS, "shutdown_timeout": "3s"}
    )
    async with asyncio.timeout(150):
        published, truth = await publish_stream(settings)
        log = tmp_path / "worker-1.log"

        async def pause_writes() -> None:
            # writes hang (no error) until well after the worker's deadline
            await redis_client.execute_command("CLIENT", "PAUSE", 8000, "WRITE")

        code = await sigterm_mid_stream(settings, redis_client, log, published, pause_writes)
        await redis_client.execute_command("CLIENT", "UNPAUSE")
        text = log.read_text(errors="replace")
        assert code == SHUTDOWN_TIMED_OUT, text[-3000:]
        assert "shutdown not finished" in text and "COLLECTPULSE_SHUTDOWN_TIMEOUT" in text
        assert await applied_so_far(redis_client, settings) < published
        await drain_and_check(settings, tmp_path, published, truth)
