"""Normaliser agents without a broker: raw batches in; canonical records, dead letters out."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from tests.unit.providers.provider_samples import (
    SENDGRID_X_MESSAGE_ID,
    TWILIO_SID,
    as_bytes,
    mailgun_webhook,
    sendgrid_event,
    twilio_form,
)

from collectpulse.events.decode import decode
from collectpulse.events.keys import partition_key
from collectpulse.events.models import DeliveryEvent, Topic
from collectpulse.events.providers import normalise
from collectpulse.stream import normalise as normalise_module
from collectpulse.stream.batch import RawRecord, RecordBatch
from collectpulse.stream.normalise import (
    PROVIDER_ERROR,
    Count,
    DeadLetter,
    Outgoing,
    counts_after,
    make_normaliser,
    normalise_batch,
    received_at,
)
from collectpulse.stream.retry import DependencyState

RECORD_TIME = datetime(2025, 3, 1, 9, 30, 7, 250_000, tzinfo=UTC)
RECORD_MS = int(RECORD_TIME.timestamp() * 1000)
MAX_BYTES = 4096


def batch_of(*values: bytes | None, topic: str = "t.raw.x", first: int = 10) -> RecordBatch:
    records = [
        RawRecord(first + i, f"k{i}".encode(), value, (), RECORD_MS)
        for i, value in enumerate(values)
    ]
    return RecordBatch(topic, 3, records[0].offset, records[-1].offset, records)


def test_each_event_is_published_to_its_canonical_topic_keyed_by_message_id_as_json() -> None:
    payload = as_bytes(
        [
            sendgrid_event("processed"),
            sendgrid_event("delivered"),
            sendgrid_event("open", sg_machine_open=True),
            sendgrid_event("spamreport"),
        ]
    )

    out = normalise_batch("sendgrid", batch_of(payload), max_bytes=MAX_BYTES)

    expected = normalise("sendgrid", payload).events
    assert [o.topic for o in out.outgoing] == [Topic.DELIVERY, Topic.DELIVERY, Topic.OPEN]
    assert {o.key for o in out.outgoing} == {SENDGRID_X_MESSAGE_ID.encode()}
    assert [decode(o.topic, o.value, max_bytes=MAX_BYTES) for o in out.outgoing] == expected
    assert out.dead == []
    assert out.counts == [Count(10, "skipped", "complaint")]


def test_published_value_leaves_unset_optionals_out() -> None:
    payload = as_bytes([sendgrid_event("delivered")])

    [outgoing] = normalise_batch("sendgrid", batch_of(payload), max_bytes=MAX_BYTES).outgoing

    assert b"null" not in outgoing.value
    assert outgoing == Outgoing(
        Topic.DELIVERY,
        partition_key(normalise("sendgrid", payload).events[0]),
        outgoing.value,
    )


def test_twilio_callback_takes_its_event_time_from_the_raw_record_timestamp() -> None:
    out = normalise_batch("twilio", batch_of(twilio_form("delivered")), max_bytes=MAX_BYTES)

    [outgoing] = out.outgoing
    event = decode(Topic.DELIVERY, outgoing.value, max_bytes=MAX_BYTES)
    assert isinstance(event, DeliveryEvent)
    assert event.occurred_at == RECORD_TIME
    assert outgoing.key == TWILIO_SID.encode()


def test_twilio_record_without_a_timestamp_is_dead_lettered() -> None:
    record = RawRecord(5, None, twilio_form("delivered"), (), -1)
    batch = RecordBatch("t.raw.twilio", 0, 5, 5, [record])

    out = normalise_batch("twilio", batch, max_bytes=MAX_BYTES)

    [dead] = out.dead
    invalid = dead.invalid
    assert dead == DeadLetter(record, invalid, record.value, None)
    assert (invalid.reason, invalid.error_class) == (PROVIDER_ERROR, "ProviderError")
    assert "received_at" in invalid.detail


@pytest.mark.parametrize("value", [b"", None])
def test_record_without_a_value_is_dead_lettered_as_empty(value: bytes | None) -> None:
    out = normalise_batch("ses", batch_of(value), max_bytes=MAX_BYTES)

    [(_, invalid, _, _)] = out.dead
    assert invalid.reason == "empty"
    assert out.counts == [Count(10, "dead_lettered", "empty")]


def test_record_over_the_size_limit_is_dead_lettered_before_the_adapter_reads_it() -> None:
    oversized = as_bytes([sendgrid_event("delivered", padding="x" * MAX_BYTES)])

    out = normalise_batch("sendgrid", batch_of(oversized), max_bytes=MAX_BYTES)

    [(_, invalid, _, _)] = out.dead
    assert (invalid.reason, invalid.error_class) == ("too_large", "too_large")
    assert str(MAX_BYTES) in invalid.detail
    assert out.outgoing == []


def test_unreadable_payload_is_dead_lettered_as_provider_error_without_its_values() -> None:
    no_message_id = sendgrid_event("delivered")
    del no_message_id["sg_message_id"]

    out = normalise_batch("sendgrid", batch_of(as_bytes([no_message_id])), max_bytes=MAX_BYTES)

    [(_, invalid, _, _)] = out.dead
    assert (invalid.reason, invalid.error_class) == ("provider_error", "ProviderError")
    assert invalid.detail.startswith("sendgrid: ") and "sg_message_id" in invalid.detail
    assert "debtor@example.net" not in invalid.detail
    assert out.counts == [Count(10, "dead_lettered", "provider_error")]


def test_bad_record_leaves_the_rest_of_its_batch_intact() -> None:
    good = as_bytes(mailgun_webhook("delivered"))
    rejected = as_bytes(mailgun_webhook("failed", severity="sometimes"))
    skipped = as_bytes(mailgun_webhook("complained"))

    out = normalise_batch(
        "mailgun", batch_of(good, b"{not json", rejected, skipped, good), max_bytes=MAX_BYTES
    )

    assert len(out.outgoing) == 2
    assert [(dead.record.offset, dead.item_index) for dead in out.dead] == [(11, None), (12, None)]
    assert out.counts == [
        Count(11, "dead_lettered", "provider_error"),
        Count(12, "dead_lettered", "provider_error"),
        Count(13, "skipped", "complaint"),
    ]


def test_bad_event_in_a_batch_payload_is_dead_lettered_alone_and_the_others_published() -> None:
    no_message_id = sendgrid_event("delivered", sg_event_id="bad")
    del no_message_id["sg_message_id"]
    payload = as_bytes(
        [
            sendgrid_event("processed"),
            no_message_id,
            sendgrid_event("open"),
            sendgrid_event("spamreport"),
        ]
    )

    out = normalise_batch("sendgrid", batch_of(b"{", payload), max_bytes=MAX_BYTES)

    assert [o.topic for o in out.outgoing] == [Topic.DELIVERY, Topic.OPEN]
    whole, item = out.dead
    assert (whole.record.offset, whole.value, whole.item_index) == (10, b"{", None)
    assert (item.record.offset, item.item_index) == (11, 1)
    assert item.value is not None and json.loads(item.value) == [no_message_id]
    assert (item.invalid.reason, item.invalid.error_class) == (PROVIDER_ERROR, "ProviderError")
    assert item.invalid.detail == "sendgrid: missing field '[1].sg_message_id'"
    assert sorted(out.counts) == [
        Count(10, "dead_lettered", "provider_error"),
        Count(11, "dead_lettered", "provider_error"),
        Count(11, "skipped", "complaint"),
    ]


def test_adapter_bug_is_dead_lettered_instead_of_stopping_the_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(provider: str, payload: bytes, *, received_at: datetime | None) -> Any:
        raise KeyError("debtor@example.net")

    monkeypatch.setattr(normalise_module, "normalise", broken)

    out = normalise_batch("ses", batch_of(b"{}"), max_bytes=MAX_BYTES)

    [(_, invalid, _, _)] = out.dead
    assert (invalid.reason, invalid.error_class) == ("provider_error", "KeyError")
    assert "debtor" not in invalid.detail


def test_received_at_is_the_record_timestamp_in_utc_and_none_without_one() -> None:
    assert received_at(RECORD_MS) == RECORD_TIME
    assert received_at(-1) is None


def test_counts_after_sums_only_records_past_the_counted_offset() -> None:
    counts = [
        Count(4, "skipped", "complaint"),
        Count(5, "skipped", "complaint"),
        Count(5, "skipped", "unsubscribe"),
        Count(6, "dead_lettered", "empty"),
        Count(7, "skipped", "complaint"),
    ]

    assert counts_after(counts, None) == {
        ("skipped", "complaint"): 3,
        ("skipped", "unsubscribe"): 1,
        ("dead_lettered", "empty"): 1,
    }
    assert counts_after(counts, 5) == {("dead_lettered", "empty"): 1, ("skipped", "complaint"): 1}
    assert counts_after(counts, 7) == {}


class FakeBroker:
    """Records sends; each send's acknowledgement completes only when ``ack_all`` is called."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes | None, Any]] = []
        self.acks: list[asyncio.Future[None]] = []

    async def send(
        self, topic: str, key: bytes | None, value: bytes | None, headers: Any
    ) -> asyncio.Future[None]:
        self.sent.append((topic, key, value, headers))
        ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.acks.append(ack)
        return ack

    def ack_all(self) -> None:
        for ack in self.acks:
            if not ack.done():
                ack.set_result(None)


