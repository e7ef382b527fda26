"""A real worker and exporter side by side, and the scrape once their counts have settled."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from collectpulse.settings import Settings
from tests.support.metrics import Samples, total, wait_for
from tests.support.processes import collectpulse_process, free_port

Process = subprocess.Popen[bytes]


@dataclass(frozen=True)
class Pipeline:
    """A running worker and an exporter listening on ``port``."""

    worker: Process
    exporter: Process
    port: int

    @property
    def processes(self) -> list[Process]:
        return [self.worker, self.exporter]

    def url(self, path: str, *, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"


@contextmanager
def run_pipeline(
    settings: Settings,
    logs: Path,
    *,
    worker_log: str = "worker.log",
    level: str = "warn",
    **worker_env: str,
) -> Iterator[Pipeline]:
    """A worker (``worker_env`` added to its environment) and an exporter on a free port,
    logging to ``logs/worker_log`` and ``logs/exporter.log``; both stopped on exit."""
    port = free_port()
    with (
        collectpulse_process(
            settings, "worker", "-l", level, log=logs / worker_log, **worker_env
        ) as worker,
        collectpulse_process(
            settings, "exporter", log=logs / "exporter.log", COLLECTPULSE_HTTP_PORT=str(port)
        ) as exporter,
    ):
        yield Pipeline(worker, exporter, port)


async def settled(
    url: str, published: int, processes: Sequence[Process], *, timeout_s: float
) -> Samples:
    """The scrape of ``url`` once all ``published`` events are counted and a double
    count has had time to show; ``processes`` must stay up all along."""
    await wait_for(
        url,
        lambda s: total(s, "collectpulse_events_received_total") >= published,
        timeout_s=timeout_s,
        processes=processes,
    )
    # a double count would keep growing past the published total: let it show
    await asyncio.sleep(2)
    return await wait_for(url, bool, timeout_s=10, processes=processes)
