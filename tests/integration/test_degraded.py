"""Redis or Kafka stopped mid-stream: the pipeline says so once, waits, and resumes exactly.

A dedicated Kafka and Redis (the session's are shared by other tests) serve a
real worker and exporter. A known stream is published before, during (Redis
only: the broker cannot take records while it is down) and after the outage;
the server is stopped while the worker is part-way through it and started
again on the same port and data dir. While it is down ``/readyz`` answers 503
naming it and ``collectpulse_dependency_up`` is 0; each process logs exactly
one "down" and one "up" line for it; afterwards every count on ``/metrics``
equals the ground truth.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from redis.asyncio import Redis

from collectpulse.events.models import Topic
from collectpulse.localstack import kafka, redis
from collectpulse.localstack.settings import LocalStackSettings
from collectpulse.settings import Settings
from tests.integration.test_worker_kill import (
    Record,
    applied_so_far,
    ground_truth_holds,
    ground_truth_stream,
)
from tests.support.kafka import create_topics, publish
from tests.support.local_stack import own_stack_settings
from tests.support.metrics import total, value, wait_for
from tests.support.pipeline import Pipeline, Process, run_pipeline, settled
from tests.support.processes import GROUP_ENV

BATCH_RECORDS = 20
Stream = dict[Topic, list[Record]]


@dataclass(frozen=True)
class Servers:
    cfg: LocalStackSettings
    settings: Settings

    def stop_redis(self) -> None:
        assert redis.stop_redis(self.cfg)

    def start_redis(self) -> None:
        redis.start(self.cfg)

    def stop_kafka(self) -> None:
        assert kafka.stop_kafka(self.cfg)

    def start_kafka(self) -> None:
        kafka.start(self.cfg)


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    """A Kafka and a Redis of this module's own, which its tests stop and start."""
    with own_stack_settings("test-degraded-", kafka_partitions=2) as cfg:
        try:
            bootstrap, url = kafka.start(cfg), redis.start(cfg)
            settings = Settings(
                kafka_bootstrap_servers=bootstrap,
                redis_url=url,  # type: ignore[arg-type]
                topic_partitions=2,
                batch_max_records=BATCH_RECORDS,
            )
            yield Servers(cfg, settings)
        finally:
            kafka.stop_kafka(cfg)
            redis.stop_redis(cfg)


FETCH_MAX_WAIT_MS = 1000
"""The worker's held fetch: long, so records published just before a stop stay unfetched."""


def isolated(servers: Servers, tmp_path: Path) -> Settings:
    run = uuid.uuid4().hex[:10]
    return servers.settings.model_copy(
        update={
            "topic_prefix": f"t{run}.",
            "key_prefix": f"t{run}",
            "consumer_group": f"collectpulse-degraded-{run}",
            "data_dir": tmp_path / "worker",
            "fetch_max_wait_ms": FETCH_MAX_WAIT_MS,
        }
    )


