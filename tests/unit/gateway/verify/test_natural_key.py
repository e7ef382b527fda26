"""The Kafka key: the provider's message id, normalised as the adapters normalise it."""

import json

import pytest
from tests.support.webhook_signing import (
    mailgun_event,
    postmark_delivery,
    sendgrid_batch,
    ses_event,
    ses_notification,
    twilio_status,
    webhook_request,
)

from collectpulse.gateway.verify.base import Accepted, natural_key
from collectpulse.gateway.verify.unsigned import UnsignedVerifier


@pytest.mark.parametrize(
    ("provider", "body", "key"),
    [
        ("ses", json.dumps(ses_notification(ses_event("ses-1"))).encode(), b"ses-1"),
        ("ses", json.dumps(ses_event("ses-bare")).encode(), b"ses-bare"),
        ("ses", json.dumps({"detail-type": "x", "detail": ses_event("eb")}).encode(), b"eb"),
        ("sendgrid", sendgrid_batch("sg1", "sg2"), b"sg1"),
        ("mailgun", json.dumps({"event-data": mailgun_event("<a@b>")}).encode(), b"a@b"),
        ("mailgun", b"Message-Id=%3Clegacy%40mg%3E&event=delivered", b"legacy@mg"),
        ("postmark", postmark_delivery("pm-1"), b"pm-1"),
        ("twilio", b"MessageSid=SM1&MessageStatus=sent", b"SM1"),
        ("twilio", b"SmsSid=SM2&SmsStatus=sent", b"SM2"),
        ("twilio", json.dumps(twilio_status("SM3")).encode(), b"SM3"),
    ],
)
def test_key_is_the_normalised_message_id(provider: str, body: bytes, key: bytes) -> None:
    assert natural_key(provider, body) == key


@pytest.mark.parametrize(
    ("provider", "body"),
    [
        ("ses", json.dumps({"Type": "SubscriptionConfirmation", "TopicArn": "a"}).encode()),
        ("ses", json.dumps({"Message": "not json", "TopicArn": "a"}).encode()),
        ("sendgrid", b"[]"),
        ("sendgrid", b'[{"sg_message_id": "  "}]'),
        ("mailgun", b'{"event-data": {"message": {"headers": {"message-id": 7}}}}'),
        ("postmark", b"\xff"),
        ("twilio", b"MessageStatus=sent"),
        ("unknown", b'{"MessageID": "x"}'),
    ],
)
def test_body_without_a_message_id_has_no_key(provider: str, body: bytes) -> None:
    assert natural_key(provider, body) is None


async def test_unsigned_verifier_accepts_under_the_same_key() -> None:
    verifier = UnsignedVerifier("postmark")
    result = await verifier.verify(webhook_request("postmark", postmark_delivery("pm-9")))
    assert result == Accepted(publish=True, key=b"pm-9")
