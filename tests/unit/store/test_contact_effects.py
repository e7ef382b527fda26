"""Contact attempts and payment reversals, planned without servers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from collectpulse.events.decode import decode
from collectpulse.events.models import Topic
from collectpulse.store.account_reader import attempts_since
from collectpulse.store.contact_effects import ATTEMPTS_SINCE
from collectpulse.store.context import Record, Snapshot, Timing
from collectpulse.store.effects import plan_partition
from collectpulse.store.fields import counter_field
from collectpulse.store.keys import Keys
from collectpulse.store.plan import WritePlan

NOW = 1_800_000_000
DAY = 86_400
KEYS = Keys("cp")
P = 2
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


def contact(contact_id: str, outcome: str, at_s: int = NOW - 60, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": f"e-{contact_id}-{outcome}",
        "occurred_at": iso(at_s),
        "contact_id": contact_id,
        "customer_id": "c1",
        "direction": "outbound",
        "channel": "call",
        "outcome": outcome,
        "started_at": iso(at_s - 30),
        "duration_s": 0,
        **extra,
    }


def plan(
    topic: Topic,
    *events: dict[str, Any],
    seen: Mapping[str, frozenset[str]] | None = None,
    applied: Mapping[str, int] | None = None,
) -> WritePlan:
    records = []
    for i, event in enumerate(events):
        raw = orjson.dumps(event)
        records.append(Record(i, raw, decode(topic, raw, max_bytes=65536)))
    return plan_partition(
        partition=P,
        events=[(topic, records)],
        touches=[],
        snapshot=Snapshot("0", applied=applied or {}, seen=seen or {}),
        keys=KEYS,
        timing=TIMING,
        cap=lambda name, v: "__other__" if name == "dialer_campaign" and v == "capped" else v,
    )


def total(p: WritePlan, counter: str, **labels: str) -> int:
    return p.incr.get((KEYS.totals(P), counter_field(counter, labels)), 0)


OUTBOUND = {"tenant": "", "direction": "outbound", "channel": "call"}


def test_a_contact_counts_once_per_contact_id_whatever_its_event_id() -> None:
    first = contact("k1", "voicemail")
    again = {**first, "event_id": "a-retry-with-another-event-id"}
    p = plan(Topic.CONTACT, first, again, contact("k2", "right_party", agent_id="a1", team="t"))
    assert total(p, "contact_attempts", **OUTBOUND, outcome="voicemail") == 1
    rpc = {**OUTBOUND, "outcome": "right_party", "agent": "a1", "team": "t"}
    assert total(p, "contact_attempts", **rpc) == 1
    assert total(p, "events_duplicate", topic="contact") == 1
    # the dedupe set remembers the contact ids
    remembered = {member for members in p.sadd.values() for member in members}
    assert {"k1", "k2"} <= remembered


def test_a_contact_id_applied_in_an_earlier_write_is_a_duplicate() -> None:
    p = plan(Topic.CONTACT, contact("k1", "busy"), seen={"contact": frozenset({"k1"})})
    assert total(p, "contact_attempts", **OUTBOUND, outcome="busy") == 0
    assert total(p, "events_duplicate", topic="contact") == 1


def test_an_unidentified_inbound_contact_counts_in_the_volumes() -> None:
    inbound = contact("k3", "wrong_party", direction="inbound", customer_id=None, channel="chat")
    p = plan(Topic.CONTACT, inbound)
    labels = {"tenant": "", "direction": "inbound", "channel": "chat", "outcome": "wrong_party"}
    assert total(p, "contact_attempts", **labels) == 1


def test_capped_labels_report_other_and_count_the_overflow() -> None:
    p = plan(Topic.CONTACT, contact("k4", "no_answer", dialer_campaign="capped"))
    labels = {**OUTBOUND, "outcome": "no_answer", "dialer_campaign": "__other__"}
    assert total(p, "contact_attempts", **labels) == 1
    assert total(p, "label_overflows", label="dialer_campaign") == 1


def test_a_contact_past_retention_counts_in_the_total_and_as_late() -> None:
    p = plan(Topic.CONTACT, contact("k5", "busy", at_s=NOW - 20 * DAY))
    assert total(p, "contact_attempts", **OUTBOUND, outcome="busy") == 1
    assert total(p, "events_late", topic="contact") == 1


def payment(pid: str, status: str, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": f"e-{pid}-{status}",
        "occurred_at": iso(NOW - 60),
        "payment_id": pid,
        "customer_id": "c1",
        "status": status,
        "amount_minor": 700,
        "currency": "EUR",
        **extra,
    }


def test_a_reversal_is_neither_an_attempt_nor_a_failure() -> None:
    p = plan(Topic.PAYMENT, payment("p1", "reversed", agent_id="a1", schema_version=2))
    assert total(p, "reversed_amount_minor", tenant="", currency="EUR", agent="a1") == 700
    attempts = [f for (_, f) in p.incr if f.startswith("payment_attempts")]
    assert attempts == []
    assert total(p, "collected_amount_minor", tenant="", currency="EUR", agent="a1") == 0
    # no failure is remembered for the struggling-customers rule
    assert not any("pf" in values for values in p.hset.values())


def test_a_partitions_first_write_marks_attempts_counted_from_the_start() -> None:
    # nothing was applied before: no attempt went uncounted
    assert plan(Topic.CONTACT, contact("k1", "voicemail")).hmin == {
        (KEYS.totals(P), ATTEMPTS_SINCE): 0
    }


def test_the_first_write_after_an_upgrade_marks_when_counting_began() -> None:
    # streams applied before (by a version that did not count attempts): counted from
    # now, whatever the batch holds; HMIN keeps the first such write's time for good
    mark = (KEYS.totals(P), ATTEMPTS_SINCE)
    assert plan(Topic.CONTACT, contact("k1", "voicemail"), applied={"payment": 41}).hmin == {
        mark: NOW
    }
    assert plan(Topic.CONTACT, applied={"payment": 41}).hmin == {mark: NOW}


def test_the_latest_partition_mark_is_when_every_partition_counts() -> None:
    assert attempts_since([b"0", None, b"1800000000", "1700000000"]) == 1_800_000_000
    assert attempts_since([b"0", b"0"]) == 0
    assert attempts_since([None, None]) is None
