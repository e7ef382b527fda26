"""Checks of one simulated run's exposition and recording rules, shared so that one run
(tests/integration/test_dashboards.py) serves them all instead of a run per check."""

from __future__ import annotations

import subprocess

import httpx
from prometheus_client.parser import text_string_to_metric_families

from collectpulse.kpi.definitions import ALL_KPIS, metric_names
from collectpulse.kpi.model import PREFIX
from collectpulse.kpi.portfolio_gauges import DAY_GAUGES
from tests.support.metrics import Samples, total, value
from tests.support.prometheus import PrometheusServer, binary

PROMTOOL_TIMEOUT_S = 60


def promtool_check_metrics(text: str) -> tuple[int, str]:
    """``promtool check metrics`` on ``text``: its exit code and what it printed."""
    proc = subprocess.run(
        [binary("promtool"), "check", "metrics"],
        input=text.encode(),
        capture_output=True,
        timeout=PROMTOOL_TIMEOUT_S,
        check=False,
    )
    return proc.returncode, (proc.stdout + proc.stderr).decode().strip()


def check_exposition(url: str) -> None:
    """promtool finds no problem in ``url``'s /metrics, every family is one the KPI table
    documents, and the pipeline reports itself healthy, one worker live, poison dead-lettered."""
    response = httpx.get(url, timeout=10)
    response.raise_for_status()
    text = response.text
    returncode, problems = promtool_check_metrics(text)
    # the catalog's day gauges (DSO, ADD) are in days by design: that lint is expected
    expected = {f'{PREFIX}{name} use base unit "seconds" instead of "days"' for name in DAY_GAUGES}
    assert [line for line in problems.splitlines() if line not in expected] == []
    assert returncode == (3 if problems else 0)  # 3: lint problems only, no error
    families = {f.name for f in text_string_to_metric_families(text)}
    documented = {name.removesuffix("_total") for kpi in ALL_KPIS for name in metric_names(kpi)}
    assert families <= documented, sorted(families - documented)
    samples: Samples = {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert total(samples, "collectpulse_messages_sent_total") > 0
    assert value(samples, "collectpulse_dependency_up", dependency="redis") == 1
    assert value(samples, "collectpulse_dependency_up", dependency="kafka") == 1
    assert value(samples, "collectpulse_live_workers") == 1
    assert total(samples, "collectpulse_events_dead_lettered_total") > 0


def check_recording_rules(prom: PrometheusServer, timeout_s: float = 30.0) -> None:
    """Every recording rule has a sample (but the 7-day baselines, which need a day of
    history, and the per-provider rules), none fails to evaluate, every ratio is in [0, 1]."""
    recorded = [r["name"] for r in prom.rules() if r["type"] == "recording"]
    expected = [n for n in recorded if not n.endswith(":baseline_7d") and ":provider:" not in n]
    prom.wait_until(
        lambda: [n for n in expected if not prom.query(n)],
        lambda empty: empty == [],
        timeout_s=timeout_s,
        what="a sample for every recording rule",
    )
    assert prom.rule_errors() == {}
    ratios = prom.values('{__name__=~"collectpulse:.+_ratio"}')
    assert ratios and all(0 <= v <= 1 for v in ratios.values()), ratios
