"""Normaliser agents: raw provider payloads on ``raw.<provider>`` become canonical events.

One batched agent per provider (``PROVIDERS``) runs the pure adapter
(``events.providers.normalise``) on every raw record and publishes each
canonical event to its canonical topic, keyed by ``partition_key(event)``,
valued by the event's JSON. Twilio callbacks carry no event time: the raw
record's Kafka timestamp is passed as ``received_at``.

Delivery: a raw batch is acknowledged only after the broker has acknowledged
(``acks=all``) every record published for it, so nothing valid is lost. A
redelivered batch (crash, kill -9, rebalance, a consumer-group reset) is
normalised and published again. That is harmless: canonical event ids are
deterministic (the provider's own id, or one derived from provider, message
id, event type, recipient and time), so the store counts the republished
events as ``collectpulse_events_duplicate_total``, not twice.

Bad records never stop the worker: an empty or too large value (over
``max_event_bytes``), or one the adapter rejects (``ProviderError``), goes
unchanged to the ``dlq`` topic with the same headers as canonical dead letters
(``cp-error-reason`` is ``empty``, ``too_large`` or ``provider_error``). In a
batch payload (SendGrid) one unreadable event is dead-lettered alone, as a
one-event batch with a ``cp-item-index`` header, and the batch's other events
are published as usual. The DLQ records are published with the canonical ones,
before the raw batch is acknowledged, so a redelivery repeats them too.

Skipped provider events (complaints, unsubscribes, ...) and dead letters are
counted per provider in Redis, written after the batch's publishes,
in one transaction with the partition's last counted raw offset, so that a
redelivered batch is not counted twice::

    <prefix>:{raw.<provider>}:skipped          hash  skip kind -> count
    <prefix>:{raw.<provider>}:dead_lettered    hash  DLQ reason -> count
    <prefix>:{raw.<provider>}:off:<partition>  last raw offset counted

All of a provider's keys share one hash tag, so the transaction stays in one
Redis Cluster slot. Counts are per raw record: a provider retrying a webhook
that holds a complaint counts that complaint again (skipped events have no id).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, Final, Literal, NamedTuple

import faust
from redis.exceptions import WatchError

from collectpulse.dependencies import Dependencies
from collectpulse.events.decode import MAX_DETAIL_CHARS, Invalid, Reason
from collectpulse.events.keys import partition_key
from collectpulse.events.models import EventBase, Topic
from collectpulse.events.providers import PROVIDERS, NormaliseResult, ProviderError, normalise
from collectpulse.settings import Settings
from collectpulse.store.client import StoreClient
from collectpulse.store.keys import Keys
from collectpulse.store.replies import text as _text
from collectpulse.stream import transport
from collectpulse.stream.batch import KafkaRecord, RecordBatch
from collectpulse.stream.deadletter import DLQ_TOPIC, dlq_headers
from collectpulse.stream.failfast import exit_on_batch_failure
from collectpulse.stream.retry import DependencyState, until_done

log = logging.getLogger(__name__)

RAW_TOPIC_PREFIX: Final = "raw."
# Not (yet) one of decode.Reason's values: a raw payload has no canonical model to fail.
PROVIDER_ERROR: Final[Reason] = "provider_error"
MAX_COUNT_ATTEMPTS: Final = 20

Headers = Sequence[tuple[str, bytes]]
Send = Callable[[str, bytes | None, bytes | None, Headers | None], Awaitable[Awaitable[Any]]]
"""(topic, key, value, headers) -> awaitable giving a future that completes once the broker has
the record."""
Tally = Literal["skipped", "dead_lettered"]


class Outgoing(NamedTuple):
    """One canonical record to publish: topic (without prefix), key, JSON value."""

    topic: Topic
    key: bytes
    value: bytes


class DeadLetter(NamedTuple):
    """One DLQ record: a whole raw record, or one bad event of a batch payload."""

    record: KafkaRecord
    invalid: Invalid
    value: bytes | None
    """The DLQ record's value: the raw value, or the bad event alone (``item_index`` set)."""
    item_index: int | None = None

    @classmethod
    def whole(cls, record: KafkaRecord, invalid: Invalid) -> DeadLetter:
        return cls(record, invalid, record.value)


class Count(NamedTuple):
    """One raw record's contribution to a per-provider counter."""

    offset: int
    tally: Tally
    field: str


