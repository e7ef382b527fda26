"""Mailgun webhooks: hex HMAC-SHA256(webhook signing key, timestamp + token), token used once.

Current shape: a JSON body `{"signature": {"timestamp", "token", "signature"
[, "parent-signature"]}, "event-data": {...}}`. The legacy form shape (routes'
`forward()`, "v2" webhooks; `application/x-www-form-urlencoded`) carries the same
three fields at the top level and is accepted too. The key is the **Webhook Signing
Key** (Mailgun's Sending -> Webhooks page), not the API key. A subaccount's event
also carries `parent-signature`, made with the primary account's key: either
signature matching our key passes. The signature does not cover `event-data`;
integrity of the body rests on TLS.

Order: signature fields present (401 missing_signature), timestamp within
`tolerance_s` (401 stale_timestamp; Mailgun's own processing can lag, keep it loose),
HMAC (401 bad_signature), then the token. Only a correctly signed, fresh request
consumes its token, so forgeries cannot burn tokens.

**A replayed token is refused with status 200**, reason `replayed_token`, not
published. Mailgun retries every answer except 200 and 406 for about 8 h; the facts
file's advice is to answer a repeat with 200 in case Mailgun's retries reuse the token
(unconfirmed). A repeat is then either an attacker's replay or a duplicate delivery of
an event already published: 200 ends both, and a 4xx other than 406 would only make
Mailgun repeat the same refused request for hours. Tokens are remembered for
2 x `tolerance_s` + 60 s, longer than any timestamp the window accepts.
Caveat for the server: if a publish fails (503) after the token was consumed and
Mailgun's retry reuses that token, the retry is refused; see the report of issue #16.

The Kafka key is `event-data.message.headers.message-id` without angle brackets.
"""

import hashlib
import hmac
from typing import Final
from urllib.parse import parse_qsl

from collectpulse.gateway.verify import checks
from collectpulse.gateway.verify.base import (
    Accepted,
    Refusal,
    TokenStore,
    WebhookRequest,
    natural_key,
)

PROVIDER: Final = "mailgun"
REPLAY_STATUS: Final = 200  # see the module docstring: ends Mailgun's retries, publishes nothing
_TOKEN_MARGIN_S: Final = 60
_MAX_TOKEN_CHARS: Final = 256


class MailgunVerifier:
    """Verifies Mailgun webhook signatures and refuses reused tokens; see the module docstring."""

    provider = PROVIDER

    def __init__(self, *, signing_key: str, tokens: TokenStore, tolerance_s: int) -> None:
        if not signing_key:
            raise ValueError("Mailgun webhook signing key is empty")
        self._key = signing_key.encode()
        self._tokens = tokens
        self._tolerance_s = tolerance_s

    async def verify(self, request: WebhookRequest) -> Accepted | Refusal:
        fields = _signature_fields(request.body)
        if isinstance(fields, Refusal):
            return fields
        timestamp, token, signatures = fields
        signed_s = checks.unix_seconds(timestamp)
        if signed_s is None:
            return checks.bad_signature("signature.timestamp is not Unix seconds")
        stale = checks.outside_tolerance(signed_s, request.received_s, self._tolerance_s)
        if stale is not None:
            return stale
        expected = hmac.new(self._key, (timestamp + token).encode(), hashlib.sha256).hexdigest()
        if not any(hmac.compare_digest(expected, given.lower()) for given in signatures):
            return checks.bad_signature("Mailgun signature does not match")
        ttl_s = 2 * self._tolerance_s + _TOKEN_MARGIN_S
        if not await self._tokens.first_use(token, ttl_s):
            return Refusal(REPLAY_STATUS, "replayed_token", "token already used")
        return Accepted(publish=True, key=natural_key(PROVIDER, request.body))


def _signature_fields(body: bytes) -> tuple[str, str, list[str]] | Refusal:
    """(timestamp, token, [signature, parent-signature]) from a JSON or legacy form body."""
    if body.lstrip().startswith(b"{"):
        root = checks.json_value(body)
        if not isinstance(root, dict):
            return checks.malformed("body is not a JSON object")
        block = root.get("signature")
        if not isinstance(block, dict):
            return checks.missing_signature("no 'signature' object")
        if not isinstance(root.get("event-data"), dict):
            return checks.malformed("no 'event-data' object")
    else:
        try:
            block = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except (UnicodeDecodeError, ValueError):
            return checks.malformed("body is neither JSON nor a form")
    timestamp, token = block.get("timestamp"), block.get("token")
    if isinstance(timestamp, int) and not isinstance(timestamp, bool):
        timestamp = str(timestamp)  # documented as a string; a number signs as its digits
    signatures = [
        value
        for value in (block.get("signature"), block.get("parent-signature"))
        if isinstance(value, str) and value.isascii()
    ]
    if not isinstance(timestamp, str) or not isinstance(token, str) or not signatures:
        return checks.missing_signature("signature timestamp, token or signature missing")
    if not token or len(token) > _MAX_TOKEN_CHARS or not token.isascii():
        return checks.bad_signature("token is empty, too long or not ASCII")
    return timestamp, token, signatures
