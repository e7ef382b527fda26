"""``collectpulse topics create|check``: the worker's topics, made or inspected by an operator.

``create`` makes exactly what a starting worker makes (``topics.worker_topics``),
so a worker whose Kafka user may not create topics finds them all in place.
``check`` changes nothing: it lists each topic with its partitions and replicas
and exits 1 when one is missing or not co-partitioned.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Literal, TextIO, TypeVar

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from collectpulse.kafka.connection import kafka_options
from collectpulse.kafka.errors import KafkaSetupError
from collectpulse.kafka.topics import TopicStatus, create_missing, topic_status, worker_topics
from collectpulse.settings import Settings

CLIENT_ID = "collectpulse-topics"
SETUP_FAILED, NOT_READY = 2, 1
T = TypeVar("T")
Action = Literal["create", "check"]


def run_topics(
    settings: Settings, action: Action, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    """Run one action; 0 when every topic is in place, 1 when ``check`` finds one that is
    not, 2 when Kafka cannot be used (the reason on ``err``)."""
    try:
        statuses, created = asyncio.run(_run(settings, action))
    except KafkaSetupError as exc:
        print(f"collectpulse topics {action}: {exc}", file=err)
        return SETUP_FAILED
    for line in describe(statuses, created):
        print(line, file=out)
    bad = [s for s in statuses if s.state != "ok"]
    return NOT_READY if bad else 0


def describe(statuses: list[TopicStatus], created: tuple[str, ...] = ()) -> list[str]:
    """One line per topic: what happened or what is wrong, partitions, replicas."""
    width = max((len(s.spec.name) for s in statuses), default=0)
    lines = []
    for status in statuses:
        spec = status.spec
        if spec.name in created:
            state = "created"
        elif status.state == "wrong_partitions":
            state = f"wrong partitions (want {spec.partitions})"
        else:
            state = "exists" if status.state == "ok" else status.state
        counts = f"partitions={status.partitions} replicas={status.replicas}"
        lines.append(f"{spec.name:<{width}}  {counts:<26}  {state}")
    return lines


async def _run(settings: Settings, action: Action) -> tuple[list[TopicStatus], tuple[str, ...]]:
    specs = worker_topics(settings)

    async def work(admin: AIOKafkaAdminClient) -> tuple[list[TopicStatus], tuple[str, ...]]:
        created: tuple[str, ...] = ()
        if action == "create":
            created = await create_missing(admin, settings, specs)
        return await topic_status(admin, specs), created

    return await with_admin(settings, work)


async def with_admin(settings: Settings, work: Callable[[AIOKafkaAdminClient], Awaitable[T]]) -> T:
    """Run ``work`` with an admin client; an unreachable or failing broker becomes a
    ``KafkaSetupError`` naming the servers and the setting."""
    admin = AIOKafkaAdminClient(**kafka_options(settings), client_id=CLIENT_ID)
    servers = settings.kafka_bootstrap_servers
    try:
        await admin.start()
        return await work(admin)
    except (KafkaError, OSError) as exc:
        raise KafkaSetupError(
            f"Kafka at {servers} (COLLECTPULSE_KAFKA_BOOTSTRAP_SERVERS) failed: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    finally:
        await admin.close()
