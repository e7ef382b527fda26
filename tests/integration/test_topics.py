"""Topics on the real Kafka: what a worker and ``collectpulse topics`` create, and how they
refuse a layout or a Kafka they cannot use. (A user without Create, and a topic recreated
while the worker runs: test_topics_acl.py, on a broker that does not auto-create.)"""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from collectpulse.kafka.connection import kafka_options
from collectpulse.kafka.topics import topic_status, worker_topics
from collectpulse.settings import Settings
from tests.support.processes import collectpulse_process, free_port
from tests.support.topics_cli import statuses, topics_command

pytestmark = pytest.mark.integration

CREATED_TIMEOUT_S = 60.0
"""A starting worker (a Python process importing Faust) has created its topics by then."""


async def admin_client(settings: Settings) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(**kafka_options(settings))
    await admin.start()
    return admin


async def layout(settings: Settings) -> dict[str, tuple[int, int]]:
    """name -> (partitions, replicas) of every worker topic that exists."""
    admin = await admin_client(settings)
    try:
        found = await topic_status(admin, worker_topics(settings))
    finally:
        await admin.close()
    return {s.spec.name: (s.partitions, s.replicas) for s in found if s.partitions}


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


def expected_layout(settings: Settings) -> dict[str, tuple[int, int]]:
    return {spec.name: (spec.partitions, 1) for spec in worker_topics(settings)}


async def test_the_worker_creates_every_topic_it_reads_or_writes(
    settings: Settings, tmp_path: Path
) -> None:
    names = {spec.name for spec in worker_topics(settings)}
    # 8 canonical, dlq, customer-touch, 5 raw.<provider>, agent, target, cost and experiment,
    # Faust's leader
    assert len(names) == 21
    assert settings.topic("raw.twilio") in names and settings.topic("customer-touch") in names
    assert await layout(settings) == {}
    configured = settings.model_copy(update={"topic_replication_factor": 1})
    with collectpulse_process(configured, "worker", "-l", "warn", log=tmp_path / "w.log") as w:
        found = await created_by(settings, w)
    assert found == expected_layout(settings)
    assert all(found[settings.topic(f"raw.{p}")] == (4, 1) for p in ("ses", "twilio"))
    assert "not found in cluster metadata" not in (tmp_path / "w.log").read_text()
    # the roster and targets are log-compacted; the canonical topics are not, nor the
    # costs (a correction must not be compacted away by an older record's later offset)
    policies = await cleanup_policies(settings, ["agent", "target", "contact", "cost"])
    assert policies == {
        "agent": "compact",
        "target": "compact",
        "contact": "delete",
        "cost": "delete",
    }


async def cleanup_policies(settings: Settings, names: list[str]) -> dict[str, str]:
    admin = await admin_client(settings)
    try:
        resources = [ConfigResource(ConfigResourceType.TOPIC, settings.topic(n)) for n in names]
        responses = await admin.describe_configs(resources)
    finally:
        await admin.close()
    found = {}
    for response in responses:
        for resource in response.to_object()["resources"]:
            configs = {c["config_names"]: c["config_value"] for c in resource["config_entries"]}
            name = resource["resource_name"].removeprefix(settings.topic(""))
            found[name] = configs["cleanup.policy"]
    return found


async def test_topics_create_makes_them_all_once_and_check_reports_them(
    settings: Settings,
) -> None:
    before = topics_command(settings, "check")
    assert before.returncode == 1, before.stderr
    assert statuses(before.stdout)["missing"] == 21, before.stdout

    first = topics_command(settings, "create")
    assert first.returncode == 0, first.stderr
    assert statuses(first.stdout)["created"] == 21, first.stdout
    assert await layout(settings) == expected_layout(settings)

    again = topics_command(settings, "create")
    assert again.returncode == 0, again.stderr
    assert statuses(again.stdout) == {"exists": 21}, again.stdout

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
