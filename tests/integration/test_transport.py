"""The batched Faust transport against the real broker: delivery, commits, rebalance, seek hook.

Workers are real ``faust worker`` processes running this file as a script (see
``_worker_main``); each writes one JSON line ``[partition, [offsets...]]`` per
batch it processed, so the test can check exactly-once delivery across a group.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

pytestmark = pytest.mark.integration

BOOTSTRAP = ""  # set from the session's real broker by the autouse fixture below


@pytest.fixture(autouse=True)
def _session_broker(local_stack: tuple[str, str]) -> None:
    """Point this module's helpers at the session's broker (tests/conftest.py)."""
    global BOOTSTRAP
    BOOTSTRAP = local_stack[0]


WORKER_START_TIMEOUT_S = 45.0
WORKER_STOP_TIMEOUT_S = 30.0


def _unique(name: str) -> str:
    return f"test.transport.{name}.{uuid.uuid4().hex[:8]}"


async def _create_topic(topic: str, partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP, request_timeout_ms=10_000)
    await asyncio.wait_for(admin.start(), 15)
    try:
        await admin.create_topics([NewTopic(topic, partitions, replication_factor=1)])
    finally:
        await admin.close()


async def _committed(group: str, topic: str) -> dict[int, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP, request_timeout_ms=10_000)
    await asyncio.wait_for(admin.start(), 15)
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}


class Producer:
    """Sends records round-robin over partitions and counts what each partition got."""

    def __init__(self, topic: str, partitions: int) -> None:
        self.topic = topic
        self.partitions = partitions
        self.sent: Counter[int] = Counter()
        self._producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, linger_ms=5)

    async def __aenter__(self) -> Producer:
        await asyncio.wait_for(self._producer.start(), 15)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._producer.stop()

    async def send(self, count: int) -> None:
        futures = []
        for _ in range(count):
            partition = sum(self.sent.values()) % self.partitions
            value = json.dumps({"n": sum(self.sent.values())}).encode()
            futures.append(await self._producer.send(self.topic, value, partition=partition))
            self.sent[partition] += 1
        await asyncio.wait_for(asyncio.gather(*futures), 30)

    @property
    def total(self) -> int:
        return sum(self.sent.values())


@dataclass
class Worker:
    """One ``faust worker`` process of the test app, recording processed batches."""

    process: subprocess.Popen[bytes]
    out: Path
    log: Path

    @classmethod
    def start(cls, tmp: Path, name: str, **config: Any) -> Worker:
        out, log = tmp / f"{name}.jsonl", tmp / f"{name}.log"
        out.touch()
        config = {"bootstrap": BOOTSTRAP, "out": str(out), "datadir": str(tmp / name), **config}
        process = subprocess.Popen(
            [sys.executable, __file__, json.dumps(config)],
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        return cls(process, out, log)

    def batches(self) -> list[tuple[int, list[int]]]:
        lines = self.out.read_text().splitlines()
        return [(p, offsets) for p, offsets in map(json.loads, lines)]

    def seen(self) -> list[tuple[int, int]]:
        return [(p, o) for p, offsets in self.batches() for o in offsets]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(WORKER_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            pytest.fail(f"worker did not stop gracefully; log:\n{self.log.read_text()[-3000:]}")

    def kill_if_running(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def _fail_if_exited(workers: list[Worker]) -> None:
    for worker in workers:
        if worker.process.poll() is not None:
            pytest.fail(f"worker exited early; log:\n{worker.log.read_text()[-3000:]}")


async def _wait_until(
    condition: Callable[[], bool], timeout_s: float, what: str, workers: list[Worker]
) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        _fail_if_exited(workers)
        if time.monotonic() > deadline:
            logs = "\n".join(w.log.read_text()[-2000:] for w in workers)
            pytest.fail(f"timed out after {timeout_s}s waiting for {what}; logs:\n{logs}")
        await asyncio.sleep(0.2)


def _expected(sent: Mapping[int, int]) -> set[tuple[int, int]]:
    return {(p, o) for p, count in sent.items() for o in range(count)}


async def test_each_record_is_delivered_once_in_batches_and_commits_reach_the_end(
    tmp_path: Path,
) -> None:
    topic, group = _unique("once"), _unique("group")
    await _create_topic(topic, partitions=4)
    async with Producer(topic, partitions=4) as producer:
        await producer.send(20_000)
    worker = Worker.start(tmp_path, "a", topic=topic, group=group, max_batch_records=700)
    try:
        await _wait_until(
            lambda: len(worker.seen()) >= producer.total,
            WORKER_START_TIMEOUT_S,
            "all records",
            [worker],
        )
        worker.stop()
    finally:
        worker.kill_if_running()

    seen = worker.seen()
    assert len(seen) == len(set(seen)) == producer.total
    assert set(seen) == _expected(producer.sent)
    sizes = [len(offsets) for _, offsets in worker.batches()]
    assert max(sizes) <= 700
    assert len(sizes) < producer.total / 50, "records were not batched"
    for _, offsets in worker.batches():
        assert offsets == list(range(offsets[0], offsets[-1] + 1))
    assert await _committed(group, topic) == dict(producer.sent)


async def test_a_worker_joining_and_leaving_mid_stream_loses_and_repeats_nothing(
    tmp_path: Path,
) -> None:
    topic, group = _unique("rebalance"), _unique("group")
    await _create_topic(topic, partitions=4)
    config = {"topic": topic, "group": group, "max_batch_records": 200, "sleep_s": 0.01}
    a = Worker.start(tmp_path, "a", **config)
    b: Worker | None = None
    try:
        async with Producer(topic, partitions=4) as producer:
            await producer.send(2_000)
            await _wait_until(lambda: len(a.seen()) > 0, WORKER_START_TIMEOUT_S, "a", [a])
            b = Worker.start(tmp_path, "b", **config)
            deadline = time.monotonic() + WORKER_START_TIMEOUT_S
            while not b.seen():  # keep producing while b joins and takes partitions
                _fail_if_exited([a, b])
                if time.monotonic() > deadline:
                    pytest.fail(f"b got no partition; log:\n{b.log.read_text()[-3000:]}")
                await producer.send(500)
                await asyncio.sleep(0.3)
            await producer.send(2_000)
            b.stop()
            a_batches_when_b_left = len(a.batches())
            await producer.send(2_000)
        await _wait_until(
            lambda: len(a.seen()) + len(b.seen()) >= producer.total,  # type: ignore[union-attr]
            WORKER_START_TIMEOUT_S,
            "the group to drain",
            [a],
        )
        a.stop()
    finally:
        a.kill_if_running()
        if b is not None:
            b.kill_if_running()

    assert b is not None
    seen = Counter(a.seen() + b.seen())
    assert b.seen(), "b never received a partition"
    after_b_left = {p for p, _ in a.batches()[a_batches_when_b_left:]}
    assert after_b_left == {0, 1, 2, 3}, "a did not take b's partitions back"
    assert {key for key, n in seen.items() if n > 1} == set()
    assert _expected(producer.sent) - set(seen) == set()
    assert await _committed(group, topic) == dict(producer.sent)


async def test_the_assignment_hook_moves_a_partitions_position(tmp_path: Path) -> None:
    topic, group = _unique("seek"), _unique("group")
    await _create_topic(topic, partitions=2)
    async with Producer(topic, partitions=2) as producer:
        await producer.send(200)
    worker = Worker.start(tmp_path, "a", topic=topic, group=group, seek={"1": 60})
    try:
        await _wait_until(
            lambda: len(worker.seen()) >= 100 + 40, WORKER_START_TIMEOUT_S, "records", [worker]
        )
        worker.stop()
    finally:
        worker.kill_if_running()

    seen = worker.seen()
    assert sorted(seen) == sorted([(0, o) for o in range(100)] + [(1, o) for o in range(60, 100)])
    assert await _committed(group, topic) == {0: 100, 1: 100}


async def test_a_hook_position_behind_the_commit_redelivers_and_commits_still_advance(
    tmp_path: Path,
) -> None:
    topic, group = _unique("seekback"), _unique("group")
    await _create_topic(topic, partitions=1)
    async with Producer(topic, partitions=1) as producer:
        await producer.send(100)
        first = Worker.start(tmp_path, "first", topic=topic, group=group, max_batch_records=30)
        try:
            await _wait_until(lambda: len(first.seen()) >= 100, 30, "records", [first])
            first.stop()
        finally:
            first.kill_if_running()
        assert await _committed(group, topic) == {0: 100}
        await producer.send(50)

    config = {"topic": topic, "group": group, "max_batch_records": 30, "seek": {"0": 20}}
    second = Worker.start(tmp_path, "second", **config)
    try:
        await _wait_until(lambda: len(second.seen()) >= 130, 30, "records", [second])
        second.stop()
    finally:
        second.kill_if_running()

    assert sorted(second.seen()) == [(0, o) for o in range(20, 150)]
    assert await _committed(group, topic) == {0: 150}


async def test_a_live_trickle_waits_for_the_fetch_minimum_and_arrives_in_few_batches(
    tmp_path: Path,
) -> None:
    topic, group = _unique("trickle"), _unique("group")
    await _create_topic(topic, partitions=1)
    fetch = {"fetch_min_bytes": 1_000_000, "fetch_max_wait_ms": 5_000}
    worker = Worker.start(tmp_path, "a", topic=topic, group=group, **fetch)
    try:
        async with Producer(topic, partitions=1) as producer:
            await producer.send(1)  # the worker is positioned once this arrives
            await _wait_until(lambda: len(worker.seen()) == 1, 60, "the first record", [worker])
            for _ in range(20):  # a trickle: far less than fetch_min_bytes, well within the wait
                await producer.send(1)
                await asyncio.sleep(0.02)
        await _wait_until(lambda: len(worker.seen()) == 21, 30, "the trickle", [worker])
        worker.stop()
    finally:
        worker.kill_if_running()

    assert worker.seen() == [(0, o) for o in range(21)]
    # With aiokafka's default fetch_min_bytes=1 each record is its own fetch and batch.
    assert len(worker.batches()) <= 3, worker.batches()


def _worker_main(config: dict[str, Any]) -> None:
    """Run one worker of the test app: ``python test_transport.py '<json config>'``."""
    import faust

    from collectpulse.stream.transport import batch_topic, register, set_on_assigned

    register()
    max_batch_records = config.get("max_batch_records", 5000)
    broker = f"batchkafka://{config['bootstrap']}?max_batch_records={max_batch_records}"
    for name in ("fetch_min_bytes", "fetch_max_wait_ms"):
        if name in config:
            broker += f"&{name}={config[name]}"
    app = faust.App(
        config["group"],
        broker=broker,
        web_enabled=False,
        datadir=config["datadir"],
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",
    )
    topic = batch_topic(app, config["topic"])
    out = Path(config["out"]).open("a")  # noqa: SIM115 -- open for the worker's lifetime
    sleep_s = config.get("sleep_s", 0)

    @app.agent(topic)
    async def record(stream: Any) -> None:
        async for batch in stream:
            if sleep_s:
                await asyncio.sleep(sleep_s)
            offsets = [r.offset for r in batch.records]
            out.write(json.dumps([batch.partition, offsets]) + "\n")
            out.flush()

    if "seek" in config:
        positions = {int(p): offset for p, offset in config["seek"].items()}

        async def seek_from_config(assigned: frozenset[Any]) -> dict[Any, int]:
            return {tp: positions[tp.partition] for tp in assigned if tp.partition in positions}

        set_on_assigned(app, seek_from_config)

    sys.argv = [sys.argv[0], "worker", "-l", "warn", "--without-web"]
    app.main()


if __name__ == "__main__":
    _worker_main(json.loads(sys.argv[1]))
