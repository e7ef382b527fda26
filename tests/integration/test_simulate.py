"""The simulator against the real broker: topics, exact counts, pacing, stopping, failing.

The broker is the session's real one (tests/conftest.py: started by the
project, or named by `COLLECTPULSE_KAFKA_BOOTSTRAP_SERVERS`); each test has its
own topic prefix. A broker that cannot be reached fails these tests.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from collectpulse.events.decode import Invalid, decode
from collectpulse.events.keys import partition_key
from collectpulse.events.models import Topic
from collectpulse.settings import Settings
from collectpulse.simulate import (
    DEFAULT_SCENARIO,
    TOPIC_NAMES,
    BrokerUnavailableError,
    PublishReport,
    TopicLayoutError,
    publish,
)
from collectpulse.simulate.cli import add_arguments, run_simulate

pytestmark = pytest.mark.integration

WAIT_S = 60.0
PARTITIONS = 3


@pytest.fixture
async def sim_settings(local_stack: tuple[str, str]) -> AsyncIterator[Settings]:
    settings = Settings(
        kafka_bootstrap_servers=local_stack[0],
        topic_prefix=f"sim-{uuid.uuid4().hex[:10]}.",
        topic_partitions=PARTITIONS,
    )
    yield settings
    await _delete_topics(settings)


async def _delete_topics(settings: Settings) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await asyncio.wait_for(admin.start(), WAIT_S)
    try:
        ours = [name for name in await admin.list_topics() if name.startswith(settings.topic(""))]
        if ours:
            await admin.delete_topics(ours)
    finally:
        await admin.close()


@pytest.fixture
async def admin(sim_settings: Settings) -> AsyncIterator[AIOKafkaAdminClient]:
    client = AIOKafkaAdminClient(bootstrap_servers=sim_settings.kafka_bootstrap_servers)
    await asyncio.wait_for(client.start(), WAIT_S)
    yield client
    await client.close()


async def _end_offsets(settings: Settings) -> dict[str, int]:
    """Records per canonical topic name (and `dlq`), from the partitions' end offsets."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers)
    await asyncio.wait_for(consumer.start(), WAIT_S)
    try:
        partitions = [
            TopicPartition(settings.topic(name), p)
            for name in TOPIC_NAMES
            for p in range(PARTITIONS)
        ]
        ends = await asyncio.wait_for(consumer.end_offsets(partitions), WAIT_S)
    finally:
        await consumer.stop()
    counts: Counter[str] = Counter()
    for partition, offset in ends.items():
        counts[partition.topic.removeprefix(settings.topic(""))] += offset
    return dict(counts)


async def _until_listed(admin: AIOKafkaAdminClient, name: str) -> None:
    for _ in range(int(WAIT_S / 0.1)):
        if name in await admin.list_topics():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"topic {name} is not listed after {WAIT_S} s")


def _as_names(report: PublishReport) -> dict[str, int]:
    return {name: report.records.get(Topic(name), 0) for name in TOPIC_NAMES if name != "dlq"}


async def _consume_all(settings: Settings, expected: int) -> list[tuple[Topic, bytes, bytes]]:
    """Read every record of the canonical topics, up to `expected` and then a little longer."""
    topics = [settings.topic(topic.value) for topic in Topic]
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await asyncio.wait_for(consumer.start(), WAIT_S)
    records: list[tuple[Topic, bytes, bytes]] = []
    try:
        async with asyncio.timeout(WAIT_S):
            while len(records) < expected:
                batches = await consumer.getmany(timeout_ms=500)
                for partition, batch in batches.items():
                    topic = Topic(partition.topic.removeprefix(settings.topic("")))
                    records.extend((topic, r.key, r.value) for r in batch)
        # Anything beyond what publish reported would show up now.
        extra = await consumer.getmany(timeout_ms=1000)
        records.extend((Topic.DELIVERY, b"", b"") for batch in extra.values() for _ in batch)
    finally:
        await consumer.stop()
    return records


async def test_every_published_record_arrives_with_its_key_and_nothing_else(
    sim_settings: Settings, admin: AIOKafkaAdminClient
) -> None:
    scenario = replace(DEFAULT_SCENARIO, duplicate_rate=0.02, delay_scale=0.01)
    report = await asyncio.wait_for(
        publish(
            sim_settings,
            rate_per_s=5000,
            total=3000,
            duration_s=None,
            seed=21,
            scenario=scenario,
            poison_rate=0.02,
        ),
        WAIT_S,
    )
    assert report.total == 3000
    assert sum(report.poison.values()) > 0

    records = await _consume_all(sim_settings, report.total)
    assert len(records) == report.total
    assert Counter(topic for topic, _, _ in records) == Counter(report.records)
    invalid: Counter[Topic] = Counter()
    for topic, key, value in records:
        event = decode(topic, value, max_bytes=sim_settings.max_event_bytes)
        if isinstance(event, Invalid):
            invalid[topic] += 1
        else:
            assert key == partition_key(event)
    assert invalid == Counter(report.poison)


