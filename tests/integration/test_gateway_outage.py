"""Kafka stopped under the gateway: 503 + Retry-After, nothing acknowledged, retries land once.

A Kafka and Redis of this module's own (the session's are shared) serve a real
worker and exporter and an in-process gateway. One round of signed requests
(every provider) is accepted; Kafka is stopped; a second round is answered
503 with Retry-After and /readyz says Kafka; Kafka is started again on the same
port and data; the second round is retried as the providers would (same bytes,
Mailgun's same token) until each is accepted. Then every event of both rounds
is counted exactly once on /metrics (a record written after its request timed
out is a duplicate the engine drops, never a second count).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from collectpulse.events.providers import PROVIDERS
from collectpulse.gateway.server import raw_topics
from collectpulse.localstack import kafka, redis
from collectpulse.localstack.settings import LocalStackSettings
from collectpulse.settings import Settings
from tests.support.gateway import GatewayKeys, RunningGateway, Signed, running_gateway
from tests.support.gateway import signed_requests as make_signed
from tests.support.kafka import create_topics
from tests.support.local_stack import own_stack_settings
from tests.support.metrics import total, wait_for
from tests.support.pipeline import run_pipeline, settled
from tests.support.processes import GROUP_ENV

pytestmark = pytest.mark.integration

RETRY_DEADLINE_S = 120.0
PROVIDER_RETRY_S = 1.0


@pytest.fixture(scope="module")
def own_servers() -> Iterator[tuple[LocalStackSettings, Settings]]:
    with own_stack_settings("test-gateway-outage-", kafka_partitions=2) as cfg:
        try:
            bootstrap, url = kafka.start(cfg), redis.start(cfg)
            settings = Settings(
                kafka_bootstrap_servers=bootstrap,
                redis_url=url,  # type: ignore[arg-type]
                topic_partitions=2,
            )
            yield cfg, settings
        finally:
            kafka.stop_kafka(cfg)
            redis.stop_redis(cfg)


async def ready_status(gateway: RunningGateway) -> tuple[int, str]:
    response = await gateway.get("/readyz")
    return response.status_code, response.text


async def wait_ready_status(gateway: RunningGateway, status: int, timeout_s: float) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    got = (0, "")
    while loop.time() < deadline:
        got = await ready_status(gateway)
        if got[0] == status:
            return got[1]
        await asyncio.sleep(0.3)
    raise AssertionError(f"/readyz never answered {status}: last {got}")


async def retry_until_accepted(gateway: RunningGateway, signed: Signed) -> list[int]:
    """Post ``signed`` as its provider retries (same bytes, Mailgun's same token) until it
    is published (fails at the deadline)."""
    statuses: list[int] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RETRY_DEADLINE_S
    while loop.time() < deadline:
        try:
            response = await gateway.post(signed)
            status, text = response.status_code, response.text
        except httpx.HTTPError:
            status, text = 0, ""
        statuses.append(status)
        if status == 200:
            # published: not a 200 that refuses a replayed Mailgun token
            assert text == "ok\n", f"{signed.provider}: retry answered {text!r}"
            return statuses
        assert status in (0, 503), f"{signed.provider}: a retryable failure answered {status}"
        await asyncio.sleep(PROVIDER_RETRY_S)
    raise AssertionError(f"{signed.provider} never accepted after Kafka returned: {statuses}")


async def test_kafka_down_answers_503_and_the_providers_retries_land_exactly_once(
    own_servers: tuple[LocalStackSettings, Settings], tmp_path: Path
) -> None:
    cfg, base = own_servers
    run = uuid.uuid4().hex[:10]
    keys = GatewayKeys.create()
    settings = keys.settings(
        base.model_copy(
            update={
                "topic_prefix": f"t{run}.",
                "key_prefix": f"t{run}",
                "consumer_group": f"collectpulse-gw-outage-{run}",
                "data_dir": tmp_path / "worker",
            }
        ),
        gateway_publish_timeout="3s",
    )
    await create_topics(settings, extra=raw_topics(settings, PROVIDERS).values())
    with run_pipeline(settings, tmp_path, **GROUP_ENV) as pipeline:
        async with running_gateway(settings, keys) as gateway:
            await wait_ready_status(gateway, 200, 30)
            before = make_signed(keys, f"{run}a", public_base=gateway.url)
            first_round = sum(s.events for s in before)
            for signed in before:
                assert (await gateway.post(signed)).status_code == 200, signed.provider
            # the worker is up and consuming before the outage (it refuses to start without
            # Kafka): the first round is counted
            await wait_for(
                pipeline.url("/metrics"),
                lambda s: total(s, "collectpulse_events_received_total") >= first_round,
                processes=pipeline.processes,
            )

            await asyncio.to_thread(kafka.stop_kafka, cfg)
            during = make_signed(keys, f"{run}b", public_base=gateway.url)
            answers = await asyncio.gather(*(gateway.post(s) for s in during))
            for signed, answer in zip(during, answers, strict=True):
                assert answer.status_code == 503, (signed.provider, answer.text)
                assert answer.headers["Retry-After"].isdigit()
                assert "Traceback" not in answer.text
            assert "kafka" in await wait_ready_status(gateway, 503, 15)

            await asyncio.to_thread(kafka.start, cfg)
            retried = await asyncio.gather(*(retry_until_accepted(gateway, s) for s in during))
            await wait_ready_status(gateway, 200, 30)
            metrics = (await gateway.get("/metrics")).text

        events = sum(s.events for s in before + during)
        samples = await settled(pipeline.url("/metrics"), events, pipeline.processes, timeout_s=120)
    counted = total(samples, "collectpulse_events_received_total") - total(
        samples, "collectpulse_events_duplicate_total"
    )
    assert counted == events, f"every event exactly once: {counted} != {events}"
    assert all(statuses[-1] == 200 for statuses in retried)
    assert (
        'collectpulse_gateway_requests_total{outcome="unavailable",provider="mailgun"}' in metrics
    )
