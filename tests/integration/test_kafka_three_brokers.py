"""kill -9 of one broker of a three-broker Kafka mid-stream loses and doubles nothing.

The project's own three-node KRaft cluster (``collectpulse local start
--kafka-brokers 3``: replication factor 3, ``min.insync.replicas`` 2) carries
the seeded log of tests/order/log.py, published at a steady pace with
``acks=all`` to a worker and an exporter. Once the store holds a quarter of it,
the broker that coordinates the worker's consumer group (so its partition
leaderships, the group and the committed offsets all move) is killed with
SIGKILL. Publishing goes on against the two left; after the drain every sample
of /metrics equals what tests/order/oracle.py computes from the log.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaClient
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.client import CoordinationType
from redis.asyncio import Redis

from collectpulse.kafka.connection import kafka_options
from collectpulse.kafka.topics import topic_status, worker_topics
from collectpulse.localstack import kafka_cluster, stack
from collectpulse.localstack.kafka import LocalStackError
from collectpulse.localstack.processes import port_in_use, read_pid
from collectpulse.localstack.settings import LocalStackSettings
from collectpulse.settings import Settings
from collectpulse.stream.app import prepare_topics
from tests.integration.test_worker_kill import applied_so_far
from tests.order.log import generate
from tests.order.oracle import expected
from tests.order.run import (
    WINDOWS,
    as_published,
    comparable,
    differences_from,
    order_event_time,
    run_order,
    run_settings,
)
from tests.support.local_stack import own_stack_settings

pytestmark = pytest.mark.integration

SEED = 20261218
RATE_PER_S = 150.0
"""About 18 s of publishing for the 2,667 records: the kill falls well inside it."""


def free_port_block() -> int:
    """A base port with ``base + 10 n`` and ``base + 1 + 10 n`` (n = 0..2) all free."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20_000, 32_000)
        wanted = [base + step * kafka_cluster.PORT_STRIDE + i for step in range(3) for i in (0, 1)]
        if not any(port_in_use(port) for port in wanted):
            return base
    raise RuntimeError("no free block of Kafka cluster ports")


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[LocalStackSettings, str, str]]:
    """The project's three-broker Kafka and a Redis of this module's own.

    Free ports are only known free when probed: another process may bind one of the
    six before the brokers do. Start-up then fails with the port named, and only that
    failure gets a new block (any other start-up failure fails the test).
    """
    for attempt in range(3):
        base = free_port_block()
        with own_stack_settings(
            "test-kafka3-", kafka_brokers=3, kafka_port=base, kafka_controller_port=base + 1
        ) as cfg:
            try:
                try:
                    bootstrap, redis_url = stack.start(cfg)
                except LocalStackError as exc:
                    if attempt < 2 and "in use" in str(exc):
                        continue
                    raise
                yield cfg, bootstrap, redis_url
                return
            finally:
                stack.stop(cfg)
    raise AssertionError("unreachable: the last attempt raises or yields")


async def coordinator_node(settings: Settings) -> int:
    client = AIOKafkaClient(**kafka_options(settings))
    await client.bootstrap()
    try:
        node: int = await client.coordinator_lookup(CoordinationType.GROUP, settings.consumer_group)
        return node
    finally:
        await client.close()


async def replicas_of_worker_topics(settings: Settings, timeout_s: float = 30.0) -> set[int]:
    """Replica counts of the worker's topics once every broker's metadata lists them all
    (a broker learns of a new topic a moment after the controller made it)."""
    admin = AIOKafkaAdminClient(**kafka_options(settings))
    await admin.start()
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            replicas = {s.replicas for s in await topic_status(admin, worker_topics(settings))}
            if 0 not in replicas or time.monotonic() > deadline:
                return replicas
            await asyncio.sleep(0.2)
    finally:
        await admin.close()


async def kill_coordinator_mid_stream(
    cfg: LocalStackSettings, settings: Settings, client: Redis, published: int
) -> tuple[int, int]:
    """Once a quarter of the log is applied, SIGKILL the group's coordinator; return its
    node id and how many events the store held at the kill."""
    deadline = time.monotonic() + 120
    while await applied_so_far(client, settings) < published // 4:
        assert time.monotonic() < deadline, "the worker applied no quarter of the log in 120 s"
        await asyncio.sleep(0.05)
    node = await coordinator_node(settings)
    pid = kafka_cluster.status(cfg)[node]
    assert pid is not None, f"the coordinator, node {node}, does not run"
    os.killpg(pid, signal.SIGKILL)
    return node, await applied_so_far(client, settings)


async def test_a_broker_killed_mid_stream_loses_and_doubles_nothing(
    cluster: tuple[LocalStackSettings, str, str], tmp_path: Path
) -> None:
    cfg, bootstrap, redis_url = cluster
    log = generate(SEED, base_s=int(time.time()) - 60)
    records = as_published(order_event_time(log))
    settings = run_settings(bootstrap, redis_url, tmp_path / "worker")
    # the worker's own topic creation: replication min(3, brokers)
    assert await prepare_topics(settings) is None
    assert await replicas_of_worker_topics(settings) == {3}

    client = Redis.from_url(redis_url)
    try:
        async with asyncio.timeout(240):
            run = asyncio.create_task(
                run_order(settings, records, tmp_path / "run", rate_per_s=RATE_PER_S)
            )
            killed, at_kill = await kill_coordinator_mid_stream(cfg, settings, client, len(records))
            samples = await run
    finally:
        await client.aclose()

    assert 0 < at_kill < len(records), f"the kill must cut the stream: {at_kill}/{len(records)}"
    node = next(n for n in kafka_cluster.nodes(cfg) if n.node_id == killed)
    assert read_pid(node.pid_file) is None, "the killed broker came back"
    assert await kafka_cluster.live_brokers(bootstrap) == 2
    wrong = differences_from(expected(log, WINDOWS), comparable(samples))
    assert not wrong, f"{len(wrong)} samples differ from the oracle:\n" + "\n".join(wrong[:60])
