"""Postmark webhooks: every record type, bounce types, derived and stable ids."""

from datetime import UTC, datetime

import pytest
from provider_samples import POSTMARK_MESSAGE_ID, as_bytes, postmark_bounce, postmark_record

from collectpulse.events.models import BounceEvent, ClickEvent, DeliveryEvent, OpenEvent
from collectpulse.events.providers import ProviderError, normalise
from collectpulse.events.providers.common import snake


def one(payload: dict[str, object]) -> object:
    result = normalise("postmark", as_bytes(payload))
    assert len(result.events) + len(result.skipped) == 1
    return (result.events or result.skipped)[0]


def delivery(**fields: object) -> dict[str, object]:
    return postmark_record(
        "Delivery", DeliveredAt="2025-03-01T09:30:04.9070259Z", Details="250 OK", **fields
    )


def test_delivery_is_delivered_with_a_derived_id_and_seven_digit_fractions_read() -> None:
    delivered = one(delivery())

    assert isinstance(delivered, DeliveryEvent)
    assert (delivered.status, delivered.message_id) == ("delivered", POSTMARK_MESSAGE_ID)
    assert delivered.occurred_at == datetime(2025, 3, 1, 9, 30, 4, 907025, tzinfo=UTC)
    assert delivered.event_id.startswith("postmark:")
    assert delivered.tenant == "acme-bank"


def test_retried_delivery_webhook_gets_the_same_event_id() -> None:
    assert one(delivery()) == one(delivery())


def test_delivery_to_another_recipient_gets_another_event_id() -> None:
    first, second = one(delivery()), one(delivery(Recipient="other@example.net"))

    assert isinstance(first, DeliveryEvent) and isinstance(second, DeliveryEvent)
    assert first.event_id != second.event_id


@pytest.mark.parametrize(
    ("bounce_type", "expected", "reason"),
    [
        ("HardBounce", "hard", "hard_bounce"),
        ("BadEmailAddress", "hard", "bad_email_address"),
        ("SoftBounce", "soft", "soft_bounce"),
        ("Transient", "soft", "transient"),
        ("DnsError", "soft", "dns_error"),
        ("Blocked", "soft", "blocked"),
        ("DMARCPolicy", "soft", "dmarc_policy"),
        ("Unknown", "soft", "unknown"),
    ],
)
def test_bounce_type_maps_to_hard_or_soft(bounce_type: str, expected: str, reason: str) -> None:
    bounce = one(postmark_bounce(bounce_type))

    assert isinstance(bounce, BounceEvent)
    assert (bounce.bounce_type, bounce.reason) == (expected, reason)


def test_bounce_uses_postmark_bounce_id_and_the_smtp_status_in_details() -> None:
    bounce = one(postmark_bounce("HardBounce"))

    assert isinstance(bounce, BounceEvent)
    assert bounce.event_id == "postmark:bounce-987654321"
    assert bounce.provider_code == "5.1.1"


# Postmark's documented TypeCode of every bounce type that becomes a canonical bounce.
TYPE_CODES = {
    "HardBounce": 1,
    "Transient": 2,
    "DnsError": 256,
    "Unknown": 2048,
    "SoftBounce": 4096,
    "BadEmailAddress": 100000,
    "Blocked": 100006,
    "DMARCPolicy": 100009,
}
COUNTED_TYPES = sorted(TYPE_CODES)


@pytest.mark.parametrize("bounce_type", COUNTED_TYPES)
@pytest.mark.parametrize(
    ("details", "code"),
    [
        ("smtp;550 5.1.1 The email account that you tried to reach does not exist", "5.1.1"),
        ("smtp; 421 Service not available, try again later", "421"),
    ],
)
def test_every_bounce_type_takes_the_smtp_status_in_details_first(
    bounce_type: str, details: str, code: str
) -> None:
    bounce = one(postmark_bounce(bounce_type, TypeCode=TYPE_CODES[bounce_type], Details=details))

    assert isinstance(bounce, BounceEvent)
    assert bounce.provider_code == code


@pytest.mark.parametrize("bounce_type", COUNTED_TYPES)
@pytest.mark.parametrize("details", ["DNS lookup failed", "", None])
def test_every_bounce_type_without_smtp_status_takes_the_numeric_type_code_never_its_name(
    bounce_type: str, details: str | None
) -> None:
    bounce = one(postmark_bounce(bounce_type, TypeCode=TYPE_CODES[bounce_type], Details=details))

    assert isinstance(bounce, BounceEvent)
    assert bounce.provider_code == str(TYPE_CODES[bounce_type])
    assert bounce.reason == snake(bounce_type), "the type's name goes to reason"


