"""Twilio SendGrid's Signed Event Webhook: ECDSA P-256 / SHA-256 over timestamp + raw body.

Headers `X-Twilio-Email-Event-Webhook-Signature` (base64 of a DER ECDSA signature) and
`X-Twilio-Email-Event-Webhook-Timestamp` (Unix seconds). The signed bytes are the
timestamp header's bytes followed directly by the raw body (SendGrid puts `\\r\\n` after
each array element: never re-serialise before checking). The verification key is the
dashboard's base64 DER SubjectPublicKeyInfo (starts `MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE`);
a PEM is accepted too. A bad key stops start-up (ValueError naming the problem).

Refusals: no headers -> 401 missing_signature; a timestamp outside `tolerance_s` ->
401 stale_timestamp; a signature that does not verify -> 401 bad_signature; a verified
body that is not a JSON array -> 400 malformed. SendGrid retries every non-2xx for 24 h,
and whether a retry is re-signed with a fresh timestamp is unconfirmed, so keep the
tolerance loose (hours) and rely on `sg_event_id` dedupe downstream.
The Kafka key is the first event's `sg_message_id` before its first dot (or none).
"""

import base64
import binascii
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from collectpulse.gateway.verify import checks
from collectpulse.gateway.verify.base import Accepted, Refusal, WebhookRequest, natural_key

PROVIDER: Final = "sendgrid"
SIGNATURE_HEADER: Final = "x-twilio-email-event-webhook-signature"
TIMESTAMP_HEADER: Final = "x-twilio-email-event-webhook-timestamp"


def load_public_key(text: str) -> ec.EllipticCurvePublicKey:
    """The P-256 verification key from base64 DER (as the dashboard shows it) or PEM."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
        else:
            key = serialization.load_der_public_key(base64.b64decode(text, validate=True))
    except (ValueError, binascii.Error, TypeError):
        raise ValueError(
            "SendGrid verification key is neither base64 DER nor PEM public key"
        ) from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError("SendGrid verification key is not an EC P-256 public key")
    return key


class SendgridVerifier:
    """Verifies SendGrid Event Webhook batches; see the module docstring."""

    provider = PROVIDER

    def __init__(self, *, public_key_pem_or_b64: str, tolerance_s: int) -> None:
        self._key = load_public_key(public_key_pem_or_b64)
        self._tolerance_s = tolerance_s

    async def verify(self, request: WebhookRequest) -> Accepted | Refusal:
        signature_b64 = request.headers.get(SIGNATURE_HEADER)
        timestamp = request.headers.get(TIMESTAMP_HEADER)
        if not signature_b64 or not timestamp:
            return checks.missing_signature("no SendGrid signature or timestamp header")
        signed_s = checks.unix_seconds(timestamp)
        if signed_s is None:
            return checks.bad_signature("timestamp header is not Unix seconds")
        stale = checks.outside_tolerance(signed_s, request.received_s, self._tolerance_s)
        if stale is not None:
            return stale
        signature = checks.b64decode(signature_b64)
        if signature is None:
            return checks.bad_signature("signature header is not base64")
        try:
            self._key.verify(
                signature, timestamp.encode() + request.body, ec.ECDSA(hashes.SHA256())
            )
        except InvalidSignature:
            return checks.bad_signature("SendGrid signature does not match")
        if not isinstance(checks.json_value(request.body), list):
            return checks.malformed("body is not a JSON array of events")
        return Accepted(publish=True, key=natural_key(PROVIDER, request.body))