@dataclass(frozen=True, slots=True)
class NormalisedBatch:
    """What one raw batch yields: records to publish, records to dead-letter, counts."""

    outgoing: list[Outgoing] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    counts: list[Count] = field(default_factory=list)


def raw_topic(settings: Settings, provider: str) -> str:
    return settings.topic(RAW_TOPIC_PREFIX + provider)


def received_at(timestamp_ms: int) -> datetime | None:
    """The raw record's Kafka timestamp as an aware datetime; None when the record has none."""
    if timestamp_ms < 0:
        return None
    return datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)


def to_outgoing(event: EventBase) -> Outgoing:
    """The record ``event`` is published as; unset optionals (all default to None) left out."""
    value = event.model_dump_json(exclude_none=True).encode()
    return Outgoing(event.topic, partition_key(event), value)


def normalise_record(
    provider: str, record: KafkaRecord, *, max_bytes: int
) -> NormaliseResult | Invalid:
    """Normalise one raw record, or say why it goes to the DLQ; never raises."""
    value = record.value
    if not value:
        return Invalid("empty", "empty", "record has no value")
    if len(value) > max_bytes:
        return Invalid("too_large", "too_large", f"value is {len(value)} bytes; limit {max_bytes}")
    try:
        return normalise(provider, value, received_at=received_at(record.timestamp))
    except ProviderError as exc:
        # ProviderError texts name fields, never values (see its docstring).
        return Invalid(PROVIDER_ERROR, type(exc).__name__, _clip(str(exc)))
    except Exception as exc:
        # An adapter bug must not stop the worker: dead-letter the record (counted), and
        # leave str(exc) out, since it could quote the payload.
        log.exception("%s adapter failed at offset %d", provider, record.offset)
        return Invalid(PROVIDER_ERROR, type(exc).__name__, "unexpected error while normalising")


def normalise_batch(provider: str, batch: RecordBatch, *, max_bytes: int) -> NormalisedBatch:
    """Normalise every record of one raw partition batch, in offset order.

    A bad record is dead-lettered whole; a bad event inside a readable batch payload
    is dead-lettered alone, and the payload's other events are published.
    """
    out = NormalisedBatch()
    for record in batch.records:
        result = normalise_record(provider, record, max_bytes=max_bytes)
        if isinstance(result, Invalid):
            out.dead.append(DeadLetter.whole(record, result))
            out.counts.append(Count(record.offset, "dead_lettered", result.reason))
            continue
        out.outgoing.extend(to_outgoing(event) for event in result.events)
        out.counts.extend(Count(record.offset, "skipped", s.kind) for s in result.skipped)
        for failure in result.failed:
            invalid = Invalid(PROVIDER_ERROR, ProviderError.__name__, _clip(failure.error))
            out.dead.append(DeadLetter(record, invalid, failure.payload, failure.index))
            out.counts.append(Count(record.offset, "dead_lettered", PROVIDER_ERROR))
    return out


def counts_after(counts: Sequence[Count], offset: int | None) -> Counter[tuple[Tally, str]]:
    """Sum the counts of records past ``offset`` (the last raw offset already counted)."""
    return Counter((c.tally, c.field) for c in counts if offset is None or c.offset > offset)


class ProviderCounts:
    """Per-provider counters of skipped and dead-lettered raw records, exact under redelivery."""

    def __init__(self, client: StoreClient, key_prefix: str) -> None:
        self._redis = client
        self._keys = Keys(key_prefix)

    def key(self, provider: str, tally: Tally) -> str:
        return self._keys.provider_tally(provider, tally)

    def offset_key(self, provider: str, partition: int) -> str:
        return self._keys.provider_offset(provider, partition)

    async def add(self, provider: str, partition: int, counts: Sequence[Count]) -> None:
        """Add ``counts`` of one raw partition, skipping records at or before its counted offset.

        WATCH makes a concurrent writer of the same partition (an old owner during a
        rebalance) retry against the offset the other one wrote.
        """
        if not counts:
            return
        guard = self.offset_key(provider, partition)
        last = max(c.offset for c in counts)
        async with self._redis.pipeline(transaction=True) as pipe:
            for _ in range(MAX_COUNT_ATTEMPTS):
                try:
                    await pipe.watch(guard)
                    raw = await pipe.get(guard)
                    counted = None if raw is None else int(raw)
                    new = counts_after(counts, counted)
                    if not new:
                        return  # leaving the pipeline's context unwatches
                    pipe.multi()  # type: ignore[no-untyped-call]
                    for (tally, name), n in sorted(new.items()):
                        pipe.hincrby(self.key(provider, tally), name, n)
                    pipe.set(guard, last if counted is None else max(last, counted))
                    await pipe.execute()
                    return
                except WatchError:
                    continue
        raise RuntimeError(f"{guard}: gave up after {MAX_COUNT_ATTEMPTS} write conflicts")

    async def read(self, provider: str, tally: Tally) -> dict[str, int]:
        """One provider's counter: kind (or DLQ reason) -> count."""
        raw = await self._redis.hgetall(self.key(provider, tally))
        return {_text(k): int(v) for k, v in raw.items()}


