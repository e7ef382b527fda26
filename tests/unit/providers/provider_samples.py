"""Hand-written raw payloads in each provider's documented shape, shared by the adapter tests."""

import json
from typing import Any
from urllib.parse import urlencode

OUR_METADATA = {
    "cp_campaign": "dunning-30d",
    "cp_variant": "friendly",
    "cp_segment": "retail",
    "cp_customer_id": "cust-0042",
    "cp_tenant": "acme-bank",
}
SES_MESSAGE_ID = "0102018f3a1b2c3d-5e6f7a8b-1111-2222-3333-444455556666-000000"
SENDGRID_X_MESSAGE_ID = "Wq3fT0rXQ9eYbM1kZp7nVA"
MAILGUN_MESSAGE_ID = "20250301093000.5f1e2d3c4b5a6978@mg.collect.example"
POSTMARK_MESSAGE_ID = "7b0c1d2e-3f40-4152-a6b7-c8d9e0f1a2b3"
TWILIO_SID = "SM0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def as_bytes(payload: Any) -> bytes:
    return json.dumps(payload).encode()


# --- AWS SES event publishing -------------------------------------------------------


def ses_event(event_type: str, body: dict[str, Any] | None = None, **mail: Any) -> dict[str, Any]:
    """An SES event; `body` goes under the event's own key (`bounce`, `delivery`, ...)."""
    event: dict[str, Any] = {
        "eventType": event_type,
        "mail": {
            "timestamp": "2025-03-01T09:30:00.000Z",
            "source": "collections@collect.example",
            "sendingAccountId": "123456789012",
            "messageId": SES_MESSAGE_ID,
            "destination": ["debtor@example.net"],
            "headersTruncated": False,
            "commonHeaders": {
                "from": ["collections@collect.example"],
                "to": ["debtor@example.net"],
                "messageId": "<0102018f3a1b2c3d@eu-west-1.amazonses.com>",
                "subject": "Your balance",
            },
            "tags": {
                "ses:configuration-set": ["collections"],
                **{key: [value] for key, value in OUR_METADATA.items()},
            },
            **mail,
        },
    }
    key = {
        "Rendering Failure": "failure",
        "DeliveryDelay": "deliveryDelay",
    }.get(event_type, event_type[:1].lower() + event_type[1:])
    if body is not None:
        event[key] = body
    return event


def ses_bounce(
    bounce_type: str, sub_type: str, *recipients: dict[str, Any], timestamp: str | None = None
) -> dict[str, Any]:
    return ses_event(
        "Bounce",
        {
            "bounceType": bounce_type,
            "bounceSubType": sub_type,
            "bouncedRecipients": list(recipients)
            or [
                {
                    "emailAddress": "debtor@example.net",
                    "action": "failed",
                    "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                }
            ],
            "timestamp": timestamp or "2025-03-01T09:30:02.500Z",
            "feedbackId": "0102018f3a1b2c3d-feedback-000000",
            "reportingMTA": "dsn; a1-2.smtp-out.eu-west-1.amazonses.com",
        },
    )


def sns_wrap(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "Notification",
        "MessageId": "5c1d7a3e-9f0b-5b2e-8c4d-6e7f8a9b0c1d",
        "TopicArn": "arn:aws:sns:eu-west-1:123456789012:ses-events",
        "Subject": "Amazon SES Email Event Notification",
        "Message": json.dumps(event),
        "Timestamp": "2025-03-01T09:30:03.000Z",
        "SignatureVersion": "1",
        "Signature": "c2lnbmF0dXJl",
        "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/cert.pem",
        "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe",
    }


# --- SendGrid Event Webhook -------------------------------------------------------


def sendgrid_event(event: str, *, metadata: bool = True, **fields: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "email": "debtor@example.net",
        "timestamp": 1740821400,
        "smtp-id": "<Wq3fT0rXQ9eYbM1kZp7nVA@geopod-ismtpd-3>",
        "event": event,
        "category": ["dunning"],
        "sg_event_id": f"ZGVsaXZlcmVkLTAtMTIzNDU2-{event}",
        "sg_message_id": f"{SENDGRID_X_MESSAGE_ID}.recvd-7d9c8b6f5-x2k4p-1-67C2D4A8-3.0",
    }
    if metadata:
        item.update(OUR_METADATA)
    item.update(fields)
    return item


# --- Mailgun webhooks -------------------------------------------------------------


def mailgun_webhook(event: str, **fields: Any) -> dict[str, Any]:
    event_data: dict[str, Any] = {
        "id": f"Q2pYVnFiU0ZTc2VJ-{event}",
        "timestamp": 1740821400.123456,
        "log-level": "info",
        "event": event,
        "recipient": "debtor@example.net",
        "recipient-domain": "example.net",
        "message": {
            "headers": {
                "to": "debtor@example.net",
                "message-id": MAILGUN_MESSAGE_ID,
                "from": "collections@collect.example",
                "subject": "Your balance",
            },
            "attachments": [],
            "size": 2048,
        },
        "tags": ["dunning"],
        "user-variables": dict(OUR_METADATA),
        **fields,
    }
    return {
        "signature": {"timestamp": "1740821401", "token": "a" * 50, "signature": "b" * 64},
        "event-data": event_data,
    }


# --- Postmark webhooks ------------------------------------------------------------


def postmark_record(record_type: str, **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "RecordType": record_type,
        "ServerID": 4242,
        "MessageStream": "outbound",
        "MessageID": POSTMARK_MESSAGE_ID,
        "Recipient": "debtor@example.net",
        "Tag": "dunning",
        "Metadata": dict(OUR_METADATA),
        **fields,
    }
    return record


def postmark_bounce(bounce_type: str, **fields: Any) -> dict[str, Any]:
    bounce: dict[str, Any] = {
        "ID": 987654321,
        "Type": bounce_type,
        "TypeCode": 1,
        "Name": "Hard bounce",
        "Email": "debtor@example.net",
        "From": "collections@collect.example",
        "BouncedAt": "2025-03-01T09:30:05.1234567Z",
        "Description": "The server was unable to deliver your message.",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist",
        "Inactive": True,
        "CanActivate": True,
        "DumpAvailable": False,
        "Subject": "Your balance",
    }
    return postmark_record("Bounce", **{**bounce, **fields})


# --- Twilio status callbacks ------------------------------------------------------


def twilio_fields(status: str, **fields: str) -> dict[str, str]:
    return {
        "AccountSid": "AC00112233445566778899aabbccddeeff",
        "MessagingServiceSid": "MG00112233445566778899aabbccddeeff",
        "MessageSid": TWILIO_SID,
        "SmsSid": TWILIO_SID,
        "MessageStatus": status,
        "SmsStatus": status,
        "From": "+15005550006",
        "To": "+447700900123",
        "ApiVersion": "2010-04-01",
        **fields,
    }


def twilio_form(status: str, **fields: str) -> bytes:
    return urlencode(twilio_fields(status, **fields)).encode()
