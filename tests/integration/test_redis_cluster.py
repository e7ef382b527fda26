"""The engine on a real Redis Cluster (3 masters + 3 replicas, the session's ``redis_cluster``).

- the end-to-end KPI test, unchanged, with a ``redis+cluster://`` URL;
- the order-independence check for two of its four orders (at once and shuffled; the
  paced and topic-by-topic orders run on a single node in test_order_independence.py,
  and take the most time), equal to each other and to the oracle; then two exporters
  on the result serve the same /metrics byte for byte (process series aside);
- a partition's slot migrated to another master mid-stream (MOVED / ASK / TRYAGAIN
  while its keys move): 0 differences from the oracle;
- kill -9 of the master owning a partition's slot mid-stream: after the replica's
  promotion, 0 differences from the oracle; the write gap is measured and printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import RedisCluster

from collectpulse.settings import Settings
from tests.faults.oracle import Key
from tests.integration import test_kpis_end_to_end as end_to_end
from tests.order.log import Entry, generate
from tests.order.oracle import Expected, expected
from tests.order.run import (
    WINDOWS,
    as_published,
    comparable,
    differences_between,
    differences_from,
    order_event_time,
    order_shuffled,
    run_order,
    run_settings,
)
from tests.support.processes import collectpulse_process, free_port
from tests.support.redis_cluster import Cluster, slot_of

pytestmark = pytest.mark.integration

SEED = 20261204
NOT_SERVED_ALIKE = (
    "process_",
    "python_",
    "collectpulse_landing_silence_seconds",
    "collectpulse_worker_heartbeat_age_seconds",
)
"""Lines two exporters need not share: their own process, and ages measured on the scraping
exporter's clock (two scrapes a moment apart can straddle a second)."""


def _cluster_settings(bootstrap: str, cluster: Cluster, data_dir: Path) -> Settings:
    settings = run_settings(bootstrap, cluster.url, data_dir)
    assert settings.redis_is_cluster and settings.redis_wait_for == 1
    return settings


async def test_end_to_end_kpis_on_the_cluster(
    settings: Settings, redis_cluster: Cluster, tmp_path: Path
) -> None:
    on_cluster = settings.model_copy(update={"redis_url": redis_cluster.url})
    await end_to_end.test_every_funnel_activity_and_ratio_kpi_matches_the_scripted_day(
        on_cluster, tmp_path
    )


async def test_two_orders_agree_with_the_oracle_and_two_exporters_serve_the_same_bytes(
    local_stack: tuple[str, str], redis_cluster: Cluster, tmp_path: Path
) -> None:
    log = generate(SEED, base_s=int(time.time()) - 60)
    truth = expected(log, WINDOWS)
    orders: dict[str, Callable[[Sequence[Entry]], list[Entry]]] = {
        "at_once": order_event_time,
        "shuffled": functools.partial(order_shuffled, seed=SEED),
    }
    runs, last = {}, None
    for name, arrange in orders.items():
        last = _cluster_settings(local_stack[0], redis_cluster, tmp_path / name / "worker")
        samples = await run_order(
            last, as_published(arrange(log)), tmp_path / name, rate_per_s=None
        )
        runs[name] = comparable(samples)
    report = differences_between(runs)
    for name, got in runs.items():
        report += [f"{name}: {line}" for line in differences_from(truth, got)]
    assert not report, "\n".join(report[:60])

    assert last is not None
    first, second = await _two_exporters(last, tmp_path)
    assert first == second
    assert "collectpulse_messages_sent_total" in first


async def test_a_partition_slot_migrated_mid_stream_loses_and_doubles_nothing(
    local_stack: tuple[str, str], redis_cluster: Cluster, tmp_path: Path
) -> None:
    settings = _cluster_settings(local_stack[0], redis_cluster, tmp_path / "worker")
    slot = slot_of("p1")
    moved: list[int] = []

    async def migrate() -> None:
        target = next(p for p in redis_cluster.masters() if p != redis_cluster.master_of(slot))
        moved.append(await asyncio.to_thread(redis_cluster.migrate_slot, slot, target))
        assert redis_cluster.master_of(slot) == target

    truth, got = await _stream_with_fault(settings, tmp_path, partition=1, fault=migrate)
    assert moved and moved[0] > 0, "the slot held none of the partition's keys yet"
    print(f"\nslot {slot} (partition 1) migrated mid-stream with {moved[0]} keys")
    wrong = differences_from(truth, got)
    assert not wrong, "\n".join(wrong[:60])


