"""Create the canonical topics and the dead-letter topic, co-partitioned, if missing.

Joins need every event of a message on the same partition number of each
topic, so all topics get `settings.topic_partitions` partitions; an existing
topic with another count is an error to fix by hand, never altered silently.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import for_code

from collectpulse.events.models import Topic
from collectpulse.kafka.errors import BrokerUnavailableError, TopicLayoutError
from collectpulse.settings import Settings

DLQ = "dlq"
TOPIC_NAMES: tuple[str, ...] = (*(topic.value for topic in Topic), DLQ)
_TOPIC_ALREADY_EXISTS = 36
_MAX_REPLICATION = 3


async def ensure_topics(
    admin: AIOKafkaAdminClient,
    settings: Settings,
    *,
    timeout_s: float = 30.0,
    extra: tuple[str, ...] = (),
) -> tuple[str, ...]:
    """Create the missing topics, wait until they have leaders; return the names created.

    ``extra`` names further co-partitioned topics (without prefix), e.g. the
    worker's ``customer-touch`` repartition topic.
    """
    names = [settings.topic(name) for name in (*TOPIC_NAMES, *extra)]
    existing = set(await admin.list_topics())
    present = [name for name in names if name in existing]
    if present:
        _check_partitions(await admin.describe_topics(present), settings.topic_partitions)
    missing = [name for name in names if name not in existing]
    if not missing:
        return ()
    brokers = (await admin.describe_cluster())["brokers"]
    replication = min(_MAX_REPLICATION, len(brokers))
    response = await admin.create_topics(
        [NewTopic(name, settings.topic_partitions, replication) for name in missing],
        timeout_ms=int(timeout_s * 1000),
    )
    for result in response.to_object()["topic_errors"]:
        code = result["error_code"]
        if code not in (0, _TOPIC_ALREADY_EXISTS):
            error = for_code(code).__name__
            raise BrokerUnavailableError(
                f"could not create topic {result['topic']}: {error} {result['error_message'] or ''}"
            )
    await _wait_for_leaders(admin, missing, settings.topic_partitions, timeout_s)
    return tuple(missing)


def _check_partitions(described: list[dict[str, Any]], expected: int) -> None:
    wrong = {
        topic["topic"]: len(topic["partitions"])
        for topic in described
        if len(topic["partitions"]) != expected
    }
    if wrong:
        found = ", ".join(f"{name} has {count}" for name, count in sorted(wrong.items()))
        raise TopicLayoutError(
            f"topics must be co-partitioned with COLLECTPULSE_TOPIC_PARTITIONS={expected} "
            f"partitions, but {found}; recreate them or change the setting"
        )


async def _wait_for_leaders(
    admin: AIOKafkaAdminClient, names: list[str], partitions: int, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        described = await admin.describe_topics(names)
        # Another producer may have won the race to create a topic, differently.
        _check_partitions([topic for topic in described if topic["partitions"]], partitions)
        if all(_is_ready(topic, partitions) for topic in described):
            return
        if time.monotonic() > deadline:
            raise BrokerUnavailableError(f"topics {names} have no leaders after {timeout_s} s")
        await asyncio.sleep(0.2)


def _is_ready(topic: dict[str, Any], partitions: int) -> bool:
    return (
        topic["error_code"] == 0
        and len(topic["partitions"]) == partitions
        and all(partition["leader"] >= 0 for partition in topic["partitions"])
    )


__all__ = ["DLQ", "TOPIC_NAMES", "ensure_topics"]
