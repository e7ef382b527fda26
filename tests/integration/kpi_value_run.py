"""Run the known log of ``kpi_value_log`` through real Kafka, one real worker and exporter.

Phase 1 goes out before the worker starts; once it is applied to the store (every
canonical topic and the touch repartition topic at its end offset), phase 2 and a
fresh pageview (the processing-lag probe) follow. The run ends when the two orphans
have been swept, with one scrape of /metrics and of the struggling-customers API.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaProducer

from collectpulse.events.models import Topic
from collectpulse.kafka.connection import kafka_options
from collectpulse.settings import Settings
from collectpulse.store.touches import TOUCH_TOPIC
from tests.integration.kpi_value_log import SLOT_TENANT, SLOT_ZONE, Record, build
from tests.support import events as ev
from tests.support.kafka import create_topics, end_offsets
from tests.support.metrics import Samples, total, wait_for
from tests.support.pipeline import Process, run_pipeline

EXPECTED_ORPHANS = 2
"""The open and the click of the log whose sent never arrives."""


@dataclass(frozen=True)
class Run:
    now: int
    """The log's reference time: every event time is relative to it."""
    samples: Samples
    struggling: dict[str, Any]
    """GET /api/struggling-customers (all tenants)."""
    struggling_of_tenant: dict[str, Any]
    """GET /api/struggling-customers?tenant=t-strug&limit=2."""
    probe_s: int
    """occurred_at of the newest pageview (the lag probe)."""
    probe_published_s: float
    """Wall-clock time just before the probe was published."""
    scraped_s: float
    """Wall-clock time just after the final scrape."""
    send_time: dict[str, Any]
    """GET /api/v1/send-time?tenant=t-slot&window=28d (K21)."""
    send_time_refused: tuple[int, str]
    """Status and content type of GET /api/v1/send-time?window=24h."""


def value_test_settings(kafka: str, redis: str, data_dir: Path) -> Settings:
    """Isolated like tests/conftest.py's ``settings``; experiments need 20 delivered
    messages per arm, and a parked event is an orphan after 3 s: the worker sweeps
    orphans every 30 s from its start, so the log's two orphans (parked within its
    first seconds) are counted by the first sweep, not the second."""
    run = uuid.uuid4().hex[:10]
    return Settings(
        kafka_bootstrap_servers=kafka,
        redis_url=redis,
        topic_prefix=f"t{run}.",
        key_prefix=f"t{run}",
        consumer_group=f"collectpulse-test-{run}",
        data_dir=data_dir / "worker",
        topic_partitions=4,
        experiment_min_sample=20,
        orphan_wait="3s",
        tenant_time_zones={SLOT_TENANT: SLOT_ZONE},
    )


async def run_log(settings: Settings, logs: Path) -> Run:
    now = int(time.time())
    log = build(now)
    await create_topics(settings)
    await publish_in_order(settings, log.phase1)
    started = time.monotonic()
    with run_pipeline(settings, logs) as pipe:
        url, procs = pipe.url("/metrics"), pipe.processes
        await drained(settings, url, len(log.phase1), procs)
        phase1_s = time.monotonic() - started
        await publish_in_order(settings, log.phase2)
        probe_s = int(time.time())
        probe = {**ev.pageview("lag-probe", probe_s, "direct"), "tenant": "t-lag"}
        probe_published_s = time.time()
        await publish_in_order(settings, [(Topic.PAGEVIEW, "lag-probe", probe)])
        await drained(settings, url, len(log.phase1) + len(log.phase2) + 1, procs)
        # the orphan sweep runs every 30 s: wait for it rather than for a fixed time
        samples = await wait_for(
            url,
            lambda s: total(s, "collectpulse_events_orphaned_total") >= EXPECTED_ORPHANS,
            timeout_s=70,
            processes=procs,
        )
        scraped_s = time.time()
        print(f"phase 1 applied {phase1_s:.1f} s, orphans swept {time.monotonic() - started:.1f} s")
        async with httpx.AsyncClient(timeout=10) as client:
            api = pipe.url("/api/struggling-customers")
            everyone = (await client.get(api)).raise_for_status().json()
            params = {"tenant": "t-strug", "limit": "2"}
            one_tenant = (await client.get(api, params=params)).raise_for_status().json()
            slots = pipe.url("/api/v1/send-time")
            params = {"tenant": SLOT_TENANT, "window": "28d"}
            send_time = (await client.get(slots, params=params)).raise_for_status().json()
            refused = await client.get(slots, params={"window": "24h"})
    return Run(
        now,
        samples,
        everyone,
        one_tenant,
        probe_s,
        probe_published_s,
        scraped_s,
        send_time,
        (refused.status_code, refused.headers.get("content-type", "")),
    )


async def publish_in_order(settings: Settings, records: Sequence[Record]) -> None:
    """Publish ``records`` in list order (per partition, Kafka keeps that order)."""
    producer = AIOKafkaProducer(**kafka_options(settings), acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [
            await producer.send(settings.topic(topic.value), orjson.dumps(body), key.encode())
            for topic, key, body in records
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def drained(
    settings: Settings, url: str, published: int, processes: Sequence[Process]
) -> None:
    """Until all ``published`` events are received and the store's applied offsets reach
    the end of every canonical topic, then of the touch topic (whose records are all
    published before the writes that reach those ends)."""
    received = "collectpulse_events_received_total"
    samples = await wait_for(
        url, lambda s: total(s, received) >= published, timeout_s=45, processes=processes
    )
    assert total(samples, received) == published, "events received"
    canonical = [settings.topic(t.value) for t in Topic]
    for topics in (canonical, [settings.topic(TOUCH_TOPIC)]):
        ends = await end_offsets(settings, topics)
        samples = await wait_for(
            url,
            partial(caught_up, ends=ends, prefix=settings.topic_prefix),
            timeout_s=30,
            processes=processes,
        )
        lagging = behind(samples, ends, settings.topic_prefix)
        assert not lagging, f"partitions not applied to their end offset: {lagging}"


def caught_up(samples: Samples, *, ends: dict[tuple[str, int], int], prefix: str) -> bool:
    return not behind(samples, ends, prefix)


def behind(
    samples: Samples, ends: dict[tuple[str, int], int], prefix: str
) -> list[tuple[str, int]]:
    applied = {
        (prefix + dict(labels)["topic"], int(dict(labels)["partition"])): value
        for (name, labels), value in samples.items()
        if name == "collectpulse_applied_offset"
    }
    return [tp for tp, end in ends.items() if end and applied.get(tp, -1) + 1 < end]
