"""Exactly-once effects in the real Redis: offset guard, event_id dedupe, parking, orphans,
optimistic concurrency between writers, rolling windows and the per-partition hash tag.

``StoreWriter`` and ``StoreReader`` are used directly, with an injected clock,
so each rule is shown without Kafka (kpi-catalog sections 3, 4, 6 and 7).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence

import pytest
from redis.asyncio import Redis

from collectpulse.events.models import Topic
from collectpulse.settings import Settings, duration_s
from collectpulse.store.keys import Keys
from collectpulse.store.reader import StoreReader, StoreView
from collectpulse.store.totals import parse_counter_fields
from collectpulse.store.touches import batch_records
from collectpulse.store.writer import StoreWriter
from tests.support import events as ev
from tests.support.redis_state import dump, keys_under

TIMEOUT_S = 20


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now_s = float(int(time.time()))

    def __call__(self) -> float:
        return self.now_s


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def writer(redis_client: Redis, settings: Settings, clock: Clock) -> StoreWriter:
    return StoreWriter(redis_client, settings, clock=clock)


@pytest.fixture
def reader(redis_client: Redis, settings: Settings, clock: Clock) -> StoreReader:
    return StoreReader(redis_client, settings, clock=clock)


@pytest.fixture
async def second_client(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url.get_secret_value())
    await client.ping()
    yield client
    await client.aclose()


def total(view: StoreView, counter: str, **labels: str) -> float:
    """All-time total of ``counter`` over every series whose labels include ``labels``."""
    series = parse_counter_fields(view.totals).get(counter, {})
    return sum(v for ls, v in series.items() if set(labels.items()) <= set(ls))


def windowed(view: StoreView, window: str, counter: str, **labels: str) -> float:
    series = view.windows[window].get(counter, {})
    return sum(v for ls, v in series.items() if set(labels.items()) <= set(ls))


def counts(view: StoreView, *counters: str) -> Mapping[str, float]:
    return {c: total(view, c) for c in counters}


# --- offset guard -----------------------------------------------------------------------


async def test_the_same_batch_applied_twice_changes_nothing_the_second_time(
    writer: StoreWriter, redis_client: Redis, settings: Settings, clock: Clock
) -> None:
    now = clock.now_s
    batch = ev.records(
        Topic.DELIVERY,
        [
            ev.sent("m1", now - 60),
            ev.sent("m2", now - 50),
            ev.delivered("m1", now - 40),
            ev.delivered("m2", now - 30),
        ],
    )

    async with asyncio.timeout(TIMEOUT_S):
        first = await writer.apply(Topic.DELIVERY, 1, batch)
        before = await dump(redis_client, settings.key_prefix)
        clock.now_s += 5
        second = await writer.apply(Topic.DELIVERY, 1, batch)
        after = await dump(redis_client, settings.key_prefix)

    assert (first.applied, first.skipped) == (4, 0)
    assert (second.applied, second.skipped) == (0, 4)
    assert after == before


async def test_a_redelivered_batch_overlapping_the_applied_offset_applies_only_its_new_records(
    writer: StoreWriter, reader: StoreReader, clock: Clock
) -> None:
    now = clock.now_s
    views = [ev.pageview(f"v{i}", now - i) for i in range(10)]

    async with asyncio.timeout(TIMEOUT_S):
        await writer.apply(Topic.PAGEVIEW, 2, ev.records(Topic.PAGEVIEW, views[:5]))
        # Kafka redelivers from offset 3 (its commit lagged the store), plus new records
        overlap = await writer.apply(
            Topic.PAGEVIEW, 2, ev.records(Topic.PAGEVIEW, views[3:], first_offset=3)
        )
        view = await reader.read()

    assert (overlap.applied, overlap.skipped) == (5, 2)
    assert total(view, "events_received", topic="pageview") == 10
    assert total(view, "landing_pageviews") == 10
    assert total(view, "events_duplicate") == 0
    assert view.offsets[("pageview", 2)] == 9


async def test_an_event_published_twice_upstream_counts_once(
    writer: StoreWriter, reader: StoreReader, clock: Clock
) -> None:
    now = clock.now_s
    first = [
        ev.sent("m1", now - 60),
        ev.delivered("m1", now - 50),
        ev.sent("m2", now - 40),
    ]

    async with asyncio.timeout(TIMEOUT_S):
        await writer.apply(Topic.DELIVERY, 0, ev.records(Topic.DELIVERY, first))
        # the producer retried: the same events (same event_id) at new offsets
        again = await writer.apply(
            Topic.DELIVERY, 0, ev.records(Topic.DELIVERY, first, first_offset=3)
        )
        view = await reader.read()

    assert again.applied == 3
    assert counts(view, "messages_sent", "messages_delivered") == {
        "messages_sent": 2,
        "messages_delivered": 1,
    }
    assert total(view, "events_received", topic="delivery") == 6
    assert total(view, "events_duplicate", topic="delivery") == 3


# --- one write for every topic of a partition -------------------------------------------


async def test_several_topics_applied_in_one_write_count_once_and_keep_an_offset_each(
    writer: StoreWriter, reader: StoreReader, redis_client: Redis, settings: Settings, clock: Clock
) -> None:
    now = clock.now_s
    # the open comes first in its topic's batch, but the sent is in the same apply
    opens = ev.records(Topic.OPEN, [ev.opened("m1", now - 30), ev.opened("m2", now - 20)])
    sends = ev.records(Topic.DELIVERY, [ev.sent("m1", now - 60), ev.sent("m2", now - 50)])
    views = ev.records(Topic.PAGEVIEW, [ev.pageview("v1", now - 10)], first_offset=7)
    version = Keys(settings.key_prefix).version(3)

    async with asyncio.timeout(TIMEOUT_S):
        first = await writer.apply_partition(
            3, {Topic.OPEN: opens, Topic.DELIVERY: sends, Topic.PAGEVIEW: views}
        )
        writes = int(await redis_client.get(version) or 0)
        before = await dump(redis_client, settings.key_prefix)
        # Kafka redelivers the delivery and open batches; the pageview batch goes on
        more_views = ev.records(Topic.PAGEVIEW, [ev.pageview("v2", now - 5)], first_offset=8)
        again = await writer.apply_partition(
            3, {Topic.OPEN: opens, Topic.DELIVERY: sends, Topic.PAGEVIEW: more_views}
        )
        view = await reader.read()

    assert (first.applied, first.skipped) == (5, 0)
    assert writes == 1, "one apply, one write"
    assert not [k for k in before if ":park:" in k], "the opens joined their sends unparked"
    assert (again.applied, again.skipped) == (1, 4)
    assert counts(view, "messages_sent", "messages_opened", "landing_pageviews") == {
        "messages_sent": 2,
        "messages_opened": 2,
        "landing_pageviews": 2,
    }
    assert total(view, "events_duplicate") == 0
    assert (view.offsets[("delivery", 3)], view.offsets[("open", 3)]) == (1, 1)
    assert view.offsets[("pageview", 3)] == 8


async def test_dedupe_is_per_topic_when_topics_share_a_write(
    writer: StoreWriter, reader: StoreReader, clock: Clock
) -> None:
    now = clock.now_s
    # upstream systems that reuse an id across topics: two different events
    sends = ev.records(Topic.DELIVERY, [ev.sent("m1", now - 60, event_id="shared-1")])
    opens = ev.records(Topic.OPEN, [ev.opened("m1", now - 30, event_id="shared-1")])

    async with asyncio.timeout(TIMEOUT_S):
        await writer.apply_partition(0, {Topic.DELIVERY: sends, Topic.OPEN: opens})
        view = await reader.read()

    assert counts(view, "messages_sent", "messages_opened") == {
        "messages_sent": 1,
        "messages_opened": 1,
    }
    assert total(view, "events_duplicate") == 0


# --- parking ----------------------------------------------------------------------------


async def test_an_open_before_its_sent_is_applied_when_the_sent_arrives_in_a_later_batch(
    writer: StoreWriter, reader: StoreReader, redis_client: Redis, clock: Clock
) -> None:
    now = clock.now_s
    keys = writer.keys

    async with asyncio.timeout(TIMEOUT_S):
        await writer.apply(
            Topic.OPEN,
            3,
            ev.records(Topic.OPEN, [ev.opened("m1", now - 30), ev.opened("m1", now - 20)]),
        )
        parked = await reader.read()
        assert await redis_client.llen(keys.park(3, "m1")) == 2
        await writer.apply(Topic.DELIVERY, 3, ev.records(Topic.DELIVERY, [ev.sent("m1", now - 60)]))
        view = await reader.read()
        left_parked = await redis_client.exists(keys.park(3, "m1"))
        indexed = await redis_client.zcard(keys.parked(3))

    assert total(parked, "messages_opened") == 0
    assert counts(view, "messages_sent", "messages_opened") == {
        "messages_sent": 1,
        "messages_opened": 1,
    }
    assert windowed(view, "1h", "messages_opened", campaign="winback") == 1
    assert (left_parked, indexed) == (0, 0)


async def test_a_delivery_before_its_sent_in_one_batch_is_applied_with_the_sent(
    writer: StoreWriter, reader: StoreReader, redis_client: Redis, clock: Clock
) -> None:
    now = clock.now_s
    batch = ev.records(Topic.DELIVERY, [ev.delivered("m1", now - 50), ev.sent("m1", now - 60)])

    async with asyncio.timeout(TIMEOUT_S):
        await writer.apply(Topic.DELIVERY, 3, batch)
        view = await reader.read()
        left_parked = await redis_client.llen(writer.keys.park(3, "m1"))

    assert counts(view, "messages_sent", "messages_delivered") == {
        "messages_sent": 1,
        "messages_delivered": 1,
    }
    assert left_parked == 0


async def test_a_batch_parking_hundreds_of_messages_is_applied_when_their_sents_arrive(
    writer: StoreWriter, reader: StoreReader, clock: Clock
) -> None:
    now = clock.now_s
    message_ids = [f"m{i}" for i in range(600)]

    async with asyncio.timeout(TIMEOUT_S):
        await writer.apply(
            Topic.OPEN, 4, ev.records(Topic.OPEN, [ev.opened(m, now - 10) for m in message_ids])
        )
        await writer.apply(
            Topic.DELIVERY,
            4,
            ev.records(Topic.DELIVERY, [ev.sent(m, now - 60) for m in message_ids]),
        )
        view = await reader.read()

    assert total(view, "messages_opened") == len(message_ids)


async def test_parked_events_past_the_orphan_wait_are_counted_as_orphans(
    writer: StoreWriter, reader: StoreReader, redis_client: Redis, settings: Settings, clock: Clock
) -> None:
    now = clock.now_s
    wait_s = duration_s(settings.orphan_wait)
    lost = [ev.opened("lost-1", now - 5), ev.opened("lost-1", now - 4), ev.opened("lost-2", now)]

    async with asyncio.timeout(TIMEOUT_S):
        await writer.apply(Topic.OPEN, 5, ev.records(Topic.OPEN, lost))
        await writer.apply(Topic.CLICK, 5, ev.records(Topic.CLICK, [ev.clicked("lost-2", now)]))
        clock.now_s = now + wait_s - 1
        too_early = await writer.sweep_orphans(5)
        clock.now_s = now + wait_s + 1
        swept = await writer.sweep_orphans(5)
        swept_again = await writer.sweep_orphans(5)
        view = await reader.read()
        remaining = await keys_under(redis_client, f"{settings.key_prefix}:{{p5}}:park")

    assert (too_early, swept, swept_again) == (0, 4, 0)
    assert total(view, "events_orphaned", topic="open") == 3
    assert total(view, "events_orphaned", topic="click") == 1
    assert total(view, "messages_opened") == 0
    assert remaining == set()


async def test_a_customer_who_pays_in_the_batch_that_made_them_struggling_is_written_once(
    writer: StoreWriter, reader: StoreReader, settings: Settings, clock: Clock
) -> None:
    now = clock.now_s
    failures = settings.struggling_min_failures
    attempts = [ev.payment("c1", now - 60 + i, "failed", 100) for i in range(failures)]
    batch = ev.records(Topic.PAYMENT, [*attempts, ev.payment("c1", now, "succeeded", 250)])

    async with asyncio.timeout(TIMEOUT_S):
        result = await writer.apply(Topic.PAYMENT, 2, batch)
        view = await reader.read()

    assert result.applied == failures + 1
    assert total(view, "events_received", topic="payment") == failures + 1
    assert total(view, "payment_attempts", status="failed") == failures
    assert total(view, "collected_amount_minor", currency="EUR") == 250
    assert view.offsets[("payment", 2)] == failures
    assert view.struggling == ()


async def test_a_payment_applied_before_its_messages_touch_is_credited_when_the_touch_comes(
    redis_client: Redis, reader: StoreReader, settings: Settings, clock: Clock
) -> None:
    published: list[tuple[bytes, bytes]] = []

    async def publish(records: Sequence[tuple[bytes, bytes]]) -> None:
        published.extend(records)

    writer = StoreWriter(redis_client, settings, publish=publish, clock=clock)
    now = clock.now_s
    paid = {**ev.payment("c1", now - 5, "succeeded", 700), "message_id": "m1"}
    message = [ev.sent("m1", now - 60, customer_id="c1"), ev.delivered("m1", now - 50)]

    async with asyncio.timeout(TIMEOUT_S):
        await writer.apply(Topic.PAYMENT, 1, ev.records(Topic.PAYMENT, [paid]))
        before = await reader.read()
        await writer.apply(Topic.DELIVERY, 4, ev.records(Topic.DELIVERY, message))
        assert len(published) == 1, "the delivery publishes one touch record"
        # one repartition record per target partition, as the worker publishes them
        touch = [(0, batch_records(published, lambda _: 1)[1])]
        await writer.apply_touches(1, touch)
        await writer.apply_touches(1, touch)  # a redelivered touch changes nothing
        after = await reader.read()

    assert total(before, "messages_paid") == 0
    assert total(after, "messages_paid", campaign="winback") == 1
    assert total(after, "attributed_amount_minor", campaign="winback", currency="EUR") == 700


# --- concurrent writers ---------------------------------------------------------------


async def test_two_writers_applying_one_batch_at_once_count_it_once(
    writer: StoreWriter,
    reader: StoreReader,
    second_client: Redis,
    settings: Settings,
    clock: Clock,
) -> None:
    other = StoreWriter(second_client, settings, clock=clock)
    now = clock.now_s
    rounds = 15
    applied_per_round = []

    async with asyncio.timeout(TIMEOUT_S):
        for r in range(rounds):
            batch = ev.records(
                Topic.PAGEVIEW,
                [ev.pageview(f"v{r}-{i}", now - i) for i in range(20)],
                first_offset=20 * r,
            )
            results = await asyncio.gather(
                writer.apply(Topic.PAGEVIEW, 6, batch), other.apply(Topic.PAGEVIEW, 6, batch)
            )
            applied_per_round.append(sorted(res.applied for res in results))
        view = await reader.read()

    assert applied_per_round == [[0, 20]] * rounds
    assert total(view, "events_received") == 20 * rounds
    assert total(view, "landing_pageviews") == 20 * rounds
    assert total(view, "events_duplicate") == 0


async def test_two_writers_racing_an_open_and_its_sent_never_lose_or_double_count(
    writer: StoreWriter,
    reader: StoreReader,
    redis_client: Redis,
    second_client: Redis,
    settings: Settings,
    clock: Clock,
) -> None:
    other = StoreWriter(second_client, settings, clock=clock)
    now = clock.now_s
    rounds = 15

    async with asyncio.timeout(TIMEOUT_S):
        for r in range(rounds):
            mids = [f"r{r}-m{i}" for i in range(5)]
            sends = ev.records(
                Topic.DELIVERY, [ev.sent(m, now - 60) for m in mids], first_offset=5 * r
            )
            opens = ev.records(
                Topic.OPEN, [ev.opened(m, now - 30) for m in mids], first_offset=5 * r
            )
            await asyncio.gather(
                writer.apply(Topic.DELIVERY, 6, sends), other.apply(Topic.OPEN, 6, opens)
            )
        view = await reader.read()
        still_parked = await redis_client.zcard(writer.keys.parked(6))

    assert counts(view, "messages_sent", "messages_opened") == {
        "messages_sent": 5 * rounds,
        "messages_opened": 5 * rounds,
    }
    assert still_parked == 0


# --- reading windows ------------------------------------------------------------------


async def test_an_event_counts_in_every_window_that_covers_its_bucket(
    writer: StoreWriter, reader: StoreReader, clock: Clock
) -> None:
    now = clock.now_s
    batch = ev.records(
        Topic.DELIVERY,
        [
            ev.sent("now-1", now, campaign="fresh"),
            ev.sent("now-2", now, campaign="fresh"),
            ev.sent("old-1", now - 2 * 3600, campaign="two-hours-old"),
        ],
    )

    async with asyncio.timeout(TIMEOUT_S):
        await writer.apply(Topic.DELIVERY, 0, batch)
        view = await reader.read()

    def sent_in(window: str, campaign: str) -> float:
        return windowed(view, window, "messages_sent", campaign=campaign)

    assert [sent_in(w, "fresh") for w in ("1h", "24h", "7d")] == [2, 2, 2]
    assert [sent_in(w, "two-hours-old") for w in ("1h", "24h", "7d")] == [0, 1, 1]
    assert total(view, "messages_sent") == 3


async def test_windows_sum_the_buckets_of_every_partition(
    writer: StoreWriter, reader: StoreReader, clock: Clock
) -> None:
    now = clock.now_s

    async with asyncio.timeout(TIMEOUT_S):
        for partition in range(4):
            views = [ev.pageview(f"p{partition}-v{i}", now - 60 * i) for i in range(partition + 1)]
            await writer.apply(Topic.PAGEVIEW, partition, ev.records(Topic.PAGEVIEW, views))
        view = await reader.read()

    assert view.partitions == (0, 1, 2, 3)
    assert windowed(view, "1h", "landing_pageviews", source="email") == 1 + 2 + 3 + 4
    assert windowed(view, "1h", "landing_unique_visitors", source="email") == 10


# --- scale-out --------------------------------------------------------------------------


async def test_every_key_written_for_partition_7_carries_its_hash_tag(
    writer: StoreWriter, redis_client: Redis, settings: Settings, clock: Clock
) -> None:
    now = clock.now_s
    batches = {
        Topic.OPEN: [ev.opened("m1", now - 10), ev.opened("m-never", now - 10)],
        Topic.DELIVERY: [ev.sent("m1", now - 60), ev.delivered("m1", now - 50)],
        Topic.BOUNCE: [ev.bounce("m1", now - 40, "soft")],
        Topic.CLICK: [ev.clicked("m1", now - 5)],
        Topic.PAGEVIEW: [ev.pageview("v1", now - 5)],
        Topic.PAYMENT: [
            ev.payment("cust-1", now - 3, "failed", 100),
            ev.payment("cust-1", now - 2, "succeeded", 100),
        ],
        Topic.PROMISE: [ev.promise("cust-1", now - 1, "made", "inbound")],
    }

    async with asyncio.timeout(TIMEOUT_S):
        for topic, payloads in batches.items():
            await writer.apply(topic, 7, ev.records(topic, payloads))
        await writer.apply(Topic.OPEN, 7, ev.raw_records(Topic.OPEN, [b"{bad"], first_offset=2))
        written = await keys_under(redis_client, settings.key_prefix)

    keys = Keys(settings.key_prefix)
    global_keys = {keys.partitions()} | {
        keys.labels(label) for label in ("campaign", "variant", "segment", "tenant", "agent")
    }
    assert len(written) > 10
    assert {key for key in written if "{p7}" not in key} <= global_keys


# --- the test-only switches that break exactly-once (tests/faults proves it notices) ------


async def test_without_the_offset_guard_a_redelivered_batch_counts_as_received_again(
    redis_client: Redis, settings: Settings, reader: StoreReader, clock: Clock
) -> None:
    unsafe = settings.model_copy(update={"unsafe_test_disable_offset_guard": True})
    writer = StoreWriter(redis_client, unsafe, clock=clock)
    batch = ev.records(Topic.PAGEVIEW, [ev.pageview(f"v{i}", clock.now_s - i) for i in range(5)])

    async with asyncio.timeout(TIMEOUT_S):
        await writer.apply(Topic.PAGEVIEW, 0, batch)
        again = await writer.apply(Topic.PAGEVIEW, 0, batch)
        view = await reader.read()

    assert (again.applied, again.skipped) == (5, 0)
    assert total(view, "events_received", topic="pageview") == 10
    assert total(view, "events_duplicate", topic="pageview") == 5
    assert ("pageview", 0) not in view.offsets


async def test_without_dedupe_an_event_published_twice_upstream_counts_twice(
    redis_client: Redis, settings: Settings, reader: StoreReader, clock: Clock
) -> None:
    unsafe = settings.model_copy(update={"unsafe_test_disable_dedupe": True})
    writer = StoreWriter(redis_client, unsafe, clock=clock)
    views = [ev.pageview(f"v{i}", clock.now_s - i) for i in range(5)]

    async with asyncio.timeout(TIMEOUT_S):
        await writer.apply(Topic.PAGEVIEW, 0, ev.records(Topic.PAGEVIEW, views))
        await writer.apply(Topic.PAGEVIEW, 0, ev.records(Topic.PAGEVIEW, views, first_offset=5))
        view = await reader.read()

    assert total(view, "landing_pageviews") == 10
    assert total(view, "events_duplicate") == 0
