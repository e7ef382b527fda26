"""The Faust app factory: one batched agent over every topic, wired to the store.

``create_app(settings)`` builds everything from the settings object it is
given (nothing is read from the environment here), so tests can run two apps
side by side. ``collectpulse worker`` calls it and hands control to Faust's
own worker command.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import faust
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from faust.types import TP

from collectpulse.events.models import ReferenceTopic, Topic
from collectpulse.kafka.connection import faust_credentials, kafka_options
from collectpulse.kafka.errors import KafkaSetupError
from collectpulse.kafka.partitioning import key_partitioner
from collectpulse.kafka.topics import create_missing, worker_topics
from collectpulse.settings import Settings
from collectpulse.store.client import StoreClient, store_client
from collectpulse.store.costs import CostStore
from collectpulse.store.experiment_config import ExperimentStore
from collectpulse.store.roster import RosterStore
from collectpulse.store.targets import TargetStore
from collectpulse.store.touches import TOUCH_TOPIC, batch_records
from collectpulse.store.writer import StoreWriter
from collectpulse.stream import transport
from collectpulse.stream.agents import make_partition_agent
from collectpulse.stream.cost_agent import add_cost_agent
from collectpulse.stream.deadletter import DLQ_TOPIC
from collectpulse.stream.experiment_agent import add_experiment_agent
from collectpulse.stream.heartbeat import install_heartbeat
from collectpulse.stream.normalise import add_normalisers
from collectpulse.stream.resume import TopicOffsets, resume_positions
from collectpulse.stream.retry import RETRIABLE, DependencyState, until_done
from collectpulse.stream.roster_agent import add_roster_agent
from collectpulse.stream.shutdown import ShutdownWatchdog, worker_class

log = logging.getLogger(__name__)

AGENT_QUEUE_BATCHES = 32
"""Batches queued for the agent (of all its topics): with the 64 a take() groups, at most
96 batches of up to BATCH_MAX_RECORDS records in flight."""
MAX_POLL_RECORDS = 10_000
"""Records one fetch hands over (aiokafka's getmany). Unbounded (Faust's default), a
backlog came back whole: ~1 MiB per partition of every topic, all of it Python objects
until its last batch was queued (tracemalloc, 200k drain: ~150k records alive at the
peak). What is not handed over yet stays in aiokafka's buffer as fetched bytes."""
ORPHAN_SWEEP_INTERVAL_S = 30.0
ORPHAN_SWEEP_ROUNDS = 20
"""Sweeps (of up to 500 messages each) per partition and interval: the sweep keeps up with
~330 orphaned messages/s per partition, so the parked index stays far from its bound."""


def broker_url(settings: Settings) -> str:
    hosts = ";".join(h.strip() for h in settings.kafka_bootstrap_servers.split(",") if h.strip())
    query = (
        f"max_batch_records={settings.batch_max_records}"
        f"&fetch_min_bytes={settings.fetch_min_bytes}"
        f"&fetch_max_wait_ms={settings.fetch_max_wait_ms}"
    )
    return f"{transport.SCHEME}://{hosts}?{query}"


