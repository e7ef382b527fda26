"""Twilio SMS status callbacks: statuses, ErrorCode hard/soft mapping, time and ids."""

from datetime import UTC, datetime, timedelta

import pytest
from provider_samples import TWILIO_SID, as_bytes, twilio_fields, twilio_form

from collectpulse.events.models import BounceEvent, DeliveryEvent
from collectpulse.events.providers import ProviderError, normalise

RECEIVED_AT = datetime(2025, 3, 1, 9, 30, 7, tzinfo=UTC)


def one(payload: bytes, received_at: datetime = RECEIVED_AT) -> object:
    result = normalise("twilio", payload, received_at=received_at)
    assert len(result.events) + len(result.skipped) == 1
    return (result.events or result.skipped)[0]


def test_delivered_callback_is_delivered_sms_at_the_time_received() -> None:
    delivered = one(twilio_form("delivered", RawDlrDoneDate="2503010930"))

    assert isinstance(delivered, DeliveryEvent)
    assert (delivered.status, delivered.channel, delivered.message_id) == (
        "delivered",
        "sms",
        TWILIO_SID,
    )
    assert delivered.occurred_at == RECEIVED_AT
    assert delivered.customer_id is None


def test_json_callback_reads_like_the_form_one() -> None:
    as_json = one(as_bytes(twilio_fields("delivered")))

    assert as_json == one(twilio_form("delivered"))


def test_sent_without_metadata_is_skipped_because_the_sending_system_publishes_sent() -> None:
    skipped = one(twilio_form("sent"))

    assert getattr(skipped, "kind", None) == "sent_without_metadata"


def test_sent_with_cp_keys_from_the_callback_url_is_a_canonical_sent() -> None:
    sent = one(
        twilio_form("sent", cp_campaign="sms-reminder", cp_variant="b", cp_customer_id="cust-7")
    )

    assert isinstance(sent, DeliveryEvent)
    assert (sent.status, sent.channel, sent.campaign, sent.variant) == (
        "sent",
        "sms",
        "sms-reminder",
        "b",
    )


@pytest.mark.parametrize("code", ["30005", "30006", "21211", "21614", "21217", "21401", "21635"])
@pytest.mark.parametrize("status", ["undelivered", "failed"])
def test_invalid_unknown_or_landline_numbers_are_hard(code: str, status: str) -> None:
    bounce = one(twilio_form(status, ErrorCode=code))

    assert isinstance(bounce, BounceEvent)
    assert (bounce.bounce_type, bounce.provider_code) == ("hard", code)


@pytest.mark.parametrize("code", ["30003", "30007", "30008", "30004", "21612", "39999"])
def test_unreachable_filtered_and_unknown_codes_are_soft(code: str) -> None:
    bounce = one(twilio_form("undelivered", ErrorCode=code))

    assert isinstance(bounce, BounceEvent)
    assert (bounce.bounce_type, bounce.provider_code) == ("soft", code)


def test_reason_names_the_error() -> None:
    bounce = one(twilio_form("undelivered", ErrorCode="30003"))

    assert isinstance(bounce, BounceEvent)
    assert bounce.reason == "unreachable_handset"


def test_failure_without_error_code_is_soft_with_no_provider_code() -> None:
    bounce = one(twilio_form("failed", ErrorCode=""))

    assert isinstance(bounce, BounceEvent)
    assert (bounce.bounce_type, bounce.reason, bounce.provider_code) == ("soft", "failed", None)


def test_numeric_error_code_in_json_is_read_as_a_string() -> None:
    fields: dict[str, object] = {**twilio_fields("undelivered"), "ErrorCode": 30005}
    bounce = one(as_bytes(fields))

    assert isinstance(bounce, BounceEvent)
    assert bounce.provider_code == "30005"


def test_opted_out_recipient_is_a_refusal_not_a_bounce() -> None:
    skipped = one(twilio_form("failed", ErrorCode="21610"))

    assert getattr(skipped, "kind", None) == "refused_unsubscribed"


def test_retried_callback_received_later_keeps_its_event_id() -> None:
    first = one(twilio_form("delivered"))
    retry = one(twilio_form("delivered"), received_at=RECEIVED_AT + timedelta(minutes=5))

    assert isinstance(first, DeliveryEvent) and isinstance(retry, DeliveryEvent)
    assert first.event_id == retry.event_id


def test_each_status_of_a_message_gets_its_own_event_id() -> None:
    sent = normalise(
        "twilio", twilio_form("undelivered", ErrorCode="30003"), received_at=RECEIVED_AT
    ).events[0]
    delivered = normalise("twilio", twilio_form("delivered"), received_at=RECEIVED_AT).events[0]

    assert sent.event_id != delivered.event_id


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        ("queued", "in_progress"),
        ("accepted", "in_progress"),
        ("sending", "in_progress"),
        ("scheduled", "in_progress"),
        ("canceled", "dropped"),
        ("read", "not_counted"),
        ("received", "not_counted"),
        ("teleported", "unknown_event"),
    ],
)
def test_statuses_we_do_not_count_are_skipped_without_needing_a_time(
    status: str, kind: str
) -> None:
    result = normalise("twilio", twilio_form(status))

    assert [s.kind for s in result.skipped] == [kind]


def test_counted_status_without_received_at_is_a_provider_error() -> None:
    with pytest.raises(ProviderError, match="received_at"):
        normalise("twilio", twilio_form("delivered"))


def test_naive_received_at_is_a_provider_error() -> None:
    with pytest.raises(ProviderError, match="timezone-aware"):
        normalise("twilio", twilio_form("delivered"), received_at=datetime(2025, 3, 1))


def test_missing_message_sid_is_a_provider_error_naming_it() -> None:
    fields = twilio_fields("delivered")
    del fields["MessageSid"], fields["SmsSid"]

    with pytest.raises(ProviderError, match="MessageSid"):
        normalise("twilio", as_bytes(fields), received_at=RECEIVED_AT)


def test_missing_status_is_a_provider_error_naming_it() -> None:
    with pytest.raises(ProviderError, match="MessageStatus"):
        normalise("twilio", b"MessageSid=SM1&To=%2B447700900123", received_at=RECEIVED_AT)


def test_body_that_is_neither_json_nor_form_is_a_provider_error() -> None:
    with pytest.raises(ProviderError, match="neither JSON nor a form"):
        normalise("twilio", b"\x00garbage without equals", received_at=RECEIVED_AT)
