"""Batched Faust transport: one Faust message per fetched partition batch, not per record.

Stock Faust pays its per-message machinery (four asyncio tasks in
``Consumer._drain_messages``, conductor, channel, stream, ack) for every
record. This transport, a subclass of Faust's aiokafka driver, hands the stock
Conductor one ``ConsumerMessage`` per partition batch whose value is a
:class:`~collectpulse.stream.batch.RecordBatch`; agents stay ordinary
``async for batch in stream`` loops, and ``faust worker`` and group
rebalancing are unchanged. Usage (see docs/HOT_PATH.md)::

    register()
    app = faust.App("kpis", broker="batchkafka://127.0.0.1:19092?max_batch_records=5000")
    events = batch_topic(app, "collections.events")
    set_on_assigned(app, store.applied_offsets)  # optional: the store decides positions

It overrides private internals of faust-streaming 0.15.3 (each override says
why), so the version is checked on import.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, cast

import faust
from aiokafka.errors import IllegalStateError
from faust.transport.drivers import TRANSPORTS
from faust.transport.drivers import aiokafka as aiokafka_driver
from faust.types import TP, AppT, Message, ServiceT
from faust.types.tuples import ConsumerMessage
from yarl import URL

from collectpulse.stream.batch import RecordBatch

FAUST_VERSION = "0.15.3"
SCHEME = "batchkafka"
DEFAULT_MAX_BATCH_RECORDS = 5000
DEFAULT_TOPIC_MAXSIZE_BATCHES = 4

#: Gives, for some of the assigned partitions, the offset to resume from.
OnAssigned = Callable[[frozenset[TP]], Awaitable[Mapping[TP, int]]]


def check_faust_version(version: str = faust.__version__) -> None:
    """Refuse to run on a faust-streaming release whose internals were not checked."""
    if version != FAUST_VERSION:
        raise RuntimeError(
            f"collectpulse.stream.transport overrides private internals of faust-streaming "
            f"{FAUST_VERSION}, but {version} is installed: re-check every override in "
            f"{__name__} against the new release before changing the pin"
        )


check_faust_version()


class BatchSchema(faust.Schema[None, RecordBatch]):
    """Topic schema for batched topics: the Conductor's decode passes the batch through."""

    def loads_key(self, app: AppT, message: Message, **kwargs: Any) -> None:
        return None

    def loads_value(self, app: AppT, message: Message, **kwargs: Any) -> RecordBatch:
        # Message.value is typed bytes; on batched topics it carries the RecordBatch.
        return cast(RecordBatch, message.value)


def batch_topic(
    app: faust.App, *topics: str, maxsize: int = DEFAULT_TOPIC_MAXSIZE_BATCHES, **kwargs: Any
) -> faust.TopicT:
    """Declare a topic whose stream yields ``RecordBatch`` values.

    ``maxsize`` counts batches, not records: Faust's default (4096) would buffer
    millions of records per agent.
    """
    return app.topic(*topics, schema=BatchSchema(), maxsize=maxsize, **kwargs)


def _query_int(urls: Sequence[URL], name: str, default: int, minimum: int) -> int:
    for url in urls:
        if name in url.query:
            value = int(url.query[name])
            if value < minimum:
                raise ValueError(f"{name} must be >= {minimum} in broker URL {url}")
            return value
    return default


class ConsumerThread(aiokafka_driver.AIOKafkaConsumerThread):
    """Faust's consumer thread, with the fetch size and wait the broker URL asks for."""

    # Stock Faust passes neither fetch_min_bytes (aiokafka's default 1) nor a
    # configurable fetch_max_wait_ms: a live stream is then fetched as it
    # trickles in, a few records per partition, and every batch pays the whole
    # per-batch cost (docs/BENCHMARKS.md, "Live streams"). Asking the broker to
    # hold a fetch until it has fetch_min_bytes (or fetch_max_wait_ms passed)
    # makes live batches bigger for a bounded delay.
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka 0.14.0 (pinned) keeps both as attributes until start() builds its Fetcher
        consumer._fetch_min_bytes = transport.fetch_min_bytes
        consumer._fetch_max_wait_ms = transport.fetch_max_wait_ms
        return consumer


