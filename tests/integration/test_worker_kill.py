"""kill -9 of a worker mid-stream loses nothing and counts nothing twice (kpi-catalog section 6).

A few thousand events are published, a worker is killed with SIGKILL once the
store holds some but not all of them, and a new worker in the same consumer
group drains the rest. The final aggregates must equal the ground truth
computed from what was published.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from pathlib import Path

import orjson
from redis.asyncio import Redis

from collectpulse.events.models import Topic
from collectpulse.settings import Settings
from collectpulse.store.fields import counter_field
from collectpulse.store.keys import Keys
from tests.support import events as ev
from tests.support.kafka import create_topics, publish
from tests.support.metrics import Samples, total
from tests.support.pipeline import run_pipeline, settled
from tests.support.processes import GROUP_ENV, collectpulse_process

MESSAGES = 500
# Small batches make the stream long enough to be cut in the middle.
BATCH_RECORDS = 10

Record = tuple[bytes, bytes]


def ground_truth_stream(now: float) -> tuple[dict[Topic, list[Record]], dict[str, Counter[str]]]:
    """The records to publish per topic, and what the store must end up counting."""
    out: dict[Topic, list[Record]] = {topic: [] for topic in Topic}
    truth: dict[str, Counter[str]] = {
        "received": Counter(),
        "duplicate": Counter(),
        "funnel": Counter(),
        "attempts": Counter(),
        "collected": Counter(),
        "promises": Counter(),
    }

    def put(topic: Topic, key: str, body: ev.Payload) -> None:
        out[topic].append((key.encode(), orjson.dumps(body)))
        truth["received"][topic.value] += 1

    for i in range(MESSAGES):
        mid = f"m{i}"
        sent_s = now - 1200 + i
        put(Topic.DELIVERY, mid, ev.sent(mid, sent_s, customer_id=f"debtor-{i}"))
        truth["funnel"]["messages_sent"] += 1
        if i % 10 == 0:
            put(Topic.BOUNCE, mid, ev.bounce(mid, sent_s + 5, "hard"))
            truth["funnel"]["messages_bounced_any"] += 1
            continue
        delivery = ev.delivered(mid, sent_s + 5)
        put(Topic.DELIVERY, mid, delivery)
        truth["funnel"]["messages_delivered"] += 1
        if i % 25 == 1:  # upstream publishes it again
            put(Topic.DELIVERY, mid, delivery)
            truth["duplicate"]["delivery"] += 1
        opens = {0: (), 1: ("machine",), 2: ("machine", "human", "human")}[i % 3]
        for j, who in enumerate(opens):
            put(Topic.OPEN, mid, ev.opened(mid, sent_s + 60 + j, machine=who == "machine"))
        if opens:
            truth["funnel"]["messages_opened"] += 1
        if "human" in opens:
            truth["funnel"]["messages_opened_human"] += 1
        if i % 4 == 1:
            put(Topic.CLICK, mid, ev.clicked(mid, sent_s + 90))
            truth["funnel"]["messages_clicked"] += 1

    statuses = ("succeeded", "failed", "aborted", "succeeded")
    for i in range(400):
        customer = f"payer-{i % 97}"
        status, currency = statuses[i % 4], ("EUR", "USD")[i % 2]
        put(Topic.PAYMENT, customer, ev.payment(customer, now - 600 + i, status, 100 + i, currency))
        truth["attempts"][status] += 1
        if status == "succeeded":
            truth["collected"][currency] += 100 + i
    for i in range(600):
        visitor = f"vis-{i % 150}"
        put(Topic.PAGEVIEW, visitor, ev.pageview(visitor, now - 300 + i % 200))
    truth["funnel"]["landing_pageviews"] = 600
    for i in range(300):
        customer = f"payer-{i % 50}"
        status = ("made", "kept", "broken")[i % 3]
        put(Topic.PROMISE, customer, ev.promise(customer, now - 200, status, "inbound"))
        truth["promises"][status] += 1
    return out, truth


async def applied_so_far(client: Redis, settings: Settings) -> int:
    """Events received in the store, summed over partitions and topics."""
    keys = Keys(settings.key_prefix)
    pipe = client.pipeline(transaction=False)
    for partition in range(settings.topic_partitions):
        for topic in Topic:
            field = counter_field("events_received", {"topic": topic.value})
            pipe.hget(keys.totals(partition), field)
    return sum(int(v) for v in await pipe.execute() if v is not None)


def kill(pid: int) -> None:
    os.killpg(pid, signal.SIGKILL)


def ground_truth_holds(samples: Samples, truth: dict[str, Counter[str]]) -> None:
    for topic, count in truth["received"].items():
        got = total(samples, "collectpulse_events_received_total", topic=topic)
        assert got == count, f"events received from {topic}"
    for topic in truth["received"]:
        got = total(samples, "collectpulse_events_duplicate_total", topic=topic)
        assert got == truth["duplicate"][topic], f"duplicates from {topic}"
    for counter, count in truth["funnel"].items():
        assert total(samples, f"collectpulse_{counter}_total") == count, counter
        assert total(samples, f"collectpulse_windowed_{counter}", window="1h") == count, counter
    for status, count in truth["attempts"].items():
        assert total(samples, "collectpulse_payment_attempts_total", status=status) == count
    for currency, amount in truth["collected"].items():
        assert (
            total(samples, "collectpulse_collected_amount_minor_total", currency=currency) == amount
        )
    for status, count in truth["promises"].items():
        assert total(samples, "collectpulse_promises_total", status=status) == count
    assert total(samples, "collectpulse_events_orphaned_total") == 0
    assert total(samples, "collectpulse_events_invalid_total") == 0


async def drain_and_check(
    settings: Settings, tmp_path: Path, published: int, truth: dict[str, Counter[str]]
) -> None:
    """A fresh worker in the group drains the rest; /metrics then counts the ground truth."""
    with run_pipeline(settings, tmp_path, worker_log="worker-2.log", **GROUP_ENV) as run:
        samples = await settled(run.url("/metrics"), published, run.processes, timeout_s=70)
    assert total(samples, "collectpulse_events_received_total") == published
    ground_truth_holds(samples, truth)


async def test_a_worker_killed_mid_stream_loses_and_doubles_nothing(
    settings: Settings, redis_client: Redis, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"batch_max_records": BATCH_RECORDS})
    stream, truth = ground_truth_stream(time.time())
    published = sum(len(records) for records in stream.values())

    async with asyncio.timeout(100):
        await create_topics(settings)
        for topic, records in stream.items():
            await publish(settings, settings.topic(topic.value), records)
        with collectpulse_process(
            settings, "worker", "-l", "warn", log=tmp_path / "worker-1.log", **GROUP_ENV
        ) as first:
            applied = 0
            while applied < published // 4:
                assert first.poll() is None, "the first worker died on its own; see worker-1.log"
                applied = await applied_so_far(redis_client, settings)
                await asyncio.sleep(0.002)
            kill(first.pid)
            first.wait()
            at_kill = await applied_so_far(redis_client, settings)
        assert 0 < at_kill < published, f"the kill must cut the stream: {at_kill}/{published}"
        await drain_and_check(settings, tmp_path, published, truth)
