"""The topic plan, replication factor and creation errors, over a fake admin client."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from collectpulse.events.providers import PROVIDERS
from collectpulse.kafka.errors import KafkaSetupError, TopicLayoutError
from collectpulse.kafka.topic_command import describe
from collectpulse.kafka.topics import (
    COMPACTED,
    TopicCreationRefusedError,
    TopicSpec,
    TopicStatus,
    create_missing,
    replication_factor,
    worker_topics,
)
from collectpulse.settings import Settings
from collectpulse.stream.normalise import raw_topic

SETTINGS = Settings(topic_prefix="x.", topic_partitions=6, consumer_group="g")


class _Response:
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self._errors = errors

    def to_object(self) -> dict[str, Any]:
        return {"topic_errors": self._errors}


class FakeAdmin:
    """aiokafka's admin calls that topic set-up makes, over a dict name -> partitions;
    ``refuse`` maps a name to the error code its creation gets."""

    def __init__(
        self, topics: dict[str, int], brokers: int = 1, refuse: dict[str, int] | None = None
    ) -> None:
        self.topics = dict(topics)
        self.brokers = brokers
        self.refuse = refuse or {}
        self.created: list[tuple[str, int, int]] = []
        self.configs: dict[str, dict[str, str]] = {}

    async def list_topics(self) -> list[str]:
        return list(self.topics)

    async def describe_topics(self, names: list[str]) -> list[dict[str, Any]]:
        return [
            {
                "topic": name,
                "error_code": 0,
                "partitions": [
                    {"partition": p, "leader": 1, "replicas": [1]} for p in range(self.topics[name])
                ],
            }
            for name in names
            if name in self.topics
        ]

    async def describe_cluster(self) -> dict[str, Any]:
        return {"brokers": [{"node_id": n} for n in range(self.brokers)]}

    async def create_topics(self, new_topics: list[Any], timeout_ms: int) -> _Response:
        errors = []
        for topic in new_topics:
            code = self.refuse.get(topic.name, 0)
            if not code:
                self.topics[topic.name] = topic.num_partitions
                self.created.append((topic.name, topic.num_partitions, topic.replication_factor))
                self.configs[topic.name] = dict(topic.topic_configs)
            errors.append({"topic": topic.name, "error_code": code, "error_message": None})
        return _Response(errors)


def test_the_worker_topics_are_the_canonical_ones_dlq_touch_raw_and_faust_leader() -> None:
    specs = {spec.name: spec for spec in worker_topics(SETTINGS)}
    co_partitioned = {name for name, spec in specs.items() if spec.co_partitioned}
    assert co_partitioned == {
        "x.delivery", "x.bounce", "x.open", "x.click", "x.pageview", "x.payment", "x.promise",
        "x.account", "x.contact", "x.dlq", "x.customer-touch",
    }  # fmt: skip
    # the roster, targets and experiment settings are compacted (latest value per key),
    # never joined, any partition count
    compacted = {name for name, spec in specs.items() if spec.config == COMPACTED}
    assert compacted == {"x.agent", "x.target", "x.experiment"}
    assert not any(specs[name].co_partitioned for name in compacted)
    # costs are not compacted: a correction is the latest occurred_at, not the last offset
    assert specs["x.cost"].config == () and not specs["x.cost"].co_partitioned
    # the very names the normaliser agents subscribe to
    assert {raw_topic(SETTINGS, p) for p in PROVIDERS} <= specs.keys()
    assert all(specs[raw_topic(SETTINGS, p)].partitions == 6 for p in PROVIDERS)
    assert specs["g-__assignor-__leader"].partitions == 1
    assert len(specs) == 11 + len(PROVIDERS) + 4 + 1


async def test_the_reference_topics_are_created_compacted() -> None:
    admin = FakeAdmin({}, brokers=1)
    await create_missing(admin, SETTINGS, worker_topics(SETTINGS))
    compacted = {name for name, c in admin.configs.items() if c == {"cleanup.policy": "compact"}}
    assert compacted == {"x.agent", "x.target", "x.experiment"}
    assert admin.configs["x.contact"] == {}
    assert admin.configs["x.cost"] == {}


def test_replication_is_min_3_brokers_unless_set_and_never_more_than_the_brokers() -> None:
    assert [replication_factor(SETTINGS, n) for n in (1, 2, 3, 5)] == [1, 2, 3, 3]
    two = SETTINGS.model_copy(update={"topic_replication_factor": 2})
    assert replication_factor(two, 5) == 2
    with pytest.raises(KafkaSetupError, match=r"REPLICATION_FACTOR=2 but .* 1 broker"):
        replication_factor(two, 1)


@pytest.mark.parametrize(
    ("field", "bad"), [("topic_replication_factor", 0), ("kafka_metadata_max_age_ms", 10)]
)
def test_the_new_settings_refuse_out_of_range_values(field: str, bad: int) -> None:
    with pytest.raises(ValidationError, match=field):
        Settings(**{field: bad})  # type: ignore[arg-type]


async def test_only_missing_topics_are_created_and_a_raw_topic_may_differ() -> None:
    specs = worker_topics(SETTINGS)
    admin = FakeAdmin({"x.delivery": 6, "x.raw.ses": 2}, brokers=3)
    created = await create_missing(admin, SETTINGS, specs)
    assert admin.configs["x.experiment"] == {"cleanup.policy": "compact"}
    assert admin.configs["x.payment"] == {}
    assert "x.delivery" not in created and "x.raw.ses" not in created
    assert len(created) == len(specs) - 2
    assert {replicas for _, _, replicas in admin.created} == {3}
    assert await create_missing(admin, SETTINGS, specs) == ()


async def test_a_co_partitioned_topic_with_another_count_stops_set_up() -> None:
    admin = FakeAdmin({"x.customer-touch": 3, "x.dlq": 2})
    with pytest.raises(TopicLayoutError, match=r"but x\.dlq has 2, x\.customer-touch has 3;"):
        await create_missing(admin, SETTINGS, worker_topics(SETTINGS))
    assert admin.created == []


async def test_refused_creation_names_the_topics_and_the_command() -> None:
    admin = FakeAdmin({}, refuse={"x.open": 29, "g-__assignor-__leader": 29})
    with pytest.raises(TopicCreationRefusedError) as refused:
        await create_missing(admin, SETTINGS, worker_topics(SETTINGS))
    message = str(refused.value)
    assert "g-__assignor-__leader, x.open (authorization failed)" in message
    assert "collectpulse topics create" in message


async def test_a_refused_replication_factor_names_the_setting() -> None:
    admin = FakeAdmin({}, refuse={"x.open": 38})
    with pytest.raises(KafkaSetupError, match="COLLECTPULSE_TOPIC_REPLICATION_FACTOR"):
        await create_missing(admin, SETTINGS, worker_topics(SETTINGS))


def test_describe_says_per_topic_what_happened() -> None:
    statuses = [
        TopicStatus(TopicSpec("x.open", 6, True), 6, 3),
        TopicStatus(TopicSpec("x.click", 6, True), 2, 1),
        TopicStatus(TopicSpec("x.raw.ses", 6, False), 0, 0),
        TopicStatus(TopicSpec("x.raw.twilio", 6, False), 6, 1),
    ]
    lines = describe(statuses, created=("x.raw.twilio",))
    assert [line.split()[-1] for line in lines] == ["exists", "6)", "missing", "created"]
    assert "partitions=2 replicas=1" in lines[1] and "wrong partitions (want 6)" in lines[1]
