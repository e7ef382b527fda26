"""Whatever arrives, every verifier answers Accepted or a known Refusal and never raises."""

import asyncio
import json
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.webhook_signing import (
    SNS_TOPIC_ARN,
    MemoryTokens,
    StaticCerts,
    basic_auth,
    mailgun_event,
    make_sendgrid_key,
    make_sns_cert,
    postmark_delivery,
    sendgrid_batch,
    ses_event,
    ses_notification,
    sign_mailgun,
    sign_sendgrid,
    sign_ses,
    sign_twilio_form,
    twilio_status,
)

from collectpulse.gateway.verify.base import Accepted, Refusal, Verifier, WebhookRequest
from collectpulse.gateway.verify.mailgun import MailgunVerifier
from collectpulse.gateway.verify.postmark import PostmarkVerifier
from collectpulse.gateway.verify.sendgrid import SendgridVerifier
from collectpulse.gateway.verify.ses import SesVerifier
from collectpulse.gateway.verify.twilio import TwilioVerifier
from collectpulse.gateway.verify.unsigned import UnsignedVerifier

NOW = time.time()
TWILIO_URL = "https://hooks.example.com/webhooks/twilio"
SNS = make_sns_cert()
SENDGRID = make_sendgrid_key()
REASONS = {
    "malformed", "missing_signature", "bad_signature", "stale_timestamp", "replayed_token",
    "bad_credentials", "cert_host_not_allowed", "cert_fetch_failed", "topic_not_allowed",
}  # fmt: skip
STATUSES = {200, 400, 401, 403, 503}
PROVIDERS = ("ses", "sendgrid", "mailgun", "postmark", "twilio")


def verifiers() -> dict[str, Verifier]:
    return {
        "ses": SesVerifier(
            allowed_topic_arns=frozenset({SNS_TOPIC_ARN}),
            certs=StaticCerts({SNS.cert_url: SNS.cert_pem}),
            tolerance_s=300,
        ),
        "sendgrid": SendgridVerifier(
            public_key_pem_or_b64=SENDGRID.public_key_b64, tolerance_s=300
        ),
        "mailgun": MailgunVerifier(signing_key="mg-key", tokens=MemoryTokens(), tolerance_s=300),
        "postmark": PostmarkVerifier(username="u", password="p"),
        "twilio": TwilioVerifier(auth_token="tw-token"),
        "unsigned": UnsignedVerifier("sendgrid"),
    }


def valid(provider: str) -> tuple[bytes, dict[str, str]]:
    """A request each verifier accepts, as the starting point for mutations."""
    if provider == "ses":
        return sign_ses(ses_notification(ses_event()), SNS, version="2"), {}
    if provider in ("sendgrid", "unsigned"):
        body = sendgrid_batch("m1")
        return body, sign_sendgrid(SENDGRID, body, timestamp_s=NOW)
    if provider == "mailgun":
        return sign_mailgun("mg-key", mailgun_event(), timestamp_s=NOW), {}
    if provider == "postmark":
        return postmark_delivery(), basic_auth("u", "p")
    return sign_twilio_form("tw-token", TWILIO_URL, twilio_status())


header_names = st.sampled_from(
    [
        "authorization", "x-twilio-signature", "x-twilio-email-event-webhook-signature",
        "x-twilio-email-event-webhook-timestamp", "x-amz-sns-rawdelivery", "content-type",
    ]
) | st.text(max_size=20)  # fmt: skip
# aiohttp decodes header bytes that are not UTF-8 with surrogateescape: lone surrogates
escaped_bytes = st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF)
header_values = (
    st.text(max_size=200)
    | st.text(st.characters() | escaped_bytes, max_size=40)
    | st.sampled_from(["", "Basic dTpw", "true", "1700000000", "Basic \udcff"])
)
json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=15), inner, max_size=4)
    ),
    max_leaves=10,
)


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, WebhookRequest]:
    provider = draw(
        st.sampled_from(["ses", "sendgrid", "mailgun", "postmark", "twilio", "unsigned"])
    )
    body, headers = valid(provider)
    headers = {k.lower(): v for k, v in headers.items()}
    mutation = draw(st.sampled_from(["bytes", "json_field", "header", "none"]))
    if mutation == "bytes":
        body = draw(st.binary(max_size=2048))
    elif mutation == "json_field" and body.startswith((b"{", b"[")):
        document = json.loads(body)
        target = document[0] if isinstance(document, list) else document
        if isinstance(target, dict):
            target[draw(st.sampled_from([*target, "extra"]))] = draw(json_values)
            body = json.dumps(document).encode()
    elif mutation == "header":
        headers = headers | draw(st.dictionaries(header_names, header_values, max_size=4))
    url = draw(st.just(TWILIO_URL) | st.text(st.characters() | escaped_bytes, max_size=80))
    received_s = NOW + draw(st.floats(min_value=-1e6, max_value=1e6))
    return provider, WebhookRequest(provider, "POST", url, headers, body, received_s)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
def test_verify_never_raises_and_answers_within_the_contract(
    case: tuple[str, WebhookRequest],
) -> None:
    provider, request = case
    result = asyncio.run(verifiers()[provider].verify(request))
    if isinstance(result, Refusal):
        assert result.status in STATUSES and result.reason in REASONS
        assert result.detail and "\n" not in result.detail
    else:
        assert isinstance(result, Accepted)
        assert result.key is None or isinstance(result.key, bytes)
        assert result.confirm_url is None or not result.publish
