"""Events of every canonical type go through real Kafka, the worker and Redis to /metrics."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from collectpulse.events.keys import KEY_FIELD
from collectpulse.events.models import Topic
from collectpulse.settings import Settings
from collectpulse.stream.deadletter import DLQ_TOPIC
from tests.support.kafka import create_topics, publish, read_all
from tests.support.metrics import total, wait_for
from tests.support.processes import collectpulse_process, free_port

PER_TOPIC = 25


def _event(topic: Topic, i: int, now: datetime) -> dict[str, Any]:
    base = {
        "event_id": f"{topic.value}-{i}-{uuid.uuid4().hex[:6]}",
        "occurred_at": (now - timedelta(seconds=i)).isoformat(),
    }
    message = {"message_id": f"m-{i}"}
    body: dict[str, Any] = {
        Topic.DELIVERY: {
            **message,
            "status": "sent",
            "channel": "email",
            "customer_id": f"c-{i}",
            "campaign": "dunning",
            "variant": "control",
        },
        Topic.BOUNCE: {**message, "bounce_type": "soft"},
        Topic.OPEN: message,
        Topic.CLICK: message,
        Topic.PAGEVIEW: {"visitor_id": f"v-{i}", "source": "email"},
        Topic.PAYMENT: {
            "payment_id": f"p-{i}",
            "customer_id": f"c-{i}",
            "status": "failed",
            "amount_minor": 100,
            "currency": "EUR",
        },
        Topic.PROMISE: {
            "promise_id": f"r-{i}",
            "customer_id": f"c-{i}",
            "kind": "promise_to_pay",
            "status": "made",
            "direction": "inbound",
            "amount_minor": 100,
            "currency": "EUR",
            "due_date": "2026-12-01",
        },
        Topic.ACCOUNT: {
            "account_id": f"a-{i}",
            "customer_id": f"c-{i}",
            "change": "placed",
            "version": 1,
            "balance_minor": 100,
            "delta_minor": 100,
            "currency": "EUR",
            "due_date": "2026-12-01",
            "status": "open",
        },
        Topic.CONTACT: {
            "contact_id": f"k-{i}",
            "customer_id": f"c-{i}",
            "direction": "outbound",
            "channel": "call",
            "outcome": "no_answer",
            "started_at": (now - timedelta(seconds=i + 30)).isoformat(),
            "duration_s": 0,
        },
    }[topic]
    return {**base, **body}


async def test_each_topic_count_reaches_metrics_and_poison_is_dead_lettered(
    settings: Settings, tmp_path: Path
) -> None:
    await create_topics(settings)
    now = datetime.now(UTC)
    for topic in Topic:
        events = [_event(topic, i, now) for i in range(PER_TOPIC)]
        # every record carries the key the contract names, except one payment
        keys = [str(e[KEY_FIELD[topic]]).encode() for e in events]
        if topic is Topic.PAYMENT:
            keys[0] = b"not-the-customer-id"
        messages = [(k, orjson.dumps(e)) for k, e in zip(keys, events, strict=True)]
        await publish(settings, settings.topic(topic.value), messages)
    await publish(settings, settings.topic("open"), [(b"k-bad", b"{not json")])

    port = free_port()
    with (
        collectpulse_process(
            settings, "worker", "-l", "warn", log=tmp_path / "worker.log"
        ) as worker,
        collectpulse_process(
            settings, "exporter", log=tmp_path / "exporter.log", COLLECTPULSE_HTTP_PORT=str(port)
        ) as exporter,
    ):
        url = f"http://127.0.0.1:{port}/metrics"

        def all_counted(s: dict[Any, float]) -> bool:
            return total(s, "collectpulse_events_received_total") >= len(Topic) * PER_TOPIC + 1

        samples = await wait_for(url, all_counted, timeout_s=120, processes=[worker, exporter])
        for topic in Topic:
            expected = PER_TOPIC + (1 if topic is Topic.OPEN else 0)
            assert (
                total(samples, "collectpulse_events_received_total", topic=topic.value) == expected
            )
        assert (
            total(samples, "collectpulse_events_invalid_total", topic="open", reason="not_json")
            == 1
        )
        assert total(samples, "collectpulse_events_invalid_total") == 1
        assert total(samples, "collectpulse_events_key_mismatch_total", topic="payment") == 1
        assert total(samples, "collectpulse_events_key_mismatch_total") == 1
        assert total(samples, "collectpulse_messages_sent_total") == PER_TOPIC
        assert worker.poll() is None, "the worker must keep running after a poison message"

    dead = await read_all(settings, settings.topic(DLQ_TOPIC), expect=1)
    _, value, headers = dead[0]
    assert value == b"{not json"
    assert headers["cp-source-topic"] == settings.topic("open").encode()
    assert headers["cp-error-reason"] == b"not_json"
    assert "cp-source-offset" in headers and "cp-source-partition" in headers
