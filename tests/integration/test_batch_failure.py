"""A batch that fails for a reason retrying cannot fix stops the worker; nothing is lost.

Redis refusing writes (OOM: maxmemory reached under ``noeviction``) answers with
an error reply, not a broken connection, so the worker does not wait it out.
Faust would acknowledge the failed batch and restart the agent, whose next
batch would move the store's offset past it; the worker exits instead
(``stream.failfast``), and a worker started after Redis has room again
counts every event exactly once.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from redis.asyncio import Redis

from collectpulse.events.models import Topic
from collectpulse.settings import Settings
from collectpulse.stream.failfast import EXIT_BATCH_FAILED
from tests.support import events as ev
from tests.support.kafka import create_topics, publish
from tests.support.metrics import total, wait_for
from tests.support.processes import collectpulse_process, free_port

FIRST = 40
SECOND = 60


def sends(start: int, count: int, now: float) -> list[tuple[bytes, bytes]]:
    return [
        (f"m{i}".encode(), orjson.dumps(ev.sent(f"m{i}", now - 300 + i, customer_id=f"c{i}")))
        for i in range(start, start + count)
    ]


@pytest.fixture
async def redis_out_of_memory(redis_client: Redis) -> AsyncIterator[Redis]:
    """Yields the client; whatever the test sets, the server's memory policy is restored."""
    before = await redis_client.config_get("maxmemory*")
    try:
        yield redis_client
    finally:
        for name in ("maxmemory", "maxmemory-policy"):
            await redis_client.config_set(name, before[name])


async def wait_exit(proc: subprocess.Popen[bytes], timeout_s: float) -> int | None:
    try:
        return await asyncio.wait_for(asyncio.to_thread(proc.wait), timeout_s)
    except TimeoutError:
        return None


async def test_a_batch_redis_refuses_stops_the_worker_and_a_new_worker_counts_it(
    settings: Settings, redis_out_of_memory: Redis, tmp_path: Path
) -> None:
    redis = redis_out_of_memory
    topic = settings.topic(Topic.DELIVERY.value)
    now = time.time()
    port = free_port()
    async with asyncio.timeout(150):
        await create_topics(settings)
        with collectpulse_process(
            settings, "exporter", log=tmp_path / "exporter.log", COLLECTPULSE_HTTP_PORT=str(port)
        ) as exporter:
            url = f"http://127.0.0.1:{port}/metrics"
            with collectpulse_process(
                settings, "worker", "-l", "warn", log=tmp_path / "worker-1.log"
            ) as first:
                await publish(settings, topic, sends(0, FIRST, now))
                await wait_for(
                    url,
                    lambda s: total(s, "collectpulse_messages_sent_total") >= FIRST,
                    timeout_s=60,
                    processes=[first, exporter],
                )
                await redis.config_set("maxmemory-policy", "noeviction")
                await redis.config_set("maxmemory", "1")
                await publish(settings, topic, sends(FIRST, SECOND, now))
                code = await wait_exit(first, timeout_s=45)
                await redis.config_set("maxmemory", "0")
            log = (tmp_path / "worker-1.log").read_text()
            assert code == EXIT_BATCH_FAILED, f"exit code {code}; worker-1.log:\n{log[-3000:]}"
            assert "without acknowledging it" in log

            with collectpulse_process(
                settings, "worker", "-l", "warn", log=tmp_path / "worker-2.log"
            ) as second:
                samples = await wait_for(
                    url,
                    lambda s: total(s, "collectpulse_messages_sent_total") >= FIRST + SECOND,
                    timeout_s=60,
                    processes=[second, exporter],
                )
                await asyncio.sleep(2)  # a double count would keep growing: let it show
                samples = await wait_for(url, lambda s: bool(s), timeout_s=10)

    assert total(samples, "collectpulse_messages_sent_total") == FIRST + SECOND
    assert total(samples, "collectpulse_events_received_total", topic="delivery") == FIRST + SECOND
