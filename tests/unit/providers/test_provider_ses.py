"""AWS SES event publishing: every event type, bounce classes, recipients and envelopes."""

import json
from datetime import UTC, datetime

import pytest
from provider_samples import SES_MESSAGE_ID, as_bytes, ses_bounce, ses_event, sns_wrap

from collectpulse.events.models import BounceEvent, ClickEvent, DeliveryEvent, OpenEvent
from collectpulse.events.providers import ProviderError, normalise


def only_event(payload: dict[str, object]) -> object:
    result = normalise("ses", as_bytes(payload))
    assert result.skipped == []
    assert len(result.events) == 1
    return result.events[0]


def test_send_with_our_tags_is_a_canonical_sent_with_its_campaign() -> None:
    sent = only_event(ses_event("Send", {}))

    assert isinstance(sent, DeliveryEvent)
    assert sent.status == "sent"
    assert sent.channel == "email"
    assert sent.message_id == SES_MESSAGE_ID
    assert (sent.campaign, sent.variant, sent.segment) == ("dunning-30d", "friendly", "retail")
    assert sent.customer_id == "cust-0042"
    assert sent.tenant == "acme-bank"
    assert sent.occurred_at == datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def test_send_without_our_tags_is_skipped_because_the_mailer_publishes_sent() -> None:
    result = normalise(
        "ses", as_bytes(ses_event("Send", {}, tags={"ses:source-ip": ["192.0.2.1"]}))
    )

    assert result.events == []
    assert [s.kind for s in result.skipped] == ["sent_without_metadata"]


def test_send_without_segment_tag_gets_the_default_segment() -> None:
    tags = {"cp_campaign": ["c"], "cp_variant": ["v"], "cp_customer_id": ["cust"]}
    sent = only_event(ses_event("Send", {}, tags=tags))

    assert isinstance(sent, DeliveryEvent)
    assert sent.segment == "default"
    assert sent.tenant is None


def test_message_id_is_mail_message_id_not_the_header_nor_the_sns_id() -> None:
    event = ses_event("Delivery", {"timestamp": "2025-03-01T09:30:02Z", "recipients": ["d@e.net"]})
    delivered = normalise("ses", as_bytes(sns_wrap(event))).events[0]

    assert isinstance(delivered, DeliveryEvent)
    assert delivered.message_id == SES_MESSAGE_ID


def test_delivery_yields_one_delivered_per_recipient() -> None:
    event = ses_event(
        "Delivery",
        {
            "timestamp": "2025-03-01T09:30:02.100Z",
            "processingTimeMillis": 2100,
            "recipients": ["a@example.net", "b@example.net"],
            "smtpResponse": "250 2.6.0 Message received",
        },
    )
    events = normalise("ses", as_bytes(event)).events

    assert [type(e) for e in events] == [DeliveryEvent, DeliveryEvent]
    assert all(isinstance(e, DeliveryEvent) and e.status == "delivered" for e in events)
    assert len({e.event_id for e in events}) == 2
    assert {e.customer_id for e in events if isinstance(e, DeliveryEvent)} == {"cust-0042"}


def test_permanent_bounce_is_hard_with_the_smtp_status_as_provider_code() -> None:
    bounce = only_event(ses_bounce("Permanent", "General"))

    assert isinstance(bounce, BounceEvent)
    assert bounce.bounce_type == "hard"
    assert bounce.reason == "general"
    assert bounce.provider_code == "5.1.1"
    assert bounce.occurred_at == datetime(2025, 3, 1, 9, 30, 2, 500000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("bounce_type", "sub_type", "expected", "reason"),
    [
        ("Permanent", "NoEmail", "hard", "no_email"),
        ("Transient", "MailboxFull", "soft", "mailbox_full"),
        ("Transient", "General", "soft", "general"),
        ("Undetermined", "Undetermined", "soft", "undetermined"),
    ],
)
def test_bounce_type_maps_to_hard_or_soft(
    bounce_type: str, sub_type: str, expected: str, reason: str
) -> None:
    bounce = only_event(ses_bounce(bounce_type, sub_type))

    assert isinstance(bounce, BounceEvent)
    assert (bounce.bounce_type, bounce.reason) == (expected, reason)


@pytest.mark.parametrize("sub_type", ["Suppressed", "OnAccountSuppressionList"])
def test_suppression_list_bounce_is_hard_with_reason_suppressed(sub_type: str) -> None:
    recipient = {
        "emailAddress": "debtor@example.net",
        "action": "failed",
        "diagnosticCode": "Amazon SES did not send the message: address on suppression list",
    }
    bounce = only_event(ses_bounce("Permanent", sub_type, recipient))

    assert isinstance(bounce, BounceEvent)
    assert (bounce.bounce_type, bounce.reason) == ("hard", "suppressed")
    # No SMTP code at all: the sub-type is the most specific code SES gives.
    assert bounce.provider_code == sub_type