async def stream_of(*batches: RecordBatch) -> AsyncIterator[RecordBatch]:
    for batch in batches:
        yield batch


TOPICS = {topic: f"t.{topic.value}" for topic in Topic}


async def test_batch_is_counted_only_after_the_broker_acknowledged_every_publish() -> None:
    broker = FakeBroker()
    counted: list[tuple[str, int, Sequence[Count], bool]] = []

    async def add_counts(provider: str, partition: int, counts: Sequence[Count]) -> None:
        counted.append((provider, partition, counts, all(a.done() for a in broker.acks)))

    agent = make_normaliser(
        "sendgrid", broker.send, add_counts, topics=TOPICS, dlq="t.dlq", max_bytes=MAX_BYTES
    )
    payload = as_bytes([sendgrid_event("delivered"), sendgrid_event("unsubscribe")])
    task = asyncio.ensure_future(
        agent(stream_of(batch_of(payload, b"nope", topic="t.raw.sendgrid")))
    )
    await asyncio.sleep(0.05)

    assert counted == [], "counted before the broker acknowledged the publishes"
    broker.ack_all()
    await asyncio.wait_for(task, timeout=5)

    assert counted == [
        (
            "sendgrid",
            3,
            [Count(10, "skipped", "unsubscribe"), Count(11, "dead_lettered", "provider_error")],
            True,
        )
    ]
    (topic, key, _, headers), (dlq, dlq_key, dlq_value, dlq_headers) = broker.sent
    assert (topic, key) == ("t.delivery", SENDGRID_X_MESSAGE_ID.encode())
    assert headers is None
    assert (dlq, dlq_key, dlq_value) == ("t.dlq", b"k1", b"nope")
    assert dict(dlq_headers) == {
        "cp-source-topic": b"t.raw.sendgrid",
        "cp-source-partition": b"3",
        "cp-source-offset": b"11",
        "cp-error-reason": b"provider_error",
        "cp-error-class": b"ProviderError",
        "cp-error": dict(dlq_headers)["cp-error"],
    }
    assert dict(dlq_headers)["cp-error"].startswith(b"sendgrid: payload is not valid JSON")


