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

from collectpulse.localstack import kafka, redis, stack
from collectpulse.settings import LocalStackSettings, Settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def local_stack() -> Iterator[tuple[str, str]]:
    bootstrap = os.environ.get("COLLECTPULSE_KAFKA_BOOTSTRAP_SERVERS")
    redis_url = os.environ.get("COLLECTPULSE_REDIS_URL")
    if bootstrap and redis_url:
        yield bootstrap, redis_url
        return
    # Own ports and data dir, so a developer's `make run` stack is left alone.
    cfg = LocalStackSettings(
        root=ROOT,
        state_dir=Path(".local/test-stack"),
        kafka_port=29092,
        kafka_controller_port=29093,
        redis_port=26379,
    )
    was_running = kafka.status(cfg) is not None and redis.status(cfg) is not None
    started = stack.start(cfg)
    version = kafka.kafka_version(kafka.paths(cfg))
    print(f"\nlocal stack: kafka {version} at {started[0]}, redis at {started[1]}")
    yield started
    if not was_running:
        stack.stop(cfg)


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
