"""Service health against the real Kafka and Redis: /readyz, worker heartbeats, consumer lag,
and an exporter that keeps answering (and says why) when a dependency is unreachable.

The exporter runs in the test's event loop (``create_web_app`` on a free port), the worker
as a real child process.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from subprocess import Popen

import httpx
import orjson
from aiohttp import web
from pydantic import SecretStr
from redis.asyncio import Redis

from collectpulse.exporter.broker import KAFKA_TIMEOUT_S
from collectpulse.exporter.http import create_web_app
from collectpulse.settings import Settings
from collectpulse.store.heartbeats import HEARTBEAT_FORGET_S, HEARTBEAT_STALE_S, WorkerBeat
from collectpulse.store.keys import Keys
from collectpulse.store.reader import StoreReader
from collectpulse.stream.heartbeat import Heartbeat
from collectpulse.stream.retry import DependencyState
from tests.support import events as ev
from tests.support.kafka import create_topics, publish
from tests.support.metrics import scrape, total, value, wait_for
from tests.support.processes import collectpulse_process, free_port

HTTP_TIMEOUT_S = 10.0


@asynccontextmanager
async def exporter(settings: Settings) -> AsyncIterator[str]:
    """The exporter's web app on a free port; yields its base URL."""
    port = free_port()
    runner = web.AppRunner(create_web_app(settings), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def get(url: str) -> tuple[int, str]:
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_S) as client:
        response = await client.get(url)
    return response.status_code, response.text


async def wait_for_status(
    url: str, status: int, *, timeout_s: float, processes: Sequence[Popen[bytes]] = ()
) -> tuple[int, str]:
    """GET ``url`` until it answers ``status``; on timeout return the last answer."""
    deadline = time.monotonic() + timeout_s
    answer = await get(url)
    while answer[0] != status and time.monotonic() < deadline:
        for proc in processes:
            assert proc.poll() is None, f"{proc.args} exited with {proc.returncode}"
        await asyncio.sleep(0.5)
        answer = await get(url)
    return answer


def unreachable() -> str:
    """An address on which nothing listens."""
    return f"127.0.0.1:{free_port()}"


async def test_ready_only_while_a_worker_has_partitions_assigned(
    settings: Settings, tmp_path: Path
) -> None:
    await create_topics(settings)
    async with exporter(settings) as base:
        status, text = await get(f"{base}/readyz")
        assert status == 503
        assert text == f"worker: no heartbeat in the last {HEARTBEAT_STALE_S:g} s\n"

        with collectpulse_process(
            settings, "worker", "-l", "warn", log=tmp_path / "worker.log"
        ) as worker:
            answer = await wait_for_status(f"{base}/readyz", 200, timeout_s=60, processes=[worker])
            assert answer == (200, "ready\n")
            samples = await scrape(f"{base}/metrics")
            assert value(samples, "collectpulse_live_workers") == 1
            assert total(samples, "collectpulse_worker_assigned_partitions") > 0
            assert value(samples, "collectpulse_dependency_up", dependency="redis") == 1
            assert value(samples, "collectpulse_dependency_up", dependency="kafka") == 1

        status, text = await wait_for_status(
            f"{base}/readyz", 503, timeout_s=HEARTBEAT_STALE_S + 10
        )
        assert status == 503
        assert text.startswith("worker: ")


async def test_consumer_lag_counts_records_waiting_until_the_worker_applies_them(
    settings: Settings, tmp_path: Path
) -> None:
    await create_topics(settings)
    now = time.time()
    payments = [ev.payment(f"cust-{i}", now - i, "failed", 100) for i in range(30)]
    records = [(p["customer_id"].encode(), orjson.dumps(p)) for p in payments]
    await publish(settings, settings.topic("payment"), records)

    async with exporter(settings) as base:
        url = f"{base}/metrics"
        waiting = await scrape(url)
        assert total(waiting, "collectpulse_consumer_lag_records", topic="payment") == 30
        assert total(waiting, "collectpulse_consumer_lag_records") == 30

        with collectpulse_process(
            settings, "worker", "-l", "warn", log=tmp_path / "worker.log"
        ) as worker:

            def applied(samples: dict[tuple[str, frozenset[tuple[str, str]]], float]) -> bool:
                received = total(samples, "collectpulse_events_received_total", topic="payment")
                lag = total(samples, "collectpulse_consumer_lag_records")
                return received == 30 and lag == 0

            samples = await wait_for(url, applied, timeout_s=90, processes=[worker])

    assert total(samples, "collectpulse_events_received_total", topic="payment") == 30
    assert total(samples, "collectpulse_consumer_lag_records") == 0
    assert total(samples, "collectpulse_applied_offset", topic="payment") == 30 - 4