def test_bounce_with_two_recipients_yields_two_bounces_for_the_same_message() -> None:
    first = {"emailAddress": "a@example.net", "status": "5.1.1"}
    second = {"emailAddress": "b@example.net", "diagnosticCode": "smtp; 550 5.7.1 rejected"}
    events = normalise("ses", as_bytes(ses_bounce("Permanent", "General", first, second))).events

    assert [e.message_id for e in events if isinstance(e, BounceEvent)] == [SES_MESSAGE_ID] * 2
    assert [e.provider_code for e in events if isinstance(e, BounceEvent)] == ["5.1.1", "5.7.1"]
    assert len({e.event_id for e in events}) == 2


def test_unknown_bounce_type_is_a_provider_error_naming_the_field() -> None:
    with pytest.raises(ProviderError, match=r"bounce\.bounceType"):
        normalise("ses", as_bytes(ses_bounce("Sideways", "General")))


def test_delivery_delay_is_a_soft_bounce_per_delayed_recipient() -> None:
    event = ses_event(
        "DeliveryDelay",
        {
            "timestamp": "2025-03-01T10:00:00Z",
            "delayType": "MailboxFull",
            "expirationTime": "2025-03-02T09:30:00Z",
            "delayedRecipients": [
                {"emailAddress": "a@example.net", "status": "4.2.2", "diagnosticCode": "452"},
                {"emailAddress": "b@example.net", "diagnosticCode": "smtp; 421 try later"},
            ],
        },
    )
    events = normalise("ses", as_bytes(event)).events

    assert [
        (e.bounce_type, e.reason, e.provider_code) for e in events if isinstance(e, BounceEvent)
    ] == [
        ("soft", "mailbox_full", "4.2.2"),
        ("soft", "mailbox_full", "421"),
    ]


def test_open_is_never_flagged_machine_because_ses_has_no_signal() -> None:
    event = ses_event("Open", {"timestamp": "2025-03-01T11:00:00Z", "ipAddress": "192.0.2.9"})
    opened = only_event(event)

    assert isinstance(opened, OpenEvent)
    assert opened.machine is False
    assert opened.message_id == SES_MESSAGE_ID


def test_click_carries_the_link() -> None:
    event = ses_event(
        "Click",
        {"timestamp": "2025-03-01T11:05:00Z", "link": "https://pay.collect.example/p?c=1"},
    )
    clicked = only_event(event)

    assert isinstance(clicked, ClickEvent)
    assert clicked.url == "https://pay.collect.example/p?c=1"


@pytest.mark.parametrize(
    ("event_type", "body", "kind"),
    [
        ("Complaint", {"complainedRecipients": [{"emailAddress": "d@e.net"}]}, "complaint"),
        ("Reject", {"reason": "Bad content"}, "rejected"),
        (
            "Rendering Failure",
            {"errorMessage": "missing var", "templateName": "t"},
            "rendering_failure",
        ),
        ("Subscription", {"contactList": "dunning"}, "unsubscribe"),
        ("SomethingNew", {}, "unknown_event"),
    ],
)
def test_events_not_counted_are_skipped_with_their_kind(
    event_type: str, body: dict[str, object], kind: str
) -> None:
    result = normalise("ses", as_bytes(ses_event(event_type, body)))

    assert result.events == []
    assert [(s.provider, s.kind) for s in result.skipped] == [("ses", kind)]


def test_sns_wrapped_event_is_unwrapped_and_ids_match_the_direct_form() -> None:
    event = ses_bounce("Permanent", "General")

    direct = normalise("ses", as_bytes(event)).events
    wrapped = normalise("ses", as_bytes(sns_wrap(event))).events

    assert wrapped == direct


def test_sns_subscription_confirmation_is_skipped_as_transport_control() -> None:
    confirmation = {
        "Type": "SubscriptionConfirmation",
        "TopicArn": "arn:aws:sns:eu-west-1:123456789012:ses-events",
        "Message": "You have chosen to subscribe",
        "SubscribeURL": "https://sns.example/confirm",
    }
    result = normalise("ses", as_bytes(confirmation))

    assert [s.kind for s in result.skipped] == ["transport_control"]


def test_eventbridge_envelope_is_unwrapped() -> None:
    event = ses_bounce("Transient", "General")
    envelope = {"detail-type": "Email Bounced", "source": "aws.ses", "detail": event}

    assert normalise("ses", as_bytes(envelope)).events == normalise("ses", as_bytes(event)).events


def test_classic_notification_type_is_read_like_event_type() -> None:
    event = ses_bounce("Permanent", "General")
    event["notificationType"] = event.pop("eventType")

    assert isinstance(only_event(event), BounceEvent)


def test_sns_message_that_is_not_json_is_a_provider_error() -> None:
    envelope = sns_wrap({})
    envelope["Message"] = "not json"

    with pytest.raises(ProviderError, match="not valid JSON"):
        normalise("ses", json.dumps(envelope).encode())


def test_missing_mail_message_id_is_a_provider_error_naming_it() -> None:
    event = ses_bounce("Permanent", "General")
    del event["mail"]["messageId"]

    with pytest.raises(ProviderError, match=r"mail\.messageId"):
        normalise("ses", as_bytes(event))


def test_timestamp_without_offset_is_a_provider_error() -> None:
    event = ses_bounce("Permanent", "General", timestamp="2025-03-01T09:30:02")

    with pytest.raises(ProviderError, match="no UTC offset"):
        normalise("ses", as_bytes(event))
