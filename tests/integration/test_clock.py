"""The worker's clock on the real pipeline: future events are dead-lettered, lag is in ms.

A real worker and exporter over the session's Kafka and Redis. Events dated
past ``COLLECTPULSE_FUTURE_TOLERANCE`` (default 5 minutes) go to the DLQ with
reason ``future_event``, whether published canonical or as a raw provider
payload; one within it is applied. The processing lag of a live event is a
timing, so it is asserted within a range measured around it, never equal to
a value.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from collectpulse.events.models import Topic
from collectpulse.settings import Settings
from collectpulse.stream.deadletter import DLQ_TOPIC
from collectpulse.stream.normalise import raw_topic
from tests.support.kafka import create_topics, publish, read_to_end
from tests.support.metrics import Samples, total, value, wait_for
from tests.support.pipeline import run_pipeline
from tests.unit.providers.provider_samples import as_bytes, ses_event, sns_wrap

pytestmark = pytest.mark.integration

TIMEOUT_S = 120.0
LAG_BOUND_S = 60.0
"""Generous: a loaded test machine may take seconds, a broken lag reads hours or 0."""


def _sent(message_id: str, at: datetime) -> tuple[bytes, bytes]:
    event = {
        "event_id": f"sent-{message_id}",
        "occurred_at": at.isoformat(),
        "message_id": message_id,
        "status": "sent",
        "channel": "email",
        "customer_id": f"c-{message_id}",
        "campaign": "dunning",
        "variant": "control",
    }
    return message_id.encode(), orjson.dumps(event)


def _ses_send(message_id: str, at: datetime) -> tuple[bytes, bytes]:
    iso = at.isoformat().replace("+00:00", "Z")
    return message_id.encode(), as_bytes(
        sns_wrap(ses_event("Send", {}, messageId=message_id, timestamp=iso))
    )


async def test_an_event_past_the_future_tolerance_is_dead_lettered_and_one_within_it_applied(
    settings: Settings, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    ses = raw_topic(settings, "ses")
    await create_topics(settings, extra=[ses])
    now = datetime.now(UTC)
    far, near = now + timedelta(minutes=10), now + timedelta(minutes=1)
    await publish(
        settings,
        settings.topic(Topic.DELIVERY.value),
        [_sent(f"far-{run}", far), _sent(f"near-{run}", near)],
    )
    await publish(
        settings, ses, [_ses_send(f"ses-far-{run}", far), _ses_send(f"ses-near-{run}", near)]
    )

    with run_pipeline(settings, tmp_path) as pipeline:

        def all_received(s: Samples) -> bool:
            return total(s, "collectpulse_events_received_total", topic="delivery") >= 4

        samples = await wait_for(
            pipeline.url("/metrics"),
            all_received,
            timeout_s=TIMEOUT_S,
            processes=pipeline.processes,
        )

    assert total(samples, "collectpulse_events_received_total", topic="delivery") == 4
    future = {"topic": "delivery", "reason": "future_event"}
    assert value(samples, "collectpulse_events_invalid_total", **future) == 2
    assert total(samples, "collectpulse_events_invalid_total") == 2
    assert total(samples, "collectpulse_events_dead_lettered_total", topic="delivery") == 2
    assert total(samples, "collectpulse_messages_sent_total") == 2  # the two near ones

    dead = await read_to_end(settings, settings.topic(DLQ_TOPIC))
    assert len(dead) == 2
    for record in dead:
        assert record.headers["cp-error-reason"] == b"future_event"
        assert record.headers["cp-source-topic"] == settings.topic(Topic.DELIVERY.value).encode()
        assert b"ahead of the worker's clock; tolerance 300s" in record.headers["cp-error"]
    dead_ids = {orjson.loads(r.value or b"{}")["message_id"] for r in dead}
    assert dead_ids == {f"far-{run}", f"ses-far-{run}"}


def _pageview(visitor_id: str, at: datetime) -> tuple[bytes, bytes]:
    event: dict[str, Any] = {
        "event_id": f"view-{visitor_id}",
        "occurred_at": at.isoformat(),
        "visitor_id": visitor_id,
        "source": "email",
    }
    return visitor_id.encode(), orjson.dumps(event)


async def test_processing_lag_of_a_live_event_is_sub_second_resolution_and_bounded(
    settings: Settings, tmp_path: Path
) -> None:
    await create_topics(settings)
    topic = settings.topic(Topic.PAGEVIEW.value)
    with run_pipeline(settings, tmp_path) as pipeline:
        url = pipeline.url("/metrics")

        def received(n: int) -> Any:
            return lambda s: total(s, "collectpulse_events_received_total", topic="pageview") >= n

        # the first event only tells us the worker is consuming: the second is live
        await publish(settings, topic, [_pageview("v-warm", datetime.now(UTC))])
        await wait_for(url, received(1), timeout_s=TIMEOUT_S, processes=pipeline.processes)
        occurred = datetime.now(UTC)
        await publish(settings, topic, [_pageview("v-live", occurred)])
        samples = await wait_for(
            url, received(2), timeout_s=TIMEOUT_S, processes=pipeline.processes
        )
        seen_after_s = time.time() - occurred.timestamp()

    assert total(samples, "collectpulse_events_received_total", topic="pageview") == 2
    lag = value(samples, "collectpulse_processing_lag_seconds", topic="pageview")
    assert lag is not None
    # applied after it occurred, and before this test saw it counted
    assert 0 < lag <= min(seen_after_s, LAG_BOUND_S)
