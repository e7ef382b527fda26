"""Topics on a broker run like production: authorizer on, no auto-creation.

A Kafka user with Read, Write and Describe but no Create is told to have the
topics created; once an operator has run ``collectpulse topics create`` the
worker runs as that user. When the operator deletes and recreates a topic while
the worker runs, the worker first drops the topic and then, on a later metadata
refresh, consumes the new one: within seconds, not after aiokafka's 5-minute
default. (The local stack auto-creates topics on any metadata request, which hides
the gap, so this runs on the secure stack.)
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaClient
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from aiokafka.protocol.admin import CreateAclsRequest

from collectpulse.events.models import Topic
from collectpulse.settings import Settings
from tests.support.events import sent
from tests.support.kafka import publish
from tests.support.metrics import total, wait_for
from tests.support.pipeline import run_pipeline
from tests.support.processes import collectpulse_process
from tests.support.secure_stack import KAFKA_USER_WITHOUT_ACLS, SecureStack, secure_stack
from tests.support.topics_cli import statuses, topics_command
from tests.unit.providers.provider_samples import twilio_form

pytestmark = pytest.mark.integration

TOPIC_PREFIX = "nocreate"
GROUP_PREFIX = "collectpulse-nocreate-"
# Kafka protocol enums (org.apache.kafka.common.acl / resource)
_TOPIC, _GROUP, _PREFIXED, _ALLOW = 2, 3, 4, 3
_READ, _WRITE, _DESCRIBE = 3, 4, 8
ACLS_WITHOUT_CREATE = (
    *((_TOPIC, TOPIC_PREFIX, op) for op in (_READ, _WRITE, _DESCRIBE)),
    *((_TOPIC, GROUP_PREFIX, op) for op in (_READ, _DESCRIBE)),
    (_GROUP, GROUP_PREFIX, _READ),
)
TOPICS = 21
STEP_TIMEOUT_S = 90.0
NEW_TOPIC_DEADLINE_S = 15.0
"""The recreated topic's first event is counted within this: metadata age (3 s), then one
rebalance of one worker."""
METADATA = {"cp_campaign": "dunning-30d", "cp_variant": "friendly", "cp_customer_id": "cust-7"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureStack]:
    with secure_stack(tmp_path_factory.mktemp("topics-stack")) as started:
        asyncio.run(grant(started, KAFKA_USER_WITHOUT_ACLS, ACLS_WITHOUT_CREATE))
        yield started


async def grant(stack: SecureStack, user: str, acls: tuple[tuple[int, str, int], ...]) -> None:
    """CreateAcls (prefixed patterns) as the super user of the plaintext listener."""
    client = AIOKafkaClient(bootstrap_servers=stack.kafka_admin_bootstrap)
    try:
        await client.bootstrap()
        node = next(iter(client.cluster.brokers())).nodeId
        responses = [
            await client.send(
                node, CreateAclsRequest(resource, name, _PREFIXED, f"User:{user}", "*", op, _ALLOW)
            )
            for resource, name, op in acls
        ]
    finally:
        await client.close()
    refused = [r for response in responses for r in response.creation_responses if r[0] != 0]
    assert not refused, f"CreateAcls refused: {refused}"


def as_operator(stack: SecureStack, settings: Settings) -> Settings:
    """The same topics and group, as the super user (no TLS, no SASL)."""
    return settings.model_copy(
        update={
            "kafka_bootstrap_servers": stack.kafka_admin_bootstrap,
            "kafka_security_protocol": "PLAINTEXT",
            "kafka_sasl_mechanism": None,
            "kafka_sasl_username": None,
            "kafka_sasl_password": None,
            "kafka_ssl_cafile": None,
            "kafka_ssl_certfile": None,
            "kafka_ssl_keyfile": None,
        }
    )


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


async def until_assigned(
    admin: AIOKafkaAdminClient, group: str, topic: str, *, present: bool
) -> None:
    deadline = time.monotonic() + STEP_TIMEOUT_S
    while time.monotonic() < deadline:
        assigned = await group_assignment(admin, group)
        if assigned is not None and (topic in assigned) == present:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{topic} {'never' if present else 'still'} assigned to {group}")


async def test_an_operator_creates_the_topics_and_recreates_one_while_the_worker_runs(
    stack: SecureStack, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    user = stack.settings(
        kafka_sasl_username=KAFKA_USER_WITHOUT_ACLS,
        topic_prefix=f"{TOPIC_PREFIX}{run}.",
        consumer_group=f"{GROUP_PREFIX}{run}",
        data_dir=tmp_path / "worker",
    )
    operator = as_operator(stack, user)

    # without Create, the command and the worker say what to do, and stop
    refused = topics_command(user, "create")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "authorization failed" in refused.stderr
    assert "collectpulse topics create" in refused.stderr
    with collectpulse_process(user, "worker", "-l", "warn", log=tmp_path / "refused.log") as w:
        assert w.wait(timeout=STEP_TIMEOUT_S) == 2
    assert "collectpulse topics create" in (tmp_path / "refused.log").read_text()

    created = topics_command(operator, "create")
    assert created.returncode == 0, created.stderr
    assert statuses(created.stdout)["created"] == TOPICS, created.stdout

    # the user's worker now runs without Create (Faust's leader topic included)
    raw = user.topic("raw.twilio")
    with run_pipeline(user, tmp_path) as pipeline:
        url, processes = pipeline.url("/metrics"), pipeline.processes
        first = orjson.dumps(sent("m-warm-up", time.time(), event_id="warm-up"))
        await publish(user, user.topic(Topic.DELIVERY.value), [(b"m", first)])
        samples = await wait_for(
            url,
            lambda s: total(s, "collectpulse_events_received_total") >= 1,
            timeout_s=STEP_TIMEOUT_S,
            processes=processes,
        )
        assert total(samples, "collectpulse_events_received_total") == 1

        admin = AIOKafkaAdminClient(bootstrap_servers=stack.kafka_admin_bootstrap)
        await admin.start()
        try:
            await until_assigned(admin, user.consumer_group, raw, present=True)
            await admin.delete_topics([raw])
            await until_assigned(admin, user.consumer_group, raw, present=False)
        finally:
            await admin.close()
        again = topics_command(operator, "create")
        assert again.returncode == 0, again.stderr
        # the status is the last column (the random run prefix may itself read "...created")
        assert [line for line in again.stdout.splitlines() if line.split()[-1:] == ["created"]] == [
            line for line in again.stdout.splitlines() if line.startswith(raw)
        ]
        back_at = time.monotonic()
        sid = "SMrecreated01"
        callback = twilio_form("sent", MessageSid=sid, SmsSid=sid, **METADATA)
        await publish(user, raw, [(sid.encode(), callback)])
        samples = await wait_for(
            url,
            lambda s: total(s, "collectpulse_events_received_total") >= 2,
            timeout_s=NEW_TOPIC_DEADLINE_S,
            processes=processes,
        )
        took = time.monotonic() - back_at
    assert total(samples, "collectpulse_events_received_total") == 2, (
        f"the event on the recreated {raw} was not counted within {NEW_TOPIC_DEADLINE_S} s"
    )
    worker_log = (tmp_path / "worker.log").read_text()
    assert "AuthorizationFailed" not in worker_log
    print(f"\nthe recreated topic's event was counted {took:.1f} s after `topics create`")
