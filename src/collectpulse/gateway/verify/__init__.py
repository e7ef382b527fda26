"""Webhook verification per provider: pure checks over the exact request bytes and headers.

Each verifier answers `Accepted` (publish the body unchanged, under the natural key) or
`Refusal` (status + bounded reason); none raises on any input. See `base.py` for the
contract the gateway server codes against.
"""

from collectpulse.gateway.verify.base import (
    Accepted,
    CertFetcher,
    Refusal,
    TokenStore,
    Verifier,
    WebhookRequest,
    natural_key,
)
from collectpulse.gateway.verify.certs import CertFetchError, HttpCertFetcher
from collectpulse.gateway.verify.mailgun import MailgunVerifier
from collectpulse.gateway.verify.postmark import PostmarkVerifier
from collectpulse.gateway.verify.sendgrid import SendgridVerifier
from collectpulse.gateway.verify.ses import DEFAULT_CERT_HOST_PATTERN, SesVerifier
from collectpulse.gateway.verify.twilio import TwilioVerifier
from collectpulse.gateway.verify.unsigned import UnsignedVerifier

__all__ = [
    "DEFAULT_CERT_HOST_PATTERN",
    "Accepted",
    "CertFetchError",
    "CertFetcher",
    "HttpCertFetcher",
    "MailgunVerifier",
    "PostmarkVerifier",
    "Refusal",
    "SendgridVerifier",
    "SesVerifier",
    "TokenStore",
    "TwilioVerifier",
    "UnsignedVerifier",
    "Verifier",
    "WebhookRequest",
    "natural_key",
]
