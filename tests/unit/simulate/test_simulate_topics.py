"""Topic set-up creates the missing topics co-partitioned and refuses a mismatched layout."""

from __future__ import annotations

from typing import Any

import pytest

from collectpulse.events.models import Topic
from collectpulse.settings import Settings
from collectpulse.simulate import TOPIC_NAMES, TopicLayoutError, ensure_topics


class _Response:
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self._errors = errors

    def to_object(self) -> dict[str, Any]:
        return {"topic_errors": self._errors}


class FakeAdmin:
    """The part of aiokafka's admin client that topic set-up uses, over a dict of topics."""

    def __init__(self, topics: dict[str, int], brokers: int = 1) -> None:
        self.topics = dict(topics)
        self.brokers = brokers
        self.created: list[tuple[str, int, int]] = []

    async def list_topics(self) -> list[str]:
        return list(self.topics)

    async def describe_topics(self, names: list[str]) -> list[dict[str, Any]]:
        return [
            {
                "topic": name,
                "error_code": 0,
                "partitions": [{"partition": p, "leader": 1} for p in range(self.topics[name])],
            }
            for name in names
        ]

    async def describe_cluster(self) -> dict[str, Any]:
        return {"brokers": [{"node_id": n} for n in range(self.brokers)]}

    async def create_topics(self, new_topics: list[Any], timeout_ms: int) -> _Response:
        for topic in new_topics:
            self.topics[topic.name] = topic.num_partitions
            self.created.append((topic.name, topic.num_partitions, topic.replication_factor))
        return _Response([{"topic": t.name, "error_code": 0} for t in new_topics])


SETTINGS = Settings(topic_prefix="x.", topic_partitions=6)


async def test_all_canonical_topics_and_the_dlq_are_created_with_the_same_partitions() -> None:
    admin = FakeAdmin({}, brokers=5)
    created = await ensure_topics(admin, SETTINGS)
    assert set(created) == {f"x.{name}" for name in TOPIC_NAMES}
    assert "x.dlq" in created and len(created) == len(Topic) + 1
    assert {(partitions, replicas) for _, partitions, replicas in admin.created} == {(6, 3)}


async def test_only_missing_topics_are_created() -> None:
    admin = FakeAdmin({"x.delivery": 6, "x.open": 6})
    created = await ensure_topics(admin, SETTINGS)
    assert "x.delivery" not in created and len(created) == len(Topic) - 1
    assert await ensure_topics(admin, SETTINGS) == ()


async def test_an_existing_topic_with_other_partitions_stops_set_up() -> None:
    admin = FakeAdmin({"x.delivery": 6, "x.open": 2})
    with pytest.raises(TopicLayoutError, match=r"TOPIC_PARTITIONS=6.*x\.open has 2"):
        await ensure_topics(admin, SETTINGS)
    assert admin.created == []