async def prepare_topics(settings: Settings) -> str | None:
    """Create every missing topic the worker reads or writes (``worker_topics``) before
    Faust subscribes; return a problem to report (wrong partition count, creation refused,
    broker unreachable)."""
    admin = AIOKafkaAdminClient(**kafka_options(settings))
    try:
        await admin.start()
        await create_missing(admin, settings, worker_topics(settings))
    except (KafkaSetupError, KafkaError, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        await admin.close()
    return None


def create_app(settings: Settings, *, redis: StoreClient | None = None) -> faust.App:
    """Build the worker app: agents, DLQ producer, store-driven resume offsets."""
    transport.register()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.consumer_group,
        broker=broker_url(settings),
        broker_credentials=faust_credentials(settings),
        datadir=str(settings.data_dir / "{conf.id}"),
        topic_partitions=settings.topic_partitions,
        # aiokafka's default (5 min) left a topic created while the worker ran unread as long
        consumer_metadata_max_age_ms=settings.kafka_metadata_max_age_ms,
        # prepare_topics made them all, its leader topic too: Faust's own declare asks for
        # Create even for a topic that exists (its metadata may not list it yet)
        topic_allow_declare=False,
        broker_max_poll_records=MAX_POLL_RECORDS,
        broker_session_timeout=settings.group_session_timeout_s,
        # five heartbeats per session: one lost or late heartbeat never ends a session
        broker_heartbeat_interval=max(settings.group_session_timeout_s / 5, 1.0),
        # An old and a new owner must never process one partition at once.
        stream_wait_empty=True,
        web_enabled=False,
        producer_acks=-1,
        key_serializer="raw",
        value_serializer="raw",
        Worker=worker_class(ShutdownWatchdog(settings.shutdown_timeout_s)),
    )
    client = redis or store_client(settings)
    touches = settings.topic(TOUCH_TOPIC)

    # the producers' default (murmur2), so a touch lands with the customer's payments
    partition_of = key_partitioner(settings.topic_partitions)

    async def publish_touches(records: Sequence[tuple[bytes, bytes]]) -> None:
        grouped = batch_records(records, partition_of)
        sent = [
            await app.producer.send(touches, None, value, partition, None, None)
            for partition, value in grouped.items()
        ]
        await asyncio.gather(*sent)

    writer = StoreWriter(client, settings, publish=publish_touches)
    dependencies = DependencyState()
    install_heartbeat(
        app, client, settings, dependencies, wait_timeouts=lambda: writer.wait_timeouts
    )
    dlq = settings.topic(DLQ_TOPIC)

    async def send_dlq(key: bytes | None, value: bytes | None, headers: Any) -> Any:
        return await app.producer.send(dlq, key, value, None, None, headers)

    streams: dict[str, Topic | None] = {settings.topic(t.value): t for t in Topic}
    streams[touches] = None
    source = transport.batch_topic(app, *streams, maxsize=AGENT_QUEUE_BATCHES)
    body = make_partition_agent(
        streams,
        writer,
        send_dlq,
        max_bytes=settings.max_event_bytes,
        future_tolerance_s=settings.future_tolerance_s,
        state=dependencies,
    )
    app.agent(source, name="collectpulse.partitions")(body)
    add_normalisers(app, settings, client, dependencies)
    add_experiment_agent(app, settings, client, send_dlq, dependencies)
    add_roster_agent(app, settings, client, send_dlq, dependencies)
    add_cost_agent(app, settings, client, send_dlq, dependencies)
    # prepare_topics creates it (worker_topics); declared here for Faust to produce to it.
    app.topic(dlq)

    prefix = settings.topic_prefix

    key_prefix = settings.key_prefix
    reference = {
        ReferenceTopic.COST: CostStore(client, key_prefix).applied_offsets,
        ReferenceTopic.AGENT: RosterStore(client, key_prefix).applied_offsets,
        ReferenceTopic.TARGET: TargetStore(client, key_prefix).applied_offsets,
        ReferenceTopic.EXPERIMENT: ExperimentStore(client, key_prefix).applied_offsets,
    }
    # an exception while resuming would crash the worker: wait for Redis instead
    topic_offsets: dict[str, TopicOffsets] = {
        settings.topic(topic.value): partial(until_done, read, dependencies, what="redis")
        for topic, read in reference.items()
    }

    async def resume_from_store(assigned: frozenset[TP]) -> Mapping[TP, int]:
        """The store, not Kafka's commit, decides where a partition resumes."""
        return await resume_positions(
            assigned,
            prefix=prefix,
            partition_offsets=lambda p: until_done(
                partial(writer.applied_offsets, p), dependencies, what="redis"
            ),
            topic_offsets=topic_offsets,
        )

    transport.set_on_assigned(app, resume_from_store)

    @app.timer(interval=ORPHAN_SWEEP_INTERVAL_S)  # type: ignore[untyped-decorator]
    async def sweep_orphans() -> None:
        try:
            await sweep_assigned()
        except RETRIABLE:
            # an exception in a timer crashes the worker; the next sweep catches up
            # (the outage itself is logged by the agents and the probe)
            return

    async def sweep_assigned() -> None:
        delivery = settings.topic(Topic.DELIVERY.value)
        for tp in app.consumer.assignment():
            if tp.topic == delivery:
                orphaned = 0
                for _ in range(ORPHAN_SWEEP_ROUNDS):
                    swept = await writer.sweep_orphans(tp.partition)
                    if not swept:
                        break
                    orphaned += swept
                if orphaned:
                    log.info(
                        "partition %d: %d parked events counted as orphans", tp.partition, orphaned
                    )

    return app
