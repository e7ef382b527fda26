"""The Prometheus side as shipped: config, rules and their unit tests pass promtool, the
Alertmanager config passes amtool. (A real Prometheus scraping a real exporter after a
simulated run records every rule without an evaluation error, and ``promtool check
metrics`` passes its output: test_dashboards.py, with the run it already makes.)

promtool and prometheus are the Debian binaries (scripts/bootstrap installs them); a
missing one fails these tests.
"""

from __future__ import annotations

import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from collectpulse.kpi.definitions import RATIOS
from tests.support.prometheus import binary, promtool

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS / "rules"
RULE_FILES = [RULES / "thresholds.yml", RULES / "recording.yml", RULES / "alerts.yml"]
UNIT_TESTS = sorted((PROMETHEUS / "tests").glob("*_test.yml"))
ALERTMANAGER = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
# a short, reproducible simulated day: the whole funnel, poison records included
SIMULATE = (
    *("--rate", "300", "--duration", "8", "--seed", "5"),
    *("--delay-scale", "0.01", "--poison", "0.01"),
)
FUNNEL_LEVELS = ("campaign_channel_variant", "campaign_channel", "campaign", "channel")


def _ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, f"{result.args}\n{result.stdout}\n{result.stderr}"


def _alert_names() -> list[str]:
    return re.findall(r"^\s+- alert: (\w+)$", (RULES / "alerts.yml").read_text(), re.M)


def _threshold_names(text: str) -> set[str]:
    return set(re.findall(r"collectpulse:threshold:(\w+)", text))


# --- promtool --------------------------------------------------------------------------


def test_prometheus_config_and_its_rule_files_pass_promtool_check_config() -> None:
    result = promtool("check", "config", PROMETHEUS / "prometheus.yml")
    _ok(result)
    assert "3 rule files found" in result.stdout


def test_rule_files_pass_promtool_check_rules() -> None:
    _ok(promtool("check", "rules", *RULE_FILES))


def test_alert_rule_unit_tests_pass() -> None:
    assert len(UNIT_TESTS) >= 4
    # one promtool per file, two at a time: each evaluates on one core
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda f: promtool("test", "rules", f, timeout_s=180), UNIT_TESTS))
    for test_file, result in zip(UNIT_TESTS, results, strict=True):
        _ok(result)
        assert result.stdout.count("SUCCESS") == 1, (test_file, result.stdout)


def test_alertmanager_config_passes_amtool_check_config() -> None:
    result = subprocess.run(
        [binary("amtool"), "check-config", str(ALERTMANAGER)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    _ok(result)


# --- the files agree with each other ---------------------------------------------------


def test_every_alert_has_unit_tests_showing_it_firing_and_not_firing() -> None:
    firing: set[str] = set()
    silent: set[str] = set()
    for path in UNIT_TESTS:
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            name = re.match(r"\s+alertname: (\w+)$", line)
            if not name:
                continue
            expectation = lines[i + 1].strip()
            if expectation.startswith("exp_alerts: []"):
                silent.add(name[1])
            elif expectation == "exp_alerts:" and lines[i + 2].strip().startswith("- exp_labels"):
                firing.add(name[1])
    alerts = set(_alert_names())
    assert len(alerts) == 21
    assert alerts - firing == set(), "alerts without a firing case"
    assert alerts - silent == set(), "alerts without a not-firing case"


def test_every_threshold_used_is_defined_once_and_guarded_against_removal() -> None:
    thresholds = (RULES / "thresholds.yml").read_text()
    defined = re.findall(r"record: collectpulse:threshold:(\w+)", thresholds)
    assert len(defined) == len(set(defined))
    alerts = (RULES / "alerts.yml").read_text()
    used = _threshold_names(alerts) | _threshold_names((RULES / "recording.yml").read_text())
    guarded = set(re.findall(r"absent\(collectpulse:threshold:(\w+)\)", alerts))
    assert used == set(defined)
    assert guarded == set(defined)


def test_every_funnel_ratio_of_the_kpi_table_is_recorded_at_every_level() -> None:
    recorded = set(re.findall(r"record: (\S+)", (RULES / "recording.yml").read_text()))
    funnel = [r.name for r in RATIOS if "campaign" in r.labels]
    assert len(funnel) == 9
    missing = {
        f"collectpulse:{level}:{name}_ratio"
        for level in FUNNEL_LEVELS
        for name in funnel
        if f"collectpulse:{level}:{name}_ratio" not in recorded
    }
    assert missing == set()


def test_every_alert_is_documented_with_a_runbook_anchor() -> None:
    docs = (ROOT / "docs" / "ALERTS.md").read_text()
    alerts_text = (RULES / "alerts.yml").read_text()
    for alert in _alert_names():
        assert f"### {alert}" in docs, alert
        assert f"runbook: docs/ALERTS.md#{alert.lower()}" in alerts_text, alert
    for threshold in _threshold_names((RULES / "thresholds.yml").read_text()):
        assert f"`{threshold}`" in docs, threshold
