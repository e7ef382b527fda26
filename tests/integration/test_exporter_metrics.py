"""The real /metrics output after a simulated run through real Kafka, a worker and Redis:
``promtool check metrics`` (the Debian prometheus package) finds no problem, every family
is one the KPI table documents, and the pipeline reports itself healthy and caught up."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from collectpulse.kpi.definitions import ALL_KPIS, metric_names
from collectpulse.kpi.model import PREFIX
from collectpulse.kpi.portfolio_gauges import DAY_GAUGES
from collectpulse.settings import Settings
from tests.support.kafka import create_topics
from tests.support.metrics import Samples, total, value, wait_for
from tests.support.processes import collectpulse_process, free_port

SIMULATED_RECORDS = 3000
PROMTOOL_TIMEOUT_S = 60


async def promtool_check_metrics(promtool: str, text: str) -> tuple[int, str]:
    """Run ``promtool check metrics`` on ``text``; its exit code and what it printed."""
    proc = await asyncio.create_subprocess_exec(
        promtool,
        "check",
        "metrics",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with asyncio.timeout(PROMTOOL_TIMEOUT_S):
            out, _ = await proc.communicate(text.encode())
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    return proc.returncode or 0, out.decode().strip()


def caught_up(samples: Samples) -> bool:
    """Everything published is applied: events counted and no partition lags."""
    lags = [v for (name, _), v in samples.items() if name == "collectpulse_consumer_lag_records"]
    received = total(samples, "collectpulse_events_received_total")
    return received > 0 and bool(lags) and not any(lags)


async def test_promtool_finds_no_problem_in_the_metrics_of_a_simulated_run(
    settings: Settings, tmp_path: Path
) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: scripts/bootstrap installs the prometheus package"
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    await create_topics(settings)
    simulate = [
        "simulate",
        f"--total={SIMULATED_RECORDS}",
        "--rate=1500",
        "--seed=7",
        "--poison=0.02",
        "--duplicates=0.02",
        "--out-of-order=0.05",
        "--delay-scale=0.001",
    ]
    with (
        collectpulse_process(settings, "worker", "-l", "warn", log=tmp_path / "worker.log") as w,
        collectpulse_process(
            settings, "exporter", log=tmp_path / "exporter.log", COLLECTPULSE_HTTP_PORT=str(port)
        ) as exporter,
        collectpulse_process(settings, *simulate, log=tmp_path / "simulate.log") as sim,
    ):
        await asyncio.to_thread(sim.wait, 120)
        assert sim.returncode == 0, (tmp_path / "simulate.log").read_text()
        samples = await wait_for(url, caught_up, timeout_s=120, processes=[w, exporter])
        assert caught_up(samples), "the worker did not catch up; see worker.log"
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(url)
        response.raise_for_status()
        text = response.text

    returncode, problems = await promtool_check_metrics(promtool, text)
    # the catalog's day gauges (DSO, ADD) are in days by design: that lint is expected
    expected = {f'{PREFIX}{name} use base unit "seconds" instead of "days"' for name in DAY_GAUGES}
    unexpected = [line for line in problems.splitlines() if line not in expected]
    assert unexpected == []
    assert returncode == (3 if problems else 0)  # 3: lint problems only, no error

    families = {f.name: f for f in text_string_to_metric_families(text)}
    documented = {name.removesuffix("_total") for kpi in ALL_KPIS for name in metric_names(kpi)}
    assert set(families) <= documented
    assert total(samples, "collectpulse_messages_sent_total") > 0
    assert value(samples, "collectpulse_dependency_up", dependency="redis") == 1
    assert value(samples, "collectpulse_dependency_up", dependency="kafka") == 1
    assert value(samples, "collectpulse_live_workers") == 1
    assert total(samples, "collectpulse_events_dead_lettered_total") > 0