async def test_topics_are_created_co_partitioned_with_a_dead_letter_topic(
    sim_settings: Settings, admin: AIOKafkaAdminClient
) -> None:
    report = await asyncio.wait_for(
        publish(sim_settings, rate_per_s=1000, total=100, duration_s=None, seed=3), WAIT_S
    )
    names = [sim_settings.topic(name) for name in TOPIC_NAMES]
    assert sorted(report.created_topics) == sorted(names)
    described = await admin.describe_topics(names)
    assert {topic["topic"]: len(topic["partitions"]) for topic in described} == dict.fromkeys(
        names, PARTITIONS
    )
    offsets = await _end_offsets(sim_settings)
    assert offsets.pop("dlq") == 0
    assert offsets == _as_names(report)


async def test_topics_that_are_not_co_partitioned_stop_publishing_before_it_starts(
    sim_settings: Settings, admin: AIOKafkaAdminClient
) -> None:
    await admin.create_topics([NewTopic(sim_settings.topic("open"), PARTITIONS + 1, 1)])
    await _until_listed(admin, sim_settings.topic("open"))
    with pytest.raises(TopicLayoutError, match="open has 4"):
        await asyncio.wait_for(
            publish(sim_settings, rate_per_s=100, total=10, duration_s=None, seed=1), WAIT_S
        )
    assert sim_settings.topic("delivery") not in await admin.list_topics()


async def test_publishing_holds_the_rate_for_the_duration(sim_settings: Settings) -> None:
    report = await asyncio.wait_for(
        publish(sim_settings, rate_per_s=500, total=None, duration_s=2.0, seed=4), WAIT_S
    )
    # Pacing itself is unit-tested with a fake clock (test_simulate_pacing.py). Here:
    # the duration is honoured, the rate is never exceeded, and what the report
    # counts is exactly what the broker holds. A loaded machine may publish fewer.
    assert report.elapsed_s >= 1.9
    assert 0 < report.total <= 500 * report.elapsed_s * 1.1
    assert _as_names(report) == {
        k: v for k, v in (await _end_offsets(sim_settings)).items() if k != "dlq"
    }


async def test_a_stop_request_ends_publishing_with_exact_counts(sim_settings: Settings) -> None:
    stop = asyncio.Event()
    progress: list[PublishReport] = []

    def on_progress(report: PublishReport) -> None:
        progress.append(report)
        stop.set()

    report = await asyncio.wait_for(
        publish(
            sim_settings,
            rate_per_s=400,
            total=None,
            duration_s=None,
            seed=5,
            stop=stop,
            on_progress=on_progress,
            progress_every_s=0.5,
        ),
        WAIT_S,
    )
    assert progress and report.total >= progress[0].total > 0
    offsets = await _end_offsets(sim_settings)
    assert offsets.pop("dlq") == 0
    assert offsets == _as_names(report)


async def test_cancelling_flushes_what_was_sent_and_propagates(sim_settings: Settings) -> None:
    progress: list[PublishReport] = []
    reported = asyncio.Event()

    def on_progress(report: PublishReport) -> None:
        progress.append(report)
        reported.set()

    task = asyncio.create_task(
        publish(
            sim_settings,
            rate_per_s=400,
            total=None,
            duration_s=None,
            seed=6,
            on_progress=on_progress,
            progress_every_s=0.3,
        )
    )
    waiting = asyncio.ensure_future(reported.wait())
    done, _ = await asyncio.wait({task, waiting}, timeout=WAIT_S, return_when="FIRST_COMPLETED")
    waiting.cancel()
    assert waiting in done, task.exception() if task in done else "no progress in time"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, WAIT_S)
    offsets = await _end_offsets(sim_settings)
    assert sum(offsets.values()) >= progress[-1].total > 0


async def test_an_unreachable_broker_fails_fast_with_the_setting_named() -> None:
    settings = Settings(kafka_bootstrap_servers="127.0.0.1:9", topic_prefix="unreachable.")
    with pytest.raises(BrokerUnavailableError, match="COLLECTPULSE_KAFKA_BOOTSTRAP_SERVERS"):
        await asyncio.wait_for(
            publish(settings, rate_per_s=10, total=1, duration_s=None, seed=1), WAIT_S
        )


def test_the_command_publishes_the_total_and_prints_a_summary(sim_settings: Settings) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--rate", "1000", "--total", "250", "--seed", "8", "--poison", "0.1"])
    out = io.StringIO()
    assert run_simulate(sim_settings, args, out=out) == 0
    assert "simulate: done: 250 records" in out.getvalue()
    assert sum(asyncio.run(_end_offsets(sim_settings)).values()) == 250
