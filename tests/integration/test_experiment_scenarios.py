"""The simulator's experiment scenarios reach their verdicts on a real worker and exporter.

Each publishes a backdated week (customers exposed more than the 7-day horizon ago
have matured) and its experiment's configuration; /metrics must then show what the
scenario promises: ab-winner `significant`, ab-null `inconclusive`, ab-broken-split the
SRM flag, the verdict `srm` and the pending SRM alert on a real Prometheus. About 15 s
per scenario: publishing its ~430,000-record history is most of it.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest

from collectpulse.settings import Settings
from tests.support.kafka import create_topics
from tests.support.metrics import Samples, value, wait_for
from tests.support.processes import collectpulse_process, free_port, settings_env
from tests.support.prometheus import start_prometheus

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "rules"
RULE_FILES = [RULES / "thresholds.yml", RULES / "recording.yml", RULES / "alerts.yml"]

LABELS = {"campaign": "reminder-d10", "variant": "empathetic", "control": "control"}
TENANT = {"tenant": "northbank"}


def _verdict(samples: Samples) -> str | None:
    for verdict in ("collecting", "significant", "inconclusive", "srm"):
        found = value(
            samples, "collectpulse_experiment_verdict", **LABELS, **TENANT, verdict=verdict
        )
        if found == 1:
            return verdict
    return None


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [("ab-winner", "significant"), ("ab-null", "inconclusive"), ("ab-broken-split", "srm")],
)
async def test_an_experiment_scenario_reaches_its_verdict(
    settings: Settings, tmp_path: Path, scenario: str, expected: str
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    await create_topics(settings)
    started = time.monotonic()
    with (
        collectpulse_process(settings, "worker", "-l", "warn", log=tmp_path / "worker.log") as w,
        collectpulse_process(
            settings, "exporter", log=tmp_path / "exporter.log", COLLECTPULSE_HTTP_PORT=str(port)
        ) as e,
    ):
        # the verdict needs only the matured, backdated history: a few live seconds suffice
        args = ["--scenario", scenario, "--rate", "20", "--duration", "5", "--seed", "11"]
        simulate = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "collectpulse.cli", "simulate", *args],
            env=settings_env(settings),
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert simulate.returncode == 0, simulate.stderr
        # the history is applied, and its touches, before every matured unit is counted:
        # wait until the verdict holds and the units stop growing
        last: list[float | None] = [None]

        def settled(samples: Samples) -> bool:
            units = value(
                samples,
                "collectpulse_experiment_units",
                campaign="reminder-d10",
                arm="control",
                control="control",
                **TENANT,
            )
            steady = units is not None and units == last[0] and units > 1000
            last[0] = units
            return steady and _verdict(samples) == expected

        samples = await wait_for(url, settled, timeout_s=300, processes=[w, e])
        print(f"{scenario}: settled after {time.monotonic() - started:.0f} s, units {last[0]}")
        assert _verdict(samples) == expected, (last[0], _verdict(samples))
        p_value = value(samples, "collectpulse_experiment_av_p_value", **LABELS, **TENANT)
        flag = value(
            samples,
            "collectpulse_experiment_srm_flag",
            campaign="reminder-d10",
            control="control",
            **TENANT,
        )
        assert p_value is not None
        if expected == "significant":
            assert p_value <= 0.05 and flag == 0
            lower = value(samples, "collectpulse_experiment_diff_lower", **LABELS, **TENANT)
            assert lower is not None and lower > 0
        elif expected == "inconclusive":
            assert p_value > 0.05 and flag == 0
        else:
            assert flag == 1
            await _srm_alert_pending(url, tmp_path)


async def _srm_alert_pending(url: str, tmp_path: Path) -> None:
    """A real Prometheus with the shipped rules scrapes the exporter: the SRM alert becomes
    pending for the campaign (it fires after its 15 min hold: promtool tests that part)."""
    target = url.removeprefix("http://").removesuffix("/metrics")
    with start_prometheus(
        {"collectpulse": [target]}, workdir=tmp_path / "prometheus", rule_files=RULE_FILES
    ) as prom:
        prom.wait_for_targets_up()

        def srm_alerts() -> list[dict[str, str]]:
            return [
                a["labels"]
                for a in prom.alerts()
                if a["labels"]["alertname"] == "CollectpulseExperimentSampleRatioMismatch"
            ]

        found = await prom.await_until(srm_alerts, bool, timeout_s=60, what="the SRM alert pending")
        assert [(a["campaign"], a["tenant"], a["severity"]) for a in found] == [
            ("reminder-d10", "northbank", "warning")
        ]
        assert prom.rule_errors() == {}
