"""The counting rules of one batch, planned without servers (kpi-catalog sections 3-6).

Records are decoded from JSON exactly as the agents decode them; snapshots of
a later batch are derived from the previous batch's plan (``after``), so a
sequence of batches reads like the partition's history.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from collectpulse.events.decode import decode
from collectpulse.events.models import Topic
from collectpulse.kpi.labels import OTHER_VALUE
from collectpulse.store.effects import (
    COARSE_BUCKET_S,
    Record,
    Snapshot,
    Timing,
    plan_orphans,
    plan_partition,
    split_parked,
)
from collectpulse.store.fields import counter_field
from collectpulse.store.keys import DAY_S, FIELD_SEP, Keys, split_field
from collectpulse.store.plan import WritePlan
from collectpulse.store.touches import decode_touches

PARTITION = 5
KEYS = Keys("cp")
NOW_S = 1_800_000_000  # 2027-01-15T08:00:00Z, on an hour boundary
BUCKET_S = 60
RETENTION_S = 14 * DAY_S
TIMING = Timing(
    now_s=NOW_S,
    bucket_s=BUCKET_S,
    retention_s=RETENTION_S,
    fine_ttl_s=7 * DAY_S,
    dedupe_horizon_s=7 * DAY_S,
    max_event_bytes=4096,
)
EMPTY = Snapshot(version="0", applied={}, seen={}, messages={})
MAX_EVENT_BYTES = TIMING.max_event_bytes

_offsets = itertools.count()
_ids = itertools.count()


# --- building records ---------------------------------------------------------------


def _iso(ago_s: int) -> str:
    return (datetime.fromtimestamp(NOW_S, UTC) - timedelta(seconds=ago_s)).isoformat()


def record(topic: Topic, ago_s: int, event_id: str | None = None, **body: Any) -> Record:
    payload = {
        "event_id": event_id or f"{topic.value}-{next(_ids)}",
        "occurred_at": _iso(ago_s),
        **body,
    }
    raw = orjson.dumps(payload)
    event = decode(topic, raw, max_bytes=MAX_EVENT_BYTES)
    return Record(next(_offsets), raw, event)


def sent(
    message_id: str,
    ago_s: int = 600,
    *,
    event_id: str | None = None,
    campaign: str = "winback",
    variant: str = "a",
) -> Record:
    return record(
        Topic.DELIVERY,
        ago_s,
        event_id,
        message_id=message_id,
        status="sent",
        channel="email",
        customer_id="cust-1",
        campaign=campaign,
        variant=variant,
    )


def delivered(message_id: str, ago_s: int = 540, *, event_id: str | None = None) -> Record:
    return record(
        Topic.DELIVERY, ago_s, event_id, message_id=message_id, status="delivered", channel="email"
    )


def bounce(message_id: str, bounce_type: str, ago_s: int = 500) -> Record:
    return record(Topic.BOUNCE, ago_s, message_id=message_id, bounce_type=bounce_type)


def opened(
    message_id: str, ago_s: int = 300, *, machine: bool = False, event_id: str | None = None
) -> Record:
    return record(Topic.OPEN, ago_s, event_id, message_id=message_id, machine=machine)


def clicked(message_id: str, ago_s: int = 200) -> Record:
    return record(Topic.CLICK, ago_s, message_id=message_id, url="https://pay.example/x")


def pageview(visitor_id: str, ago_s: int = 100, *, event_id: str | None = None) -> Record:
    return record(Topic.PAGEVIEW, ago_s, event_id, visitor_id=visitor_id, source="email")


def payment(status: str, amount_minor: int, currency: str = "EUR", ago_s: int = 100) -> Record:
    return record(
        Topic.PAYMENT,
        ago_s,
        payment_id=f"pay-{next(_ids)}",
        customer_id="cust-1",
        status=status,
        amount_minor=amount_minor,
        currency=currency,
    )


def raw_record(value: bytes | None) -> Record:
    return Record(
        next(_offsets), value or b"", decode(Topic.OPEN, value, max_bytes=MAX_EVENT_BYTES)
    )


# --- planning and reading a plan ------------------------------------------------------


def uncapped(label: str, value: str) -> str:
    return value


def plan(
    topic: Topic, *records: Record, snapshot: Snapshot = EMPTY, cap: Any = uncapped
) -> WritePlan:
    return plan_partition(
        partition=PARTITION,
        events=[(topic, records)],
        touches=[],
        snapshot=snapshot,
        keys=KEYS,
        timing=TIMING,
        cap=cap,
    )


def after(snapshot: Snapshot, written: WritePlan) -> Snapshot:
    """The snapshot a next batch would read once ``written`` is in the store."""
    message_prefix = KEYS.message(PARTITION, "")
    park_prefix = KEYS.park(PARTITION, "")
    seen_prefix = f"{KEYS.tag(PARTITION)}:seen:"
    messages = {mid: dict(state) for mid, state in snapshot.messages.items()}
    for key, values in written.hset.items():
        if key.startswith(message_prefix):
            messages.setdefault(key.removeprefix(message_prefix), {}).update(values)
    parked = {mid: list(entries) for mid, entries in snapshot.parked.items()}
    for key in written.delete:
        parked.pop(key.removeprefix(park_prefix), None)
    for key, entries in written.rpush.items():
        parked.setdefault(key.removeprefix(park_prefix), []).extend(e.encode() for e in entries)
    seen = {topic: set(ids) for topic, ids in snapshot.seen.items()}
    for key, members in written.sadd.items():
        if key.startswith(seen_prefix):
            # <tag>:seen:<topic>:<day>: dedupe is per topic
            topic = key.removeprefix(seen_prefix).rsplit(":", 1)[0]
            seen.setdefault(topic, set()).update(members)
    return Snapshot(
        version=str(int(snapshot.version) + 1),
        applied=snapshot.applied,
        seen={topic: frozenset(ids) for topic, ids in seen.items()},
        messages=messages,
        parked=parked,
    )


def funnel_labels(campaign: str = "winback", variant: str = "a", **extra: str) -> dict[str, str]:
    return {
        "channel": "email",
        "campaign": campaign,
        "variant": variant,
        "segment": "default",
        "tenant": "",
        **extra,
    }


def total(written: WritePlan, counter: str, labels: Mapping[str, str] | None = None) -> int:
    """The all-time increment of one series of ``counter`` in the plan."""
    name = counter_field(counter, labels if labels is not None else funnel_labels())
    return written.incr.get((KEYS.totals(PARTITION), name), 0)


def in_bucket(
    written: WritePlan,
    counter: str,
    at_s: int,
    labels: Mapping[str, str] | None = None,
    gran_s: int = BUCKET_S,
) -> int:
    """The increment ``counter`` gets in the bucket of granularity ``gran_s`` holding ``at_s``."""
    name = counter_field(counter, labels if labels is not None else funnel_labels())
    key = KEYS.bucket(PARTITION, gran_s, at_s - at_s % gran_s)
    return written.incr.get((key, name), 0)


def counters(written: WritePlan) -> dict[str, int]:
    """Counter name -> all-time increment summed over every series."""
    out: dict[str, int] = {}
    for (key, raw), amount in written.incr.items():
        if key == KEYS.totals(PARTITION) and amount:
            name, _ = split_field(raw)
            out[name] = out.get(name, 0) + amount
    return out


def bucket_keys(written: WritePlan) -> set[str]:
    bucket_prefix = f"{KEYS.tag(PARTITION)}:c:"
    return {key for key, _ in written.incr if key.startswith(bucket_prefix)}


def quality(topic: Topic, **labels: str) -> dict[str, str]:
    return {"topic": topic.value, **labels}


def ago(seconds: int) -> int:
    return NOW_S - seconds


# --- sent -----------------------------------------------------------------------------


def test_a_message_reported_sent_by_mailer_and_provider_counts_one_send() -> None:
    written = plan(Topic.DELIVERY, sent("m1", 600), sent("m1", 590))

    assert total(written, "messages_sent") == 1
    assert in_bucket(written, "messages_sent", ago(600)) == 1
    assert in_bucket(written, "messages_sent", ago(600), gran_s=COARSE_BUCKET_S) == 1
    assert total(written, "events_received", quality(Topic.DELIVERY)) == 2
    assert total(written, "events_duplicate", quality(Topic.DELIVERY)) == 0


def test_a_second_sent_in_a_later_batch_counts_nothing_and_keeps_the_first_send_time() -> None:
    first = plan(Topic.DELIVERY, sent("m1", 600))
    second = plan(Topic.DELIVERY, sent("m1", 60), snapshot=after(EMPTY, first))

    assert counters(second) == {"events_received": 1}
    assert KEYS.message(PARTITION, "m1") not in second.hset


# --- delivery and bounces ---------------------------------------------------------------


def test_delivered_after_a_soft_bounce_still_counts_delivered() -> None:
    written = plan(Topic.DELIVERY, sent("m1"))
    state = after(EMPTY, written)
    soft = plan(Topic.BOUNCE, bounce("m1", "soft"), snapshot=state)
    state = after(state, soft)
    late_delivery = plan(Topic.DELIVERY, delivered("m1", 100), snapshot=state)

    assert total(soft, "messages_bounced", funnel_labels(bounce_type="soft")) == 1
    assert total(soft, "messages_bounced_any") == 1
    assert total(late_delivery, "messages_delivered") == 1
    assert in_bucket(late_delivery, "messages_delivered", ago(600)) == 1


def test_a_hard_bounce_after_delivery_counts_a_bounce_but_no_second_delivery() -> None:
    state = after(EMPTY, plan(Topic.DELIVERY, sent("m1"), delivered("m1")))
    hard = plan(Topic.BOUNCE, bounce("m1", "hard"), snapshot=state)
    redelivered = plan(Topic.DELIVERY, delivered("m1", 50), snapshot=after(state, hard))

    assert total(hard, "messages_bounced", funnel_labels(bounce_type="hard")) == 1
    assert total(hard, "messages_bounced_any") == 1
    assert total(hard, "messages_delivered") == 0
    assert total(redelivered, "messages_delivered") == 0


def test_two_deliveries_of_one_message_in_a_batch_count_one() -> None:
    written = plan(Topic.DELIVERY, sent("m1"), delivered("m1", 540), delivered("m1", 530))

    assert total(written, "messages_delivered") == 1


def test_soft_then_hard_bounce_counts_each_type_once_and_bounced_any_once() -> None:
    state = after(EMPTY, plan(Topic.DELIVERY, sent("m1")))
    first = plan(
        Topic.BOUNCE,
        bounce("m1", "soft", 500),
        bounce("m1", "soft", 400),
        bounce("m1", "hard", 300),
        snapshot=state,
    )
    again = plan(
        Topic.BOUNCE,
        bounce("m1", "soft", 200),
        bounce("m1", "hard", 100),
        snapshot=after(state, first),
    )

    assert total(first, "messages_bounced", funnel_labels(bounce_type="soft")) == 1
    assert total(first, "messages_bounced", funnel_labels(bounce_type="hard")) == 1
    assert total(first, "messages_bounced_any") == 1
    assert counters(again) == {"events_received": 2}


def test_a_hard_bounce_in_a_later_batch_than_the_soft_one_adds_no_bounced_any() -> None:
    state = after(EMPTY, plan(Topic.DELIVERY, sent("m1")))
    state = after(state, plan(Topic.BOUNCE, bounce("m1", "soft"), snapshot=state))
    hard = plan(Topic.BOUNCE, bounce("m1", "hard"), snapshot=state)

    assert total(hard, "messages_bounced", funnel_labels(bounce_type="hard")) == 1
    assert total(hard, "messages_bounced_any") == 0


# --- opens and clicks -----------------------------------------------------------------


def test_a_message_opened_many_times_counts_one_open_in_its_send_bucket() -> None:
    state = after(EMPTY, plan(Topic.DELIVERY, sent("m1", 3 * 3600)))
    opens = plan(
        Topic.OPEN, opened("m1", 300), opened("m1", 200), opened("m1", 100), snapshot=state
    )
    reopened = plan(Topic.OPEN, opened("m1", 50), snapshot=after(state, opens))

    assert total(opens, "messages_opened") == 1
    assert total(opens, "messages_opened_human") == 1
    # cohort: the open lands in the bucket of the send, three hours ago, not of the open
    assert in_bucket(opens, "messages_opened", ago(3 * 3600)) == 1
    assert in_bucket(opens, "messages_opened", ago(300)) == 0
    assert counters(reopened) == {"events_received": 1}


def test_a_machine_open_counts_opened_but_not_opened_human() -> None:
    state = after(EMPTY, plan(Topic.DELIVERY, sent("m1")))
    machine = plan(Topic.OPEN, opened("m1", 300, machine=True), snapshot=state)

    assert total(machine, "messages_opened") == 1
    assert total(machine, "messages_opened_human") == 0


def test_a_human_open_after_a_machine_open_counts_opened_human_only() -> None:
    state = after(EMPTY, plan(Topic.DELIVERY, sent("m1")))
    machine = plan(Topic.OPEN, opened("m1", 300, machine=True), snapshot=state)
    human = plan(Topic.OPEN, opened("m1", 200), snapshot=after(state, machine))

    assert total(human, "messages_opened") == 0
    assert total(human, "messages_opened_human") == 1
    assert in_bucket(human, "messages_opened_human", ago(600)) == 1


def test_a_message_clicked_many_times_counts_one_click() -> None:
    state = after(EMPTY, plan(Topic.DELIVERY, sent("m1")))
    clicks = plan(Topic.CLICK, clicked("m1", 200), clicked("m1", 100), snapshot=state)
    again = plan(Topic.CLICK, clicked("m1", 50), snapshot=after(state, clicks))

    assert total(clicks, "messages_clicked") == 1
    assert in_bucket(clicks, "messages_clicked", ago(600)) == 1
    assert total(again, "messages_clicked") == 0


def test_only_the_first_open_is_observed_as_a_send_to_open_time() -> None:
    state = after(EMPTY, plan(Topic.DELIVERY, sent("m1", 600)))
    opens = plan(Topic.OPEN, opened("m1", 300), opened("m1", 100), snapshot=state)
    reopened = plan(Topic.OPEN, opened("m1", 50), snapshot=after(state, opens))

    def observations(written: WritePlan) -> int:
        prefix = counter_field("send_to_open_seconds", funnel_labels()) + FIELD_SEP
        return sum(
            amount
            for (key, name), amount in written.incr.items()
            if name.startswith(prefix) and name.removeprefix(prefix).isdigit()
        )

    assert observations(opens) == 1
    assert observations(reopened) == 0


# --- parking events until their sent --------------------------------------------------


def test_an_open_before_its_sent_is_parked_and_counts_nothing_yet() -> None:
    early = opened("m1", 300)
    written = plan(Topic.OPEN, early)

    assert counters(written) == {"events_received": 1}
    assert bucket_keys(written) == set()
    [entry] = written.rpush[KEYS.park(PARTITION, "m1")]
    assert split_parked(entry.encode()) == (Topic.OPEN, early.raw)
    assert written.zadd_nx[KEYS.parked(PARTITION)] == {"m1": NOW_S}


def test_a_parked_open_is_applied_when_its_sent_arrives_in_a_later_batch() -> None:
    parked = plan(Topic.OPEN, opened("m1", 300), opened("m1", 200, machine=True))
    state = after(EMPTY, parked)
    assert [mid for mid in state.parked] == ["m1"]

    arrival = plan(Topic.DELIVERY, sent("m1", 600), snapshot=state)

    assert total(arrival, "messages_sent") == 1
    assert total(arrival, "messages_opened") == 1
    assert total(arrival, "messages_opened_human") == 1
    assert in_bucket(arrival, "messages_opened", ago(600)) == 1
    assert KEYS.park(PARTITION, "m1") in arrival.delete
    assert arrival.zrem[KEYS.parked(PARTITION)] == {"m1"}
    assert after(state, arrival).parked == {}


def test_a_delivery_before_its_sent_in_the_same_batch_counts_when_the_sent_arrives() -> None:
    written = plan(Topic.DELIVERY, delivered("m1", 590), sent("m1", 600))

    assert total(written, "messages_sent") == 1
    assert total(written, "messages_delivered") == 1
    assert after(EMPTY, written).parked == {}, "nothing may stay parked for a message now sent"


def test_an_event_parked_beside_a_replay_is_never_left_unindexed() -> None:
    # An open parked earlier; then one batch with a delivery and the sent of that message.
    state = after(EMPTY, plan(Topic.OPEN, opened("m1", 300)))
    written = plan(Topic.DELIVERY, delivered("m1", 590), sent("m1", 600), snapshot=state)

    assert total(written, "messages_opened") == 1
    parked_key = KEYS.parked(PARTITION)
    left_parked = written.rpush.get(KEYS.park(PARTITION, "m1"), [])
    still_indexed = "m1" in written.zadd_nx.get(parked_key, {}) and "m1" not in written.zrem.get(
        parked_key, set()
    )
    assert not left_parked or still_indexed, (
        "an event left in a park list without its index entry is never applied nor orphaned"
    )


# --- duplicates -----------------------------------------------------------------------


def test_a_duplicate_event_id_in_one_batch_counts_only_as_duplicate() -> None:
    written = plan(Topic.PAGEVIEW, pageview("v1", event_id="pv-1"), pageview("v1", event_id="pv-1"))

    assert counters(written) == {
        "events_received": 2,
        "landing_pageviews": 1,
        "events_duplicate": 1,
    }
    assert total(written, "events_duplicate", quality(Topic.PAGEVIEW)) == 1
    assert total(written, "landing_pageviews", {"source": "email", "tenant": ""}) == 1


def test_an_event_id_already_seen_counts_only_received_and_duplicate() -> None:
    state = after(EMPTY, plan(Topic.DELIVERY, sent("m1")))
    first = plan(Topic.OPEN, opened("m1", 300, event_id="open-1"), snapshot=state)
    state = after(state, first)
    assert "open-1" in state.seen[Topic.OPEN.value]
    fresh_message = replace(state, messages={})  # even with nothing else known about m1
    repeat = plan(
        Topic.OPEN, opened("m1", 300, machine=True, event_id="open-1"), snapshot=fresh_message
    )

    assert counters(repeat) == {"events_received": 1, "events_duplicate": 1}
    assert not repeat.rpush and not repeat.hset and not repeat.sadd


def test_a_duplicate_of_a_parked_event_is_not_parked_twice() -> None:
    first = plan(Topic.OPEN, opened("m1", 300, event_id="open-1"))
    repeat = plan(Topic.OPEN, opened("m1", 300, event_id="open-1"), snapshot=after(EMPTY, first))

    assert counters(repeat) == {"events_received": 1, "events_duplicate": 1}
    assert not repeat.rpush


def test_seen_event_ids_expire_after_the_dedupe_horizon_past_their_day() -> None:
    written = plan(Topic.PAGEVIEW, pageview("v1", ago_s=100, event_id="pv-1"))

    occurred_s = NOW_S - 100
    seen_key = KEYS.seen(PARTITION, "pageview", occurred_s)
    assert written.sadd[seen_key] == ["pv-1"]
    day_end_s = (occurred_s // DAY_S + 1) * DAY_S
    assert written.expire[seen_key] == day_end_s + TIMING.dedupe_horizon_s - NOW_S


# --- late events ----------------------------------------------------------------------


def test_an_activity_event_older_than_retention_counts_in_totals_and_late_only() -> None:
    written = plan(Topic.PAYMENT, payment("succeeded", 1500, ago_s=RETENTION_S + 60))

    assert total(written, "payment_attempts", {"tenant": "", "status": "succeeded"}) == 1
    assert total(written, "events_late", quality(Topic.PAYMENT)) == 1
    assert bucket_keys(written) == set()


def test_an_open_of_a_message_sent_before_retention_counts_in_totals_and_late_only() -> None:
    old_send = plan(Topic.DELIVERY, sent("m1", RETENTION_S + 3600))
    assert total(old_send, "events_late", quality(Topic.DELIVERY)) == 1
    assert bucket_keys(old_send) == set()

    opens = plan(Topic.OPEN, opened("m1", 60), snapshot=after(EMPTY, old_send))

    assert total(opens, "messages_opened") == 1
    assert total(opens, "events_late", quality(Topic.OPEN)) == 1
    assert bucket_keys(opens) == set()


def test_an_event_just_inside_retention_is_bucketed() -> None:
    written = plan(Topic.PAYMENT, payment("failed", 1500, ago_s=RETENTION_S - 60))

    assert total(written, "events_late", quality(Topic.PAYMENT)) == 0
    labels = {"tenant": "", "status": "failed"}
    assert in_bucket(written, "payment_attempts", ago(RETENTION_S - 60), labels) == 1


# --- invalid records ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"{not json", "not_json"),
        (b"[1, 2]", "not_object"),
        (b'{"event_id": "x"}', "validation"),
        (b"", "empty"),
        (b'{"pad": "' + b"x" * MAX_EVENT_BYTES + b'"}', "too_large"),
    ],
)
def test_an_invalid_record_counts_received_invalid_and_dead_lettered_only(
    value: bytes, reason: str
) -> None:
    written = plan(Topic.OPEN, raw_record(value))

    assert counters(written) == {
        "events_received": 1,
        "events_invalid": 1,
        "events_dead_lettered": 1,
    }
    assert total(written, "events_invalid", quality(Topic.OPEN, reason=reason)) == 1
    assert total(written, "events_dead_lettered", quality(Topic.OPEN)) == 1


def test_an_invalid_record_does_not_stop_the_batch() -> None:
    state = after(EMPTY, plan(Topic.DELIVERY, sent("m1")))
    written = plan(Topic.OPEN, raw_record(b"{oops"), opened("m1"), snapshot=state)

    assert total(written, "messages_opened") == 1
    assert total(written, "events_received", quality(Topic.OPEN)) == 2


# --- label cap ------------------------------------------------------------------------


def test_label_values_past_the_cap_are_reported_as_other_and_counted() -> None:
    def cap(label: str, value: str) -> str:
        return OTHER_VALUE if (label, value) == ("campaign", "spring-2027") else value

    written = plan(
        Topic.DELIVERY,
        sent("m1", campaign="winback"),
        sent("m2", campaign="spring-2027"),
        sent("m3", campaign="spring-2027"),
        cap=cap,
    )

    assert total(written, "messages_sent", funnel_labels("winback")) == 1
    assert total(written, "messages_sent", funnel_labels(OTHER_VALUE)) == 2
    assert total(written, "messages_sent", funnel_labels("spring-2027")) == 0
    assert total(written, "label_overflows", {"label": "campaign"}) == 2


def test_later_events_inherit_the_capped_label_of_their_sent() -> None:
    def cap(label: str, value: str) -> str:
        return OTHER_VALUE if label == "variant" else value

    state = after(EMPTY, plan(Topic.DELIVERY, sent("m1", variant="b"), cap=cap))
    opens = plan(Topic.OPEN, opened("m1"), snapshot=state, cap=cap)

    assert total(opens, "messages_opened", funnel_labels(variant=OTHER_VALUE)) == 1
    assert total(opens, "label_overflows", {"label": "variant"}) == 0


# --- activity KPIs --------------------------------------------------------------------


def test_payments_count_attempts_by_status_and_collect_succeeded_amounts_per_currency() -> None:
    written = plan(
        Topic.PAYMENT,
        payment("succeeded", 1000, "EUR", ago_s=120),
        payment("succeeded", 250, "EUR", ago_s=60),
        payment("succeeded", 700, "USD", ago_s=60),
        payment("failed", 999, "EUR", ago_s=60),
        payment("aborted", 5, "USD", ago_s=60),
    )

    def attempts(status: str) -> int:
        return total(written, "payment_attempts", {"tenant": "", "status": status})

    def collected(currency: str) -> int:
        labels = {"tenant": "", "currency": currency, "agent": ""}
        return total(written, "collected_amount_minor", labels)

    assert (attempts("succeeded"), attempts("failed"), attempts("aborted")) == (3, 1, 1)
    assert (collected("EUR"), collected("USD")) == (1250, 700)
    eur = {"tenant": "", "currency": "EUR", "agent": ""}
    assert in_bucket(written, "collected_amount_minor", ago(120), eur) == 1000


def test_a_pageview_counts_in_its_own_bucket_and_as_a_unique_visitor() -> None:
    written = plan(Topic.PAGEVIEW, pageview("v1", 3600 * 5), pageview("v1", 30))

    labels = {"source": "email", "tenant": ""}
    assert in_bucket(written, "landing_pageviews", ago(3600 * 5), labels) == 1
    assert in_bucket(written, "landing_pageviews", ago(30), labels) == 1
    name = counter_field("landing_unique_visitors", labels)
    hll = KEYS.uniques(PARTITION, BUCKET_S, ago(30) - ago(30) % BUCKET_S, name)
    assert written.pfadd[hll] == {"v1"}


# --- orphans --------------------------------------------------------------------------


def test_plan_orphans_counts_each_parked_event_by_its_topic_and_drops_it() -> None:
    parked = after(
        EMPTY, plan(Topic.OPEN, opened("m1", 300), opened("m1", 200), opened("m2", 100))
    ).parked
    parked_clicks = after(EMPTY, plan(Topic.CLICK, clicked("m1"))).parked
    expired = {"m1": [*parked["m1"], *parked_clicks["m1"]], "m2": parked["m2"]}

    written = plan_orphans(partition=PARTITION, expired=expired, keys=KEYS)

    assert total(written, "events_orphaned", quality(Topic.OPEN)) == 3
    assert total(written, "events_orphaned", quality(Topic.CLICK)) == 1
    assert written.delete == {KEYS.park(PARTITION, "m1"), KEYS.park(PARTITION, "m2")}
    assert written.zrem[KEYS.parked(PARTITION)] == {"m1", "m2"}


# --- scale-out ------------------------------------------------------------------------


def test_every_key_a_batch_writes_carries_its_partition_hash_tag() -> None:
    state = after(EMPTY, plan(Topic.DELIVERY, sent("m1")))
    plans = [
        plan(Topic.DELIVERY, sent("m2"), delivered("m1"), raw_record(b"x")),
        plan(Topic.OPEN, opened("m1"), opened("m9"), snapshot=state),
        plan(Topic.PAGEVIEW, pageview("v1")),
        plan(Topic.PAYMENT, payment("succeeded", 100), payment("failed", 100)),
    ]
    written_keys = {key for p in plans for _, key, *_ in p.operations()}

    assert len(written_keys) > 10
    assert {key for key in written_keys if f"{{p{PARTITION}}}" not in key} == set()


def test_message_touches_are_the_bytes_touch_encode_writes() -> None:
    # message_effects encodes touches without building a Touch; the wire format must not drift
    known = after(EMPTY, plan(Topic.DELIVERY, sent("m-t")))
    encoded = [
        *plan(Topic.DELIVERY, delivered("m-t"), snapshot=known).outbox,
        *plan(Topic.OPEN, opened("m-t"), snapshot=known).outbox,
        *plan(Topic.CLICK, clicked("m-t"), snapshot=known).outbox,
    ]
    kinds = []
    for key, value in encoded:
        (touch,) = decode_touches(b"[" + value + b"]")  # as batch_records groups them
        assert touch is not None
        kinds.append(touch.kind)
        assert (key, value) == touch.encode()
        assert (touch.customer_id, touch.message_id) == ("cust-1", "m-t")
    assert kinds == ["delivered", "opened", "clicked"]
