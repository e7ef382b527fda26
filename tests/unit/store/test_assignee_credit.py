"""Payments without agent_id credited to their account's assignee at their time (section 9).

Each event is planned in its own batch against the hashes the previous batches left,
as a worker does; the plans' HSET and HINCRBY operations are applied to plain dicts.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import orjson

from collectpulse.events.decode import decode
from collectpulse.events.models import Topic
from collectpulse.store.assignee_credit import HISTORY_SIZE, Assignments
from collectpulse.store.context import Record, Snapshot, Timing
from collectpulse.store.effects import plan_partition
from collectpulse.store.fields import counter_field
from collectpulse.store.keys import Keys

KEYS = Keys("cp")
P = 1
DAY = 86_400
NOW = 1_800_000_000
T0 = NOW - 3 * DAY
TIMING = Timing(
    now_s=NOW,
    bucket_s=60,
    retention_s=14 * DAY,
    fine_ttl_s=7 * DAY,
    dedupe_horizon_s=7 * DAY,
    max_event_bytes=65536,
)


def iso(at_s: int) -> str:
    return datetime.fromtimestamp(at_s, UTC).isoformat()


class FakeStore:
    def __init__(self) -> None:
        self.hashes: defaultdict[str, dict[str, str]] = defaultdict(dict)
        self.offset = 0

    def apply(self, topic: Topic, event: dict[str, Any]) -> None:
        raw = orjson.dumps(event)
        decoded = decode(topic, raw, max_bytes=65536)
        customer = event["customer_id"]
        accounts = {}
        if topic is Topic.ACCOUNT:
            aid = event["account_id"]
            accounts[aid] = dict(self.hashes[KEYS.account(P, aid)])
        snapshot = Snapshot(
            "0",
            customers={customer: dict(self.hashes[KEYS.customer(P, customer)])},
            accounts=accounts,
        )
        self.offset += 1
        plan = plan_partition(
            partition=P,
            events=[(topic, [Record(self.offset, raw, decoded)])],
            touches=[],
            snapshot=snapshot,
            keys=KEYS,
            timing=TIMING,
            cap=lambda _, value: value,
            agent_cap=lambda _, agent: agent,
        )
        for name, key, *args in plan.operations():
            pairs = list(zip(args[::2], args[1::2], strict=False))
            if name == "HSET":
                self.hashes[key].update(pairs)
            elif name.startswith("HINCRBY"):
                for field, amount in pairs:
                    value = int(self.hashes[key].get(field, "0")) + int(amount)
                    self.hashes[key][field] = str(value)

    def total(self, counter: str, labels: dict[str, str]) -> int:
        return int(self.hashes[KEYS.totals(P)].get(counter_field(counter, labels), "0"))

    def collected(self, agent: str, currency: str = "EUR") -> int:
        labels = {"tenant": "", "currency": currency, "agent": agent}
        return self.total("collected_amount_minor", labels)


def account(aid: str, version: int, at_s: int, agent: str | None, **more: Any) -> dict[str, Any]:
    return {
        "event_id": f"{aid}-v{version}",
        "occurred_at": iso(at_s),
        "account_id": aid,
        "customer_id": "c1",
        "change": "placed" if version == 1 else "assigned",
        "version": version,
        "balance_minor": 5000,
        "delta_minor": 5000 if version == 1 else 0,
        "currency": "EUR",
        "due_date": "2027-01-01",
        "status": "open",
        "agent_id": agent,
    } | more


def payment(n: int, at_s: int, amount: int, **more: Any) -> dict[str, Any]:
    return {
        "event_id": f"pay-{n}",
        "occurred_at": iso(at_s),
        "payment_id": f"p{n}",
        "customer_id": "c1",
        "status": "succeeded",
        "amount_minor": amount,
        "currency": "EUR",
    } | more


def test_the_assignee_at_the_payments_time_gets_the_credit() -> None:
    store = FakeStore()
    store.apply(Topic.ACCOUNT, account("a1", 1, T0, "ann"))
    store.apply(Topic.ACCOUNT, account("a1", 2, T0 + 100, "bob"))
    store.apply(Topic.PAYMENT, payment(1, T0 + 50, 10))  # ann's time
    store.apply(Topic.PAYMENT, payment(2, T0 + 150, 20))  # bob's
    store.apply(Topic.PAYMENT, payment(3, T0 + 160, 40, agent_id="cy"))  # its own agent wins
    assert (store.collected("ann"), store.collected("bob"), store.collected("cy")) == (10, 20, 40)
    # a second open account in the currency: a payment naming neither is unassigned,
    # one naming its account goes to that account's assignee
    store.apply(Topic.ACCOUNT, account("a2", 1, T0 + 170, "dee"))
    store.apply(Topic.PAYMENT, payment(4, T0 + 180, 80))
    store.apply(Topic.PAYMENT, payment(5, T0 + 190, 160, account_id="a2"))
    assert store.collected("") == 80 and store.collected("dee") == 160
    assert store.total("agent_credit_late", {"topic": "account"}) == 0


def test_an_assignment_arriving_after_the_payment_never_moves_its_credit() -> None:
    store = FakeStore()
    store.apply(Topic.ACCOUNT, account("a1", 1, T0, "ann"))
    store.apply(Topic.PAYMENT, payment(1, T0 + 150, 20))
    store.apply(Topic.ACCOUNT, account("a1", 3, T0 + 300, "cy"))  # after the payment: not late
    assert store.total("agent_credit_late", {"topic": "account"}) == 0
    store.apply(Topic.ACCOUNT, account("a1", 2, T0 + 100, "bob"))  # before it: late
    assert store.collected("ann") == 20 and store.collected("bob") == 0
    assert store.total("agent_credit_late", {"topic": "account"}) == 1
    # a payment applied now sees the whole history
    store.apply(Topic.PAYMENT, payment(2, T0 + 200, 30))
    assert store.collected("bob") == 30


def test_a_payment_before_any_assignment_is_unassigned() -> None:
    store = FakeStore()
    store.apply(Topic.PAYMENT, payment(1, T0, 7))
    store.apply(Topic.ACCOUNT, account("a1", 1, T0 + 10, "ann"))
    store.apply(Topic.PAYMENT, payment(2, T0 + 5, 9, account_id="a1"))  # before its placement
    assert store.collected("") == 16 and store.collected("ann") == 0


def test_the_history_keeps_changes_of_assignee_before_repeats() -> None:
    kept = Assignments()
    for version in range(1, 13):
        agent = "ann" if version <= 6 else ("bob" if version % 2 else "cy")
        kept.add((version, version * 10, agent, ""))
    assert len(kept.history) == HISTORY_SIZE
    # ann's run was trimmed from its repeats, not from its start
    assert kept.at(15) == ("ann", "") and kept.at(65) == ("ann", "")
    assert kept.at(75) == ("bob", "") and kept.at(125) == ("cy", "")
    assert kept.at(5) == ("", "")
    kept.add((1, 10, "zed", ""))  # already known: the version is not replaced
    assert kept.at(15) == ("ann", "")
    assert Assignments.load(kept.dump()) == kept
