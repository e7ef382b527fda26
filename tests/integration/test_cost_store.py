"""The standing costs in Redis (store.costs): corrections by occurred_at in any order,
repeats, redelivery behind the offset guard, retention."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from faust.types import TP
from redis.asyncio import Redis

from collectpulse.events.roster import CostEvent
from collectpulse.settings import Settings
from collectpulse.store.costs import GONE_DAYS, KEEP_DAYS, CostStore, quality_field
from collectpulse.store.fields import counter_field
from collectpulse.store.tenant_label import TenantLabels
from collectpulse.stream.batch import RawRecord, RecordBatch
from collectpulse.stream.cost_agent import make_cost_agent
from collectpulse.stream.resume import resume_positions
from collectpulse.stream.retry import DependencyState

AT = datetime(2026, 11, 1, 9, tzinfo=UTC)
NOW_S = AT.timestamp()


def cost(event_id: str, amount: int, *, later_s: int = 0, cost_id: str = "c1") -> CostEvent:
    return CostEvent(
        event_id=event_id,
        occurred_at=AT + timedelta(seconds=later_s),
        tenant="acme",
        cost_id=cost_id,
        category="labour",
        amount_minor=amount,
        currency="EUR",
        period_start=date(2026, 10, 1),
        period_end=date(2026, 11, 1),
    )


async def test_the_latest_correction_stands_in_every_arrival_order(
    settings: Settings, redis_client: Redis
) -> None:
    # v1, its correction v2 (a second later), v3 at v2's time with a larger event id
    records = [cost("v1", 100), cost("v2", 200, later_s=1), cost("v3", 300, later_s=1)]
    for n, order in enumerate(itertools.permutations(records)):
        store = CostStore(redis_client, f"{settings.key_prefix}-{n}")
        for offset, event in enumerate(order):
            await store.store(event, 0, offset)
        assert [c.amount_minor for c in await store.costs()] == [300], order


async def test_repeats_and_redeliveries_change_nothing_and_count_once(
    settings: Settings, redis_client: Redis
) -> None:
    store = CostStore(redis_client, settings.key_prefix)
    received = quality_field("events_received")
    count = (received,)
    assert await store.store(cost("v2", 200, later_s=5), 0, 0, counts=count) == 1
    assert await store.store(cost("v1", 100), 0, 1, counts=count) == 3  # superseded
    assert await store.store(cost("v1", 100), 0, 2, counts=count) == 2  # a repeat of it
    assert await store.store(cost("v2", 200, later_s=5), 1, 0, counts=count) == 2
    # a redelivered batch: offsets at or before the applied one do nothing at all
    assert await store.store(cost("v9", 900, later_s=9), 0, 2, counts=count) == 0
    assert await store.store(None, 1, 0, counts=count) == 0
    assert [c.amount_minor for c in await store.costs()] == [200]
    quality = await store.quality()
    assert quality == {received: 4, quality_field("events_duplicate"): 2}


async def test_costs_whose_period_ended_before_every_window_are_dropped(
    settings: Settings, redis_client: Redis
) -> None:
    store = CostStore(redis_client, settings.key_prefix)
    await store.store(cost("v1", 100), 0, 0)  # ends 2026-11-01 (exclusive)
    kept = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(days=KEEP_DAYS - 1)
    assert await store.prune(kept.timestamp()) == 0
    assert await store.prune(kept.timestamp() + 86_400) == 1
    assert await store.costs() == []
    # its tombstone keeps its ids: the same record again is a duplicate, not stored anew
    assert await store.store(cost("v1", 100), 0, 1) == 2
    assert await store.costs() == []
    # the tombstone goes GONE_DAYS after the drop; then the cost_id is forgotten
    gone = kept.timestamp() + 86_400 * (1 + GONE_DAYS)
    assert await store.prune(gone - 86_400) == 0
    assert await store.store(cost("v1", 100), 0, 2) == 2
    await store.prune(gone)
    assert await store.store(cost("v1", 100), 0, 3) == 1


def correction(event_id: str, occurred: date, period: tuple[date, date]) -> CostEvent:
    return cost(event_id, 100).model_copy(
        update={
            "occurred_at": datetime(occurred.year, occurred.month, occurred.day, tzinfo=UTC),
            "period_start": period[0],
            "period_end": period[1],
        }
    )


async def test_a_dropped_correction_orders_later_records_in_every_arrival_order(
    settings: Settings, redis_client: Redis
) -> None:
    # R1, and its correction R2 (later) whose period is past every window: R2 stands and
    # is dropped, whether R1 came first or only after R2's batch was pruned
    r1 = correction("r1", date(2026, 6, 1), (date(2026, 10, 1), date(2026, 11, 1)))
    r2 = correction("r2", date(2026, 6, 10), (date(2026, 1, 1), date(2026, 2, 1)))
    received, duplicate = quality_field("events_received"), quality_field("events_duplicate")
    for n, order in enumerate(((r1, r2), (r2, r1))):
        store = CostStore(redis_client, f"{settings.key_prefix}-order{n}")
        for offset, event in enumerate((*order, r2, r1)):  # then a repeat of each
            await store.store(event, 0, offset, counts=(received,))
            await store.prune(NOW_S)  # after every batch (of one record)
        assert await store.costs() == [], order
        assert await store.quality() == {received: 4, duplicate: 2}, order
        # a correction newer than the dropped one stands again
        r3 = correction("r3", date(2026, 6, 20), (date(2026, 10, 1), date(2026, 11, 1)))
        assert await store.store(r3, 0, 9) == 1
        await store.prune(NOW_S)
        assert [c.cost_id for c in await store.costs()] == ["c1"], order


async def test_a_cost_partition_resumes_after_the_offset_the_store_applied(
    settings: Settings, redis_client: Redis
) -> None:
    store = CostStore(redis_client, settings.key_prefix)
    for offset in range(3):
        await store.store(cost(f"p0-{offset}", 100, later_s=offset), 0, offset)
    await store.store(None, 1, 0)  # a dead-lettered record moves the offset too
    assert await store.applied_offsets() == {0: 2, 1: 0}

    async def no_event_offsets(partition: int) -> dict[str, int]:
        return {}  # cp:{pN}:off knows nothing of the cost topic

    topic = settings.topic("cost")
    assigned = frozenset({TP(topic, 0), TP(topic, 1), TP(topic, 2)})
    resumed = await resume_positions(
        assigned,
        prefix=settings.topic_prefix,
        partition_offsets=no_event_offsets,
        topic_offsets={topic: store.applied_offsets},
    )
    assert resumed == {TP(topic, 0): 3, TP(topic, 1): 1}  # partition 2: from the commit


async def test_the_agent_stores_the_tenant_label_capped_and_redacted(
    settings: Settings, redis_client: Redis
) -> None:
    store = CostStore(redis_client, settings.key_prefix)
    tenants = TenantLabels(redis_client, settings.key_prefix, cap=1)

    async def no_dlq(key: bytes | None, value: bytes | None, headers: Any) -> None:
        raise AssertionError("nothing here is invalid")

    agent = make_cost_agent(
        store,
        tenants,
        no_dlq,
        max_bytes=65536,
        future_tolerance_s=300,
        state=DependencyState(),
        clock=lambda: NOW_S,
    )
    events = [
        cost("e1", 100, cost_id="a").model_copy(update={"tenant": "acme"}),
        cost("e2", 200, cost_id="b").model_copy(update={"tenant": "beta"}),  # over the cap
        cost("e3", 300, cost_id="c").model_copy(update={"tenant": "jane@example.com"}),
    ]
    records = [
        RawRecord(n, e.cost_id.encode(), e.model_dump_json().encode(), (), 0)
        for n, e in enumerate(events)
    ]

    async def one_batch() -> AsyncIterator[RecordBatch]:
        yield RecordBatch(settings.topic("cost"), 0, 0, len(records) - 1, records)

    await agent(one_batch())
    assert [(c.cost_id, c.tenant) for c in await store.costs()] == [
        ("a", "acme"),
        ("b", "__other__"),
        ("c", "__redacted__"),
    ]
    assert await redis_client.smembers(f"{settings.key_prefix}:{{labels}}:tenant") == {b"acme"}
    overflows = counter_field("label_overflows", {"label": "tenant"})
    assert (await store.quality())[overflows] == 2
