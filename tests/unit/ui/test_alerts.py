"""The page's alert thresholds are the ones Prometheus loads from thresholds.yml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from collectpulse.ui.alerts import THRESHOLDS, contact_alerts, pipeline_alerts

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


def test_a_dialer_campaign_reaching_nobody_or_wrong_numbers_is_flagged() -> None:
    def attempts(
        campaign: str, outcome: str, direction: str = "outbound"
    ) -> tuple[tuple[str, str], ...]:
        return (
            ("dialer_campaign", campaign),
            ("direction", direction),
            ("outcome", outcome),
            ("tenant", "acme"),
        )

    hour = {
        "contact_attempts": {
            # 5 of 405 right party: collapsed
            attempts("dpd-30", "no_answer"): 400.0,
            attempts("dpd-30", "right_party"): 5.0,
            # inbound calls are not dialer attempts
            attempts("dpd-30", "right_party", "inbound"): 500.0,
            # 90 of 220 wrong party or invalid number; 30 right party (13.6%)
            attempts("stale", "no_answer"): 100.0,
            attempts("stale", "right_party"): 30.0,
            attempts("stale", "wrong_party"): 40.0,
            attempts("stale", "invalid_number"): 50.0,
            # too few attempts to tell
            attempts("pilot", "invalid_number"): 100.0,
        }
    }
    found = {(a["alert"], a["labels"]["dialer_campaign"]) for a in contact_alerts(hour)}
    assert found == {
        ("CollectpulseRpcRatioCollapse", "dpd-30"),
        ("CollectpulseWrongNumberShareSpike", "stale"),
    }
    assert contact_alerts(None) == []


def test_a_cei_drop_against_the_quarter_s_pace_and_a_dso_rise_are_flagged() -> None:
    from collectpulse.ui.alerts import portfolio_alerts

    def row(currency: str, window: str, cei: float | None, dso: float | None) -> dict[str, Any]:
        labels = {"currency": currency, "tenant": "acme", "window": window}
        return {"labels": labels, "values": {"cei_ratio": cei, "dso_days": dso}}

    # the books of deploy/prometheus/tests/portfolio_test.yml: E_pd past due now, R a month
    rows = [
        row("EUR", "30d", 1 / 11, 140.0),  # steady, E_pd 1,000,000, R 100,000: silent
        row("EUR", "90d", 3 / 13, 140.0),
        row("USD", "30d", 50 / 1050, 50.0),  # the last month collected half; 1.39 x DSO
        row("USD", "90d", 250 / 1250, 36.0),
        row("GBP", "30d", 80 / 1080, 44.0),  # 86% of the pace; 1.22 x DSO: neither
        row("GBP", "90d", 280 / 1280, 36.0),
        row("CHF", "30d", 0.8, 20.0),  # steady, well collected; DSO falling
        row("CHF", "90d", 12 / 13, 30.0),
        row("PLN", "30d", 2 / 3, None),  # that book collected half: 24 points under
        row("PLN", "90d", 10 / 11, None),
        row("SEK", "30d", None, None),  # no sample in 30 days: nothing to compare
        row("SEK", "90d", 0.9, 10.0),
    ]
    found = {(a["alert"], a["labels"]["currency"]) for a in portfolio_alerts(rows)}
    assert found == {
        ("CollectpulseCeiDrop", "USD"),
        ("CollectpulseCeiDrop", "PLN"),
        ("CollectpulseDsoRise", "USD"),
    }
