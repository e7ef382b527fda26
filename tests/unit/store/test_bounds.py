"""Bounds on waiting state, planned without servers: parked events and customer messages.

Past a bound nothing is kept, and everything not kept is counted: a refused park
in ``events_orphaned`` and ``state_limit_hits``, a forgotten customer message in
``state_limit_hits``.
"""

from __future__ import annotations

from dataclasses import replace

from tests.unit.store import test_customer_effects as cust
from tests.unit.store import test_effects as fx

from collectpulse.events.models import Topic
from collectpulse.store.context import Snapshot
from collectpulse.store.effects import plan_partition
from collectpulse.store.plan import WritePlan
from collectpulse.store.touches import Touch

BOUNDED = replace(fx.TIMING, max_parked_per_message=2, max_parked_messages=3)


def plan(
    *records: fx.Record, snapshot: Snapshot = fx.EMPTY, topic: Topic = Topic.OPEN
) -> WritePlan:
    return plan_partition(
        partition=fx.PARTITION,
        events=[(topic, records)],
        touches=[],
        snapshot=snapshot,
        keys=fx.KEYS,
        timing=BOUNDED,
        cap=fx.uncapped,
    )


def limit_hits(written: WritePlan, limit: str) -> int:
    return fx.total(written, "state_limit_hits", {"limit": limit})


def orphaned(written: WritePlan, topic: Topic = Topic.OPEN) -> int:
    return fx.total(written, "events_orphaned", fx.quality(topic))


def parked(written: WritePlan, message_id: str) -> int:
    return len(written.rpush.get(fx.KEYS.park(fx.PARTITION, message_id), []))


def test_events_past_the_per_message_bound_are_orphans_not_parked() -> None:
    written = plan(*(fx.opened("m1", 300 - i) for i in range(5)))

    assert parked(written, "m1") == 2
    assert orphaned(written) == 3
    assert limit_hits(written, "max_parked_per_message") == 3


def test_the_per_message_bound_counts_events_parked_by_earlier_batches() -> None:
    snapshot = replace(fx.EMPTY, parked_count=1, park_lengths={"m1": 1})

    written = plan(fx.opened("m1", 20), fx.opened("m1", 10), snapshot=snapshot)

    assert parked(written, "m1") == 1
    assert limit_hits(written, "max_parked_per_message") == 1


def test_a_new_message_is_not_parked_once_the_partition_holds_the_bound() -> None:
    written = plan(*(fx.opened(f"m{i}", 100) for i in range(5)))

    assert [parked(written, f"m{i}") for i in range(5)] == [1, 1, 1, 0, 0]
    assert written.zadd_nx[fx.KEYS.parked(fx.PARTITION)].keys() == {"m0", "m1", "m2"}
    assert limit_hits(written, "max_parked_messages") == 2
    assert orphaned(written) == 2


def test_a_message_already_parked_may_still_park_when_the_partition_is_full() -> None:
    snapshot = replace(fx.EMPTY, parked_count=3, park_lengths={"m1": 1})

    written = plan(fx.opened("m1", 20), fx.opened("m9", 10), snapshot=snapshot)

    assert (parked(written, "m1"), parked(written, "m9")) == (1, 0)
    assert limit_hits(written, "max_parked_messages") == 1


def test_a_sent_that_replays_its_parked_events_frees_room_in_the_same_batch() -> None:
    written = plan(
        fx.delivered("m0", 200),
        fx.delivered("m1", 200),
        fx.delivered("m2", 200),
        fx.sent("m0", 190),
        fx.delivered("m3", 180),
        topic=Topic.DELIVERY,
    )

    assert parked(written, "m3") == 1
    assert limit_hits(written, "max_parked_messages") == 0
    assert fx.total(written, "messages_delivered") == 1


def test_within_the_bounds_nothing_is_counted_as_a_limit_hit() -> None:
    written = plan(fx.opened("m1", 30), fx.opened("m2", 20))

    assert fx.counters(written).get("state_limit_hits", 0) == 0
    assert orphaned(written) == 0


# --- customer messages ----------------------------------------------------------------

KEEP_TWO = replace(cust.TIMING, max_customer_messages=2)


def touches(*items: Touch, state: dict[str, dict[str, str]] | None = None) -> WritePlan:
    return plan_partition(
        partition=cust.P,
        events=[],
        touches=list(items),
        snapshot=Snapshot("0", customers=state or {}),
        keys=cust.KEYS,
        timing=KEEP_TWO,
        cap=lambda _, v: v,
    )


def remembered(written: WritePlan, state: dict[str, str] | None = None) -> set[str]:
    """Message ids the customer's hash holds once ``written`` is applied over ``state``."""
    fields = dict(state or {})
    fields.update(written.hset.get(cust.KEYS.customer(cust.P, "c1"), {}))
    for name in written.hdel.get(cust.KEYS.customer(cust.P, "c1"), set()):
        fields.pop(name, None)
    return {name[2:] for name in fields if name.startswith("m:")}


def customer_hits(written: WritePlan) -> int:
    return cust.total(written, "state_limit_hits", {"limit": "max_customer_messages"})


def test_a_customer_remembers_only_the_newest_sends_past_the_bound() -> None:
    now = cust.NOW
    written = touches(*(cust.delivered(f"m{i}", now - 100 + i, now - 1000 + i) for i in range(4)))

    assert remembered(written) == {"m2", "m3"}
    assert customer_hits(written) == 2


def test_messages_stored_earlier_are_forgotten_with_every_field_they_had() -> None:
    now = cust.NOW
    state = cust.customer_state(
        touches(
            cust.delivered("old", now - 500, now - 900), cust.delivered("m1", now - 400, now - 800)
        )
    )["c1"]
    state["p:old"] = str(now - 300)

    written = touches(cust.delivered("new", now - 10, now - 20), state={"c1": state})

    assert remembered(written, state) == {"m1", "new"}
    assert written.hdel[cust.KEYS.customer(cust.P, "c1")] == {"m:old", "s:old", "d:old", "p:old"}
    assert customer_hits(written) == 1


def test_messages_sent_before_retention_are_forgotten_without_a_limit_hit() -> None:
    now = cust.NOW
    stale_s = now - KEEP_TWO.retention_s - 60
    state = {"c1": {"m:stale": cust.DIMS, "s:stale": str(stale_s), "d:stale": str(stale_s)}}

    written = touches(cust.delivered("new", now - 10, now - 20), state=state)

    assert remembered(written, state["c1"]) == {"new"}
    assert customer_hits(written) == 0


def test_a_touch_of_a_known_message_forgets_nothing() -> None:
    now = cust.NOW
    state = cust.customer_state(
        touches(
            cust.delivered("m1", now - 500, now - 900), cust.delivered("m2", now - 400, now - 800)
        )
    )

    written = touches(Touch("clicked", "c1", now - 5, "m1", now - 900, cust.DIMS), state=state)

    assert cust.KEYS.customer(cust.P, "c1") not in written.hdel
    assert customer_hits(written) == 0