async def publish(
    batch: RecordBatch,
    normalised: NormalisedBatch,
    send: Send,
    *,
    topics: Mapping[Topic, str],
    dlq: str,
) -> None:
    """Publish a batch's canonical events and dead letters; return once the broker has all."""
    pending = [await send(topics[o.topic], o.key, o.value, None) for o in normalised.outgoing]
    for dead in normalised.dead:
        item = "" if dead.item_index is None else f" item {dead.item_index}"
        log.warning(
            "dead-lettering %s[%d]@%d%s: %s (%s)",
            batch.topic,
            batch.partition,
            dead.record.offset,
            item,
            dead.invalid.reason,
            dead.invalid.error_class,
        )
        headers = dlq_headers(
            source_topic=batch.topic,
            partition=batch.partition,
            offset=dead.record.offset,
            invalid=dead.invalid,
            item_index=dead.item_index,
        )
        pending.append(await send(dlq, dead.record.key, dead.value, list(headers)))
    if pending:
        await asyncio.gather(*pending)


AddCounts = Callable[[str, int, Sequence[Count]], Awaitable[None]]


def make_normaliser(
    provider: str,
    send: Send,
    add_counts: AddCounts,
    *,
    topics: Mapping[Topic, str],
    dlq: str,
    max_bytes: int,
    state: Dependencies | None = None,
) -> Callable[[Any], Awaitable[None]]:
    """The agent body for ``raw.<provider>`` (``stream`` is a Faust stream of batches).

    Both steps wait out an outage (``until_done``); any other error exits the
    worker (``stream.failfast``): Faust acknowledges an event whose iteration
    ends, so the raw records would otherwise be skipped. A publish retried after a partial failure
    sends some canonical events again; they carry the same event ids, so the
    canonical agents count them once.
    """
    dependencies = state or DependencyState()

    async def agent(stream: AsyncIterator[RecordBatch]) -> None:
        async for batch in stream:
            try:
                normalised = normalise_batch(provider, batch, max_bytes=max_bytes)
                send_all = partial(publish, batch, normalised, send, topics=topics, dlq=dlq)
                await until_done(send_all, dependencies, what="kafka")
                count = partial(add_counts, provider, batch.partition, normalised.counts)
                await until_done(count, dependencies, what="redis")
            except Exception as exc:  # not an outage: until_done waits those out
                exit_on_batch_failure(exc, f"raw.{provider} agent")

    agent.__name__ = f"raw_{provider}_agent"
    agent.__qualname__ = agent.__name__
    return agent


def add_normalisers(
    app: faust.App, settings: Settings, redis: StoreClient, state: Dependencies | None = None
) -> None:
    """Declare one normaliser agent per provider on ``app`` (call from ``create_app``)."""
    counts = ProviderCounts(redis, settings.key_prefix)
    topics = {topic: settings.topic(topic.value) for topic in Topic}
    dlq = settings.topic(DLQ_TOPIC)

    async def send(
        topic: str, key: bytes | None, value: bytes | None, headers: Headers | None
    ) -> Awaitable[Any]:
        # The app's producer runs with acks=all (create_app sets producer_acks=-1).
        listed = None if headers is None else list(headers)
        future: Awaitable[Any] = await app.producer.send(topic, key, value, None, None, listed)
        return future

    for provider in PROVIDERS:
        source = transport.batch_topic(app, raw_topic(settings, provider))
        body = make_normaliser(
            provider,
            send,
            counts.add,
            topics=topics,
            dlq=dlq,
            max_bytes=settings.max_event_bytes,
            state=state,
        )
        app.agent(source, name=f"collectpulse.{RAW_TOPIC_PREFIX}{provider}")(body)


def _clip(text: str) -> str:
    if len(text) <= MAX_DETAIL_CHARS:
        return text
    return text[: MAX_DETAIL_CHARS - 3] + "..."
