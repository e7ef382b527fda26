"""The webhook gateway on real Kafka and Redis: signed requests in, raw records out, counted.

Each provider's valid signed request is published unchanged to its
``raw.<provider>`` topic under its natural key, answered 200, and later counted
by a real worker on the exporter's /metrics. Every refusal (tampered body, wrong
key, stale timestamp, replayed Mailgun token, missing signature, a disabled
provider, wrong method, type or size) publishes nothing and is counted.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from collectpulse.events.providers import PROVIDERS
from collectpulse.gateway.server import raw_topics
from collectpulse.gateway.verify.base import natural_key
from collectpulse.kafka.connection import kafka_options
from collectpulse.settings import Settings
from tests.support.gateway import GatewayKeys, RunningGateway, Signed, running_gateway
from tests.support.gateway import signed_requests as make_signed
from tests.support.kafka import create_topics, read_all
from tests.support.metrics import total, wait_for
from tests.support.pipeline import run_pipeline
from tests.support.webhook_signing import (
    sign_mailgun,
    sign_sendgrid,
    sign_ses,
    sns_confirmation,
)

pytestmark = pytest.mark.integration

READY_TIMEOUT_S = 30.0


async def wait_ready(gateway: RunningGateway) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT_S
    last = ""
    while loop.time() < deadline:
        response = await gateway.get("/readyz")
        if response.status_code == 200:
            return
        last = response.text
        await asyncio.sleep(0.3)
    raise AssertionError(f"gateway never ready: {last}")


async def raw_counts(settings: Settings) -> dict[str, int]:
    """Records in each provider's raw topic (end offsets summed over partitions)."""
    topics = raw_topics(settings, PROVIDERS)
    consumer = AIOKafkaConsumer(**kafka_options(settings))
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in topics.values() for p in range(4)]
        ends = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    return {p: sum(e for tp, e in ends.items() if tp.topic == t) for p, t in topics.items()}


def gateway_samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture
async def topics(settings: Settings) -> Settings:
    await create_topics(settings, extra=raw_topics(settings, PROVIDERS).values())
    return settings


async def test_each_providers_signed_request_is_published_unchanged_and_counted_by_the_worker(
    topics: Settings, tmp_path: Path
) -> None:
    keys = GatewayKeys.create()
    settings = keys.settings(topics)
    run = uuid.uuid4().hex[:10]
    async with running_gateway(settings, keys) as gateway:
        await wait_ready(gateway)
        requests = make_signed(keys, run, public_base=gateway.url)
        assert [r.provider for r in requests] == list(PROVIDERS)
        with run_pipeline(settings, tmp_path) as pipeline:
            for signed in requests:
                response = await gateway.post(signed)
                assert response.status_code == 200, (signed.provider, response.text)
            for signed in requests:
                topic = raw_topics(settings, (signed.provider,))[signed.provider]
                (record,) = await read_all(settings, topic, expect=1)
                assert record[1] == signed.body, f"{signed.provider}: body changed"
                assert record[0] == natural_key(signed.provider, signed.body) is not None
            events = sum(r.events for r in requests)
            samples = await wait_for(
                pipeline.url("/metrics"),
                lambda s: total(s, "collectpulse_events_received_total") >= events,
                processes=pipeline.processes,
            )
        assert total(samples, "collectpulse_events_received_total") == events
        assert total(samples, "collectpulse_events_duplicate_total") == 0
        metrics = gateway_samples((await gateway.get("/metrics")).text)
        for provider in PROVIDERS:
            labels = frozenset({("provider", provider), ("outcome", "accepted")})
            assert metrics[("collectpulse_gateway_requests_total", labels)] == 1
        histogram = ("collectpulse_gateway_publish_seconds_count", frozenset({("provider", "ses")}))
        assert metrics[histogram] == 1
        assert metrics[("collectpulse_gateway_in_flight_requests", frozenset())] == 0


def _refusals(keys: GatewayKeys, requests: dict[str, Signed]) -> list[tuple[str, Signed, dict]]:
    """(expected reason, request, replacements) for each way a request must be refused."""
    other = GatewayKeys.create()
    sg, mg, tw, pm = (requests[p] for p in ("sendgrid", "mailgun", "twilio", "postmark"))
    signed_s = int(sg.headers["X-Twilio-Email-Event-Webhook-Timestamp"])
    stale_s = signed_s - 3600
    tampered_ses = requests["ses"].body.replace(b"debtor@example.net", b"someone@example.net")
    event = {"event": "delivered"}
    return [
        ("bad_signature", requests["ses"], {"body": tampered_ses}),
        ("bad_signature", sg, {"body": sg.body.replace(b"delivered", b"bounce")}),
        (
            "bad_signature",
            sg,
            {"headers": sign_sendgrid(other.sendgrid, sg.body, timestamp_s=signed_s)},
        ),
        (
            "stale_timestamp",
            sg,
            {"headers": sign_sendgrid(keys.sendgrid, sg.body, timestamp_s=stale_s)},
        ),
        ("missing_signature", sg, {"headers": {"Content-Type": "application/json"}}),
        ("bad_signature", mg, {"body": sign_mailgun(other.mailgun, event, timestamp_s=signed_s)}),
        ("stale_timestamp", mg, {"body": sign_mailgun(keys.mailgun, event, timestamp_s=stale_s)}),
        ("bad_credentials", pm, {"headers": {"Content-Type": "application/json"}}),
        ("bad_signature", tw, {"body": tw.body.replace(b"delivered", b"failed")}),
    ]


