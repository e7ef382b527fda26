"""Topics on the real Kafka: what a worker and ``collectpulse topics`` create, and a topic
(re)created while the worker runs, consumed within seconds."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

from collectpulse.events.models import Topic
from collectpulse.kafka.connection import kafka_options
from collectpulse.kafka.topics import TopicSpec, create_missing, topic_status, worker_topics
from collectpulse.settings import Settings
from tests.support.events import sent
from tests.support.kafka import publish
from tests.support.metrics import total, wait_for
from tests.support.pipeline import run_pipeline
from tests.support.processes import collectpulse_process, free_port, settings_env
from tests.unit.providers.provider_samples import twilio_form

pytestmark = pytest.mark.integration

CREATED_TIMEOUT_S = 60.0
"""A starting worker (a Python process importing Faust) has created its topics by then."""
NEW_TOPIC_DEADLINE_S = 15.0
"""A topic (re)created while the worker runs: its first event is counted within this
(metadata age 3 s, then one rebalance of one worker)."""
COMMAND_TIMEOUT_S = 120.0
METADATA = {"cp_campaign": "dunning-30d", "cp_variant": "friendly", "cp_customer_id": "cust-7"}


def topics_command(settings: Settings, action: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "collectpulse.cli", "topics", action],
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )


async def admin_client(settings: Settings) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(**kafka_options(settings))
    await admin.start()
    return admin


async def layout(settings: Settings) -> dict[str, tuple[int, int]]:
    """name -> (partitions, replicas) of every worker topic that exists."""
    admin = await admin_client(settings)
    try:
        statuses = await topic_status(admin, worker_topics(settings))
    finally:
        await admin.close()
    return {s.spec.name: (s.partitions, s.replicas) for s in statuses if s.partitions}


async def created_by(
    settings: Settings, worker: subprocess.Popen[bytes]
) -> dict[str, tuple[int, int]]:
    """The layout once ``worker`` has created every topic (or the deadline passed)."""
    deadline = time.monotonic() + CREATED_TIMEOUT_S
    found = await layout(settings)
    while found != expected_layout(settings) and time.monotonic() < deadline:
        assert worker.poll() is None, f"the worker exited with {worker.returncode}: see its log"
        await asyncio.sleep(0.5)
        found = await layout(settings)
    return found


async def group_assignment(admin: AIOKafkaAdminClient, group: str) -> set[str] | None:
    """The topics assigned to the members of ``group``; None while it rebalances."""
    topics: set[str] = set()
    for response in await admin.describe_consumer_groups([group]):
        for described in response.to_object()["groups"]:
            if described["state"] != "Stable":
                return None
            for member in described["members"]:
                assignment = ConsumerProtocolMemberAssignment.decode(member["member_assignment"])
                topics.update(topic for topic, _ in assignment.assignment)
    return topics


async def dropped_or_back(admin: AIOKafkaAdminClient, group: str, topic: str) -> str:
    """After ``topic`` was deleted: wait until the worker has dropped it, or the broker has
    recreated it (auto-created on the worker's own metadata request, when the broker
    allows that)."""
    deadline = time.monotonic() + CREATED_TIMEOUT_S
    while time.monotonic() < deadline:
        if topic in await admin.list_topics():
            return "recreated by the broker"
        assigned = await group_assignment(admin, group)
        if assigned is not None and topic not in assigned:
            return "dropped by the worker"
        await asyncio.sleep(0.1)
    raise AssertionError(f"the worker still consumes the deleted {topic}")


def expected_layout(settings: Settings) -> dict[str, tuple[int, int]]:
    return {spec.name: (spec.partitions, 1) for spec in worker_topics(settings)}


async def test_the_worker_creates_every_topic_it_reads_or_writes(
    settings: Settings, tmp_path: Path
) -> None:
    names = {spec.name for spec in worker_topics(settings)}
    # 7 canonical, dlq, customer-touch, 5 raw.<provider>, Faust's leader topic
    assert len(names) == 15
    assert settings.topic("raw.twilio") in names and settings.topic("customer-touch") in names
    assert await layout(settings) == {}
    configured = settings.model_copy(update={"topic_replication_factor": 1})
    with collectpulse_process(configured, "worker", "-l", "warn", log=tmp_path / "w.log") as w:
        found = await created_by(settings, w)
    assert found == expected_layout(settings)
    assert all(found[settings.topic(f"raw.{p}")] == (4, 1) for p in ("ses", "twilio"))
    assert "not found in cluster metadata" not in (tmp_path / "w.log").read_text()


async def test_topics_create_makes_them_all_once_and_check_reports_them(
    settings: Settings,
) -> None:
    before = topics_command(settings, "check")
    assert before.returncode == 1, before.stderr
    assert before.stdout.count("missing") == 15

    first = topics_command(settings, "create")
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("created") == 15
    assert await layout(settings) == expected_layout(settings)

    again = topics_command(settings, "create")
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("exists") == 15 and "created" not in again.stdout

    after = topics_command(settings, "check")
    assert after.returncode == 0, after.stderr
    line = next(x for x in after.stdout.splitlines() if x.startswith(settings.topic("open")))
    assert "partitions=4 replicas=1" in line and line.endswith("exists")


async def test_topics_create_refuses_a_topic_that_is_not_co_partitioned(
    settings: Settings,
) -> None:
    admin = await admin_client(settings)
    try:
        await admin.create_topics([NewTopic(settings.topic("open"), 2, 1)])
    finally:
        await admin.close()
    result = topics_command(settings, "create")
    assert result.returncode == 2
    assert f"{settings.topic('open')} has 2" in result.stderr
    assert "COLLECTPULSE_TOPIC_PARTITIONS=4" in result.stderr
    # nothing else was created
    assert await layout(settings) == {settings.topic("open"): (2, 1)}


async def test_topics_create_names_an_unreachable_kafka(settings: Settings) -> None:
    nowhere = settings.model_copy(update={"kafka_bootstrap_servers": f"127.0.0.1:{free_port()}"})
    result = topics_command(nowhere, "create")
    assert result.returncode == 2
    assert "COLLECTPULSE_KAFKA_BOOTSTRAP_SERVERS" in result.stderr
    assert nowhere.kafka_bootstrap_servers in result.stderr


async def test_a_topic_recreated_while_the_worker_runs_is_consumed_within_seconds(
    settings: Settings, tmp_path: Path
) -> None:
    """An operator deletes and recreates raw.twilio while a worker runs: the worker loses
    the topic's partitions, and finds the new topic on its next metadata refresh."""
    raw = settings.topic("raw.twilio")
    with run_pipeline(settings, tmp_path) as pipeline:
        url, processes = pipeline.url("/metrics"), pipeline.processes
        # before publishing: a producer would otherwise have the broker auto-create them
        assert await created_by(settings, pipeline.worker) == expected_layout(settings)
        now = time.time()
        first = sent("m-warm-up", now, event_id="warm-up")
        await publish(settings, settings.topic(Topic.DELIVERY.value), [(b"m", orjson.dumps(first))])
        samples = await wait_for(
            url,
            lambda s: total(s, "collectpulse_events_received_total") >= 1,
            timeout_s=CREATED_TIMEOUT_S,
            processes=processes,
        )
        assert total(samples, "collectpulse_events_received_total") == 1

        admin = await admin_client(settings)
        try:
            assert raw in (await group_assignment(admin, settings.consumer_group) or ())
            await admin.delete_topics([raw])
            # recreated once the worker's metadata says it is gone: the worker must then
            # find the new topic by itself
            state = await dropped_or_back(admin, settings.consumer_group, raw)
            spec = TopicSpec(raw, settings.topic_partitions, co_partitioned=False)
            await create_missing(admin, settings, [spec])
        finally:
            await admin.close()
        created_at = time.monotonic()
        sid = "SMrecreated01"
        callback = twilio_form("sent", MessageSid=sid, SmsSid=sid, **METADATA)
        await publish(settings, raw, [(sid.encode(), callback)])
        samples = await wait_for(
            url,
            lambda s: total(s, "collectpulse_events_received_total") >= 2,
            timeout_s=NEW_TOPIC_DEADLINE_S,
            processes=processes,
        )
        took = time.monotonic() - created_at
    assert total(samples, "collectpulse_events_received_total") == 2, (
        f"the event on the recreated {raw} was not counted within {NEW_TOPIC_DEADLINE_S} s"
    )
    print(f"\n{raw} {state}: its new event counted {took:.1f} s after the topic was back")