class Consumer(aiokafka_driver.Consumer):
    """aiokafka-driver consumer that delivers and acknowledges one message per batch."""

    transport: Transport

    def _new_consumer_thread(self) -> aiokafka_driver.AIOKafkaConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Delivered batches' last offsets in delivery order, and the acked ones:
        # the commit point is the end of the longest acked prefix.
        self._delivered: dict[TP, deque[int]] = {}
        self._acked_batches: dict[TP, set[int]] = {}
        super().__init__(*args, **kwargs)
        if not self.app.conf.stream_wait_empty:
            # Without it a revoked partition's in-flight batch may still be running
            # when the next owner starts the same records.
            raise ValueError(f"{SCHEME}:// needs stream_wait_empty=True (Faust's default)")

    # Override: stock wraps every record in wait_first(callback(msg), suspend_flow.wait())
    # (four tasks per record). Here flow and generation are checked once per batch
    # and the conductor callback runs once per batch.
    async def _drain_messages(self, fetcher: ServiceT) -> None:
        consumer_stopped = self._stopped.is_set
        fetcher_stopped = fetcher._stopped.is_set  # type: ignore[attr-defined]
        try:
            while not (consumer_stopped() or fetcher_stopped()):
                records, active = await self._wait_next_records(timeout=1.0)
                generation_id = self.app.consumer_generation_id
                if records and not self.should_stop:
                    undelivered = (
                        await self._deliver(records, active, generation_id)
                        if self.flow_active
                        else {tp: fetched[0].offset for tp, fetched in records.items()}
                    )
                    await self._rewind(undelivered)
                await asyncio.sleep(0)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                self.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise

    async def _deliver(
        self, records: Mapping[TP, Sequence[Any]], active: set[TP] | None, generation_id: int
    ) -> dict[TP, int]:
        """Deliver batches while the flow is on; return, per partition, the first offset
        left undelivered when a rebalance stopped it."""
        max_records = self.transport.max_batch_records
        undelivered = {tp: fetched[0].offset for tp, fetched in records.items() if fetched}
        for tp, fetched in records.items():
            if active is not None and tp not in active and tp not in self._buffered_partitions:
                continue
            if self._is_changelog_tp(tp):
                raise TypeError(f"{tp.topic}: Faust tables are not supported by {SCHEME}://")
            read_offset = self._read_offset[tp]
            if read_offset is not None and fetched[0].offset < read_offset:
                fetched = [r for r in fetched if r.offset >= read_offset]
            self.app.monitor.track_tp_end_offset(tp, self.highwater(tp))
            size = _even_chunk_size(len(fetched), max_records)
            for start in range(0, len(fetched), size):
                if not self.flow_active or self.app.consumer_generation_id != generation_id:
                    undelivered[tp] = fetched[start].offset
                    return undelivered
                message = _batch_message(tp, fetched[start : start + size], generation_id)
                committed = self._committed_offset[tp]
                # The stock ack ignores offsets below the committed one (re-read after
                # on_assigned moved a partition back): tracking them would stall commits.
                if committed is None or message.offset >= committed:
                    self._delivered.setdefault(tp, deque()).append(message.offset)
                # One race per batch (not per record) so a rebalance can interrupt
                # a put blocked on a full agent queue.
                await self.wait_first(self.callback(message), self.suspend_flow.wait())
                if not self.flow_active:
                    # the race may have cancelled the put: fetch the batch again
                    undelivered[tp] = fetched[start].offset
                    return undelivered
                self._read_offset[tp] = message.offset + 1
            undelivered.pop(tp, None)
        return undelivered

    # Records fetched but not delivered because a rebalance stopped the flow must be
    # fetched again. The rebalance's perform_seek() rewinds what was fetched before it,
    # but a fetch in flight across that seek returns records from the new position:
    # dropping those without a seek skipped them for good, and the store's applied
    # offset then moved past them with the next batch (found by tests/faults: events
    # lost at clean stops and rebalances).
    async def _rewind(self, undelivered: Mapping[TP, int]) -> None:
        assigned = self.assignment()
        for tp, offset in undelivered.items():
            if tp in assigned:
                with contextlib.suppress(IllegalStateError):  # revoked meanwhile
                    await self.seek(tp, offset)

    # Override: stock commits the end of the first run of consecutive acked offsets,
    # which with one ack per batch stalls at the first batch. Commit last + 1 of
    # the longest prefix of delivered batches that are all acked. Acks arrive in
    # the stock _acked/_acked_index (the Cython stream iterator inlines
    # Consumer.ack, so ack() cannot be overridden); we move them into our own map.
    def _new_offset(self, tp: TP) -> int | None:
        self._collect_acks(tp)
        delivered = self._delivered.get(tp)
        acked = self._acked_batches.get(tp)
        new_offset = None
        while delivered and acked and delivered[0] in acked:
            last = delivered.popleft()
            acked.discard(last)
            new_offset = last + 1
        return new_offset

    def _collect_acks(self, tp: TP) -> None:
        acked_index = self._acked_index.pop(tp, None)
        self._acked.pop(tp, None)
        if acked_index:
            self._acked_batches.setdefault(tp, set()).update(acked_index)

    # Override: commit candidates are the partitions with acked batches in either map.
    def _filter_tps_with_pending_acks(self, topics: Iterable[Any] | None = None) -> Iterator[TP]:
        wanted = None if topics is None else set(topics)
        pending = {tp for tp, acked in self._acked_batches.items() if acked}
        pending.update(tp for tp, acked in self._acked_index.items() if acked)
        for tp in pending:
            if wanted is None or tp in wanted or tp.topic in wanted:
                yield tp

    # Override: after a seek the delivered batches no longer describe the position;
    # then the optional hook moves partitions to the offsets the store holds.
    async def perform_seek(self) -> None:
        self._forget(None)
        await super().perform_seek()
        hook = self.transport.on_assigned
        if hook is None:
            return
        assigned = frozenset(tp for tp in self.assignment() if not self._is_changelog_tp(tp))
        if not assigned:
            return
        positions = dict(await hook(assigned))
        unknown = set(positions) - assigned
        if unknown:
            raise ValueError(f"on_assigned returned offsets for unassigned partitions {unknown}")
        if positions:
            self.log.info("Seeking to offsets from on_assigned: %r", positions)
            await self.seek_wait(positions)

    # Override: stock drops _acked/_acked_index of revoked partitions *before* its
    # revoke-time commit, losing acked-but-uncommitted batches (redelivered to the
    # next owner). Keep them in our map, let the stock path wait for in-flight
    # batches (stream_wait_empty) and commit, then forget the partitions.
    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        for tp in revoked:
            self._collect_acks(tp)
        await super().on_partitions_revoked(revoked)
        self._forget(revoked)

    def _forget(self, tps: Iterable[TP] | None) -> None:
        everything = {*self._delivered, *self._acked_batches, *self._acked_index}
        for tp in everything if tps is None else tps:
            self._delivered.pop(tp, None)
            self._acked_batches.pop(tp, None)
            self._acked.pop(tp, None)
            self._acked_index.pop(tp, None)


