"""Amazon SES events delivered by an SNS HTTP/S subscription: SNS message signatures.

SNS posts one JSON envelope per request (Content-Type `text/plain` by default, so the
body is parsed as JSON whatever the header says). Checks, cheapest first, so an
unsigned request can never make us fetch anything:

1. the body is an SNS envelope of Type Notification, SubscriptionConfirmation or
   UnsubscribeConfirmation with string fields (else 400 malformed; no Signature ->
   401 missing_signature, e.g. when *raw message delivery* is on: it must stay off);
2. SignatureVersion "1" (RSA PKCS#1 v1.5 + SHA-1) or "2" (+ SHA-256), else 401;
3. SigningCertURL is https, its hostname fully matches `cert_host_pattern` and its
   path ends in `.pem`, else 403 cert_host_not_allowed (we only fetch from AWS);
4. Timestamp within `tolerance_s` of arrival, else 401 stale_timestamp. AWS names no
   window; its HTTP/S retries can span up to 3,600 s and whether a retry keeps the
   original Timestamp is unconfirmed, so keep the tolerance >= the topic's retry span;
5. TopicArn in `allowed_topic_arns`, else 403 topic_not_allowed;
6. the certificate (through the CertFetcher; a failure is ours and transient, so
   503 cert_fetch_failed, which SNS retries; any 4xx would count as delivered) and the
   signature over AWS's canonical string (`Key\\nValue\\n` for the signed keys of the
   Type, in byte order, JSON-decoded values, null values skipped), else 401 bad_signature.

Then a Notification is published under the SES `mail.messageId`; a
SubscriptionConfirmation is answered (not published) with `confirm_url` = SubscribeURL
for the server to GET, only when SubscribeURL is https on an SNS host too (our SSRF
rule); an UnsubscribeConfirmation is answered and logged, never followed (its
SubscribeURL would re-subscribe).
"""

import functools
import re
from datetime import datetime
from typing import Final
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from collectpulse.gateway.verify import checks
from collectpulse.gateway.verify.base import (
    Accepted,
    CertFetcher,
    Refusal,
    WebhookRequest,
    natural_key,
)

PROVIDER: Final = "ses"
DEFAULT_CERT_HOST_PATTERN: Final = r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$"

_SIGNED_KEYS: Final = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type",
    ),
    "UnsubscribeConfirmation": (
        "Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type",
    ),
}  # fmt: skip
_OPTIONAL_KEYS: Final = frozenset({"Subject"})
_SIGNATURE_KEYS: Final = ("SignatureVersion", "Signature", "SigningCertURL")


def _digest(version: str) -> hashes.HashAlgorithm | None:
    if version == "1":
        return hashes.SHA1()  # SNS SignatureVersion 1 is SHA1withRSA by definition
    if version == "2":
        return hashes.SHA256()
    return None


