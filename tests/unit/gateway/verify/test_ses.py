"""SNS-delivered SES events: signatures v1/v2, cert host, topic, timestamp, handshakes."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from tests.support.webhook_signing import (
    SNS_HEADERS,
    SNS_TOPIC_ARN,
    SnsSigner,
    StaticCerts,
    make_sns_cert,
    ses_event,
    ses_notification,
    sign_ses,
    sns_confirmation,
    sns_timestamp,
    webhook_request,
)

from collectpulse.gateway.verify.base import Accepted, Refusal
from collectpulse.gateway.verify.ses import SesVerifier

TOLERANCE_S = 300


@pytest.fixture(scope="module")
def signer() -> SnsSigner:
    return make_sns_cert()


@pytest.fixture
def certs(signer: SnsSigner) -> StaticCerts:
    return StaticCerts({signer.cert_url: signer.cert_pem})


@pytest.fixture
def verifier(certs: StaticCerts) -> SesVerifier:
    return SesVerifier(
        allowed_topic_arns=frozenset({SNS_TOPIC_ARN}), certs=certs, tolerance_s=TOLERANCE_S
    )


async def verify(verifier: SesVerifier, body: bytes, **headers: str) -> Accepted | Refusal:
    return await verifier.verify(webhook_request("ses", body, {**SNS_HEADERS, **headers}))


@pytest.mark.parametrize("version", ["1", "2"])
async def test_signed_notification_is_published_under_the_ses_message_id(
    verifier: SesVerifier, signer: SnsSigner, version: str
) -> None:
    body = sign_ses(ses_notification(ses_event("msg-1")), signer, version=version)
    assert await verify(verifier, body) == Accepted(publish=True, key=b"msg-1")


async def test_subject_is_part_of_the_signed_string(
    verifier: SesVerifier, signer: SnsSigner
) -> None:
    body = sign_ses(ses_notification(ses_event(), subject="Amazon SES Email Event"), signer)
    assert isinstance(await verify(verifier, body), Accepted)
    tampered = json.loads(body)
    tampered["Subject"] = "something else"
    assert await verify(verifier, json.dumps(tampered).encode()) == Refusal(
        401, "bad_signature", "SNS signature does not match"
    )


async def test_null_subject_is_left_out_of_the_signed_string(
    verifier: SesVerifier, signer: SnsSigner
) -> None:
    message = ses_notification(ses_event())
    body = json.loads(sign_ses(message, signer))
    body["Subject"] = None  # AWS's JS validator skips null keys; the signer never saw it
    assert isinstance(await verify(verifier, json.dumps(body).encode()), Accepted)


async def test_escaped_newlines_are_signed_decoded(
    verifier: SesVerifier, signer: SnsSigner
) -> None:
    event = ses_event()
    event["note"] = "line one\nline two"
    body = sign_ses(ses_notification(event), signer, version="2")
    assert b"\\\\n" in body  # the Message string holds JSON that escapes the newline again
    assert isinstance(await verify(verifier, body), Accepted)


async def test_tampered_message_is_refused(verifier: SesVerifier, signer: SnsSigner) -> None:
    envelope = json.loads(sign_ses(ses_notification(ses_event("msg-1")), signer))
    envelope["Message"] = json.dumps(ses_event("msg-2"))
    refusal = await verify(verifier, json.dumps(envelope).encode())
    assert refusal == Refusal(401, "bad_signature", "SNS signature does not match")


async def test_signature_of_another_key_is_refused(verifier: SesVerifier) -> None:
    impostor = make_sns_cert()  # same URL, different key: our cache serves the real cert
    body = sign_ses(ses_notification(ses_event()), impostor, version="2")
    refusal = await verify(verifier, body)
    assert isinstance(refusal, Refusal) and refusal.reason == "bad_signature"


async def test_v1_signature_claimed_as_v2_is_refused(
    verifier: SesVerifier, signer: SnsSigner
) -> None:
    envelope = json.loads(sign_ses(ses_notification(ses_event()), signer, version="1"))
    envelope["SignatureVersion"] = "2"
    refusal = await verify(verifier, json.dumps(envelope).encode())
    assert isinstance(refusal, Refusal) and refusal.reason == "bad_signature"


async def test_unknown_signature_version_is_refused(
    verifier: SesVerifier, signer: SnsSigner
) -> None:
    envelope = json.loads(sign_ses(ses_notification(ses_event()), signer))
    envelope["SignatureVersion"] = "3"
    refusal = await verify(verifier, json.dumps(envelope).encode())
    assert refusal == Refusal(401, "bad_signature", "SignatureVersion is neither 1 nor 2")


@pytest.mark.parametrize("age", [timedelta(seconds=-TOLERANCE_S - 5), timedelta(hours=2)])
async def test_timestamp_outside_the_tolerance_is_refused(
    verifier: SesVerifier, signer: SnsSigner, age: timedelta
) -> None:
    stamp = sns_timestamp(datetime.now(UTC) - age)
    body = sign_ses(ses_notification(ses_event(), timestamp=stamp), signer)
    refusal = await verify(verifier, body)
    assert isinstance(refusal, Refusal)
    assert (refusal.status, refusal.reason) == (401, "stale_timestamp")


async def test_timestamp_inside_the_tolerance_is_accepted(
    verifier: SesVerifier, signer: SnsSigner
) -> None:
    stamp = sns_timestamp(datetime.now(UTC) - timedelta(seconds=TOLERANCE_S - 30))
    body = sign_ses(ses_notification(ses_event(), timestamp=stamp), signer)
    assert isinstance(await verify(verifier, body), Accepted)


@pytest.mark.parametrize(
    "cert_url",
    [
        "https://sns.eu-west-1.amazonaws.com.evil.example/cert.pem",
        "https://evil.example/sns.eu-west-1.amazonaws.com/cert.pem",
        "https://sns.eu-west-1.amazonaws.com@evil.example/cert.pem",
        "http://sns.eu-west-1.amazonaws.com/cert.pem",
        "https://sns.eu-west-1.amazonaws.com/cert.txt",
        "https://s3.amazonaws.com/cert.pem",
        "not a url",
    ],
)
async def test_signing_cert_outside_the_sns_hosts_is_refused_without_fetching(
    verifier: SesVerifier, certs: StaticCerts, cert_url: str
) -> None:
    attacker = make_sns_cert(cert_url)
    certs.by_url = {**certs.by_url, cert_url: attacker.cert_pem}
    body = sign_ses(ses_notification(ses_event()), attacker)
    refusal = await verify(verifier, body)
    assert refusal == Refusal(403, "cert_host_not_allowed", "SigningCertURL is not an SNS host")
    assert certs.fetched == []


async def test_china_and_govcloud_cert_hosts_are_allowed(certs: StaticCerts) -> None:
    verifier = SesVerifier(
        allowed_topic_arns=frozenset({SNS_TOPIC_ARN}), certs=certs, tolerance_s=TOLERANCE_S
    )
    for url in (
        "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-x.pem",
        "https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-x.pem",
    ):
        other = make_sns_cert(url)
        certs.by_url = {**certs.by_url, url: other.cert_pem}
        assert isinstance(await verify(verifier, sign_ses(ses_notification({}), other)), Accepted)


async def test_topic_outside_the_allowed_set_is_refused_without_fetching(
    verifier: SesVerifier, signer: SnsSigner, certs: StaticCerts
) -> None:
    other_topic = "arn:aws:sns:eu-west-1:999999999999:someone-else"
    body = sign_ses(ses_notification(ses_event(), topic_arn=other_topic), signer)
    refusal = await verify(verifier, body)
    assert refusal == Refusal(403, "topic_not_allowed", "TopicArn is not in the allowed set")
    assert certs.fetched == []


async def test_the_certificate_is_fetched_from_the_signing_cert_url(
    verifier: SesVerifier, signer: SnsSigner, certs: StaticCerts
) -> None:
    await verify(verifier, sign_ses(ses_notification(ses_event()), signer))
    assert certs.fetched == [signer.cert_url]


async def test_certificate_that_cannot_be_fetched_gets_a_retryable_answer(
    signer: SnsSigner,
) -> None:
    verifier = SesVerifier(
        allowed_topic_arns=frozenset({SNS_TOPIC_ARN}),
        certs=StaticCerts({}),
        tolerance_s=TOLERANCE_S,
    )
    refusal = await verify(verifier, sign_ses(ses_notification(ses_event()), signer))
    # SNS counts any 4xx as delivered: only a 5xx makes it retry
    assert refusal == Refusal(503, "cert_fetch_failed", "signing certificate unavailable")


async def test_subscription_confirmation_for_an_allowed_topic_returns_the_subscribe_url(
    verifier: SesVerifier, signer: SnsSigner
) -> None:
    message = sns_confirmation()
    result = await verify(verifier, sign_ses(message, signer, version="2"))
    assert result == Accepted(publish=False, key=None, confirm_url=str(message["SubscribeURL"]))


async def test_subscription_confirmation_for_another_topic_is_refused(
    verifier: SesVerifier, signer: SnsSigner
) -> None:
    message = sns_confirmation(topic_arn="arn:aws:sns:us-east-1:999999999999:other")
    refusal = await verify(verifier, sign_ses(message, signer))
    assert isinstance(refusal, Refusal) and refusal.reason == "topic_not_allowed"


async def test_subscribe_url_off_the_sns_hosts_is_never_handed_out(
    verifier: SesVerifier, signer: SnsSigner
) -> None:
    message = sns_confirmation(subscribe_url="https://169.254.169.254/latest/meta-data")
    refusal = await verify(verifier, sign_ses(message, signer))
    assert isinstance(refusal, Refusal) and refusal.status == 400


async def test_tampered_confirmation_token_is_refused(
    verifier: SesVerifier, signer: SnsSigner
) -> None:
    envelope = json.loads(sign_ses(sns_confirmation(), signer))
    envelope["Token"] = "0" * 64
    refusal = await verify(verifier, json.dumps(envelope).encode())
    assert isinstance(refusal, Refusal) and refusal.reason == "bad_signature"


async def test_unsubscribe_confirmation_is_answered_but_neither_published_nor_followed(
    verifier: SesVerifier, signer: SnsSigner
) -> None:
    body = sign_ses(sns_confirmation("UnsubscribeConfirmation"), signer)
    assert await verify(verifier, body) == Accepted(publish=False, key=None, confirm_url=None)


async def test_raw_message_delivery_is_refused_with_a_hint(
    verifier: SesVerifier, signer: SnsSigner
) -> None:
    # with raw delivery on, SNS drops the signature fields; name the setting to fix
    envelope = json.loads(sign_ses(ses_notification(ses_event()), signer))
    del envelope["Signature"]
    raw = {"x-amz-sns-rawdelivery": "true"}
    refusal = await verify(verifier, json.dumps(envelope).encode(), **raw)
    assert isinstance(refusal, Refusal)
    assert (refusal.status, refusal.reason) == (401, "missing_signature")
    assert "raw message delivery" in refusal.detail
    bare_ses_event = json.dumps(ses_event()).encode()
    refusal = await verify(verifier, bare_ses_event, **raw)
    assert isinstance(refusal, Refusal) and refusal.reason == "malformed"


@pytest.mark.parametrize(
    "body", [b"", b"not json", b"[]", b'{"Type": "Notification"}', b'{"Type": "Other"}']
)
async def test_malformed_envelopes_are_refused_as_malformed(
    verifier: SesVerifier, body: bytes
) -> None:
    refusal = await verify(verifier, body)
    assert isinstance(refusal, Refusal) and refusal.status in (400, 401)
    assert refusal.reason in ("malformed", "missing_signature")


async def test_non_string_signed_field_is_malformed(
    verifier: SesVerifier, signer: SnsSigner
) -> None:
    envelope = json.loads(sign_ses(ses_notification(ses_event()), signer))
    envelope["MessageId"] = 42
    refusal = await verify(verifier, json.dumps(envelope).encode())
    assert refusal == Refusal(400, "malformed", "MessageId is missing or not a string")


async def test_refusal_details_never_echo_body_values(
    verifier: SesVerifier, signer: SnsSigner
) -> None:
    secret_looking = "debtor-secret@example.com"
    envelope = json.loads(
        sign_ses(ses_notification({"mail": {"messageId": secret_looking}}), signer)
    )
    envelope["TopicArn"] = secret_looking
    refusal = await verify(verifier, json.dumps(envelope).encode())
    assert isinstance(refusal, Refusal) and secret_looking not in refusal.detail
