"""The `agent-floor` scenario on a real worker and exporter: the roster and the daily
targets it publishes reach the store, and the targets API and /metrics agree with them.

The scenario publishes the dialer's roster (8 active collectors per tenant) and two daily
targets per agent, then 70 minutes of history; the test waits until every target is
listed, then checks each row's arithmetic (a count is below target when under target x
the elapsed share of the day) and that `agents_below_target` counts exactly the agents
the API lists below a target.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from collectpulse.events.roster import ReferenceTopic
from collectpulse.settings import Settings
from collectpulse.simulate.dialer import roster
from collectpulse.simulate.named import SCENARIOS
from tests.support.kafka import create_topics
from tests.support.metrics import Samples, scrape
from tests.support.processes import collectpulse_process, free_port, settings_env

pytestmark = pytest.mark.integration


async def _targets(url: str, wanted: int, timeout_s: float = 90.0) -> list[dict[str, object]]:
    deadline = time.monotonic() + timeout_s
    rows: list[dict[str, object]] = []
    async with httpx.AsyncClient(timeout=10) as client:
        while time.monotonic() < deadline:
            answer = await client.get(url)
            if answer.status_code == 200:
                rows = answer.json()["targets"]
                if len(rows) >= wanted:
                    return rows
            await asyncio.sleep(0.5)
    raise AssertionError(f"{len(rows)} of {wanted} targets listed within {timeout_s:.0f} s")


def _facts(rows: list[dict[str, object]]) -> list[tuple[object, ...]]:
    return sorted((r["scope_id"], r["metric"], r["actual"], r["below_target"]) for r in rows)


def _below(rows: list[dict[str, object]]) -> Counter[str]:
    return Counter(str(r["metric"]) for r in rows if r["below_target"])


def _exported(samples: Samples) -> Counter[str]:
    out: Counter[str] = Counter()
    for (name, labels), value in samples.items():
        if name == "collectpulse_agents_below_target":
            out[dict(labels)["metric"]] += int(value)
    return out


async def test_the_agent_floor_roster_and_targets_reach_the_api_and_metrics(
    settings: Settings, tmp_path: Path
) -> None:
    scenario = SCENARIOS["agent-floor"].scenario
    agents = {a.agent_id: t.name for t in scenario.tenants for a in roster(t)}
    reference = [settings.topic(t.value) for t in (ReferenceTopic.AGENT, ReferenceTopic.TARGET)]
    await create_topics(settings, extra=reference)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with (
        collectpulse_process(settings, "worker", "-l", "warn", log=tmp_path / "worker.log") as w,
        collectpulse_process(
            settings, "exporter", log=tmp_path / "exporter.log", COLLECTPULSE_HTTP_PORT=str(port)
        ) as e,
    ):
        args = ["--scenario", "agent-floor", "--rate", "20", "--duration", "3", "--seed", "5"]
        simulate = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "collectpulse.cli", "simulate", *args],
            env=settings_env(settings),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert simulate.returncode == 0, simulate.stderr
        await _targets(f"{base}/api/v1/targets", 2 * len(agents))
        # the history is still being applied: compare once the API reads the same before
        # and after a scrape (the actuals stop moving when the worker has caught up)
        deadline = time.monotonic() + 60
        while True:
            for proc in (w, e):
                assert proc.poll() is None, f"{proc.args!r} exited; see its log"
            before = await _targets(f"{base}/api/v1/targets", 2 * len(agents))
            samples = await scrape(f"{base}/metrics")
            rows = await _targets(f"{base}/api/v1/targets", 2 * len(agents))
            if _facts(before) == _facts(rows) and _exported(samples) == _below(rows):
                break
            assert time.monotonic() < deadline, (_below(rows), _exported(samples))
            await asyncio.sleep(0.5)

    assert {(r["scope_id"], r["metric"]) for r in rows} == {
        (agent, metric) for agent in agents for metric in ("promises_made", "rpc_count")
    }
    for row in rows:
        assert row["tenant"] == agents[str(row["scope_id"])]
        assert (row["scope"], row["period"]) == ("agent", "day")
        actual, target, share = row["actual"], row["target"], row["elapsed_share"]
        assert isinstance(actual, float) and isinstance(target, float)
        assert isinstance(share, float) and 0 < share <= 1
        assert row["below_target"] == (actual < target * share), row
    assert _exported(samples) == _below(rows)