async def test_refused_and_rejected_requests_publish_nothing_and_are_counted(
    topics: Settings,
) -> None:
    keys = GatewayKeys.create()
    settings = keys.settings(topics, gateway_max_body_bytes=4096)
    run = uuid.uuid4().hex[:10]
    async with running_gateway(settings, keys) as gateway:
        await wait_ready(gateway)
        requests = {r.provider: r for r in make_signed(keys, run, public_base=gateway.url)}
        for reason, signed, changes in _refusals(keys, requests):
            response = await gateway.post(signed, **changes)
            assert response.status_code in (400, 401, 403), (reason, signed.provider)
            assert response.text == f"refused: {reason}\n", signed.provider
        # a Mailgun token is good once: the replay is answered (200, ends Mailgun's retries)
        # but not published a second time
        mg = requests["mailgun"]
        assert (await gateway.post(mg)).status_code == 200
        replay = await gateway.post(mg)
        assert replay.text == "refused: replayed_token\n"
        sg = requests["sendgrid"]
        rejected = [
            (405, await gateway.get("/webhooks/sendgrid")),
            (415, await gateway.post(sg, headers={**sg.headers, "Content-Type": "text/html"})),
            (413, await gateway.post(sg, body=b"[" + b" " * 5000 + b"]")),
            (404, await gateway.post(sg, path="/webhooks/unknown")),
        ]
        for status, response in rejected:
            assert response.status_code == status, response.text
            assert "Traceback" not in response.text
        assert await raw_counts(settings) == {p: int(p == "mailgun") for p in PROVIDERS}
        metrics = gateway_samples((await gateway.get("/metrics")).text)

    def failures(provider: str, reason: str) -> float:
        labels = frozenset({("provider", provider), ("reason", reason)})
        return metrics.get(("collectpulse_gateway_verification_failures_total", labels), 0)

    assert failures("sendgrid", "bad_signature") == 2
    assert failures("sendgrid", "stale_timestamp") == 1
    assert failures("mailgun", "replayed_token") == 1
    assert failures("postmark", "bad_credentials") == 1
    rejected_sg = frozenset({("provider", "sendgrid"), ("outcome", "rejected")})
    assert metrics[("collectpulse_gateway_requests_total", rejected_sg)] == 3


async def test_a_provider_without_a_secret_is_disabled_unless_allowed_unsigned(
    topics: Settings,
) -> None:
    keys = GatewayKeys.create()
    settings = keys.settings(
        topics,
        gateway_sendgrid_public_key=None,
        gateway_twilio_auth_token=None,
        gateway_unsigned_providers=("twilio",),
    )
    run = uuid.uuid4().hex[:10]
    async with running_gateway(settings, keys) as gateway:
        await wait_ready(gateway)
        requests = {r.provider: r for r in make_signed(keys, run, public_base=gateway.url)}
        disabled = await gateway.post(requests["sendgrid"])
        assert disabled.status_code == 404
        assert disabled.text == "provider sendgrid not configured on this gateway\n"
        unsigned = await gateway.post(
            requests["twilio"], headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert unsigned.status_code == 200
        lines = gateway.built.providers.startup_lines()
    assert "COLLECTPULSE_GATEWAY_SENDGRID_PUBLIC_KEY" in lines[1]
    assert "UNSIGNED" in lines[4]
    assert not any(keys.twilio in line or keys.mailgun in line for line in lines)
    assert await raw_counts(settings) == {p: int(p == "twilio") for p in PROVIDERS}


async def test_sns_subscription_is_confirmed_only_for_an_allowed_topic_and_certificate_host(
    topics: Settings,
) -> None:
    keys = GatewayKeys.create()
    settings = keys.settings(topics)
    async with running_gateway(settings, keys) as gateway:
        await wait_ready(gateway)
        confirmation = sns_confirmation()
        signed = Signed("ses", sign_ses(confirmation, keys.sns), {"Content-Type": "text/plain"}, 0)
        assert (await gateway.post(signed)).status_code == 200
        assert gateway.confirmed == [confirmation["SubscribeURL"]]

        foreign = sns_confirmation(topic_arn="arn:aws:sns:eu-west-1:999999999999:not-ours")
        refused = await gateway.post(signed, body=sign_ses(foreign, keys.sns))
        assert (refused.status_code, refused.text) == (403, "refused: topic_not_allowed\n")
        elsewhere = keys.sns.__class__(
            keys.sns.key, keys.sns.cert_pem, "https://evil.example/x.pem"
        )
        refused = await gateway.post(signed, body=sign_ses(sns_confirmation(), elsewhere))
        assert (refused.status_code, refused.text) == (403, "refused: cert_host_not_allowed\n")
        assert len(gateway.confirmed) == 1
    assert await raw_counts(settings) == dict.fromkeys(PROVIDERS, 0)


async def test_twilio_is_verified_against_the_public_base_url_behind_a_proxy(
    topics: Settings,
) -> None:
    keys = GatewayKeys.create()
    public = "https://hooks.collect.example"
    settings = keys.settings(topics, gateway_public_base_url=public)
    run = uuid.uuid4().hex[:10]
    async with running_gateway(settings, keys) as gateway:
        await wait_ready(gateway)
        (behind_proxy,) = [
            r for r in make_signed(keys, run, public_base=public) if r.provider == "twilio"
        ]
        assert (await gateway.post(behind_proxy)).status_code == 200
        (as_seen_inside,) = [
            r
            for r in make_signed(keys, run + "x", public_base=gateway.url)
            if r.provider == "twilio"
        ]
        refused = await gateway.post(as_seen_inside)
        assert (refused.status_code, refused.text) == (401, "refused: bad_signature\n")
    assert (await raw_counts(settings))["twilio"] == 1