class SesVerifier:
    """Verifies SNS-delivered SES events; see the module docstring for the order of checks."""

    provider = PROVIDER

    def __init__(
        self,
        *,
        allowed_topic_arns: frozenset[str],
        cert_host_pattern: str = DEFAULT_CERT_HOST_PATTERN,
        certs: CertFetcher,
        tolerance_s: int,
    ) -> None:
        self._topics = allowed_topic_arns
        self._cert_host = re.compile(cert_host_pattern)
        self._certs = certs
        self._tolerance_s = tolerance_s

    async def verify(self, request: WebhookRequest) -> Accepted | Refusal:
        fields = _read_envelope(request)
        if isinstance(fields, Refusal):
            return fields
        problem = self._check_envelope(fields, request.received_s)
        if problem is None:
            problem = await self._check_signature(fields)
        if problem is not None:
            return problem
        if fields["Type"] == "Notification":
            return Accepted(publish=True, key=natural_key(PROVIDER, request.body))
        if fields["Type"] == "SubscriptionConfirmation":
            url = fields["SubscribeURL"]
            if not self._is_sns_url(url):
                return checks.malformed("SubscribeURL is not an https URL on an SNS host")
            return Accepted(publish=False, key=None, confirm_url=url)
        return Accepted(publish=False, key=None)  # UnsubscribeConfirmation: log, never follow

    def _check_envelope(self, fields: dict[str, str], received_s: float) -> Refusal | None:
        if _digest(fields["SignatureVersion"]) is None:
            return checks.bad_signature("SignatureVersion is neither 1 nor 2")
        if not self._is_sns_url(fields["SigningCertURL"], pem=True):
            return Refusal(403, "cert_host_not_allowed", "SigningCertURL is not an SNS host")
        published_s = _iso_seconds(fields["Timestamp"])
        if published_s is None:
            return checks.malformed("Timestamp is not ISO 8601 with a zone")
        stale = checks.outside_tolerance(published_s, received_s, self._tolerance_s)
        if stale is not None:
            return stale
        if fields["TopicArn"] not in self._topics:
            return Refusal(403, "topic_not_allowed", "TopicArn is not in the allowed set")
        return None

    async def _check_signature(self, fields: dict[str, str]) -> Refusal | None:
        signature = checks.b64decode(fields["Signature"])
        if signature is None:
            return checks.bad_signature("Signature is not base64")
        try:
            public_key = _rsa_public_key(await self._certs.pem(fields["SigningCertURL"]))
        except Exception:  # any failure to get the cert is ours: 503 makes SNS retry
            return Refusal(503, "cert_fetch_failed", "signing certificate unavailable")
        digest = _digest(fields["SignatureVersion"])
        assert digest is not None  # checked in _check_envelope
        try:
            public_key.verify(signature, string_to_sign(fields), padding.PKCS1v15(), digest)
        except InvalidSignature:
            return checks.bad_signature("SNS signature does not match")
        return None

    def _is_sns_url(self, url: object, *, pem: bool = False) -> bool:
        if not isinstance(url, str):
            return False
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError:
            return False
        if parts.scheme != "https" or host is None or parts.username or parts.password:
            return False
        return self._cert_host.fullmatch(host) is not None and (
            not pem or parts.path.endswith(".pem")
        )


def _read_envelope(request: WebhookRequest) -> dict[str, str] | Refusal:
    """The envelope's signed and signature fields as strings (absent optional ones left out)."""
    envelope = checks.json_value(request.body)
    if not isinstance(envelope, dict):
        return checks.malformed("body is not an SNS JSON envelope")
    kind = envelope.get("Type")
    if not isinstance(kind, str) or kind not in _SIGNED_KEYS:
        return checks.malformed("Type is not an SNS message type")
    fields: dict[str, str] = {}
    for key in (*_SIGNATURE_KEYS, *_SIGNED_KEYS[kind]):
        value = envelope.get(key)
        if value is None and key in _SIGNATURE_KEYS:
            raw = request.headers.get("x-amz-sns-rawdelivery", "").lower() == "true"
            hint = " (raw message delivery is on; it must be off)" if raw else ""
            return checks.missing_signature(f"no {key}{hint}")
        if value is None and key in _OPTIONAL_KEYS:
            continue
        if not isinstance(value, str):
            return checks.malformed(f"{key} is missing or not a string")
        fields[key] = value
    return fields


def string_to_sign(fields: dict[str, str]) -> bytes:
    """AWS's canonical string: `Key\\nValue\\n` per signed key present, in AWS's order."""
    keys = _SIGNED_KEYS[fields["Type"]]
    return "".join(f"{key}\n{fields[key]}\n" for key in keys if key in fields).encode()


def _iso_seconds(text: str) -> float | None:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.timestamp() if parsed.tzinfo is not None else None


@functools.lru_cache(maxsize=32)
def _rsa_public_key(pem: bytes) -> rsa.RSAPublicKey:
    """The certificate's RSA key, parsed once per certificate (SNS reuses one for months)."""
    key = x509.load_pem_x509_certificate(pem).public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise TypeError("SNS signing certificate does not hold an RSA key")
    return key
