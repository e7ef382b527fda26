"""The page's alert thresholds are the ones Prometheus loads from thresholds.yml."""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML

from collectpulse.ui.alerts import THRESHOLDS, pipeline_alerts

RULES = Path(__file__).parents[3] / "deploy" / "prometheus" / "rules" / "thresholds.yml"


def test_thresholds_equal_the_prometheus_thresholds_file() -> None:
    doc = YAML(typ="safe").load(RULES.read_text(encoding="utf-8"))
    in_file = {
        rule["record"].removeprefix("collectpulse:threshold:"): float(
            rule["expr"].removeprefix("vector(").removesuffix(")")
        )
        for group in doc["groups"]
        for rule in group["rules"]
    }
    assert in_file == {name: float(value) for name, value in THRESHOLDS.items()}


def test_a_stalled_pipeline_and_a_deep_backlog_are_flagged() -> None:
    health = {
        "live_workers": 1,
        "dependencies": {"redis": True, "kafka": True},
        "topics": {
            "open": {"last_event_s": 0, "consumer_lag_records": 20_000, "processing_lag_s": 1.0},
        },
    }
    names = {a["alert"] for a in pipeline_alerts(health, now_s=3600)}
    assert names == {"CollectpulsePipelineStalled", "CollectpulseConsumerLagGrowing"}
