"""Development only: accept every request of a provider without checking anything.

Enabled per provider by `gateway_unsigned_providers`; the server says so loudly at
start-up. The Kafka key is derived exactly as the signed verifiers derive it, so a
pipeline tried unsigned behaves the same once signing is turned on.
"""

from collectpulse.gateway.verify.base import Accepted, Refusal, WebhookRequest, natural_key


class UnsignedVerifier:
    """Accepts everything for one provider (development only)."""

    def __init__(self, provider: str) -> None:
        self.provider = provider

    async def verify(self, request: WebhookRequest) -> Accepted | Refusal:
        return Accepted(publish=True, key=natural_key(self.provider, request.body))
