"""Bounded waiting state in the real Redis: parked events and a customer's messages.

The bounds are decided from what the read phase finds in Redis (the parked
index's size, each message's parked list), so this shows them held across
batches, with every refused park and forgotten message counted on the store's
totals, which /metrics reports.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from collectpulse.events.models import Topic
from collectpulse.exporter.collector import StoreCollector
from collectpulse.settings import Settings
from collectpulse.store.keys import FIELD_SEP
from collectpulse.store.reader import StoreReader, StoreView
from collectpulse.store.touches import Touch
from collectpulse.store.writer import StoreWriter
from tests.support import events as ev

TIMEOUT_S = 20
PARTITION = 1


@pytest.fixture
def bounded(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"max_parked_per_message": 2, "max_parked_messages": 3, "max_customer_messages": 2}
    )


def exported(view: StoreView, counter: str, **labels: str) -> float | None:
    """The counter's sample as the exporter serves it on /metrics (None when absent)."""
    registry = CollectorRegistry()
    registry.register(StoreCollector(view))
    return registry.get_sample_value(f"collectpulse_{counter}_total", labels)


async def test_parked_events_stop_at_their_bounds_and_the_rest_are_counted_as_orphans(
    redis_client: Redis, bounded: Settings
) -> None:
    writer = StoreWriter(redis_client, bounded)
    reader = StoreReader(redis_client, bounded)
    keys = writer.keys
    now = time.time()
    opens = [ev.opened("m1", now - 9), ev.opened("m1", now - 8), ev.opened("m1", now - 7)]
    opens += [ev.opened("m2", now - 6), ev.opened("m3", now - 5)]
    clicks = [ev.clicked("m4", now - 4), ev.clicked("m1", now - 3)]
    sents = [ev.sent(m, now - 60) for m in ("m1", "m2", "m3", "m4")]

    async with asyncio.timeout(TIMEOUT_S):
        await writer.apply(Topic.OPEN, PARTITION, ev.records(Topic.OPEN, opens))
        # a later batch: the bounds now come from what Redis holds
        await writer.apply(Topic.CLICK, PARTITION, ev.records(Topic.CLICK, clicks))
        index_size = await redis_client.zcard(keys.parked(PARTITION))
        m1_parked = await redis_client.llen(keys.park(PARTITION, "m1"))
        m4_parked = await redis_client.llen(keys.park(PARTITION, "m4"))
        await writer.apply(Topic.DELIVERY, PARTITION, ev.records(Topic.DELIVERY, sents))
        index_after = await redis_client.zcard(keys.parked(PARTITION))
        view = await reader.read()

    assert (index_size, m1_parked, m4_parked) == (3, 2, 0)
    assert exported(view, "events_orphaned", topic="open") == 1
    assert exported(view, "events_orphaned", topic="click") == 2
    assert exported(view, "state_limit_hits", limit="max_parked_per_message") == 2
    assert exported(view, "state_limit_hits", limit="max_parked_messages") == 1
    assert exported(view, "state_limit_hits", limit="max_customer_messages") == 0
    # what was parked is applied when the sents arrive; nothing is left waiting
    funnel = {"channel": "email", "campaign": "winback", "variant": "a", "segment": "default"}
    assert exported(view, "messages_opened", **funnel, tenant="") == 3
    assert exported(view, "messages_clicked", **funnel, tenant="") == 0
    assert index_after == 0


async def test_a_customer_hash_keeps_the_newest_messages_and_counts_the_forgotten(
    redis_client: Redis, bounded: Settings
) -> None:
    writer = StoreWriter(redis_client, bounded)
    reader = StoreReader(redis_client, bounded)
    now = int(time.time())
    dims = FIELD_SEP.join(("email", "winback", "a", "default", ""))

    def delivered(mid: str, age_s: int) -> bytes:
        """One repartition record (a JSON array of touches) holding one delivery."""
        touch = Touch("delivered", "c1", now - age_s, mid, now - age_s - 60, dims)
        return b"[" + touch.encode()[1] + b"]"

    async with asyncio.timeout(TIMEOUT_S):
        await writer.apply_touches(
            PARTITION, [(0, delivered("m1", 300)), (1, delivered("m2", 200))]
        )
        await writer.apply_touches(PARTITION, [(2, delivered("m3", 100))])
        stored = await redis_client.hgetall(writer.keys.customer(PARTITION, "c1"))
        view = await reader.read()

    messages = {k.decode()[2:] for k in stored if k.startswith(b"m:")}
    assert messages == {"m2", "m3"}
    assert not any(k.decode().endswith(":m1") for k in stored)
    assert exported(view, "state_limit_hits", limit="max_customer_messages") == 1
