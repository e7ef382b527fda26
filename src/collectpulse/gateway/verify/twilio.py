"""Twilio status callbacks: X-Twilio-Signature = base64(HMAC-SHA1(auth token, URL + params)).

The signed material is the full URL Twilio requested, query string included, followed
by every POST parameter sorted by name (a repeated name: each value, sorted) as
name + value with no separators. The URL is `request.public_url`, which the server
builds from the configured public base URL: behind a TLS-terminating proxy the app
sees `http://internal:port/...` while Twilio signed `https://public/...`, and only
the public one verifies. Twilio's own library tries the URL with and without the
port "since sig generation on back end is inconsistent"; so do we (the URL as given,
without its port, and with the scheme's default port).

JSON-body variant: the URL carries `bodySHA256=<hex SHA-256 of the raw body>`, the
HMAC covers the URL only, and the body must hash to that value.

Key: the account **Auth Token** (Console -> Account -> API keys & tokens), not an
API-key secret. No timestamp exists, so no freshness check; duplicates are removed
downstream. Refusals: no header -> 401 missing_signature; no match -> 401
bad_signature; an unreadable form, or a JSON variant whose body is not a JSON
object -> 400 malformed. The Kafka key is `MessageSid` (or `SmsSid`).
"""

import base64
import hashlib
import hmac
from typing import Final
from urllib.parse import parse_qs, parse_qsl, urlsplit, urlunsplit

from collectpulse.gateway.verify import checks
from collectpulse.gateway.verify.base import Accepted, Refusal, WebhookRequest, natural_key

PROVIDER: Final = "twilio"
SIGNATURE_HEADER: Final = "x-twilio-signature"
_DEFAULT_PORTS: Final = {"https": 443, "http": 80}


def _utf8(text: str) -> bytes:
    # aiohttp hands over undecodable header/URL bytes as lone surrogates: such a value
    # can only fail to match, it must not raise
    return text.encode("utf-8", "surrogatepass")


def signature(auth_token: bytes, url: str, params: list[tuple[str, str]]) -> str:
    """Twilio's signature of `url` and form `params` (base64 HMAC-SHA1)."""
    material = url + "".join(name + value for name, value in sorted(params))
    return base64.b64encode(hmac.new(auth_token, _utf8(material), hashlib.sha1).digest()).decode()


def url_variants(url: str) -> list[str]:
    """The URL as given, plus the same URL without its port or with the default port."""
    variants = [url]
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return variants
    if port is not None:
        netloc = parts.netloc.removesuffix(f":{port}")
        variants.append(urlunsplit(parts._replace(netloc=netloc)))
    elif parts.scheme in _DEFAULT_PORTS and parts.netloc:
        netloc = f"{parts.netloc}:{_DEFAULT_PORTS[parts.scheme]}"
        variants.append(urlunsplit(parts._replace(netloc=netloc)))
    return variants


class TwilioVerifier:
    """Verifies Twilio request signatures against the public URL; see the module docstring."""

    provider = PROVIDER

    def __init__(self, *, auth_token: str) -> None:
        if not auth_token:
            raise ValueError("Twilio auth token is empty")
        self._token = auth_token.encode()

    async def verify(self, request: WebhookRequest) -> Accepted | Refusal:
        given = request.headers.get(SIGNATURE_HEADER, "").strip()
        if not given:
            return checks.missing_signature("no X-Twilio-Signature header")
        body_sha256 = _query_value(request.public_url, "bodySHA256")
        if body_sha256 is not None:
            params: list[tuple[str, str]] = []
            actual = hashlib.sha256(request.body).hexdigest().encode()
            if not hmac.compare_digest(actual, _utf8(body_sha256.lower())):
                return checks.bad_signature("body does not match bodySHA256")
        else:
            form = _form(request.body)
            if form is None:
                return checks.malformed("body is not a form-encoded body")
            params = form
        if not any(
            hmac.compare_digest(signature(self._token, url, params).encode(), _utf8(given))
            for url in url_variants(request.public_url)
        ):
            return checks.bad_signature("Twilio signature does not match")
        if body_sha256 is not None and not isinstance(checks.json_value(request.body), dict):
            return checks.malformed("body is not a JSON object")
        return Accepted(publish=True, key=natural_key(PROVIDER, request.body))


def _query_value(url: str, name: str) -> str | None:
    try:
        values = parse_qs(urlsplit(url).query).get(name)
    except ValueError:
        return None
    return values[0] if values else None


def _form(body: bytes) -> list[tuple[str, str]] | None:
    if not body.strip():
        return []
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return None
