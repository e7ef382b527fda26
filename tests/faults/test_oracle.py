"""The fault oracle's join rules on a small hand-computed log (no servers).

The fault runs trust the oracle; this pins the rules it follows for the joins
of issue #15 (attribution, conversion by source, landing installment plans),
so a wrong oracle cannot hide behind a matching engine.
"""

from __future__ import annotations

from typing import Any

import orjson

from collectpulse.events.models import Topic
from tests.faults.generator import Kind, Publication
from tests.faults.oracle import LogRecord, P, Truth, ground_truth, labels
from tests.support import events as ev

T0 = 1_800_000_000
LOG: list[tuple[Topic, dict[str, Any]]] = []


def _add(topic: Topic, body: dict[str, Any]) -> None:
    LOG.append((topic, body))


def _message(mid: str, customer: str, channel: str = "email") -> None:
    _add(
        Topic.DELIVERY,
        ev.sent(mid, T0, campaign=mid, variant="control", channel=channel, customer_id=customer),
    )


def _pay(customer: str, dt: int, amount: int, message_id: str | None = None) -> None:
    body = ev.payment(customer, T0 + dt, "succeeded", amount)
    if message_id:
        body["message_id"] = message_id
    _add(Topic.PAYMENT, body)


def _view(customer: str, dt: int, source: str) -> None:
    body = ev.pageview(f"v-{customer}-{source}", T0 + dt, source)
    body["customer_id"] = customer
    _add(Topic.PAGEVIEW, body)


# c1: A clicked (earliest click 50), B only delivered; payments without message_id go to A,
# the later one published first (the earliest attributed payment counts)
_message("msg-a", "c1")
_message("msg-b", "c1", channel="sms")
_add(Topic.DELIVERY, ev.delivered("msg-a", T0 + 10))
_add(Topic.DELIVERY, ev.delivered("msg-b", T0 + 20, channel="sms"))
_add(Topic.OPEN, ev.opened("msg-a", T0 + 40))
_add(Topic.CLICK, ev.clicked("msg-a", T0 + 100))
_add(Topic.CLICK, ev.clicked("msg-a", T0 + 50))
_pay("c1", 200, 1_000)
_pay("c1", 150, 500)
# c1's views: email and direct before its payments, sms only after them; one plan at 400
_view("c1", 150, "email")
_view("c1", 190, "direct")
_view("c1", 300, "sms")
_add(Topic.PROMISE, ev.promise("c1", T0 + 400, "made", "self_service", "installment_plan"))
_add(Topic.PROMISE, ev.promise("c1", T0 + 400, "made", "self_service", "promise_to_pay"))
_add(Topic.PROMISE, ev.promise("c1", T0 + 400, "made", "inbound", "installment_plan"))
# c2: C and D delivered at the same second (a tie: the greatest id wins); a payment before
# both deliveries is unattributed
_message("msg-c", "c2")
_message("msg-d", "c2")
_add(Topic.DELIVERY, ev.delivered("msg-c", T0 + 30))
_add(Topic.DELIVERY, ev.delivered("msg-d", T0 + 30))
_pay("c2", 25, 7)
_pay("c2", 40, 2_000)
# c3: a letter reaches the customer when sent: paid when named, never inferred
_message("msg-l", "c3", channel="letter")
_pay("c3", 100, 3_000, "msg-l")
_pay("c3", 90, 11)
# c4: a named message that was never delivered is not credited
_message("msg-e", "c4")
_add(Topic.BOUNCE, ev.bounce("msg-e", T0 + 5, "hard"))
_pay("c4", 100, 13, "msg-e")
# c5: opened after the payment: no open_to_payment observation
_message("msg-f", "c5")
_add(Topic.DELIVERY, ev.delivered("msg-f", T0 + 5))
_add(Topic.OPEN, ev.opened("msg-f", T0 + 300))
_pay("c5", 200, 4_000, "msg-f")


def _truth() -> Truth:
    pubs, records = [], []
    for offset, (topic, body) in enumerate(LOG):
        value = orjson.dumps(body)
        pubs.append(Publication(topic, b"k", value, Kind.VALID))
        records.append(LogRecord(topic, 0, offset, value))
    return ground_truth(records, pubs, ("1h",))


def _dims(mid: str, channel: str = "email") -> frozenset[tuple[str, str]]:
    return labels(channel=channel, campaign=mid, variant="control", segment="default")


def _response(mid: str, channel: str = "email") -> frozenset[tuple[str, str]]:
    """A response-time histogram's labels (by campaign, not variant or segment)."""
    return labels(channel=channel, campaign=mid)


def test_attribution_follows_event_times_not_log_order() -> None:
    s = _truth().samples
    channels = {"msg-b": "sms", "msg-l": "letter"}
    amount = {
        mid: s.get(
            (
                f"{P}attributed_amount_minor_total",
                _dims(mid, channels.get(mid, "email")) | {("currency", "EUR")},
            )
        )
        for mid in ("msg-a", "msg-b", "msg-c", "msg-d", "msg-l", "msg-e", "msg-f")
    }
    assert amount == {
        "msg-a": 1_500,
        "msg-b": None,
        "msg-c": None,
        "msg-d": 2_000,
        "msg-l": 3_000,
        "msg-e": None,
        "msg-f": 4_000,
    }
    assert s[(f"{P}messages_paid_total", _dims("msg-a"))] == 1
    assert s[(f"{P}send_to_payment_seconds_sum", _response("msg-a"))] == 150
    assert s[(f"{P}open_to_payment_seconds_sum", _response("msg-a"))] == 110
    assert s[(f"{P}send_to_payment_seconds_sum", _response("msg-l", "letter"))] == 100
    assert s[(f"{P}send_to_payment_seconds_sum", _response("msg-f"))] == 200
    assert (f"{P}open_to_payment_seconds_count", _response("msg-f")) not in s


def test_conversion_and_plans_credit_every_source_viewed_before() -> None:
    s = _truth().samples
    paying = {
        src: s.get((f"{P}windowed_landing_paying_customers", labels(source=src, window="1h")))
        for src in ("email", "direct", "sms")
    }
    assert paying == {"email": 1, "direct": 1, "sms": None}
    plans = {
        src: s.get((f"{P}landing_installment_plans_total", labels(source=src)))
        for src in ("email", "direct", "sms")
    }
    assert plans == {"email": 1, "direct": 1, "sms": 1}
    assert s[(f"{P}landing_conversion_ratio", labels(source="sms", window="1h"))] == 0
    assert s[(f"{P}landing_conversion_ratio", labels(source="email", window="1h"))] == 1
