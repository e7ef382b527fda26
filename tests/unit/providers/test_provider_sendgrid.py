"""SendGrid Event Webhook batches: every event type, bounce classes, drops and machine opens."""

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from provider_samples import SENDGRID_X_MESSAGE_ID, as_bytes, sendgrid_event

from collectpulse.events.models import BounceEvent, ClickEvent, DeliveryEvent, OpenEvent
from collectpulse.events.providers import ItemFailure, ProviderError, normalise


def one(event: str, **fields: Any) -> object:
    result = normalise("sendgrid", as_bytes([sendgrid_event(event, **fields)]))
    assert len(result.events) + len(result.skipped) == 1
    return (result.events or result.skipped)[0]


def test_processed_with_custom_args_is_a_canonical_sent() -> None:
    sent = one("processed")

    assert isinstance(sent, DeliveryEvent)
    assert sent.status == "sent"
    assert sent.message_id == SENDGRID_X_MESSAGE_ID
    assert (sent.campaign, sent.variant, sent.customer_id) == (
        "dunning-30d",
        "friendly",
        "cust-0042",
    )
    assert sent.occurred_at == datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def test_processed_without_custom_args_is_skipped() -> None:
    result = normalise("sendgrid", as_bytes([sendgrid_event("processed", metadata=False)]))

    assert result.events == []
    assert result.skipped[0].kind == "sent_without_metadata"


def test_delivered_uses_the_stable_sg_event_id() -> None:
    delivered = one("delivered", response="250 OK")

    assert isinstance(delivered, DeliveryEvent)
    assert delivered.status == "delivered"
    assert delivered.event_id == "sendgrid:ZGVsaXZlcmVkLTAtMTIzNDU2-delivered"
    assert delivered.campaign is None  # inherited from the sent through the join


def test_event_without_sg_event_id_gets_a_derived_id() -> None:
    delivered = one("delivered", sg_event_id=None)

    assert isinstance(delivered, DeliveryEvent)
    assert delivered.event_id.startswith("sendgrid:")
    assert len(delivered.event_id) == len("sendgrid:") + 64


def test_deferred_is_a_soft_bounce_with_the_smtp_reply_code() -> None:
    bounce = one("deferred", response="421 4.7.0 try again later", attempt="3")

    assert isinstance(bounce, BounceEvent)
    assert (bounce.bounce_type, bounce.reason, bounce.provider_code) == (
        "soft",
        "deferred",
        "4.7.0",
    )


def test_bounce_of_type_bounce_is_hard() -> None:
    bounce = one(
        "bounce",
        type="bounce",
        reason="550 5.1.1 The email account does not exist",
        status="5.0.0",
        bounce_classification="Invalid Address",
    )

    assert isinstance(bounce, BounceEvent)
    assert (bounce.bounce_type, bounce.reason, bounce.provider_code) == (
        "hard",
        "invalid_address",
        "5.1.1",
    )


def test_bounce_of_type_blocked_is_soft() -> None:
    bounce = one("bounce", type="blocked", reason="unable to get mx info", status=None)

    assert isinstance(bounce, BounceEvent)
    assert (bounce.bounce_type, bounce.reason, bounce.provider_code) == ("soft", "blocked", None)


def test_bounce_without_type_is_hard_as_before_sendgrid_added_blocks() -> None:
    bounce = one("bounce", status="5.1.1")

    assert isinstance(bounce, BounceEvent)
    assert bounce.bounce_type == "hard"


def test_dropped_bounced_address_is_a_hard_bounce_with_reason_suppressed() -> None:
    bounce = one("dropped", reason="Bounced Address", status="5.0.0")

    assert isinstance(bounce, BounceEvent)
    assert (bounce.bounce_type, bounce.reason, bounce.provider_code) == (
        "hard",
        "suppressed",
        "5.0.0",
    )


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("Unsubscribed Address", "refused_unsubscribed"),
        ("Spam Reporting Address", "refused_complained"),
        ("Invalid SMTPAPI header", "dropped"),
    ],
)
def test_dropped_for_other_reasons_is_skipped_with_its_kind(reason: str, kind: str) -> None:
    skipped = one("dropped", reason=reason)

    assert getattr(skipped, "kind", None) == kind


@pytest.mark.parametrize(("flag", "machine"), [(True, True), (False, False), (None, False)])
def test_open_is_machine_when_sg_machine_open_is_true(flag: bool | None, machine: bool) -> None:
    opened = one("open", sg_machine_open=flag, useragent="Mozilla/5.0")

    assert isinstance(opened, OpenEvent)
    assert opened.machine is machine


