"""Mailgun webhooks: every event type, severities, suppressions and bot opens."""

from typing import Any

import pytest
from provider_samples import MAILGUN_MESSAGE_ID, as_bytes, mailgun_webhook

from collectpulse.events.models import BounceEvent, ClickEvent, DeliveryEvent, OpenEvent
from collectpulse.events.providers import ProviderError, normalise


def one(event: str, **fields: Any) -> object:
    result = normalise("mailgun", as_bytes(mailgun_webhook(event, **fields)))
    assert len(result.events) + len(result.skipped) == 1
    return (result.events or result.skipped)[0]


def test_accepted_with_user_variables_is_a_canonical_sent() -> None:
    sent = one("accepted", method="HTTP")

    assert isinstance(sent, DeliveryEvent)
    assert sent.status == "sent"
    assert sent.message_id == MAILGUN_MESSAGE_ID
    assert (sent.campaign, sent.variant, sent.segment) == ("dunning-30d", "friendly", "retail")
    assert sent.event_id == "mailgun:Q2pYVnFiU0ZTc2VJ-accepted"


def test_accepted_without_user_variables_is_skipped() -> None:
    skipped = one("accepted", **{"user-variables": {}})

    assert getattr(skipped, "kind", None) == "sent_without_metadata"


def test_numeric_user_variable_is_read_as_a_string() -> None:
    variables = {"cp_campaign": "c", "cp_variant": "v", "cp_customer_id": 4711}
    sent = one("accepted", **{"user-variables": variables})

    assert isinstance(sent, DeliveryEvent)
    assert sent.customer_id == "4711"


def test_delivered_keeps_the_customer_but_not_the_campaign() -> None:
    delivered = one("delivered", **{"delivery-status": {"code": 250, "message": "OK"}})

    assert isinstance(delivered, DeliveryEvent)
    assert (delivered.status, delivered.customer_id, delivered.campaign) == (
        "delivered",
        "cust-0042",
        None,
    )


def test_permanent_failure_is_hard_with_the_enhanced_status() -> None:
    status = {"code": 550, "message": "5.1.1 mailbox does not exist", "description": ""}
    bounce = one("failed", severity="permanent", reason="bounce", **{"delivery-status": status})

    assert isinstance(bounce, BounceEvent)
    assert (bounce.bounce_type, bounce.reason, bounce.provider_code) == ("hard", "bounce", "5.1.1")


def test_temporary_failure_is_soft_with_the_smtp_code() -> None:
    status = {"code": 452, "message": "", "description": "mailbox full, try later"}
    bounce = one("failed", severity="temporary", reason="generic", **{"delivery-status": status})

    assert isinstance(bounce, BounceEvent)
    assert (bounce.bounce_type, bounce.reason, bounce.provider_code) == ("soft", "generic", "452")


def test_suppress_bounce_is_a_hard_bounce_with_reason_suppressed() -> None:
    status = {
        "code": 605,
        "message": "",
        "description": "Not delivering to previously bounced address",
    }
    bounce = one(
        "failed", severity="permanent", reason="suppress-bounce", **{"delivery-status": status}
    )

    assert isinstance(bounce, BounceEvent)
    assert (bounce.bounce_type, bounce.reason, bounce.provider_code) == (
        "hard",
        "suppressed",
        "605",
    )


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("suppress-unsubscribe", "refused_unsubscribed"),
        ("suppress-complaint", "refused_complained"),
    ],
)
def test_refusals_for_unsubscribes_and_complaints_are_skipped(reason: str, kind: str) -> None:
    skipped = one("failed", severity="permanent", reason=reason)

    assert getattr(skipped, "kind", None) == kind


def test_unknown_severity_is_a_provider_error() -> None:
    with pytest.raises(ProviderError, match=r"event-data\.severity"):
        normalise("mailgun", as_bytes(mailgun_webhook("failed", severity="sometimes")))


@pytest.mark.parametrize(
    ("bot", "machine"),
    [("apple", True), ("gmail", True), ("generic", True), ("", False), (None, False)],
)
def test_open_is_machine_when_client_info_names_a_bot(bot: str | None, machine: bool) -> None:
    client = {"client-type": "browser", "client-name": "Safari", "bot": bot}
    opened = one("opened", **{"client-info": client, "ip": "192.0.2.3"})

    assert isinstance(opened, OpenEvent)
    assert opened.machine is machine


def test_open_without_client_info_is_human() -> None:
    opened = one("opened")

    assert isinstance(opened, OpenEvent)
    assert opened.machine is False


def test_click_carries_url_and_bot_flag() -> None:
    clicked = one(
        "clicked", url="https://pay.collect.example/p", **{"client-info": {"bot": "generic"}}
    )

    assert isinstance(clicked, ClickEvent)
    assert (clicked.url, clicked.machine) == ("https://pay.collect.example/p", True)


@pytest.mark.parametrize(
    ("event", "kind"),
    [
        ("complained", "complaint"),
        ("unsubscribed", "unsubscribe"),
        ("rejected", "rejected"),
        ("stored", "unknown_event"),
    ],
)
def test_events_not_counted_are_skipped_with_their_kind(event: str, kind: str) -> None:
    skipped = one(event)

    assert getattr(skipped, "kind", None) == kind


def test_message_id_in_angle_brackets_is_stripped() -> None:
    payload = mailgun_webhook("delivered")
    payload["event-data"]["message"]["headers"]["message-id"] = f"<{MAILGUN_MESSAGE_ID}>"

    delivered = normalise("mailgun", as_bytes(payload)).events[0]

    assert isinstance(delivered, DeliveryEvent)
    assert delivered.message_id == MAILGUN_MESSAGE_ID


def test_missing_event_data_is_a_provider_error() -> None:
    with pytest.raises(ProviderError, match="missing field 'event-data'"):
        normalise("mailgun", as_bytes({"signature": {}}))


def test_missing_message_id_header_is_a_provider_error_naming_the_path() -> None:
    payload = mailgun_webhook("delivered")
    del payload["event-data"]["message"]["headers"]["message-id"]

    with pytest.raises(ProviderError, match=r"event-data\.message\.headers\.message-id"):
        normalise("mailgun", as_bytes(payload))
