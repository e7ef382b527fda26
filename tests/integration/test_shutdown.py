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
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from redis.asyncio import Redis

from collectpulse.events.models import Topic
from collectpulse.settings import Settings, duration_s
from collectpulse.store.writer import StoreWriter
from collectpulse.stream.shutdown import SHUTDOWN_TIMED_OUT
from tests.integration.test_worker_kill import (
    GROUP_ENV,
    applied_so_far,
    ground_truth_holds,
    ground_truth_stream,
)
from tests.support.kafka import create_topics, publish
from tests.support.metrics import total, wait_for
from tests.support.processes import collectpulse_process, free_port

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


async def drain_and_check(settings: Settings, tmp_path: Path, published: int, truth: dict) -> None:  # type: ignore[type-arg]
    port = free_port()
    with (
        collectpulse_process(
            settings, "worker", "-l", "warn", log=tmp_path / "worker-2.log", **GROUP_ENV
        ) as worker,
        collectpulse_process(
            settings, "exporter", log=tmp_path / "exporter.log", COLLECTPULSE_HTTP_PORT=str(port)
        ) as exporter,
    ):
        url = f"http://127.0.0.1:{port}/metrics"
        await wait_for(
            url,
            lambda s: total(s, "collectpulse_events_received_total") >= published,
            timeout_s=70,
            processes=[worker, exporter],
        )
        # a double count would keep growing past the published total: let it show
        await asyncio.sleep(2)
        samples = await wait_for(url, bool, timeout_s=10, processes=[exporter])
    assert total(samples, "collectpulse_events_received_total") == published
    ground_truth_holds(samples, truth)


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
        with collectpulse_process(settings, "worker", "-l", "warn", log=log, **GROUP_ENV) as first:
            await wait_applied(redis_client, settings, published // 4, first)
            os.kill(first.pid, signal.SIGTERM)
            code = await exit_code(first, settings)
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
        with collectpulse_process(settings, "worker", "-l", "warn", log=log, **GROUP_ENV) as first:
            await wait_applied(redis_client, settings, published // 4, first)
            # writes hang (no error) until well after the worker's deadline
            await redis_client.execute_command("CLIENT", "PAUSE", 8000, "WRITE")
            os.kill(first.pid, signal.SIGTERM)
            code = await exit_code(first, settings)
        await redis_client.execute_command("CLIENT", "UNPAUSE")
        text = log.read_text(errors="replace")
        assert code == SHUTDOWN_TIMED_OUT, text[-3000:]
        assert "shutdown not finished" in text and "COLLECTPULSE_SHUTDOWN_TIMEOUT" in text
        assert await applied_so_far(redis_client, settings) < published
        await drain_and_check(settings, tmp_path, published, truth)