def test_click_carries_the_url() -> None:
    clicked = one("click", url="https://pay.collect.example/p", url_offset={"index": 0})

    assert isinstance(clicked, ClickEvent)
    assert clicked.url == "https://pay.collect.example/p"


@pytest.mark.parametrize(
    ("event", "kind"),
    [
        ("spamreport", "complaint"),
        ("unsubscribe", "unsubscribe"),
        ("group_unsubscribe", "unsubscribe"),
        ("group_resubscribe", "resubscribe"),
        ("account_status_change", "unknown_event"),
    ],
)
def test_engagement_we_do_not_count_is_skipped_with_its_kind(event: str, kind: str) -> None:
    skipped = one(event, asm_group_id=7)

    assert getattr(skipped, "kind", None) == kind


def test_a_batch_maps_every_event_in_order() -> None:
    batch = [
        sendgrid_event("processed"),
        sendgrid_event("delivered"),
        sendgrid_event("open", sg_machine_open=True),
        sendgrid_event("spamreport"),
    ]
    result = normalise("sendgrid", as_bytes(batch))

    assert [type(e).__name__ for e in result.events] == [
        "DeliveryEvent",
        "DeliveryEvent",
        "OpenEvent",
    ]
    assert [s.kind for s in result.skipped] == ["complaint"]
    assert {getattr(e, "message_id", None) for e in result.events} == {SENDGRID_X_MESSAGE_ID}


def test_payload_that_is_not_an_array_is_a_provider_error() -> None:
    with pytest.raises(ProviderError, match="JSON array"):
        normalise("sendgrid", as_bytes(sendgrid_event("delivered")))


def failure(event: dict[str, Any]) -> ItemFailure:
    result = normalise("sendgrid", as_bytes([event]))
    assert (result.events, result.skipped) == ([], [])
    [failed] = result.failed
    return failed


def without_message_id(event: dict[str, Any]) -> dict[str, Any]:
    del event["sg_message_id"]
    return event


def test_one_bad_event_fails_alone_with_its_index_and_the_others_are_mapped() -> None:
    bad = without_message_id(sendgrid_event("delivered", sg_event_id="bad-one"))
    batch = [
        sendgrid_event("processed"),
        bad,
        sendgrid_event("open"),
        sendgrid_event("spamreport"),
    ]

    result = normalise("sendgrid", as_bytes(batch))

    assert [e.event_id for e in result.events] == [
        "sendgrid:ZGVsaXZlcmVkLTAtMTIzNDU2-processed",
        "sendgrid:ZGVsaXZlcmVkLTAtMTIzNDU2-open",
    ]
    assert [s.kind for s in result.skipped] == ["complaint"]
    [failed] = result.failed
    assert failed.index == 1
    assert failed.error == "sendgrid: missing field '[1].sg_message_id'"


def test_a_bad_event_comes_back_alone_as_a_one_event_batch_that_fails_the_same_way() -> None:
    bad = without_message_id(sendgrid_event("delivered"))

    failed = normalise("sendgrid", as_bytes([sendgrid_event("open"), bad])).failed[0]

    assert orjson.loads(failed.payload) == [bad]
    replayed = normalise("sendgrid", failed.payload)
    assert [(f.index, f.error) for f in replayed.failed] == [
        (0, "sendgrid: missing field '[0].sg_message_id'")
    ]


def test_every_bad_event_of_a_batch_fails_on_its_own() -> None:
    batch = [
        "not an object",
        sendgrid_event("delivered"),
        sendgrid_event("bounce", type="sideways"),
        without_message_id(sendgrid_event("open")),
    ]

    result = normalise("sendgrid", as_bytes(batch))

    assert len(result.events) == 1
    assert [f.index for f in result.failed] == [0, 2, 3]
    assert [orjson.loads(f.payload)[0] for f in result.failed] == [batch[0], batch[2], batch[3]]


def test_an_event_the_canonical_model_rejects_fails_alone() -> None:
    too_long_url = sendgrid_event("click", url="https://pay.example/" + "p" * 3000)

    result = normalise("sendgrid", as_bytes([too_long_url, sendgrid_event("delivered")]))

    [failed] = result.failed
    assert failed.index == 0
    assert failed.error.startswith("sendgrid: click does not fit the canonical event: url")
    assert len(result.events) == 1


def test_millisecond_timestamp_is_a_provider_error_not_a_date_in_the_future() -> None:
    assert "timestamp" in failure(sendgrid_event("delivered", timestamp=1740821400000)).error


def test_unknown_bounce_type_is_a_provider_error() -> None:
    assert "[0].type" in failure(sendgrid_event("bounce", type="sideways")).error
