"""The Pipeline board's Gateway row: webhooks in, by provider and outcome, refusals, latency.

The gateway's metrics are its own (``collectpulse.gateway.metrics``), not the
store's KPIs: each gateway instance counts the requests it answered, so its
series are **summed** across instances (never deduplicated like the
exporters' identical series).
"""

from __future__ import annotations

from collectpulse.dashboards.model import Panel, PanelKind, Query, Row, Unit
from collectpulse.dashboards.promql import RATE_INTERVAL

GATEWAY_JOB = "collectpulse-gateway"
"""The Prometheus job scraping the gateways (deploy/prometheus/prometheus.yml)."""
REQUESTS = "collectpulse_gateway_requests_total"
FAILURES = "collectpulse_gateway_verification_failures_total"
PUBLISH = "collectpulse_gateway_publish_seconds"
IN_FLIGHT = "collectpulse_gateway_in_flight_requests"
GATEWAY_METRICS = (REQUESTS, FAILURES, f"{PUBLISH}_bucket", IN_FLIGHT)


def _rate(metric: str, by: str) -> str:
    return f"sum by ({by}) (rate({metric}[{RATE_INTERVAL}]))"


def gateway_row() -> Row:
    return Row(
        "Gateway",
        (
            Panel(
                "Gateways up",
                PanelKind.STAT,
                (Query(f'sum(up{{job="{GATEWAY_JOB}"}})', "up"),),
                f"Webhook gateways Prometheus scrapes successfully (job {GATEWAY_JOB}).",
                width=6,
                height=4,
            ),
            Panel(
                "Webhooks accepted per second",
                PanelKind.STAT,
                (Query(f'sum(rate({REQUESTS}{{outcome="accepted"}}[{RATE_INTERVAL}]))', "req/s"),),
                "Webhook requests published to Kafka and answered 200, all gateways.",
                Unit.PER_SECOND,
                width=6,
                height=4,
            ),
            Panel(
                "Requests in flight",
                PanelKind.STAT,
                (Query(f"sum({IN_FLIGHT})", "requests"),),
                "Webhook requests received and not answered yet, all gateways.",
                width=6,
                height=4,
            ),
            Panel(
                "Answered 503 per second (Kafka or Redis unavailable)",
                PanelKind.STAT,
                (
                    Query(
                        f'sum(rate({REQUESTS}{{outcome=~"unavailable|error"}}[{RATE_INTERVAL}]))',
                        "req/s",
                    ),
                ),
                "Requests answered 503 with Retry-After: the provider retries them later.",
                Unit.PER_SECOND,
                width=6,
                height=4,
            ),
            Panel(
                "Webhook requests per second by provider and outcome",
                PanelKind.TIMESERIES,
                (Query(_rate(REQUESTS, "provider, outcome"), "{{provider}} {{outcome}}"),),
                "accepted: in Kafka, 200; handshake: SNS confirmation; refused: failed "
                "verification; rejected: method, type or size; unavailable/error: 503, "
                "retried by the provider; disabled: provider not configured (404).",
                Unit.PER_SECOND,
                stacked=True,
            ),
            Panel(
                "Verification failures per second by provider and reason",
                PanelKind.TIMESERIES,
                (Query(_rate(FAILURES, "provider, reason"), "{{provider}} {{reason}}"),),
                "Requests refused by signature, credential, timestamp or origin checks; never "
                "published (docs/ALERTS.md, CollectpulseGatewayVerificationFailures).",
                Unit.PER_SECOND,
            ),
            Panel(
                "Publish latency (request handed to Kafka until acknowledged)",
                PanelKind.HEATMAP,
                (
                    Query(
                        f"sum by (le) (increase({PUBLISH}_bucket[{RATE_INTERVAL}]))",
                        "{{le}}",
                    ),
                ),
                "Time from handing a verified body to the producer to the broker's "
                "acknowledgement (acks=all), all providers and gateways.",
                Unit.SECONDS,
                width=24,
            ),
        ),
    )