@pytest.mark.parametrize("bounce_type", COUNTED_TYPES)
def test_bounce_without_type_code_takes_the_documented_code_of_its_type(bounce_type: str) -> None:
    record = postmark_bounce(bounce_type, Details="no smtp text here")
    del record["TypeCode"]

    bounce = one(record)

    assert isinstance(bounce, BounceEvent)
    assert bounce.provider_code == str(TYPE_CODES[bounce_type])


def test_the_records_own_type_code_wins_over_the_documented_one() -> None:
    bounce = one(postmark_bounce("SoftBounce", TypeCode=4097, Details="mailbox unavailable"))

    assert isinstance(bounce, BounceEvent)
    assert bounce.provider_code == "4097"


@pytest.mark.parametrize("type_code", ["HardBounce", "1", True, -1, 1.5])
def test_type_code_that_is_not_a_non_negative_integer_is_a_provider_error(
    type_code: object,
) -> None:
    with pytest.raises(ProviderError, match="'TypeCode'"):
        normalise(
            "postmark", as_bytes(postmark_bounce("HardBounce", TypeCode=type_code, Details=""))
        )


@pytest.mark.parametrize(
    ("bounce_type", "kind"),
    [
        ("SpamComplaint", "complaint"),
        ("AutoResponder", "inbound_notice"),
        ("Unsubscribe", "unsubscribe"),
        ("ManuallyDeactivated", "suppression_change"),
        ("SMTPApiError", "dropped"),
        ("TemplateRenderingFailed", "rendering_failure"),
    ],
)
def test_bounce_records_that_are_not_delivery_failures_are_skipped(
    bounce_type: str, kind: str
) -> None:
    assert getattr(one(postmark_bounce(bounce_type)), "kind", None) == kind


def test_unknown_bounce_type_is_a_provider_error() -> None:
    with pytest.raises(ProviderError, match="'Type'"):
        normalise("postmark", as_bytes(postmark_bounce("Sideways")))


def test_open_is_human_because_postmark_has_no_machine_signal() -> None:
    opened = one(
        postmark_record(
            "Open", ReceivedAt="2025-03-01T11:00:00Z", FirstOpen=True, Platform="Mobile"
        )
    )

    assert isinstance(opened, OpenEvent)
    assert opened.machine is False


def test_click_carries_the_original_link() -> None:
    clicked = one(
        postmark_record(
            "Click",
            ReceivedAt="2025-03-01T11:02:00-05:00",
            OriginalLink="https://pay.collect.example",
        )
    )

    assert isinstance(clicked, ClickEvent)
    assert clicked.url == "https://pay.collect.example"
    assert clicked.occurred_at == datetime(2025, 3, 1, 16, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fields", "kind"),
    [
        ({"SuppressSending": True, "SuppressionReason": "ManualSuppression"}, "unsubscribe"),
        ({"SuppressSending": True, "SuppressionReason": "HardBounce"}, "suppression_change"),
        ({"SuppressSending": False, "SuppressionReason": None}, "resubscribe"),
    ],
)
def test_subscription_change_is_skipped_by_what_changed(
    fields: dict[str, object], kind: str
) -> None:
    record = postmark_record("SubscriptionChange", ChangedAt="2025-03-01T12:00:00Z", **fields)

    assert getattr(one(record), "kind", None) == kind


@pytest.mark.parametrize(
    ("record_type", "kind"), [("SpamComplaint", "complaint"), ("Inbound", "unknown_event")]
)
def test_other_records_are_skipped(record_type: str, kind: str) -> None:
    assert getattr(one(postmark_record(record_type)), "kind", None) == kind


def test_missing_message_id_is_a_provider_error_naming_it() -> None:
    record = delivery()
    del record["MessageID"]

    with pytest.raises(ProviderError, match="'MessageID'"):
        normalise("postmark", as_bytes(record))


def test_metadata_value_that_is_not_a_string_is_a_provider_error() -> None:
    with pytest.raises(ProviderError, match="cp_campaign"):
        normalise("postmark", as_bytes(delivery(Metadata={"cp_campaign": {"nested": 1}})))
