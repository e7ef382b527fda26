"""Payment attribution, conversion by source and struggling customers, planned without servers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from collectpulse.events.decode import decode
from collectpulse.events.models import Topic
from collectpulse.store.context import Record, Snapshot, Timing
from collectpulse.store.effects import plan_partition
from collectpulse.store.fields import counter_field
from collectpulse.store.keys import FIELD_SEP, Keys
from collectpulse.store.plan import WritePlan
from collectpulse.store.touches import Touch, batch_records, decode_touches

NOW = 1_800_000_000
DAY = 86_400
KEYS = Keys("cp")
P = 3
TIMING = Timing(
    now_s=NOW,
    bucket_s=60,
    retention_s=14 * DAY,
    fine_ttl_s=7 * DAY,
    dedupe_horizon_s=7 * DAY,
    max_event_bytes=65536,
    attribution_s=7 * DAY,
    struggling_min_failures=3,
)
DIMS = FIELD_SEP.join(("email", "winback", "b", "default", ""))
LABELS = {"channel": "email", "campaign": "winback", "variant": "b", "segment": "default"}


def iso(at_s: int) -> str:
    return datetime.fromtimestamp(at_s, UTC).isoformat()


def touches(
    *items: Touch | None, state: Mapping[str, Mapping[str, str]] | None = None
) -> WritePlan:
    snapshot = Snapshot("0", customers=state or {})
    return plan_partition(
        partition=P,
        events=[],
        touches=list(items),
        snapshot=snapshot,
        keys=KEYS,
        timing=TIMING,
        cap=lambda _, v: v,
    )


def customer_state(*plans: WritePlan) -> dict[str, dict[str, str]]:
    """The customer hashes the plans would leave behind (HSET effects only)."""
    state: dict[str, dict[str, str]] = {}
    prefix = KEYS.customer(P, "")
    for plan in plans:
        for key, values in plan.hset.items():
            if key.startswith(prefix):
                state.setdefault(key.removeprefix(prefix), {}).update(values)
    return state


def payments(*events: dict[str, Any], state: Mapping[str, Mapping[str, str]]) -> WritePlan:
    topic = Topic.PAYMENT if "payment_id" in events[0] else Topic.PROMISE
    records = []
    for i, event in enumerate(events):
        raw = orjson.dumps(event)
        records.append(Record(i, raw, decode(topic, raw, max_bytes=65536)))
    snapshot = Snapshot("0", customers=state)
    return plan_partition(
        partition=P,
        events=[(topic, records)],
        touches=[],
        snapshot=snapshot,
        keys=KEYS,
        timing=TIMING,
        cap=lambda _, v: v,
    )


def payment(pid: str, at_s: int, status: str = "succeeded", **extra: Any) -> dict[str, Any]:
    return {
        "event_id": pid,
        "occurred_at": iso(at_s),
        "payment_id": pid,
        "customer_id": "c1",
        "status": status,
        "amount_minor": 1000,
        "currency": "EUR",
        **extra,
    }


def total(plan: WritePlan, counter: str, labels: Mapping[str, str]) -> int:
    return plan.incr.get((KEYS.totals(P), counter_field(counter, labels)), 0)


def delivered(mid: str, at_s: int, sent_s: int) -> Touch:
    return Touch("delivered", "c1", at_s, mid, sent_s, DIMS)


def test_a_payment_is_attributed_to_the_latest_clicked_message_once_per_message() -> None:
    index = touches(
        delivered("m1", NOW - 3 * DAY, NOW - 3 * DAY - 60),
        delivered("m2", NOW - 2 * DAY, NOW - 2 * DAY - 60),
        Touch("clicked", "c1", NOW - 2 * DAY + 30, "m1", NOW - 3 * DAY - 60, DIMS),
    )
    state = customer_state(index)

    paid = payments(payment("p1", NOW - 100), payment("p2", NOW - 50), state=state)

    assert total(paid, "messages_paid", LABELS) == 1
    assert total(paid, "attributed_amount_minor", {**LABELS, "currency": "EUR"}) == 2000
    assert state["c1"]["m:m1"] == DIMS
    assert "p:m1" in customer_state(paid)["c1"]


def test_the_payments_own_message_id_wins_over_a_later_click() -> None:
    state = customer_state(
        touches(
            delivered("m1", NOW - 3 * DAY, NOW - 3 * DAY),
            delivered("m2", NOW - DAY, NOW - DAY),
            Touch("clicked", "c1", NOW - DAY + 5, "m2", NOW - DAY, DIMS),
        )
    )
    paid = payments(payment("p1", NOW - 10, message_id="m1"), state=state)
    assert "p:m1" in customer_state(paid)["c1"]
    assert "p:m2" not in customer_state(paid)["c1"]


def test_a_delivery_older_than_the_attribution_window_gets_no_credit() -> None:
    state = customer_state(touches(delivered("m1", NOW - 8 * DAY, NOW - 8 * DAY)))
    paid = payments(payment("p1", NOW - 10), state=state)
    assert total(paid, "messages_paid", LABELS) == 0
    assert total(paid, "collected_amount_minor", {"tenant": "", "currency": "EUR"}) == 1000


def test_a_letter_is_attributed_through_its_sent_touch_when_the_payment_names_it() -> None:
    letter = FIELD_SEP.join(("letter", "legal", "control", "default", ""))
    state = customer_state(touches(Touch("sent", "c1", NOW - DAY, "m9", NOW - DAY, letter)))
    paid = payments(payment("p1", NOW - 10, message_id="m9"), state=state)
    labels = {"channel": "letter", "campaign": "legal", "variant": "control", "segment": "default"}
    assert total(paid, "messages_paid", labels) == 1


def paying_sources(plan: WritePlan) -> set[str]:
    """The sources whose ``landing_paying_customers`` HyperLogLogs the plan adds c1 to."""
    found = set()
    for key, members in plan.pfadd.items():
        if "landing_paying_customers" in key and members == {"c1"}:
            found.add(key.split("landing_paying_customers")[1].split(FIELD_SEP)[1])
    return found


def test_a_paying_customer_is_credited_to_every_source_viewed_in_the_window() -> None:
    state = customer_state(
        touches(
            Touch("view", "c1", NOW - 500, source="sms"),
            Touch("view", "c1", NOW - 100, source="email"),
            Touch("view", "c1", NOW - 8 * DAY, source="letter"),  # before the window
            Touch("view", "c1", NOW - 5, source="direct"),  # after the payment
        )
    )
    paid = payments(payment("p1", NOW - 10), state=state)
    assert paying_sources(paid) == {"sms", "email"}


def test_a_view_arriving_after_the_payment_credits_it() -> None:
    paid = payments(payment("p1", NOW - 10), state={})
    assert paying_sources(paid) == set()
    viewed = touches(Touch("view", "c1", NOW - 100, source="email"), state=customer_state(paid))
    assert paying_sources(viewed) == {"email"}
    later = touches(Touch("view", "c1", NOW - 1, source="sms"), state=customer_state(paid))
    assert paying_sources(later) == set(), "a view after the payment did not lead to it"


def test_an_installment_plan_made_before_its_view_arrived_is_credited_once_per_source() -> None:
    made = payments(installment_plan(NOW - 10), state={})
    assert total(made, "landing_installment_plans", {"source": "sms", "tenant": ""}) == 0
    first = touches(Touch("view", "c1", NOW - 100, source="sms"), state=customer_state(made))
    assert total(first, "landing_installment_plans", {"source": "sms", "tenant": ""}) == 1
    second = touches(Touch("view", "c1", NOW - 50, source="sms"), state=customer_state(made, first))
    assert total(second, "landing_installment_plans", {"source": "sms", "tenant": ""}) == 0


def test_a_payment_without_message_id_moves_to_a_click_whose_touch_arrives_later() -> None:
    amount = {**LABELS, "currency": "EUR"}
    state = customer_state(touches(delivered("m1", NOW - 500, NOW - 600)))
    paid = payments(payment("p1", NOW - 10), state=state)
    assert total(paid, "attributed_amount_minor", amount) == 1000
    assert total(paid, "messages_paid", LABELS) == 1
    click = Touch("clicked", "c1", NOW - 300, "m2", NOW - 400, DIMS)
    moved = touches(
        click, state=customer_state(touches(delivered("m1", NOW - 500, NOW - 600)), paid)
    )
    # m1 gives its credit back and m2 (same labels here) takes it: net zero, both observed
    assert total(moved, "attributed_amount_minor", amount) == 0
    assert total(moved, "messages_paid", LABELS) == 0
    after = customer_state(touches(delivered("m1", NOW - 500, NOW - 600)), paid, moved)["c1"]
    assert orjson.loads(after["u"]) == [[NOW - 10, 1000, "EUR", "m2"]]
    assert after["p:m2"] == str(NOW - 10)
    assert "p:m1" in moved.hdel[KEYS.customer(P, "c1")]


def test_a_payment_without_message_id_before_any_touch_is_credited_when_one_arrives() -> None:
    paid = payments(payment("p1", NOW - 10), state={})
    assert total(paid, "messages_paid", LABELS) == 0
    late = touches(delivered("m1", NOW - 500, NOW - 600), state=customer_state(paid))
    assert total(late, "messages_paid", LABELS) == 1
    assert total(late, "attributed_amount_minor", {**LABELS, "currency": "EUR"}) == 1000


def test_failures_before_a_success_that_arrived_first_do_not_make_a_struggling_customer() -> None:
    success = payments(payment("p0", NOW - 10), state={})
    failing = payments(
        payment("p1", NOW - 300, "failed"),
        payment("p2", NOW - 200, "aborted"),
        payment("p3", NOW - 100, "failed"),
        state=customer_state(success),
    )
    assert KEYS.struggling(P) not in failing.zadd


def installment_plan(at_s: int) -> dict[str, Any]:
    return {
        "event_id": f"pr{at_s}",
        "occurred_at": iso(at_s),
        "promise_id": f"pr{at_s}",
        "customer_id": "c1",
        "kind": "installment_plan",
        "status": "made",
        "direction": "self_service",
        "amount_minor": 5000,
        "currency": "EUR",
        "due_date": "2027-01-01",
    }


def test_a_self_service_installment_plan_counts_for_the_viewed_source() -> None:
    state = customer_state(touches(Touch("view", "c1", NOW - 100, source="sms")))
    made = payments(installment_plan(NOW - 10), state=state)
    assert total(made, "landing_installment_plans", {"source": "sms", "tenant": ""}) == 1


def test_three_failures_without_success_make_a_struggling_customer_until_a_success() -> None:
    failing = payments(
        payment("p1", NOW - 300, "failed"),
        payment("p2", NOW - 200, "aborted"),
        payment("p3", NOW - 100, "failed"),
        state={},
    )
    struggling = failing.zadd[KEYS.struggling(P)]
    assert struggling == {f"{FIELD_SEP}c1": NOW - 300}

    recovered = payments(payment("p4", NOW - 10), state=customer_state(failing))
    assert f"{FIELD_SEP}c1" in recovered.zrem[KEYS.struggling(P)]


def test_two_failures_are_not_yet_struggling() -> None:
    plan = payments(
        payment("p1", NOW - 300, "failed"), payment("p2", NOW - 200, "failed"), state={}
    )
    assert KEYS.struggling(P) not in plan.zadd


def test_touches_travel_as_one_record_per_partition_and_come_back_whole() -> None:
    items = [delivered(f"m{i}", NOW, NOW) for i in range(5)]
    grouped = batch_records([t.encode() for t in items], lambda key: len(key) % 2)
    decoded = [t for value in grouped.values() for t in decode_touches(value)]
    assert sorted(decoded, key=lambda t: t.message_id) == items


def test_a_record_that_is_not_touches_is_counted_invalid_not_raised() -> None:
    assert decode_touches(b"{nope") == [None]
    assert decode_touches(b'[{"k": "unknown"}]') == [None]
    plan = touches(None)
    assert (
        plan.incr[
            (
                KEYS.totals(P),
                counter_field(
                    "events_invalid", {"topic": "customer-touch", "reason": "validation"}
                ),
            )
        ]
        == 1
    )


def test_a_payment_that_overtakes_its_messages_touch_is_credited_when_the_touch_arrives() -> None:
    paid = payments(payment("p1", NOW - 10, message_id="m1"), state={})
    assert total(paid, "messages_paid", LABELS) == 0
    held = customer_state(paid)
    assert held["c1"]["h:m1"] == f"{NOW - 10},1000,EUR"

    late_touch = touches(delivered("m1", NOW - 20, NOW - 60), state=held)
    assert total(late_touch, "messages_paid", LABELS) == 1
    assert total(late_touch, "attributed_amount_minor", {**LABELS, "currency": "EUR"}) == 1000
    assert "h:m1" in late_touch.hdel[KEYS.customer(P, "c1")]

    after = {"c1": {**held["c1"], **customer_state(late_touch)["c1"]}}
    del after["c1"]["h:m1"]
    again = touches(delivered("m1", NOW - 20, NOW - 60), state=after)
    assert total(again, "messages_paid", LABELS) == 0, "a touch applied twice credits once"


def test_two_payments_held_for_one_message_are_both_attributed_and_it_is_paid_once() -> None:
    first = payments(payment("p1", NOW - 30, message_id="m1"), state={})
    second = payments(payment("p2", NOW - 10, message_id="m1"), state=customer_state(first))
    held = customer_state(first, second)
    late_touch = touches(delivered("m1", NOW - 40, NOW - 60), state=held)
    assert total(late_touch, "messages_paid", LABELS) == 1
    assert total(late_touch, "attributed_amount_minor", {**LABELS, "currency": "EUR"}) == 2000


def test_a_payment_without_a_message_id_is_not_held() -> None:
    paid = payments(payment("p1", NOW - 10), state={})
    assert not any(name.startswith("h:") for name in customer_state(paid).get("c1", {}))
