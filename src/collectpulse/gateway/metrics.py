"""The gateway's own Prometheus metrics, in a registry of its own (served on its /metrics).

Labels are bounded: ``provider`` is one of the five routes (unknown paths are
answered 404 before any metric is touched), ``outcome`` one of ``OUTCOMES``
and ``reason`` one of the verifiers' snake_case refusal reasons.
"""

from __future__ import annotations

from typing import Final, Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

Outcome = Literal[
    "accepted", "handshake", "refused", "rejected", "unavailable", "disabled", "error"
]
OUTCOMES: Final[tuple[Outcome, ...]] = (
    "accepted",  # published, Kafka acknowledged, answered 200
    "handshake",  # verified and answered, nothing to publish (SNS confirmations)
    "refused",  # verification failed (401/403, or 400 for a body the verifier cannot read)
    "rejected",  # method, content type or size wrong before verification (405/413/415)
    "unavailable",  # Kafka did not acknowledge in time: 503, the provider retries
    "disabled",  # the provider is not configured: 404
    "error",  # a bug of ours: answered 503 (the provider retries), logged with its traceback
)
PUBLISH_BUCKETS_S: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class GatewayMetrics:
    """Counters, histogram and gauge of one gateway; pass ``registry`` to share one."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "collectpulse_gateway_requests",
            "Webhook requests answered by the gateway, by provider and outcome "
            "(accepted = in Kafka and answered 200; unavailable = answered 503, the provider "
            "retries).",
            ["provider", "outcome"],
            registry=self.registry,
        )
        self.verification_failures = Counter(
            "collectpulse_gateway_verification_failures",
            "Webhook requests refused by signature or credential verification, by provider "
            "and reason; never published.",
            ["provider", "reason"],
            registry=self.registry,
        )
        self.publish_seconds = Histogram(
            "collectpulse_gateway_publish_seconds",
            "Time from handing a verified webhook body to the Kafka producer until the "
            "broker acknowledged it (acks=all), failures included.",
            ["provider"],
            buckets=PUBLISH_BUCKETS_S,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "collectpulse_gateway_in_flight_requests",
            "Webhook requests being handled now (received, not yet answered).",
            registry=self.registry,
        )

    def declare(self, providers: tuple[str, ...]) -> None:
        """Create every provider's series at 0, so rate() and absent() see them at once."""
        for provider in providers:
            for outcome in OUTCOMES:
                self.requests.labels(provider, outcome)
            self.publish_seconds.labels(provider)