async def test_a_bad_batch_item_goes_to_the_dlq_alone_with_its_index_header() -> None:
    broker = FakeBroker()
    counted: list[Sequence[Count]] = []

    async def add_counts(provider: str, partition: int, counts: Sequence[Count]) -> None:
        counted.append(counts)

    agent = make_normaliser(
        "sendgrid", broker.send, add_counts, topics=TOPICS, dlq="t.dlq", max_bytes=MAX_BYTES
    )
    bad = sendgrid_event("open")
    del bad["sg_message_id"]
    payload = as_bytes([sendgrid_event("delivered"), sendgrid_event("click"), bad])
    task = asyncio.ensure_future(agent(stream_of(batch_of(payload, topic="t.raw.sendgrid"))))
    await asyncio.sleep(0)
    broker.ack_all()
    await asyncio.wait_for(task, timeout=5)

    topics = [topic for topic, _, _, _ in broker.sent]
    assert topics == ["t.delivery", "t.click", "t.dlq"]
    _, dlq_key, dlq_value, headers = broker.sent[2]
    assert dlq_key == b"k0"
    assert json.loads(dlq_value) == [bad]
    assert dict(headers) == {
        "cp-source-topic": b"t.raw.sendgrid",
        "cp-source-partition": b"3",
        "cp-source-offset": b"10",
        "cp-error-reason": b"provider_error",
        "cp-error-class": b"ProviderError",
        "cp-error": b"sendgrid: missing field '[2].sg_message_id'",
        "cp-item-index": b"2",
    }
    assert counted == [[Count(10, "dead_lettered", "provider_error")]]


async def test_a_redis_outage_while_counting_is_waited_out_not_skipped() -> None:
    """Before: the ConnectionError ended the agent's iteration and Faust acknowledged the
    batch, so its tallies were lost. Now the count is retried until Redis answers."""
    broker = FakeBroker()
    counted: list[Sequence[Count]] = []
    failures = [RedisConnectionError("down"), RedisConnectionError("down")]

    async def add_counts(provider: str, partition: int, counts: Sequence[Count]) -> None:
        if failures:
            raise failures.pop()
        counted.append(counts)

    state = DependencyState()
    agent = make_normaliser(
        "sendgrid",
        broker.send,
        add_counts,
        topics=TOPICS,
        dlq="t.dlq",
        max_bytes=MAX_BYTES,
        state=state,
    )
    payload = as_bytes([sendgrid_event("unsubscribe")])
    task = asyncio.ensure_future(agent(stream_of(batch_of(payload, topic="t.raw.sendgrid"))))
    await asyncio.sleep(0)
    broker.ack_all()
    await asyncio.wait_for(task, timeout=10)

    assert counted == [[Count(10, "skipped", "unsubscribe")]]
    assert state.healthy
