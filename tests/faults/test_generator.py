"""The fault log keeps its unfriendly order: customer events ahead of what they join to.

Without this, a change to the generator could quietly bring back a friendly
order (the old barrier) and the fault runs would stop testing the joins.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from collectpulse.events.models import Topic
from tests.faults.generator import Kind, generate
from tests.faults.harness import SHORT

LANDING_PLAN = ("installment_plan", "made", "self_service")


def _seconds(body: dict[str, Any]) -> int:
    return int(datetime.fromisoformat(body["occurred_at"]).timestamp())


def test_short_log_publishes_customer_events_before_what_they_join_to() -> None:
    log = generate(SHORT.seed, base_s=1_800_000_000, messages=SHORT.messages)
    valid = [
        (i, p.topic, orjson.loads(p.value))
        for i, p in enumerate(log.publications)
        if p.kind is Kind.VALID
    ]
    customer_of = {
        b["message_id"]: b["customer_id"]
        for _, t, b in valid
        if t is Topic.DELIVERY and b["status"] == "sent"
    }
    touches: dict[str, list[tuple[int, int]]] = {}
    views: dict[str, list[tuple[int, int]]] = {}
    for i, topic, b in valid:
        if topic in (Topic.CLICK, Topic.OPEN) or (
            topic is Topic.DELIVERY and b["status"] != "sent"
        ):
            touches.setdefault(customer_of[b["message_id"]], []).append((i, _seconds(b)))
        elif topic is Topic.PAGEVIEW and b.get("customer_id"):
            views.setdefault(b["customer_id"], []).append((i, _seconds(b)))

    def ahead(i: int, body: dict[str, Any], of: dict[str, list[tuple[int, int]]]) -> bool:
        """Published before an event it joins to that happened before it."""
        at_s = _seconds(body)
        return any(j > i and t <= at_s for j, t in of.get(body["customer_id"], ()))

    paid = [(i, b) for i, t, b in valid if t is Topic.PAYMENT and b["status"] == "succeeded"]
    unnamed = [(i, b) for i, b in paid if "message_id" not in b]
    plans = [
        (i, b)
        for i, t, b in valid
        if t is Topic.PROMISE and (b["kind"], b["status"], b["direction"]) == LANDING_PLAN
    ]
    assert sum(ahead(i, b, touches) for i, b in unnamed) >= 5
    assert sum(ahead(i, b, touches) for i, b in paid if "message_id" in b) >= 5
    assert sum(ahead(i, b, views) for i, b in paid) >= 5
    assert sum(ahead(i, b, views) for i, b in plans) >= 2
