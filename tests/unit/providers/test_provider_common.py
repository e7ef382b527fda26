"""The shared rules: dispatch, message-id normalisation, deterministic ids, metadata keys."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from provider_samples import (
    MAILGUN_MESSAGE_ID,
    POSTMARK_MESSAGE_ID,
    SENDGRID_X_MESSAGE_ID,
    SES_MESSAGE_ID,
    TWILIO_SID,
    as_bytes,
    mailgun_webhook,
    postmark_record,
    sendgrid_event,
    ses_event,
    twilio_form,
)

from collectpulse.events.models import DeliveryEvent
from collectpulse.events.providers import (
    METADATA_KEYS,
    PROVIDERS,
    ProviderError,
    derived_event_id,
    normalise,
    normalise_message_id,
)
from collectpulse.events.providers.common import smtp_code, snake

AT = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def test_providers_lists_the_five_adapters() -> None:
    assert PROVIDERS == ("ses", "sendgrid", "mailgun", "postmark", "twilio")


def test_unknown_provider_is_a_provider_error() -> None:
    with pytest.raises(ProviderError, match="unknown provider"):
        normalise("sparkpost", b"[]")


def test_text_instead_of_bytes_is_a_provider_error() -> None:
    with pytest.raises(ProviderError, match="must be bytes"):
        normalise("ses", "{}")  # type: ignore[arg-type]


def test_metadata_keys_are_one_cp_prefixed_convention() -> None:
    assert dict(METADATA_KEYS) == {
        "campaign": "cp_campaign",
        "variant": "cp_variant",
        "segment": "cp_segment",
        "customer_id": "cp_customer_id",
        "tenant": "cp_tenant",
    }


# --- a sent from our mailer and a provider delivery meet on message_id ----------------


def delivered_id(provider: str, payload: bytes) -> str:
    events = normalise(provider, payload, received_at=AT).events
    assert isinstance(events[0], DeliveryEvent)
    return events[0].message_id


@pytest.mark.parametrize(
    ("provider", "id_from_send_api", "delivery_payload"),
    [
        (
            "ses",
            SES_MESSAGE_ID,
            as_bytes(
                ses_event(
                    "Delivery", {"timestamp": "2025-03-01T09:30:02Z", "recipients": ["d@e.net"]}
                )
            ),
        ),
        ("sendgrid", SENDGRID_X_MESSAGE_ID, as_bytes([sendgrid_event("delivered")])),
        ("mailgun", f"<{MAILGUN_MESSAGE_ID}>", as_bytes(mailgun_webhook("delivered"))),
        (
            "postmark",
            POSTMARK_MESSAGE_ID,
            as_bytes(postmark_record("Delivery", DeliveredAt="2025-03-01T09:30:04Z")),
        ),
        ("twilio", TWILIO_SID, twilio_form("delivered")),
    ],
)
def test_mailer_id_and_provider_delivery_id_normalise_to_the_same_join_key(
    provider: str, id_from_send_api: str, delivery_payload: bytes
) -> None:
    mailer_side = normalise_message_id(provider, id_from_send_api)

    assert mailer_side == delivered_id(provider, delivery_payload)


def test_sendgrid_id_keeps_the_part_before_the_first_dot() -> None:
    raw = f"{SENDGRID_X_MESSAGE_ID}.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0"

    assert normalise_message_id("sendgrid", raw) == SENDGRID_X_MESSAGE_ID


def test_legacy_dotted_sendgrid_ids_still_meet_on_both_sides() -> None:
    from_api = "14c5d75ce93.dfd.64b469"
    from_event = "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0"

    assert normalise_message_id("sendgrid", from_api) == normalise_message_id(
        "sendgrid", from_event
    )


@pytest.mark.parametrize("provider", ["ses", "mailgun", "postmark", "twilio"])
def test_angle_brackets_and_whitespace_are_dropped_for_every_provider(provider: str) -> None:
    assert normalise_message_id(provider, "  <abc-123@host>  ") == "abc-123@host"


def test_dots_are_kept_outside_sendgrid() -> None:
    assert normalise_message_id("mailgun", "a.b.c@mg.example") == "a.b.c@mg.example"


@pytest.mark.parametrize("raw", ["", "   ", "<>"])
def test_empty_message_id_is_a_provider_error(raw: str) -> None:
    with pytest.raises(ProviderError, match="empty"):
        normalise_message_id("ses", raw)


def test_message_id_for_unknown_provider_is_a_provider_error() -> None:
    with pytest.raises(ProviderError, match="unknown provider"):
        normalise_message_id("sparkpost", "abc")


# --- deterministic event ids ------------------------------------------------------


def test_derived_event_id_is_stable_across_calls() -> None:
    first = derived_event_id("postmark", "m-1", "Delivery", "d@e.net", AT)

    assert first == derived_event_id("postmark", "m-1", "Delivery", "d@e.net", AT)
    assert first.startswith("postmark:")
    assert len(first) <= 128


@pytest.mark.parametrize(
    "changed",
    [
        ("ses", "m-1", "Delivery", "d@e.net", AT),
        ("postmark", "m-2", "Delivery", "d@e.net", AT),
        ("postmark", "m-1", "Open", "d@e.net", AT),
        ("postmark", "m-1", "Delivery", "x@e.net", AT),
        ("postmark", "m-1", "Delivery", "d@e.net", AT + timedelta(microseconds=1)),
        ("postmark", "m-1", "Delivery", None, AT),
    ],
)
def test_derived_event_id_differs_when_any_input_differs(
    changed: tuple[str, str, str, str | None, datetime],
) -> None:
    assert derived_event_id(*changed) != derived_event_id(
        "postmark", "m-1", "Delivery", "d@e.net", AT
    )


def test_derived_event_id_does_not_depend_on_the_offset_the_time_was_written_in() -> None:
    same_instant = AT.astimezone(timezone(timedelta(hours=-5)))

    assert derived_event_id("ses", "m", "Open", None, same_instant) == derived_event_id(
        "ses", "m", "Open", None, AT
    )


def test_derived_event_id_fields_cannot_run_into_each_other() -> None:
    assert derived_event_id("ses", "ab", "c", None, AT) != derived_event_id(
        "ses", "a", "bc", None, AT
    )


def test_same_ses_payload_normalises_to_identical_events_twice() -> None:
    payload = as_bytes(ses_event("Open", {"timestamp": "2025-03-01T11:00:00Z"}))

    assert normalise("ses", payload) == normalise("ses", payload)


# --- codes and reasons ------------------------------------------------------------


@pytest.mark.parametrize(
    ("texts", "code"),
    [
        (("smtp; 550 5.1.1 user unknown",), "5.1.1"),
        (("550 user unknown",), "550"),
        (("no code here", "421 4.7.0 later"), "4.7.0"),
        (("host 192.0.2.55 said no",), None),
        ((None, ""), None),
    ],
)
def test_smtp_code_prefers_the_enhanced_status(
    texts: tuple[str | None, ...], code: str | None
) -> None:
    assert smtp_code(*texts) == code


@pytest.mark.parametrize(
    ("name", "token"),
    [
        ("OnAccountSuppressionList", "on_account_suppression_list"),
        ("DMARCPolicy", "dmarc_policy"),
        ("Invalid Address", "invalid_address"),
        ("suppress-bounce", "suppress_bounce"),
    ],
)
def test_snake_turns_provider_names_into_reason_tokens(name: str, token: str) -> None:
    assert snake(name) == token


def test_metadata_too_long_for_a_label_is_a_provider_error_naming_the_field() -> None:
    payload = ses_event(
        "Send", {}, tags={"cp_campaign": ["c" * 65], "cp_variant": ["v"], "cp_customer_id": ["x"]}
    )

    with pytest.raises(ProviderError, match="campaign"):
        normalise("ses", as_bytes(payload))