def _even_chunk_size(records: int, max_records: int) -> int:
    """Split evenly: 5,400 records become 2 x 2,700, not 5,000 + a slow 400."""
    chunks = max(1, -(-records // max_records))
    return max(1, -(-records // chunks))


def _batch_message(tp: TP, fetched: Sequence[Any], generation_id: int) -> ConsumerMessage:
    # aiokafka's ConsumerRecords are KafkaRecords: handed over without a copy
    last = fetched[-1]
    batch = RecordBatch(tp.topic, tp.partition, fetched[0].offset, last.offset, fetched)
    return ConsumerMessage(
        tp.topic,
        tp.partition,
        last.offset,
        last.timestamp / 1000.0,
        last.timestamp_type,
        [],
        None,
        cast(Any, batch),  # Message.value is typed bytes; here it carries the batch
        None,
        0,
        0,
        tp,
        generation_id=generation_id,
    )


class Transport(aiokafka_driver.Transport):
    """Faust's aiokafka transport with the batching consumer.

    Broker URL query ``max_batch_records`` caps records per batch (default
    5000; under ~1,000 the per-batch overhead shows).
    """

    Consumer: ClassVar[type[Consumer]] = Consumer

    #: Set with :func:`set_on_assigned`; called on every seek after an assignment.
    on_assigned: OnAssigned | None = None

    def __init__(self, url: list[URL], app: AppT, *args: Any, **kwargs: Any) -> None:
        super().__init__(url, app, *args, **kwargs)
        self.max_batch_records = _query_int(
            url, "max_batch_records", DEFAULT_MAX_BATCH_RECORDS, minimum=1
        )
        self.fetch_min_bytes = _query_int(url, "fetch_min_bytes", 1, minimum=1)
        self.fetch_max_wait_ms = _query_int(url, "fetch_max_wait_ms", 1500, minimum=0)


def register() -> None:
    """Make ``batchkafka://`` broker URLs select this transport."""
    check_faust_version()
    TRANSPORTS[SCHEME] = f"{__name__}:Transport"


def set_on_assigned(app: faust.App, hook: OnAssigned | None) -> None:
    """Let ``hook`` choose where assigned partitions resume.

    After every rebalance the consumer seeks assigned partitions to their
    committed offsets, then awaits ``hook(assigned)`` and seeks each partition
    it returns to the given offset (the next record to deliver). Partitions it
    omits stay at the committed offset.
    """
    transport = app.transport
    if not isinstance(transport, Transport):
        raise TypeError(f"set_on_assigned needs broker={SCHEME}://..., not {app.conf.broker}")
    transport.on_assigned = hook
