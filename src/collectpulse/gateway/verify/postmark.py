"""Postmark webhooks: HTTP basic auth, the only check Postmark offers (no signature, no HMAC).

Postmark sends the credentials it was given in the webhook URL
(`https://user:pass@host/webhooks/postmark`) or in the webhook's HttpAuth setting as
`Authorization: Basic ...`. Both the username and the password are compared in
constant time, always both, so the answer's timing does not tell which one was wrong.
No timestamp exists, so there is no replay window: duplicates are removed downstream.

Refusals: no or unreadable `Authorization` -> 401 bad_credentials; wrong username or
password -> 401 bad_credentials (Postmark drops most 4xx without retrying, which is
right for a misconfiguration that needs a human); a body that is not a JSON object
after authentication -> 400 malformed. The Kafka key is `MessageID`.
"""

import hmac
from typing import Final

from collectpulse.exporter.basicauth import basic_credentials
from collectpulse.gateway.verify import checks
from collectpulse.gateway.verify.base import Accepted, Refusal, WebhookRequest, natural_key

PROVIDER: Final = "postmark"


class PostmarkVerifier:
    """Checks Postmark's basic-auth credentials; see the module docstring."""

    provider = PROVIDER

    def __init__(self, *, username: str, password: str) -> None:
        if not username or not password:
            raise ValueError("Postmark webhook username and password must both be set")
        self._username = username.encode()
        self._password = password.encode()

    async def verify(self, request: WebhookRequest) -> Accepted | Refusal:
        credentials = basic_credentials(request.headers.get("authorization"))
        if credentials is None:
            return Refusal(401, "bad_credentials", "no basic auth credentials")
        username, password = credentials
        # both comparisons always run: `and` would short-circuit and leak which one failed
        user_ok = hmac.compare_digest(username, self._username)
        password_ok = hmac.compare_digest(password, self._password)
        if not (user_ok & password_ok):
            return Refusal(401, "bad_credentials", "basic auth credentials do not match")
        if not isinstance(checks.json_value(request.body), dict):
            return checks.malformed("body is not a JSON object")
        return Accepted(publish=True, key=natural_key(PROVIDER, request.body))