def slices(stream: Stream, parts: int) -> list[Stream]:
    """The stream cut into ``parts`` consecutive slices, each topic in publish order."""
    out: list[Stream] = [{} for _ in range(parts)]
    for topic, records in stream.items():
        size = -(-len(records) // parts)
        for i in range(parts):
            out[i][topic] = records[i * size : (i + 1) * size]
    return out


async def publish_all(settings: Settings, stream: Stream) -> None:
    for topic, records in stream.items():
        if records:
            await publish(settings, settings.topic(topic.value), records)


async def readyz(url: str) -> tuple[int, str]:
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(url)
    except httpx.HTTPError as exc:
        return 0, type(exc).__name__
    return response.status_code, response.text


async def wait_readyz(url: str, status: int, *, contains: str = "", timeout_s: float) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    got = (0, "")
    while loop.time() < deadline:
        got = await readyz(url)
        if got[0] == status and contains in got[1]:
            return got[1]
        await asyncio.sleep(0.5)
    raise AssertionError(f"/readyz never answered {status} with {contains!r}: last {got}")


async def wait_until_applied(client: Redis, settings: Settings, at_least: int) -> int:
    while True:
        applied = await applied_so_far(client, settings)
        if applied >= at_least:
            return applied
        await asyncio.sleep(0.005)


@asynccontextmanager
async def ready_pipeline(settings: Settings, logs: Path) -> AsyncIterator[Pipeline]:
    """The topics created, a worker and an exporter started, and /readyz answering 200."""
    await create_topics(settings)
    with run_pipeline(settings, logs, **GROUP_ENV) as run:
        await wait_readyz(run.url("/readyz"), 200, timeout_s=40)
        yield run


async def publish_then_stop(settings: Settings, before: Stream, stop: Callable[[], None]) -> int:
    """Publish a third of ``before`` and wait until it is applied, then publish the rest and
    stop a server at once, so the outage cuts the stream; the count applied at the stop.

    The worker applies a partition's records of every topic in one write, so a stream
    published in one go was often applied whole before the stop. The rest is published
    just before it instead: the worker fetches it only when its held fetch returns (at
    most ``FETCH_MAX_WAIT_MS`` later, ``isolated``), which is almost always after the stop.
    """
    head, rest = slices(before, 3)[0], merged(slices(before, 3)[1:])
    await publish_all(settings, head)
    client = Redis.from_url(settings.redis_url.get_secret_value())
    await wait_until_applied(client, settings, sum(len(r) for r in head.values()))
    await publish_all(settings, rest)
    at_stop = await applied_so_far(client, settings)
    await asyncio.to_thread(stop)
    await client.aclose()
    assert at_stop < sum(len(r) for r in before.values()), "the outage must cut the stream"
    return at_stop


def merged(parts: list[Stream]) -> Stream:
    """Consecutive slices joined again, each topic in publish order."""
    out: Stream = {}
    for part in parts:
        for topic, records in part.items():
            out[topic] = [*out.get(topic, []), *records]
    return out


async def wait_group_stable(settings: Settings, worker: subprocess.Popen[bytes]) -> None:
    """Until the worker's consumer group has its assignment (the group state is Stable)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        while True:
            assert worker.poll() is None, "the worker died before its assignment"
            try:
                (response,) = await admin.describe_consumer_groups([settings.consumer_group])
            except KafkaError:  # the group's coordinator is not known yet
                response = None
            if response is not None and response.groups[0][2] == "Stable":
                return
            await asyncio.sleep(0.2)
    finally:
        await admin.close()


async def wait_dependency_up(url: str, dependency: str, procs: Sequence[Process]) -> None:
    """Back to 1 once the exporter and every live worker's latest beat see it (the beat
    that says so may be a few seconds behind the recovery)."""
    samples = await wait_for(
        url,
        lambda s: value(s, "collectpulse_dependency_up", dependency=dependency) == 1,
        timeout_s=30,
        processes=procs,
    )
    assert value(samples, "collectpulse_dependency_up", dependency=dependency) == 1


def lines(log: Path, text: str) -> list[str]:
    return [line for line in log.read_text(errors="replace").splitlines() if text in line]


async def wait_logged(worker: Process, log: Path, text: str, *, died: str) -> None:
    """Until ``log`` has a line with ``text``; the worker must stay up meanwhile."""
    while not lines(log, text):
        assert worker.poll() is None, died
        await asyncio.sleep(0.2)


def one_change_each_way(log: Path, dependency: str) -> None:
    down = lines(log, f"dependency {dependency} down")
    up = lines(log, f"dependency {dependency} up again")
    assert len(down) == 1, f"{log.name}: {down}"
    assert len(up) == 1, f"{log.name}: {up}"


async def test_redis_stopped_mid_stream(servers: Servers, tmp_path: Path) -> None:
    settings = isolated(servers, tmp_path)
    stream, truth = ground_truth_stream(time.time())
    before, during, after = slices(stream, 3)
    published = sum(len(r) for r in stream.values())
    worker_log, exporter_log = tmp_path / "worker.log", tmp_path / "exporter.log"

    async with asyncio.timeout(120):
        async with ready_pipeline(settings, tmp_path) as run:
            await publish_then_stop(settings, before, servers.stop_redis)

            await publish_all(settings, during)
            reason = await wait_readyz(run.url("/readyz"), 503, contains="redis", timeout_s=20)
            assert "redis: unreachable" in reason
            samples = await wait_for(
                run.url("/metrics"), bool, timeout_s=10, processes=[run.exporter]
            )
            assert value(samples, "collectpulse_dependency_up", dependency="redis") == 0
            died = "the worker died during the Redis outage"
            await wait_logged(run.worker, worker_log, "dependency redis down", died=died)

            await asyncio.to_thread(servers.start_redis)
            await publish_all(settings, after)
            samples = await settled(run.url("/metrics"), published, run.processes, timeout_s=60)
            await wait_readyz(run.url("/readyz"), 200, timeout_s=20)
            await wait_dependency_up(run.url("/metrics"), "redis", run.processes)

    assert total(samples, "collectpulse_events_received_total") == published
    ground_truth_holds(samples, truth)
    one_change_each_way(worker_log, "redis")
    one_change_each_way(exporter_log, "redis")


async def test_kafka_stopped_mid_stream(servers: Servers, tmp_path: Path) -> None:
    settings = isolated(servers, tmp_path)
    stream, truth = ground_truth_stream(time.time())
    before, after = slices(stream, 2)
    published = sum(len(r) for r in stream.values())
    worker_log, exporter_log = tmp_path / "worker.log", tmp_path / "exporter.log"

    async with asyncio.timeout(150):
        async with ready_pipeline(settings, tmp_path) as run:
            at_stop = await publish_then_stop(settings, before, servers.stop_kafka)

            reason = await wait_readyz(run.url("/readyz"), 503, contains="kafka", timeout_s=20)
            assert "kafka: unreachable" in reason
            # the worker's own probe reaches the exporter through its heartbeat (in Redis)
            await wait_readyz(run.url("/readyz"), 503, contains="kafka unavailable", timeout_s=20)
            samples = await wait_for(
                run.url("/metrics"), bool, timeout_s=10, processes=[run.exporter]
            )
            assert value(samples, "collectpulse_dependency_up", dependency="kafka") == 0
            died = "the worker died during the Kafka outage"
            await wait_logged(run.worker, worker_log, "dependency kafka down", died=died)
            # the batches fetched before the stop are applied; none is lost or doubled
            client = Redis.from_url(settings.redis_url.get_secret_value())
            during = await applied_so_far(client, settings)
            await client.aclose()

            await asyncio.to_thread(servers.start_kafka)
            await publish_all(settings, after)
            samples = await settled(run.url("/metrics"), published, run.processes, timeout_s=60)
            await wait_readyz(run.url("/readyz"), 200, timeout_s=30)
            await wait_dependency_up(run.url("/metrics"), "kafka", run.processes)

    assert at_stop <= during <= sum(len(r) for r in before.values())
    assert total(samples, "collectpulse_events_received_total") == published
    ground_truth_holds(samples, truth)
    one_change_each_way(worker_log, "kafka")
    one_change_each_way(exporter_log, "kafka")
    # aiokafka's retry lines pass once a minute (without that: 33,036 lines in one run)
    assert len(worker_log.read_text(errors="replace").splitlines()) < 150


async def test_a_worker_started_while_redis_is_down_waits_for_it(
    servers: Servers, tmp_path: Path
) -> None:
    """Where each partition resumes is read from Redis when it is assigned: before, that
    read raised in Faust's assignment callback and crashed the worker."""
    settings = isolated(servers, tmp_path)
    stream, truth = ground_truth_stream(time.time())
    published = sum(len(r) for r in stream.values())
    worker_log = tmp_path / "worker.log"

    async with asyncio.timeout(120):
        await create_topics(settings)
        await publish_all(settings, stream)
        await asyncio.to_thread(servers.stop_redis)
        with run_pipeline(settings, tmp_path, **GROUP_ENV) as run:
            await wait_group_stable(settings, run.worker)
            # the assignment callback now waits on Redis (it crashed the worker before)
            died = "the worker died while Redis was down"
            await wait_logged(run.worker, worker_log, "dependency redis down", died=died)
            await wait_readyz(run.url("/readyz"), 503, contains="redis: unreachable", timeout_s=20)
            await asyncio.sleep(2)  # room for a crash to show; settled() fails if it did
            assert run.worker.poll() is None, died
            await asyncio.to_thread(servers.start_redis)
            samples = await settled(run.url("/metrics"), published, run.processes, timeout_s=60)
            await wait_readyz(run.url("/readyz"), 200, timeout_s=20)

    assert total(samples, "collectpulse_events_received_total") == published
    ground_truth_holds(samples, truth)
    one_change_each_way(worker_log, "redis")