async def test_without_redis_the_exporter_answers_and_reports_redis_down(
    settings: Settings,
) -> None:
    no_redis = settings.model_copy(update={"redis_url": SecretStr(f"redis://{unreachable()}/0")})
    async with exporter(no_redis) as base:
        started = time.monotonic()
        assert await get(f"{base}/healthz") == (200, "ok\n")
        status, text = await get(f"{base}/readyz")
        assert status == 503
        assert text.startswith("redis: unreachable (ConnectionError)\n")
        samples = await scrape(f"{base}/metrics")
        api_status, _ = await get(f"{base}/api/struggling-customers")
        elapsed_s = time.monotonic() - started

    assert value(samples, "collectpulse_dependency_up", dependency="redis") == 0
    assert value(samples, "collectpulse_dependency_up", dependency="kafka") == 1
    assert not any(name == "collectpulse_events_received_total" for name, _ in samples)
    assert api_status == 503
    assert elapsed_s < HTTP_TIMEOUT_S


async def test_without_kafka_the_exporter_answers_within_its_timeout_and_reports_kafka_down(
    settings: Settings,
) -> None:
    no_kafka = settings.model_copy(update={"kafka_bootstrap_servers": unreachable()})
    async with exporter(no_kafka) as base:
        started = time.monotonic()
        status, text = await get(f"{base}/readyz")
        samples = await scrape(f"{base}/metrics")
        elapsed_s = time.monotonic() - started

    assert status == 503
    assert text.startswith("kafka: unreachable (")
    assert value(samples, "collectpulse_dependency_up", dependency="kafka") == 0
    assert value(samples, "collectpulse_dependency_up", dependency="redis") == 1
    assert not any(name == "collectpulse_consumer_lag_records" for name, _ in samples)
    # the store's KPIs are still served, pre-initialised per topic
    assert value(samples, "collectpulse_events_received_total", topic="open") == 0
    assert elapsed_s < 2 * KAFKA_TIMEOUT_S + 2


async def test_a_heartbeat_is_read_back_and_long_silent_workers_are_forgotten(
    settings: Settings, redis_client: Redis
) -> None:
    keys = Keys(settings.key_prefix)
    gone = WorkerBeat("gone", time.time() - HEARTBEAT_FORGET_S - 5, (1,))
    await redis_client.hset(keys.heartbeats(), "gone", gone.encode())
    state = DependencyState()
    state.failed("kafka", "KafkaTimeoutError", state.attempt())
    state.failed("kafka", "KafkaTimeoutError", state.attempt())
    heartbeat = Heartbeat(redis_client, keys, "w-1", assigned=lambda: [3, 1, 3], state=state)
    reader = StoreReader(redis_client, settings)

    assert await heartbeat.beat()

    beats = await reader.heartbeats()
    assert [(b.worker, b.partitions, b.healthy, b.reason) for b in beats] == [
        ("w-1", (1, 3), False, "kafka: KafkaTimeoutError")
    ]
    assert await redis_client.hkeys(keys.heartbeats()) == [b"w-1"]
    await heartbeat.forget()
    assert await reader.heartbeats() == ()


async def test_a_heartbeat_that_cannot_reach_redis_is_skipped_not_raised(
    settings: Settings,
) -> None:
    client = Redis.from_url(f"redis://{unreachable()}/0")
    heartbeat = Heartbeat(
        client, Keys(settings.key_prefix), "w-1", assigned=list, state=DependencyState()
    )
    try:
        assert await heartbeat.beat() is False
        await heartbeat.forget()
    finally:
        await client.aclose()
