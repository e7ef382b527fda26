"""Sign webhook requests the way each provider does, with keys the test generates.

Shared by the verifier unit tests and the gateway's integration tests. Every scheme is
implemented here independently of `collectpulse.gateway.verify` (from the providers'
docs, see /work/shared/webhook-facts.md), so a test cannot pass by agreeing with a bug.

    signer = make_sns_cert()                       # RSA key + self-signed cert + SNS-like URL
    body = sign_ses(ses_notification({...}), signer, version="2")
    certs = StaticCerts({signer.cert_url: signer.cert_pem})   # inject into SesVerifier

    sg = make_sendgrid_key()                       # sg.public_key_b64 goes into the verifier
    headers = sign_sendgrid(sg, body, timestamp_s=now)

    body = sign_mailgun("key", {"event": "delivered", ...}, timestamp_s=now)
    sig = twilio_signature("token", "https://public/webhooks/twilio", {"MessageSid": "SM1"})
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from collectpulse.gateway.verify.base import WebhookRequest

SNS_TOPIC_ARN = "arn:aws:sns:eu-west-1:123456789012:collectpulse-ses-events"
SNS_CERT_URL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-test.pem"
SNS_HEADERS = {"content-type": "text/plain; charset=UTF-8"}


def webhook_request(
    provider: str,
    body: bytes,
    headers: Mapping[str, str] | None = None,
    *,
    public_url: str | None = None,
    received_s: float | None = None,
) -> WebhookRequest:
    """The request as the gateway server hands it to a verifier (header names lower-cased)."""
    return WebhookRequest(
        provider=provider,
        method="POST",
        public_url=public_url or f"https://hooks.example.com/webhooks/{provider}",
        headers={name.lower(): value for name, value in (headers or {}).items()},
        body=body,
        received_s=time.time() if received_s is None else received_s,
    )


# --- Amazon SNS (SES events) -------------------------------------------------------------


@dataclass(frozen=True)
class SnsSigner:
    key: rsa.RSAPrivateKey
    cert_pem: bytes
    cert_url: str


def make_sns_cert(cert_url: str = SNS_CERT_URL) -> SnsSigner:
    """An RSA-2048 key and a self-signed certificate for it, to be served at `cert_url`."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=2))
        .sign(key, hashes.SHA256())
    )
    return SnsSigner(key, cert.public_bytes(serialization.Encoding.PEM), cert_url)


@dataclass
class StaticCerts:
    """A CertFetcher serving PEMs from a dict; counts fetches so caching can be asserted."""

    by_url: Mapping[str, bytes]
    fetched: list[str] = field(default_factory=list)

    async def pem(self, url: str) -> bytes:
        self.fetched.append(url)
        if url not in self.by_url:
            raise LookupError(f"no certificate at {url}")
        return self.by_url[url]


_NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_CONFIRMATION_KEYS = (
    "Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type",
)  # fmt: skip


def sns_string_to_sign(message: Mapping[str, object]) -> bytes:
    """AWS's canonical string: `Key\\nValue\\n` per signed key present, in the documented order."""
    keys = _NOTIFICATION_KEYS if message["Type"] == "Notification" else _CONFIRMATION_KEYS
    parts = [f"{k}\n{message[k]}\n" for k in keys if message.get(k) is not None]
    return "".join(parts).encode()


def sns_timestamp(when: datetime | None = None) -> str:
    when = when or datetime.now(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def ses_notification(
    ses_event: Mapping[str, object],
    *,
    topic_arn: str = SNS_TOPIC_ARN,
    timestamp: str | None = None,
    subject: str | None = None,
) -> dict[str, object]:
    """An unsigned SNS Notification envelope carrying `ses_event` as its Message string."""
    message: dict[str, object] = {
        "Type": "Notification",
        "MessageId": f"sns-{secrets.token_hex(8)}",
        "TopicArn": topic_arn,
        "Message": json.dumps(ses_event),
        "Timestamp": timestamp or sns_timestamp(),
        "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&x=1",
    }
    if subject is not None:
        message["Subject"] = subject
    return message


def sns_confirmation(
    kind: str = "SubscriptionConfirmation",
    *,
    topic_arn: str = SNS_TOPIC_ARN,
    timestamp: str | None = None,
    subscribe_url: str | None = None,
) -> dict[str, object]:
    """An unsigned SubscriptionConfirmation (or UnsubscribeConfirmation) envelope."""
    token = secrets.token_hex(32)
    return {
        "Type": kind,
        "MessageId": f"sns-{secrets.token_hex(8)}",
        "Token": token,
        "TopicArn": topic_arn,
        "Message": f"You have chosen to subscribe to the topic {topic_arn}.",
        "SubscribeURL": subscribe_url
        or f"https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token={token}",
        "Timestamp": timestamp or sns_timestamp(),
    }


def sign_ses(message: Mapping[str, object], signer: SnsSigner, *, version: str = "1") -> bytes:
    """The request body: `message` plus SignatureVersion, Signature and SigningCertURL."""
    digest = hashes.SHA1() if version == "1" else hashes.SHA256()  # v1 is SHA-1 by design
    signature = signer.key.sign(sns_string_to_sign(message), padding.PKCS1v15(), digest)
    signed = {
        **message,
        "SignatureVersion": version,
        "Signature": base64.b64encode(signature).decode(),
        "SigningCertURL": signer.cert_url,
    }
    return json.dumps(signed).encode()


def ses_event(
    message_id: str = "0100018f-ses-message-id", event_type: str = "Delivery"
) -> dict[str, object]:
    return {
        "eventType": event_type,
        "mail": {"messageId": message_id, "timestamp": "2024-05-01T10:00:00.000Z"},
        "delivery": {"recipients": ["debtor@example.com"], "timestamp": "2024-05-01T10:00:01Z"},
    }


# --- SendGrid Signed Event Webhook -------------------------------------------------------

SENDGRID_SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"


@dataclass(frozen=True)
class SendgridKey:
    private: ec.EllipticCurvePrivateKey

    @property
    def public_key_b64(self) -> str:
        """The form SendGrid's dashboard shows: base64 DER SubjectPublicKeyInfo, no armour."""
        der = self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode()

    @property
    def public_key_pem(self) -> str:
        return (
            self.private.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )


def make_sendgrid_key() -> SendgridKey:
    return SendgridKey(ec.generate_private_key(ec.SECP256R1()))


def sign_sendgrid(key: SendgridKey, body: bytes, *, timestamp_s: float) -> dict[str, str]:
    """The two signature headers for `body` (ECDSA P-256 over timestamp + raw body)."""
    timestamp = str(int(timestamp_s))
    signature = key.private.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        SENDGRID_SIGNATURE: base64.b64encode(signature).decode(),
        SENDGRID_TIMESTAMP: timestamp,
        "Content-Type": "application/json;charset=utf-8",
    }


