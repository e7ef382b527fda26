"""Twilio: HMAC-SHA1 over the public URL + sorted form params, and the JSON-body variant."""

import json
from urllib.parse import urlencode

import pytest
from tests.support.webhook_signing import (
    sign_twilio_form,
    sign_twilio_json,
    twilio_signature,
    twilio_status,
    webhook_request,
)

from collectpulse.gateway.verify.base import Accepted, Refusal
from collectpulse.gateway.verify.twilio import TwilioVerifier, signature, url_variants

TOKEN = "twilio-auth-token-for-tests"
PUBLIC_URL = "https://hooks.example.com/webhooks/twilio?cp_campaign=c1"
INTERNAL_URL = "http://10.0.0.7:9465/webhooks/twilio?cp_campaign=c1"
SID = "SM0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="module")
def verifier() -> TwilioVerifier:
    return TwilioVerifier(auth_token=TOKEN)


async def verify(
    verifier: TwilioVerifier, body: bytes, headers: dict[str, str], public_url: str = PUBLIC_URL
) -> Accepted | Refusal:
    return await verifier.verify(webhook_request("twilio", body, headers, public_url=public_url))


def test_signature_matches_twilios_published_example() -> None:
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert signature(b"12345", url, list(params.items())) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


async def test_signed_status_callback_is_published_under_the_message_sid(
    verifier: TwilioVerifier,
) -> None:
    body, headers = sign_twilio_form(TOKEN, PUBLIC_URL, twilio_status(SID))
    assert await verify(verifier, body, headers) == Accepted(publish=True, key=SID.encode())


async def test_behind_a_proxy_the_public_url_verifies_and_the_internal_one_does_not(
    verifier: TwilioVerifier,
) -> None:
    # Twilio signed the public https URL; the app behind the proxy saw the internal one
    body, headers = sign_twilio_form(TOKEN, PUBLIC_URL, twilio_status(SID))
    assert isinstance(await verify(verifier, body, headers, public_url=PUBLIC_URL), Accepted)
    refused = await verify(verifier, body, headers, public_url=INTERNAL_URL)
    assert refused == Refusal(401, "bad_signature", "Twilio signature does not match")


async def test_without_a_proxy_the_direct_url_verifies(verifier: TwilioVerifier) -> None:
    direct = "https://gateway.example.com:9465/webhooks/twilio"
    body, headers = sign_twilio_form(TOKEN, direct, twilio_status(SID))
    assert isinstance(await verify(verifier, body, headers, public_url=direct), Accepted)


@pytest.mark.parametrize(
    ("signed_url", "public_url"),
    [
        (
            "https://hooks.example.com/webhooks/twilio",
            "https://hooks.example.com:443/webhooks/twilio",
        ),
        (
            "https://hooks.example.com:443/webhooks/twilio",
            "https://hooks.example.com/webhooks/twilio",
        ),
    ],
)
async def test_default_port_may_or_may_not_be_in_the_signed_url(
    verifier: TwilioVerifier, signed_url: str, public_url: str
) -> None:
    body, headers = sign_twilio_form(TOKEN, signed_url, twilio_status(SID))
    assert isinstance(await verify(verifier, body, headers, public_url=public_url), Accepted)


def test_url_variants() -> None:
    assert url_variants("https://h.example/p?q=1") == [
        "https://h.example/p?q=1",
        "https://h.example:443/p?q=1",
    ]
    assert url_variants("http://h.example:8080/p") == [
        "http://h.example:8080/p",
        "http://h.example/p",
    ]


async def test_tampered_parameter_is_refused(verifier: TwilioVerifier) -> None:
    params = twilio_status(SID)
    _, headers = sign_twilio_form(TOKEN, PUBLIC_URL, params)
    tampered = urlencode({**params, "MessageStatus": "undelivered"}).encode()
    result = await verify(verifier, tampered, headers)
    assert isinstance(result, Refusal) and result.reason == "bad_signature"


async def test_added_parameter_is_refused(verifier: TwilioVerifier) -> None:
    params = twilio_status(SID)
    _, headers = sign_twilio_form(TOKEN, PUBLIC_URL, params)
    extended = urlencode({**params, "ErrorCode": "30003"}).encode()
    result = await verify(verifier, extended, headers)
    assert isinstance(result, Refusal) and result.reason == "bad_signature"


async def test_unknown_parameters_are_signed_and_kept(verifier: TwilioVerifier) -> None:
    params = {**twilio_status(SID), "RawDlrDoneDate": "2405011000", "NewField": ""}
    body, headers = sign_twilio_form(TOKEN, PUBLIC_URL, params)
    assert isinstance(await verify(verifier, body, headers), Accepted)


async def test_repeated_parameter_values_are_signed_sorted(verifier: TwilioVerifier) -> None:
    body = b"MessageSid=SM1&Tag=b&Tag=a"
    material = PUBLIC_URL + "MessageSidSM1" + "Taga" + "Tagb"
    headers = {"X-Twilio-Signature": twilio_signature(TOKEN, material)}
    assert isinstance(await verify(verifier, body, headers), Accepted)


async def test_wrong_auth_token_is_refused(verifier: TwilioVerifier) -> None:
    body, headers = sign_twilio_form("another-token", PUBLIC_URL, twilio_status(SID))
    result = await verify(verifier, body, headers)
    assert isinstance(result, Refusal) and result.reason == "bad_signature"


async def test_missing_signature_is_refused(verifier: TwilioVerifier) -> None:
    body, _ = sign_twilio_form(TOKEN, PUBLIC_URL, twilio_status(SID))
    result = await verify(verifier, body, {})
    assert result == Refusal(401, "missing_signature", "no X-Twilio-Signature header")


async def test_json_body_with_body_sha256_is_verified(verifier: TwilioVerifier) -> None:
    body = json.dumps(twilio_status(SID)).encode()
    signed_url, headers = sign_twilio_json(TOKEN, PUBLIC_URL, body)
    result = await verify(verifier, body, headers, public_url=signed_url)
    assert result == Accepted(publish=True, key=SID.encode())


async def test_json_body_that_does_not_match_body_sha256_is_refused(
    verifier: TwilioVerifier,
) -> None:
    body = json.dumps(twilio_status(SID)).encode()
    signed_url, headers = sign_twilio_json(TOKEN, PUBLIC_URL, body)
    tampered = body.replace(b"delivered", b"failed")
    result = await verify(verifier, tampered, headers, public_url=signed_url)
    assert result == Refusal(401, "bad_signature", "body does not match bodySHA256")


async def test_unreadable_form_is_malformed(verifier: TwilioVerifier) -> None:
    headers = {"X-Twilio-Signature": twilio_signature(TOKEN, PUBLIC_URL)}
    result = await verify(verifier, b"\xff\xfe=\x00", headers)
    assert isinstance(result, Refusal) and result.reason == "malformed"


def test_empty_auth_token_stops_start_up() -> None:
    with pytest.raises(ValueError, match="auth token"):
        TwilioVerifier(auth_token="")


async def test_undecodable_header_bytes_are_refused_not_raised(verifier: TwilioVerifier) -> None:
    # aiohttp passes header bytes that are not UTF-8 on as lone surrogates
    body, _ = sign_twilio_form(TOKEN, PUBLIC_URL, twilio_status(SID))
    result = await verify(verifier, body, {"X-Twilio-Signature": "\udcff\ud800"})
    assert result == Refusal(401, "bad_signature", "Twilio signature does not match")
