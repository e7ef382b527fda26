"""``collectpulse worker --processes 2``: two processes share the partitions of one group,
count every event once, and a SIGTERM to the command stops both cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

from collectpulse.settings import Settings
from tests.integration.test_worker_kill import ground_truth_holds, ground_truth_stream
from tests.support.kafka import create_topics, publish
from tests.support.metrics import Samples, total, wait_for
from tests.support.processes import GROUP_ENV, collectpulse_process, free_port

pytestmark = pytest.mark.integration


def assigned_by_worker(samples: Samples) -> dict[str, float]:
    return {
        dict(ls)["worker"]: v
        for (name, ls), v in samples.items()
        if name == "collectpulse_worker_assigned_partitions"
    }


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_two_worker_processes_share_the_group_and_stop_together(
    settings: Settings, tmp_path: Path
) -> None:
    stream, truth = ground_truth_stream(time.time())
    published = sum(len(records) for records in stream.values())
    await create_topics(settings)
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    with (
        collectpulse_process(
            settings, "worker", "--processes", "2", "-l", "warn",
            log=tmp_path / "workers.log", **GROUP_ENV,
        ) as workers,
        collectpulse_process(
            settings, "exporter", log=tmp_path / "exporter.log", COLLECTPULSE_HTTP_PORT=str(port)
        ) as exporter,
    ):  # fmt: skip
        procs = [workers, exporter]

        def both_own_partitions(s: Samples) -> bool:
            owned = assigned_by_worker(s)
            return len(owned) == 2 and all(owned.values())

        samples = await wait_for(url, both_own_partitions, timeout_s=90, processes=procs)
        owned = assigned_by_worker(samples)
        assert len(owned) == 2 and sum(owned.values()) > 0, f"partitions per worker: {owned}"
        assert total(samples, "collectpulse_live_workers") == 2
        for topic, records in stream.items():
            await publish(settings, settings.topic(topic.value), records)
        samples = await wait_for(
            url,
            lambda s: total(s, "collectpulse_events_received_total") >= published,
            timeout_s=90,
            processes=procs,
        )
        await asyncio.sleep(2)  # a double count would grow past the published total
        samples = await wait_for(url, bool, timeout_s=10, processes=procs)
        assert total(samples, "collectpulse_events_received_total") == published
        ground_truth_holds(samples, truth)

        children = [int(worker.rsplit("-", 1)[1]) for worker in assigned_by_worker(samples)]
        os.killpg(workers.pid, signal.SIGTERM)
        assert await asyncio.to_thread(workers.wait, 60) == 0
        assert not [pid for pid in children if pid_alive(pid)], "a worker outlived the command"
