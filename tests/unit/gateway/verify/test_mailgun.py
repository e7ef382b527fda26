"""Mailgun: HMAC over timestamp + token, timestamp tolerance, one use per token."""

import json
import time
from urllib.parse import urlencode

import pytest
from tests.support.webhook_signing import (
    MemoryTokens,
    mailgun_event,
    mailgun_signature,
    sign_mailgun,
    webhook_request,
)

from collectpulse.gateway.verify.base import Accepted, Refusal
from collectpulse.gateway.verify.mailgun import MailgunVerifier

KEY = "key-test-webhook-signing"
TOLERANCE_S = 300


@pytest.fixture
def tokens() -> MemoryTokens:
    return MemoryTokens()


@pytest.fixture
def verifier(tokens: MemoryTokens) -> MailgunVerifier:
    return MailgunVerifier(signing_key=KEY, tokens=tokens, tolerance_s=TOLERANCE_S)


async def verify(verifier: MailgunVerifier, body: bytes, received_s: float) -> Accepted | Refusal:
    return await verifier.verify(webhook_request("mailgun", body, received_s=received_s))


async def test_signed_event_is_published_under_the_message_id(
    verifier: MailgunVerifier, tokens: MemoryTokens
) -> None:
    now = time.time()
    body = sign_mailgun(KEY, mailgun_event("<20240501.abc@mg.example.com>"), timestamp_s=now)
    result = await verify(verifier, body, now)
    assert result == Accepted(publish=True, key=b"20240501.abc@mg.example.com")
    # remembered longer than any timestamp the window accepts, both directions
    assert list(tokens.seen.values()) == [2 * TOLERANCE_S + 60]


async def test_replayed_token_is_answered_200_and_not_published(
    verifier: MailgunVerifier,
) -> None:
    now = time.time()
    body = sign_mailgun(KEY, mailgun_event(), timestamp_s=now)
    assert isinstance(await verify(verifier, body, now), Accepted)
    replay = await verify(verifier, body, now + 1)
    # 200 ends Mailgun's retries (it retries every other code but 406 for hours)
    assert replay == Refusal(200, "replayed_token", "token already used")


async def test_wrong_key_is_refused_and_does_not_burn_the_token(
    verifier: MailgunVerifier, tokens: MemoryTokens
) -> None:
    now = time.time()
    forged = sign_mailgun("someone-elses-key", mailgun_event(), timestamp_s=now, token="t" * 50)
    result = await verify(verifier, forged, now)
    assert result == Refusal(401, "bad_signature", "Mailgun signature does not match")
    assert tokens.seen == {}
    genuine = sign_mailgun(KEY, mailgun_event(), timestamp_s=now, token="t" * 50)
    assert isinstance(await verify(verifier, genuine, now), Accepted)


@pytest.mark.parametrize("field", ["timestamp", "token"])
async def test_tampered_signed_field_is_refused(verifier: MailgunVerifier, field: str) -> None:
    now = time.time()
    body = json.loads(sign_mailgun(KEY, mailgun_event(), timestamp_s=now))
    body["signature"][field] = str(int(now) - 1) if field == "timestamp" else "x" * 50
    result = await verify(verifier, json.dumps(body).encode(), now)
    assert isinstance(result, Refusal) and result.reason == "bad_signature"


async def test_event_data_is_not_covered_by_mailgun_signature(verifier: MailgunVerifier) -> None:
    # documented limitation of Mailgun's scheme: integrity of event-data rests on TLS
    now = time.time()
    body = json.loads(sign_mailgun(KEY, mailgun_event(), timestamp_s=now))
    body["event-data"]["event"] = "failed"
    assert isinstance(await verify(verifier, json.dumps(body).encode(), now), Accepted)


@pytest.mark.parametrize("offset_s", [TOLERANCE_S + 1, -TOLERANCE_S - 1])
async def test_timestamp_outside_the_tolerance_is_refused(
    verifier: MailgunVerifier, tokens: MemoryTokens, offset_s: int
) -> None:
    now = time.time()
    body = sign_mailgun(KEY, mailgun_event(), timestamp_s=now - offset_s)
    result = await verify(verifier, body, now)
    assert isinstance(result, Refusal)
    assert (result.status, result.reason) == (401, "stale_timestamp")
    assert tokens.seen == {}


async def test_subaccount_event_verifies_with_the_parent_signature(
    verifier: MailgunVerifier,
) -> None:
    now = time.time()
    body = json.loads(sign_mailgun("subaccount-key", mailgun_event(), timestamp_s=now))
    block = body["signature"]
    block["parent-signature"] = mailgun_signature(KEY, block["timestamp"], block["token"])
    assert isinstance(await verify(verifier, json.dumps(body).encode(), now), Accepted)


async def test_legacy_form_webhook_is_verified(verifier: MailgunVerifier) -> None:
    now = time.time()
    timestamp, token = str(int(now)), "f" * 50
    fields = {
        "event": "delivered",
        "Message-Id": "<legacy@mg.example.com>",
        "timestamp": timestamp,
        "token": token,
        "signature": mailgun_signature(KEY, timestamp, token),
    }
    result = await verify(verifier, urlencode(fields).encode(), now)
    assert result == Accepted(publish=True, key=b"legacy@mg.example.com")
    fields["signature"] = mailgun_signature("wrong", timestamp, token)
    refused = await verify(verifier, urlencode(fields).encode(), now)
    assert isinstance(refused, Refusal) and refused.reason == "bad_signature"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"event-data": {}}', "missing_signature"),
        (b'{"signature": {"timestamp": "1", "token": "t"}, "event-data": {}}', "missing_signature"),
        (b'{"signature": {}, "event-data": "x"}', "malformed"),
        (b"{not json", "malformed"),
        (b"", "missing_signature"),
    ],
)
async def test_incomplete_bodies_are_refused(
    verifier: MailgunVerifier, body: bytes, reason: str
) -> None:
    result = await verify(verifier, body, time.time())
    assert isinstance(result, Refusal) and result.reason == reason


def test_empty_signing_key_stops_start_up() -> None:
    with pytest.raises(ValueError, match="signing key"):
        MailgunVerifier(signing_key="", tokens=MemoryTokens(), tolerance_s=60)