async def test_kill_9_of_a_master_mid_stream_loses_nothing(
    local_stack: tuple[str, str], redis_cluster: Cluster, tmp_path: Path
) -> None:
    settings = _cluster_settings(local_stack[0], redis_cluster, tmp_path / "worker")
    slot = slot_of("p0")
    gaps: dict[str, float] = {}

    async def kill() -> None:
        victim = redis_cluster.master_of(slot)
        killed_at = time.monotonic()
        redis_cluster.kill(victim)
        try:
            gaps.update(await _write_gaps(settings, slot, killed_at))
            assert redis_cluster.master_of(slot) != victim
        finally:
            # back as a replica of the promoted one, so its slots have a replica again
            redis_cluster.restart(victim)

    truth, got = await _stream_with_fault(
        settings, tmp_path, partition=0, fault=kill, customers=600, rate_per_s=250.0
    )
    print(
        f"\nkill -9 of the master of slot {slot}: writes to its slot resumed after "
        f"{gaps['probe_s']:.1f} s; the worker applied partition 0 again after "
        f"{gaps['worker_s']:.1f} s"
    )
    wrong = differences_from(truth, got)
    assert not wrong, "\n".join(wrong[:60])
    await asyncio.to_thread(redis_cluster.wait_ok)


# --- helpers ------------------------------------------------------------------------


async def _stream_with_fault(
    settings: Settings,
    tmp_path: Path,
    *,
    partition: int,
    fault: Callable[[], Awaitable[None]],
    customers: int = 300,
    rate_per_s: float = 200.0,
) -> tuple[Expected, dict[Key, float]]:
    """Publish a paced log through a worker; run ``fault`` once ``partition`` has applied
    some of it; return the oracle and the comparable scrape after the drain."""
    log = generate(SEED, base_s=int(time.time()) - 60, customers=customers)
    truth = expected(log, WINDOWS)
    streaming = asyncio.create_task(
        run_order(
            settings,
            as_published(order_event_time(log)),
            tmp_path,
            rate_per_s=rate_per_s,
            drain_timeout_s=120.0,
        )
    )
    try:
        await _applied_some(settings, partition, streaming)
        await fault()
        samples = await streaming
    finally:
        streaming.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await streaming
    return truth, comparable(samples)


async def _applied_some(
    settings: Settings, partition: int, streaming: asyncio.Task[object]
) -> None:
    """Wait until ``partition`` has applied delivery records (the stream is under way)."""
    client = _cluster_client(settings)
    key = f"{settings.key_prefix}:{{p{partition}}}:off"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert not streaming.done(), "the stream ended before the fault"
            offsets = await client.hgetall(key)
            if int(offsets.get(b"delivery", -1)) >= 20:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"partition {partition} applied nothing within 120 s")
    finally:
        await client.aclose()


async def _write_gaps(settings: Settings, slot: int, killed_at: float) -> dict[str, float]:
    """Seconds from the kill until a write to ``slot`` works again (a probe writing every
    20 ms) and until partition 0's applied offset moves again (the worker)."""
    client = _cluster_client(settings)
    offsets_key = f"{settings.key_prefix}:{{p0}}:off"
    probe_key = f"{settings.key_prefix}:{{p0}}:failover-probe"
    assert slot_of(probe_key) == slot
    before: dict[Any, Any] | None = None
    out: dict[str, float] = {}
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(out) < 2:
            try:
                await client.set(probe_key, "1", ex=60)
                out.setdefault("probe_s", time.monotonic() - killed_at)
                offsets = await client.hgetall(offsets_key)
                if before is None:
                    before = offsets
                elif offsets != before:
                    out.setdefault("worker_s", time.monotonic() - killed_at)
            except Exception:
                pass
            await asyncio.sleep(0.02)
    finally:
        await client.aclose()
    assert set(out) == {"probe_s", "worker_s"}, f"writes did not resume within 90 s: {out}"
    return out


def _cluster_client(settings: Settings) -> RedisCluster:
    url = settings.redis_url.get_secret_value().replace("+cluster://", "://", 1)
    return RedisCluster.from_url(url, socket_connect_timeout=1, socket_timeout=2)


async def _two_exporters(settings: Settings, tmp_path: Path) -> tuple[str, str]:
    """/metrics of two exporters on the same store, fetched together, process lines out."""
    ports = free_port(), free_port()
    with (
        collectpulse_process(
            settings, "exporter", log=tmp_path / "e1.log", COLLECTPULSE_HTTP_PORT=str(ports[0])
        ),
        collectpulse_process(
            settings, "exporter", log=tmp_path / "e2.log", COLLECTPULSE_HTTP_PORT=str(ports[1])
        ),
    ):
        async with httpx.AsyncClient(timeout=10) as http:
            deadline = time.monotonic() + 60
            while True:
                try:
                    replies = await asyncio.gather(
                        *(http.get(f"http://127.0.0.1:{p}/metrics") for p in ports)
                    )
                    if all(r.status_code == 200 for r in replies):
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "the exporters did not serve /metrics"
                await asyncio.sleep(0.3)
    texts = [
        "\n".join(
            line
            for line in r.text.splitlines()
            if not any(
                line.removeprefix("# HELP ").removeprefix("# TYPE ").startswith(p)
                for p in NOT_SERVED_ALIKE
            )
        )
        for r in replies
    ]
    return texts[0], texts[1]
