"""SendGrid's Signed Event Webhook: ECDSA P-256 over timestamp + raw body."""

import json
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from tests.support.webhook_signing import (
    SENDGRID_SIGNATURE,
    SENDGRID_TIMESTAMP,
    SendgridKey,
    make_sendgrid_key,
    sendgrid_batch,
    sign_sendgrid,
    webhook_request,
)

from collectpulse.gateway.verify.base import Accepted, Refusal
from collectpulse.gateway.verify.sendgrid import SendgridVerifier

TOLERANCE_S = 300


@pytest.fixture(scope="module")
def key() -> SendgridKey:
    return make_sendgrid_key()


@pytest.fixture(scope="module")
def verifier(key: SendgridKey) -> SendgridVerifier:
    return SendgridVerifier(public_key_pem_or_b64=key.public_key_b64, tolerance_s=TOLERANCE_S)


async def verify(
    verifier: SendgridVerifier, body: bytes, headers: dict[str, str], received_s: float
) -> Accepted | Refusal:
    return await verifier.verify(webhook_request("sendgrid", body, headers, received_s=received_s))


async def test_signed_batch_is_published_under_the_first_message_id(
    verifier: SendgridVerifier, key: SendgridKey
) -> None:
    now = time.time()
    body = sendgrid_batch("14c5d75ce93", "99aa")
    result = await verify(verifier, body, sign_sendgrid(key, body, timestamp_s=now), now)
    assert result == Accepted(publish=True, key=b"14c5d75ce93")


async def test_pem_verification_key_works_too(key: SendgridKey) -> None:
    verifier = SendgridVerifier(public_key_pem_or_b64=key.public_key_pem, tolerance_s=60)
    now, body = time.time(), sendgrid_batch("m1")
    result = await verify(verifier, body, sign_sendgrid(key, body, timestamp_s=now), now)
    assert isinstance(result, Accepted)


async def test_reserialised_body_is_refused(verifier: SendgridVerifier, key: SendgridKey) -> None:
    now, body = time.time(), sendgrid_batch("m1", "m2")
    headers = sign_sendgrid(key, body, timestamp_s=now)
    same_events = json.dumps(json.loads(body)).encode()  # drops SendGrid's \r\n
    assert same_events != body
    result = await verify(verifier, same_events, headers, now)
    assert result == Refusal(401, "bad_signature", "SendGrid signature does not match")


async def test_tampered_body_is_refused(verifier: SendgridVerifier, key: SendgridKey) -> None:
    now, body = time.time(), sendgrid_batch("m1")
    headers = sign_sendgrid(key, body, timestamp_s=now)
    tampered = body.replace(b"delivered", b"bounce")
    result = await verify(verifier, tampered, headers, now)
    assert isinstance(result, Refusal) and result.reason == "bad_signature"


async def test_tampered_timestamp_is_refused(verifier: SendgridVerifier, key: SendgridKey) -> None:
    now, body = time.time(), sendgrid_batch("m1")
    headers = sign_sendgrid(key, body, timestamp_s=now)
    headers[SENDGRID_TIMESTAMP] = str(int(now) + 1)
    result = await verify(verifier, body, headers, now)
    assert isinstance(result, Refusal) and result.reason == "bad_signature"


async def test_signature_by_another_key_is_refused(verifier: SendgridVerifier) -> None:
    now, body = time.time(), sendgrid_batch("m1")
    headers = sign_sendgrid(make_sendgrid_key(), body, timestamp_s=now)
    result = await verify(verifier, body, headers, now)
    assert isinstance(result, Refusal) and result.reason == "bad_signature"


@pytest.mark.parametrize("offset_s", [-TOLERANCE_S - 1, TOLERANCE_S + 1, 86_400])
async def test_timestamp_outside_the_tolerance_is_refused(
    verifier: SendgridVerifier, key: SendgridKey, offset_s: int
) -> None:
    now, body = time.time(), sendgrid_batch("m1")
    headers = sign_sendgrid(key, body, timestamp_s=now - offset_s)
    result = await verify(verifier, body, headers, now)
    assert isinstance(result, Refusal)
    assert (result.status, result.reason) == (401, "stale_timestamp")


@pytest.mark.parametrize("missing", [SENDGRID_SIGNATURE, SENDGRID_TIMESTAMP])
async def test_missing_header_is_refused(
    verifier: SendgridVerifier, key: SendgridKey, missing: str
) -> None:
    now, body = time.time(), sendgrid_batch("m1")
    headers = sign_sendgrid(key, body, timestamp_s=now)
    del headers[missing]
    result = await verify(verifier, body, headers, now)
    assert isinstance(result, Refusal)
    assert (result.status, result.reason) == (401, "missing_signature")


@pytest.mark.parametrize("signature", ["not base64!", "", "AAAA"])
async def test_garbage_signature_is_refused(
    verifier: SendgridVerifier, key: SendgridKey, signature: str
) -> None:
    now, body = time.time(), sendgrid_batch("m1")
    headers = {**sign_sendgrid(key, body, timestamp_s=now), SENDGRID_SIGNATURE: signature}
    result = await verify(verifier, body, headers, now)
    assert isinstance(result, Refusal) and result.status == 401


async def test_signed_body_that_is_not_an_event_array_is_malformed(
    verifier: SendgridVerifier, key: SendgridKey
) -> None:
    now, body = time.time(), b'{"event": "delivered"}'
    result = await verify(verifier, body, sign_sendgrid(key, body, timestamp_s=now), now)
    assert result == Refusal(400, "malformed", "body is not a JSON array of events")


def test_a_key_that_is_not_p256_stops_start_up() -> None:
    other_curve = ec.generate_private_key(ec.SECP384R1()).public_key()
    pem = other_curve.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    with pytest.raises(ValueError, match="P-256"):
        SendgridVerifier(public_key_pem_or_b64=pem, tolerance_s=60)
    with pytest.raises(ValueError, match="neither base64 DER nor PEM"):
        SendgridVerifier(public_key_pem_or_b64="MFkwEwYH-not-a-key", tolerance_s=60)
