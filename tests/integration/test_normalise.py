"""Raw provider payloads through a real worker: canonical topics, the DLQ, counts and dedupe.

The five providers' payloads (built from the adapter tests' samples, with this
run's ids and times) and four poison records go to ``raw.<provider>``; a real
``collectpulse worker`` normalises them. A second worker in a fresh consumer
group then reads every raw record again, as a redelivery would: it republishes
every canonical event, the store counts them all as duplicates, and the
skipped / dead-letter counts in Redis do not move.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from redis.asyncio import Redis

from collectpulse.events.decode import decode
from collectpulse.events.keys import partition_key
from collectpulse.events.models import BounceEvent, EventBase, OpenEvent, Topic
from collectpulse.events.providers import PROVIDERS, normalise
from collectpulse.settings import Settings
from collectpulse.stream.deadletter import DLQ_TOPIC
from collectpulse.stream.normalise import Count, ProviderCounts, raw_topic, received_at
from tests.support.kafka import create_topics, read_all
from tests.support.metrics import Samples, total, wait_for
from tests.support.processes import collectpulse_process, free_port
from tests.unit.providers.provider_samples import (
    as_bytes,
    mailgun_webhook,
    postmark_bounce,
    postmark_record,
    sendgrid_event,
    ses_bounce,
    ses_event,
    sns_wrap,
    twilio_form,
)

pytestmark = pytest.mark.integration

KAFKA_TIMEOUT_S = 15.0
PROCESSED_TIMEOUT_S = 120.0
BOT_CLIENT: Any = {"bot": "apple", "client-type": "browser"}
USER_UNKNOWN: Any = {"code": 550, "message": "5.1.1 user unknown"}
METADATA = {"cp_campaign": "dunning-30d", "cp_variant": "friendly", "cp_customer_id": "cust-7"}


@dataclass(frozen=True)
class Raw:
    provider: str
    key: bytes
    value: bytes
    poison: str | None = None
    """The DLQ reason this record must get; None for a readable payload."""


def raw_payloads(run: str, now: datetime) -> list[Raw]:
    """Realistic payloads of all five providers plus poison, ids unique to this run."""
    iso = now.isoformat().replace("+00:00", "Z")
    unix = int(now.timestamp())
    ses, ses_bounced = f"0102-{run}-ses-1", f"0102-{run}-ses-2"
    sg = f"{run}SgXMsgId"
    mg, mg_bounced = f"{run}.1@mg.collect.example", f"{run}.2@mg.collect.example"
    pm, pm_bounced = f"{run}-pm-1", f"{run}-pm-2"
    sms, sms_failed, sms_queued = f"SM{run}01", f"SM{run}02", f"SM{run}03"

    bounce = ses_bounce("Permanent", "General", timestamp=iso)
    bounce["mail"].update(messageId=ses_bounced, timestamp=iso)
    complaint_body = {
        "complainedRecipients": [{"emailAddress": "debtor@example.net"}],
        "timestamp": iso,
        "feedbackId": f"{run}-feedback",
        "complaintFeedbackType": "abuse",
    }
    delivery_body = {
        "timestamp": iso,
        "processingTimeMillis": 1200,
        "recipients": ["debtor@example.net"],
        "smtpResponse": "250 2.0.0 OK",
        "reportingMTA": "a1-2.smtp-out.eu-west-1.amazonses.com",
    }

    def sendgrid(event: str, **fields: Any) -> dict[str, Any]:
        return sendgrid_event(
            event, sg_message_id=f"{sg}.recvd-1-3.0", sg_event_id=f"{run}-{event}", **fields
        )

    def mailgun(event: str, message_id: str = mg, **fields: Any) -> bytes:
        headers = {"to": "debtor@example.net", "message-id": message_id, "subject": "Balance"}
        return as_bytes(
            mailgun_webhook(
                event,
                id=f"{run}-{event}",
                timestamp=now.timestamp(),
                message={"headers": headers, "attachments": [], "size": 2048},
                **fields,
            )
        )

    def postmark(record_type: str, **fields: Any) -> bytes:
        return as_bytes(postmark_record(record_type, MessageID=pm, **fields))

    def twilio(status: str, sid: str, **fields: str) -> bytes:
        return twilio_form(status, MessageSid=sid, SmsSid=sid, **fields)

    valid = {
        "ses": [
            as_bytes(sns_wrap(ses_event("Send", {}, messageId=ses, timestamp=iso))),
            as_bytes(ses_event("Delivery", delivery_body, messageId=ses, timestamp=iso)),
            as_bytes(sns_wrap(bounce)),
            as_bytes(ses_event("Complaint", complaint_body, messageId=ses, timestamp=iso)),
        ],
        "sendgrid": [
            as_bytes(
                [
                    sendgrid("processed", timestamp=unix),
                    sendgrid("delivered", timestamp=unix),
                    sendgrid("open", timestamp=unix, sg_machine_open=True),
                    sendgrid("click", timestamp=unix, url="https://pay.example/p/1"),
                    sendgrid("spamreport", timestamp=unix),
                    sendgrid("unsubscribe", timestamp=unix),
                ]
            )
        ],
        "mailgun": [
            mailgun("accepted"),
            mailgun("delivered"),
            mailgun("delivered"),  # Mailgun retried the webhook: same event id
            mailgun("opened", **{"client-info": BOT_CLIENT}),
            mailgun("complained"),
            mailgun(
                "failed",
                mg_bounced,
                severity="permanent",
                reason="bounce",
                **{"delivery-status": USER_UNKNOWN},
            ),
        ],
        "postmark": [
            postmark("Delivery", DeliveredAt=iso),
            postmark("Open", ReceivedAt=iso, FirstOpen=True),
            postmark("Click", ReceivedAt=iso, OriginalLink="https://pay.example/p/2"),
            postmark("SpamComplaint", BouncedAt=iso),
            as_bytes(postmark_bounce("SoftBounce", MessageID=pm_bounced, BouncedAt=iso, ID=7)),
        ],
        "twilio": [
            twilio("sent", sms, **METADATA),
            twilio("delivered", sms),
            twilio("delivered", sms),  # Twilio retried the callback; later, same event id
            twilio("undelivered", sms_failed, ErrorCode="30003"),
            twilio("queued", sms_queued),
        ],
    }
    poison = [
        Raw("sendgrid", b"sg-poison", b"{not json", "provider_error"),
        Raw("mailgun", b"mg-poison", mailgun("failed", severity="sometimes"), "provider_error"),
        Raw(
            "postmark",
            b"pm-poison",
            postmark("Delivery", DeliveredAt=iso, Details="x" * 70_000),
            "too_large",
        ),
        Raw("twilio", b"tw-poison", b"", "empty"),
    ]
    readable = [
        Raw(provider, f"{provider}-{i}".encode(), value)
        for provider, values in valid.items()
        for i, value in enumerate(values)
    ]
    return readable + poison


EXPECTED_PER_TOPIC = {Topic.DELIVERY: 11, Topic.BOUNCE: 4, Topic.OPEN: 3, Topic.CLICK: 2}
EXPECTED_CANONICAL = sum(EXPECTED_PER_TOPIC.values())
EXPECTED_DUPLICATES = 2  # the retried Mailgun webhook and Twilio callback
EXPECTED_SKIPPED = {
    "ses": {"complaint": 1},
    "sendgrid": {"complaint": 1, "unsubscribe": 1},
    "mailgun": {"complaint": 1},
    "postmark": {"complaint": 1},
    "twilio": {"in_progress": 1},
}
EXPECTED_DEAD = {
    "ses": {},
    "sendgrid": {"provider_error": 1},
    "mailgun": {"provider_error": 1},
    "postmark": {"too_large": 1},
    "twilio": {"empty": 1},
}


@dataclass(frozen=True)
class Published:
    raw: Raw
    topic: str
    partition: int
    offset: int
    timestamp_ms: int


async def produce(settings: Settings, raws: Sequence[Raw], timestamp_ms: int) -> list[Published]:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    await asyncio.wait_for(producer.start(), KAFKA_TIMEOUT_S)
    try:
        out = []
        for raw in raws:
            topic = raw_topic(settings, raw.provider)
            sent = await producer.send(topic, raw.value, key=raw.key, timestamp_ms=timestamp_ms)
            meta = await asyncio.wait_for(sent, KAFKA_TIMEOUT_S)
            out.append(Published(raw, topic, meta.partition, meta.offset, timestamp_ms))
        return out
    finally:
        await producer.stop()


async def end_offsets(settings: Settings, topics: Iterable[str]) -> dict[TopicPartition, int]:
    tps = [TopicPartition(t, p) for t in topics for p in range(settings.topic_partitions)]
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers)
    await asyncio.wait_for(consumer.start(), KAFKA_TIMEOUT_S)
    try:
        ends: dict[TopicPartition, int] = await consumer.end_offsets(tps)
        return ends
    finally:
        await consumer.stop()


async def wait_committed(settings: Settings, group: str, topics: Sequence[str]) -> None:
    """Until ``group`` has committed the end of every partition of ``topics`` (fails on timeout)."""
    ends = {tp: end for tp, end in (await end_offsets(settings, topics)).items() if end}
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await asyncio.wait_for(admin.start(), KAFKA_TIMEOUT_S)
    committed: dict[TopicPartition, int] = {}
    try:
        async with asyncio.timeout(PROCESSED_TIMEOUT_S):
            while any(committed.get(tp, -1) < end for tp, end in ends.items()):
                await asyncio.sleep(0.5)
                try:
                    offsets = await admin.list_consumer_group_offsets(group)
                except KafkaError as exc:
                    # A fresh broker has no group coordinator until __consumer_offsets exists.
                    if not exc.retriable:
                        raise
                    continue
                committed = {tp: meta.offset for tp, meta in offsets.items()}
    except TimeoutError:
        pytest.fail(f"{group} committed {committed}, not the raw topics' ends {ends}")
    finally:
        await admin.close()


def expected_events(published: Sequence[Published]) -> Counter[tuple[str, bytes, EventBase]]:
    expected: Counter[tuple[str, bytes, EventBase]] = Counter()
    for p in published:
        if p.raw.poison is None:
            result = normalise(p.raw.provider, p.raw.value, received_at=received_at(p.timestamp_ms))
            expected.update((e.topic.value, partition_key(e), e) for e in result.events)
    return expected


async def canonical_contents(
    settings: Settings, expect: int
) -> tuple[Counter[tuple[str, bytes, EventBase]], list[EventBase]]:
    """Every canonical record as (topic, key, decoded event); checks the topics hold ``expect``."""
    ends = await end_offsets(settings, [settings.topic(t.value) for t in Topic])
    assert sum(ends.values()) == expect
    contents: Counter[tuple[str, bytes, EventBase]] = Counter()
    events = []
    for topic in Topic:
        name = settings.topic(topic.value)
        count = sum(end for tp, end in ends.items() if tp.topic == name)
        for key, value, headers in await read_all(settings, name, expect=count):
            event = decode(topic, value, max_bytes=settings.max_event_bytes)
            assert isinstance(event, EventBase), f"{topic}: {event}"
            assert key is not None and headers == {}
            contents[(topic.value, key, event)] += 1
            events.append(event)
    return contents, events


async def provider_counts(redis: Redis, settings: Settings) -> tuple[dict[str, Any], ...]:
    counts = ProviderCounts(redis, settings.key_prefix)
    skipped = {p: await counts.read(p, "skipped") for p in PROVIDERS}
    dead = {p: await counts.read(p, "dead_lettered") for p in PROVIDERS}
    return skipped, dead


async def test_raw_payloads_become_canonical_events_poison_is_dead_lettered_and_replays_dedupe(
    settings: Settings, redis_client: Redis, tmp_path: Path
) -> None:
    raw_topics = [raw_topic(settings, p) for p in PROVIDERS]
    await create_topics(settings, extra=raw_topics)
    now = datetime.now(UTC) - timedelta(minutes=1)
    published = await produce(
        settings, raw_payloads(uuid.uuid4().hex[:8], now), int(datetime.now(UTC).timestamp() * 1000)
    )
    expected = expected_events(published)
    assert sum(expected.values()) == EXPECTED_CANONICAL
    poison = [p for p in published if p.raw.poison is not None]
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"

    def counted(received: int, duplicates: int) -> Any:
        def done(s: Samples) -> bool:
            return (
                total(s, "collectpulse_events_received_total") >= received
                and total(s, "collectpulse_events_duplicate_total") >= duplicates
            )

        return done

    with collectpulse_process(
        settings, "exporter", log=tmp_path / "exporter.log", COLLECTPULSE_HTTP_PORT=str(port)
    ) as exporter:
        with collectpulse_process(settings, "worker", "-l", "warn", log=tmp_path / "w1.log") as w:
            await wait_committed(settings, settings.consumer_group, raw_topics)
            samples = await wait_for(
                url, counted(EXPECTED_CANONICAL, EXPECTED_DUPLICATES), processes=[w, exporter]
            )
            assert total(samples, "collectpulse_events_received_total") == EXPECTED_CANONICAL
            assert total(samples, "collectpulse_events_duplicate_total") == EXPECTED_DUPLICATES
            assert total(samples, "collectpulse_events_invalid_total") == 0
            assert w.poll() is None, "the worker must keep running after poison records"

        contents, events = await canonical_contents(settings, EXPECTED_CANONICAL)
        assert contents == expected
        assert Counter(e.topic for e in events) == EXPECTED_PER_TOPIC
        assert Counter(getattr(e, "status", None) for e in events if e.topic is Topic.DELIVERY) == {
            "sent": 4,
            "delivered": 7,
        }
        bounces = Counter(e.bounce_type for e in events if isinstance(e, BounceEvent))
        assert bounces == {"hard": 2, "soft": 2}
        opens = sorted(e.machine for e in events if isinstance(e, OpenEvent))
        assert opens == [False, True, True]

        dead = await read_all(settings, settings.topic(DLQ_TOPIC), expect=len(poison))
        assert len(dead) == len(poison)
        by_key = {key: (value, headers) for key, value, headers in dead}
        for p in poison:
            value, headers = by_key[p.raw.key]
            assert value == p.raw.value
            assert headers["cp-source-topic"] == p.topic.encode()
            assert headers["cp-source-partition"] == str(p.partition).encode()
            assert headers["cp-source-offset"] == str(p.offset).encode()
            assert headers["cp-error-reason"] == str(p.raw.poison).encode()
            assert headers["cp-error-class"] and headers["cp-error"]
            assert "cp-item-index" not in headers, "a whole record has no item index"
            assert b"debtor@example.net" not in headers["cp-error"]

        assert await provider_counts(redis_client, settings) == (EXPECTED_SKIPPED, EXPECTED_DEAD)

        # A fresh consumer group reads every raw record again, as a redelivery would.
        replay = settings.model_copy(update={"consumer_group": f"{settings.consumer_group}-2"})
        with collectpulse_process(replay, "worker", "-l", "warn", log=tmp_path / "w2.log") as w2:
            await wait_committed(replay, replay.consumer_group, raw_topics)
            samples = await wait_for(
                url,
                counted(2 * EXPECTED_CANONICAL, EXPECTED_CANONICAL + EXPECTED_DUPLICATES),
                processes=[w2, exporter],
            )
            assert total(samples, "collectpulse_events_received_total") == 2 * EXPECTED_CANONICAL
            assert (
                total(samples, "collectpulse_events_duplicate_total")
                == EXPECTED_CANONICAL + EXPECTED_DUPLICATES
            ), "every republished event is a duplicate"
            assert w2.poll() is None

    republished, _ = await canonical_contents(settings, 2 * EXPECTED_CANONICAL)
    assert republished == expected + expected
    redead = await read_all(settings, settings.topic(DLQ_TOPIC), expect=2 * len(poison))
    assert len(redead) == 2 * len(poison)
    assert await provider_counts(redis_client, settings) == (EXPECTED_SKIPPED, EXPECTED_DEAD), (
        "a replayed raw record must not be counted again"
    )


async def test_provider_counts_add_each_raw_record_once_per_partition(
    settings: Settings, redis_client: Redis
) -> None:
    counts = ProviderCounts(redis_client, settings.key_prefix)
    first = [Count(10, "skipped", "complaint"), Count(12, "dead_lettered", "empty")]
    overlapping = [
        Count(12, "dead_lettered", "empty"),
        Count(13, "skipped", "complaint"),
        Count(14, "skipped", "unsubscribe"),
    ]

    await counts.add("ses", 0, first)
    await counts.add("ses", 0, first)
    await counts.add("ses", 0, overlapping)
    await counts.add("ses", 0, first)  # a stale batch does not move the offset back
    await counts.add("ses", 0, [Count(13, "skipped", "complaint")])
    await counts.add("ses", 1, first)  # another partition has its own offsets
    await counts.add("ses", 1, [])

    assert await counts.read("ses", "skipped") == {"complaint": 3, "unsubscribe": 1}
    assert await counts.read("ses", "dead_lettered") == {"empty": 2}
    assert await counts.read("sendgrid", "skipped") == {}
    assert await redis_client.get(counts.offset_key("ses", 0)) == b"14"


BATCH_BAD_INDEX = 7


def sendgrid_batch_with_one_bad_event(run: str, now: datetime) -> tuple[bytes, dict[str, Any]]:
    """12 valid events (three messages: processed, delivered, open, click) and, at
    BATCH_BAD_INDEX, a delivery without its ``sg_message_id``."""
    unix = int(now.timestamp())
    valid = [
        sendgrid_event(
            event,
            sg_message_id=f"{run}Msg{m}.recvd-1-3.0",
            sg_event_id=f"{run}-{m}-{event}",
            timestamp=unix,
            **({"url": f"https://pay.example/p/{m}"} if event == "click" else {}),
        )
        for m in range(3)
        for event in ("processed", "delivered", "open", "click")
    ]
    bad = sendgrid_event("delivered", sg_event_id=f"{run}-bad", timestamp=unix)
    del bad["sg_message_id"]
    return as_bytes([*valid[:BATCH_BAD_INDEX], bad, *valid[BATCH_BAD_INDEX:]]), bad


async def test_a_bad_event_in_a_sendgrid_batch_is_dead_lettered_alone_and_the_rest_applied(
    settings: Settings, redis_client: Redis, tmp_path: Path
) -> None:
    """Before: one event without a message id sent the whole batch (12 valid events) to the DLQ."""
    raw_topics = [raw_topic(settings, p) for p in PROVIDERS]
    await create_topics(settings, extra=raw_topics)
    payload, bad = sendgrid_batch_with_one_bad_event(
        uuid.uuid4().hex[:8], datetime.now(UTC) - timedelta(minutes=1)
    )
    [sent] = await produce(
        settings, [Raw("sendgrid", b"sg-batch", payload)], int(datetime.now(UTC).timestamp() * 1000)
    )
    expected = expected_events([sent])
    assert sum(expected.values()) == 12
    dlq = settings.topic(DLQ_TOPIC)
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"

    def received(n: int) -> Any:
        return lambda s: total(s, "collectpulse_events_received_total") >= n

    with collectpulse_process(
        settings, "exporter", log=tmp_path / "exporter.log", COLLECTPULSE_HTTP_PORT=str(port)
    ) as exporter:
        with collectpulse_process(settings, "worker", "-l", "warn", log=tmp_path / "w1.log") as w:
            await wait_committed(settings, settings.consumer_group, raw_topics)
            samples = await wait_for(url, received(12), processes=[w, exporter])
            assert total(samples, "collectpulse_events_received_total") == 12
            assert total(samples, "collectpulse_events_duplicate_total") == 0
            assert total(samples, "collectpulse_events_invalid_total") == 0

        contents, _ = await canonical_contents(settings, 12)
        assert contents == expected, "the 12 valid events of the batch are applied"
        assert sum((await end_offsets(settings, [dlq])).values()) == 1
        [(key, value, headers)] = await read_all(settings, dlq, expect=1)
        assert key == b"sg-batch"
        assert value is not None and orjson.loads(value) == [bad], "the bad event alone"
        assert headers == {
            "cp-source-topic": sent.topic.encode(),
            "cp-source-partition": str(sent.partition).encode(),
            "cp-source-offset": str(sent.offset).encode(),
            "cp-error-reason": b"provider_error",
            "cp-error-class": b"ProviderError",
            "cp-error": f"sendgrid: missing field '[{BATCH_BAD_INDEX}].sg_message_id'".encode(),
            "cp-item-index": str(BATCH_BAD_INDEX).encode(),
        }
        dead = {p: ({"provider_error": 1} if p == "sendgrid" else {}) for p in PROVIDERS}
        assert (await provider_counts(redis_client, settings))[1] == dead

        # A redelivery of the raw batch (fresh consumer group) changes no count.
        replay = settings.model_copy(update={"consumer_group": f"{settings.consumer_group}-2"})
        with collectpulse_process(replay, "worker", "-l", "warn", log=tmp_path / "w2.log") as w2:
            await wait_committed(replay, replay.consumer_group, raw_topics)
            samples = await wait_for(url, received(24), processes=[w2, exporter])
            assert total(samples, "collectpulse_events_received_total") == 24
            assert total(samples, "collectpulse_events_duplicate_total") == 12

    assert sum((await end_offsets(settings, [dlq])).values()) == 2, "republished with the batch"
    assert (await provider_counts(redis_client, settings))[1] == dead
