"""The verifier contract shared by the gateway server and the per-provider verifiers.

The types are fixed by the gateway contract (issue #16): the server builds a
`WebhookRequest` from what it received, asks the provider's `Verifier`, and publishes
the body unchanged only on `Accepted(publish=True)`. `natural_key` is the Kafka key:
the provider's message id, normalised exactly as the adapters in
`collectpulse.events.providers` normalise it, so every event of one message lands on
one partition whether it came through the gateway or another producer.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qsl

import orjson

from collectpulse.events.providers.common import normalise_message_id
from collectpulse.events.providers.exceptions import ProviderError


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    provider: str  # "ses" | "sendgrid" | "mailgun" | "postmark" | "twilio"
    method: str  # "POST"
    public_url: str  # the URL the provider called: public base URL (setting) + path + query
    headers: Mapping[str, str]  # header names lower-cased
    body: bytes  # exact request bytes
    received_s: float  # wall clock at arrival (epoch seconds), for timestamp tolerance


@dataclass(frozen=True, slots=True)
class Refusal:
    # 400 malformed, 401 missing/wrong credentials/signature, 403 not allowed (topic ARN, host)
    status: int
    reason: str  # metric label, snake_case: "malformed", "missing_signature", "bad_signature",
    # "stale_timestamp", "replayed_token", "bad_credentials", "cert_host_not_allowed",
    # "cert_fetch_failed", "topic_not_allowed", "unsigned"
    detail: str  # safe for logs: never secrets or body values


@dataclass(frozen=True, slots=True)
class Accepted:
    publish: bool  # False for handshakes that are answered but not published
    # (SNS SubscriptionConfirmation / UnsubscribeConfirmation)
    key: bytes | None  # Kafka key: the provider's natural message id when the body has one
    # SNS SubscriptionConfirmation: the SubscribeURL the server must GET
    # (only when the topic ARN is allowed)
    confirm_url: str | None = None


class Verifier(Protocol):
    provider: str

    async def verify(self, request: WebhookRequest) -> Accepted | Refusal: ...


class TokenStore(Protocol):  # Mailgun token replay protection (server helper implements on Redis)
    async def first_use(self, token: str, ttl_s: int) -> bool: ...  # True the first time


# SNS signing certificate (verify/certs.py implements with aiohttp + cache)
class CertFetcher(Protocol):
    async def pem(self, url: str) -> bytes: ...


def natural_key(provider: str, body: bytes) -> bytes | None:
    """The provider's message id in `body` as a Kafka key, or None; never raises.

    ses: `mail.messageId` of the SES event (inside the SNS envelope's `Message`, or bare);
    sendgrid: the first event's `sg_message_id` (the part before the first dot);
    mailgun: `event-data.message.headers.message-id` (legacy form: `Message-Id`);
    postmark: `MessageID`; twilio: `MessageSid` (or `SmsSid`), form or JSON body.
    """
    try:
        raw = _raw_message_id(provider, body)
        return None if raw is None else normalise_message_id(provider, raw).encode()
    except (ProviderError, ValueError, UnicodeDecodeError):
        return None


def _raw_message_id(provider: str, body: bytes) -> str | None:
    if provider == "twilio" and not body.lstrip().startswith(b"{"):
        form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        return form.get("MessageSid") or form.get("SmsSid")
    if provider == "mailgun" and not body.lstrip().startswith(b"{"):
        return dict(parse_qsl(body.decode("utf-8"))).get("Message-Id")
    root = orjson.loads(body)
    if provider == "ses":
        return _ses_message_id(root)
    if provider == "sendgrid":
        first = root[0] if isinstance(root, list) and root else None
        return _text(first, "sg_message_id")
    if provider == "mailgun":
        return _text(_path(root, "event-data", "message", "headers"), "message-id")
    if provider == "postmark":
        return _text(root, "MessageID")
    if provider == "twilio":
        return _text(root, "MessageSid") or _text(root, "SmsSid")
    return None


def _ses_message_id(root: object) -> str | None:
    if isinstance(root, dict) and isinstance(root.get("Message"), str) and "TopicArn" in root:
        root = orjson.loads(root["Message"])  # SNS carries the SES event as a JSON string
    elif isinstance(root, dict) and isinstance(root.get("detail"), dict):
        root = root["detail"]  # EventBridge envelope
    return _text(_path(root, "mail"), "messageId")


def _path(value: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _text(value: object, key: str) -> str | None:
    found = value.get(key) if isinstance(value, dict) else None
    return found if isinstance(found, str) and found.strip() else None