def sendgrid_batch(*sg_message_ids: str) -> bytes:
    """A SendGrid batch the way it is sent: an array, `\\r\\n` after each element."""
    events = [
        {
            "email": "debtor@example.com",
            "event": "delivered",
            "sg_event_id": secrets.token_urlsafe(16),
            "sg_message_id": f"{mid}.filterdrecv-1",
            "timestamp": 1714557600,
        }
        for mid in sg_message_ids
    ]
    return ("[" + ",\r\n".join(json.dumps(e) for e in events) + "\r\n]\r\n").encode()


# --- Mailgun -----------------------------------------------------------------------------


def mailgun_signature(signing_key: str, timestamp: str, token: str) -> str:
    return hmac.new(signing_key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()


def sign_mailgun(
    signing_key: str,
    event_data: Mapping[str, object],
    *,
    timestamp_s: float,
    token: str | None = None,
) -> bytes:
    """A current-shape Mailgun JSON body: `signature` object + `event-data`."""
    timestamp, token = str(int(timestamp_s)), token or secrets.token_hex(25)
    signature = {
        "timestamp": timestamp,
        "token": token,
        "signature": mailgun_signature(signing_key, timestamp, token),
    }
    return json.dumps({"signature": signature, "event-data": dict(event_data)}).encode()


def mailgun_event(message_id: str = "20240501.abc@mg.example.com") -> dict[str, object]:
    return {
        "event": "delivered",
        "id": secrets.token_urlsafe(16),
        "timestamp": 1714557600.5,
        "recipient": "debtor@example.com",
        "message": {"headers": {"message-id": message_id}},
    }


class MemoryTokens:
    """A TokenStore in memory (the gateway uses Redis); records each ttl asked for."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    async def first_use(self, token: str, ttl_s: int) -> bool:
        if token in self.seen:
            return False
        self.seen[token] = ttl_s
        return True


# --- Postmark ----------------------------------------------------------------------------


def basic_auth(username: str, password: str) -> dict[str, str]:
    raw = f"{username}:{password}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def postmark_delivery(message_id: str = "883953f4-6105-42a2-a16a-77a8eac79483") -> bytes:
    return json.dumps(
        {
            "RecordType": "Delivery",
            "MessageID": message_id,
            "MessageStream": "outbound",
            "Recipient": "debtor@example.com",
            "DeliveredAt": "2024-05-01T10:00:01Z",
            "Metadata": {},
        }
    ).encode()


# --- Twilio ------------------------------------------------------------------------------


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str] | None = None) -> str:
    """base64(HMAC-SHA1(auth token, url + name+value of each param sorted by name))."""
    material = url + "".join(name + value for name, value in sorted((params or {}).items()))
    digest = hmac.new(auth_token.encode(), material.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def twilio_status(message_sid: str = "SM0123456789abcdef0123456789abcdef") -> dict[str, str]:
    return {
        "MessageSid": message_sid,
        "SmsSid": message_sid,
        "MessageStatus": "delivered",
        "SmsStatus": "delivered",
        "AccountSid": "AC0123456789abcdef0123456789abcdef",
        "From": "+15005550006",
        "To": "+15005550009",
        "ApiVersion": "2010-04-01",
    }


def sign_twilio_form(
    auth_token: str, url: str, params: Mapping[str, str]
) -> tuple[bytes, dict[str, str]]:
    """A form-encoded status callback for `url` (the public URL): body and headers."""
    headers = {
        "X-Twilio-Signature": twilio_signature(auth_token, url, params),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return urlencode(params).encode(), headers


def sign_twilio_json(auth_token: str, url: str, body: bytes) -> tuple[str, dict[str, str]]:
    """The JSON-body variant: the URL gains `bodySHA256`, the HMAC covers the URL only."""
    separator = "&" if "?" in url else "?"
    signed_url = f"{url}{separator}bodySHA256={hashlib.sha256(body).hexdigest()}"
    headers = {
        "X-Twilio-Signature": twilio_signature(auth_token, signed_url),
        "Content-Type": "application/json",
    }
    return signed_url, headers
