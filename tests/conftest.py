"""Session fixtures: the real Kafka and Redis, started by the project's own code.

When COLLECTPULSE_KAFKA_BOOTSTRAP_SERVERS / COLLECTPULSE_REDIS_URL are set, the
servers they name are used; otherwise the local stack is started (and stopped
at the end if this session started it). A server that cannot be reached fails
the tests that need it; nothing is skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from collectpulse.localstack import kafka, stack
from collectpulse.localstack import redis as local_redis
from collectpulse.settings import Settings
from tests.support.local_stack import own_stack_settings
from tests.support.redis_cluster import Cluster, session_cluster


@pytest.fixture(scope="session")
def local_stack() -> Iterator[tuple[str, str]]:
    bootstrap = os.environ.get("COLLECTPULSE_KAFKA_BOOTSTRAP_SERVERS")
    redis_url = os.environ.get("COLLECTPULSE_REDIS_URL")
    if bootstrap and redis_url:
        yield bootstrap, redis_url
        return
    # A fresh stack per session on free ports and its own data dir.
    with own_stack_settings("test-stack-") as cfg:
        try:
            started = stack.start(cfg)
            version = kafka.kafka_version(kafka.paths(cfg))
            print(f"\nlocal stack: kafka {version} at {started[0]}, redis at {started[1]}")
            yield started
        finally:
            # its data dir is deleted next: a clean shutdown (Kafka flushing the thousands
            # of partitions a session made) would only write what nobody reads again
            kafka.stop_kafka(cfg, timeout_s=0.0)
            local_redis.stop_redis(cfg, timeout_s=0.0)


@pytest.fixture
def settings(local_stack: tuple[str, str], tmp_path: Path) -> Settings:
    """Settings isolated per test: own topics, Redis key prefix, group and data dir."""
    run = uuid.uuid4().hex[:10]
    return Settings(
        kafka_bootstrap_servers=local_stack[0],
        redis_url=local_stack[1],  # type: ignore[arg-type]
        topic_prefix=f"t{run}.",
        key_prefix=f"t{run}",
        consumer_group=f"collectpulse-test-{run}",
        data_dir=tmp_path / "worker",
        topic_partitions=4,
    )


@pytest.fixture
async def redis_client(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url.get_secret_value())
    await client.ping()
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[Cluster]:
    """A real Redis Cluster (3 masters + 3 replicas) for this session, started on first use."""
    with session_cluster() as cluster:
        print(f"\nredis cluster at {cluster.url}")
        yield cluster
