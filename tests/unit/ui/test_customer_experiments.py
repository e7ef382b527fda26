"""The live page's customer-level experiments: every tagged number is its /metrics sample."""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace

from prometheus_client import CollectorRegistry

from collectpulse.exporter.collector import StoreCollector
from collectpulse.kpi.experiment import Arm
from collectpulse.kpi.sequential import evaluate_arms
from collectpulse.kpi.srm import srm_check
from collectpulse.store.experiment_config import ExperimentConfig
from collectpulse.store.experiment_reader import ArmCounts, ExperimentResult, SegmentResult
from collectpulse.store.reader import StoreView
from collectpulse.ui.model import Filters, live_model
from collectpulse.ui.render import live_fragment

NOW_S = 1_700_000_000
CONFIG = ExperimentConfig(
    "tone", {"control": 0.5, "social": 0.5}, "control", NOW_S - 864_000, 0.05, 5000
)


def _view(control: ArmCounts, social: ArmCounts) -> StoreView:
    arms = {"control": control, "social": social}
    srm = srm_check({k: v.exposed for k, v in arms.items()}, CONFIG.variants)
    units = [Arm(k, v.converted, v.matured) for k, v in arms.items()]
    comparisons = evaluate_arms(units, "control", srm=srm)
    result = ExperimentResult("tone", "t1", CONFIG, arms, 7, srm, comparisons)
    return StoreView(NOW_S, (0,), {}, {"1h": {}}, experiments=(result,))


def _samples(view: StoreView) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(view))
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in registry.collect()
        for s in family.samples
    }


def _tagged(fragment: str) -> list[tuple[str, dict[str, str], str]]:
    found = re.findall(
        r'data-metric="([^"]+)" data-labels="([^"]*)" data-value="([^"]*)"', fragment
    )
    return [(m, json.loads(html.unescape(labels)), v) for m, labels, v in found]


def test_every_number_of_the_customer_section_is_its_metrics_sample() -> None:
    view = _view(ArmCounts(5400, 5000, 500), ArmCounts(5000, 5000, 600))
    model = live_model(view, window="1h", filters=Filters(), min_sample=100, horizon="7d")
    fragment = live_fragment(model)
    samples = _samples(view)
    tagged = [t for t in _tagged(fragment) if t[0].startswith("collectpulse_experiment_")]
    names = {metric for metric, _, _ in tagged}
    assert names >= {
        "collectpulse_experiment_units",
        "collectpulse_experiment_av_p_value",
        "collectpulse_experiment_diff_lower",
        "collectpulse_experiment_srm_flag",
        "collectpulse_experiment_crossover_customers",
    }
    for metric, labels, value in tagged:
        if value:
            assert samples[(metric, frozenset(labels.items()))] == float(value), metric
    # 5400 / 5000 exposed at 50/50: the split is broken, so no verdict (section 10)
    (comparison,) = model["experiments"]["customers"]["campaigns"][0]["comparisons"]
    assert comparison["verdict"] == "srm"
    assert "SRM: the split is broken" in fragment
    assert "a payment within 7d" in fragment


def test_a_filter_on_another_campaign_hides_the_experiment() -> None:
    view = _view(ArmCounts(10, 10, 1), ArmCounts(10, 10, 2))
    model = live_model(view, window="1h", filters=Filters(campaign="other"), min_sample=100)
    assert model["experiments"]["customers"]["campaigns"] == []
    assert "No experiment configured" in live_fragment(model)


def test_segment_rows_are_their_metrics_samples_and_give_no_verdict() -> None:
    base = _view(ArmCounts(5000, 5000, 500), ArmCounts(5000, 5000, 600))
    (result,) = base.experiments
    arms = {"control": ArmCounts(2500, 2500, 250), "social": ArmCounts(2500, 2500, 330)}
    units = [Arm(k, v.converted, v.matured) for k, v in arms.items()]
    vip = SegmentResult("vip", arms, 3, evaluate_arms(units, "control"))
    view = replace(base, experiments=(replace(result, segments=(vip,)),))
    model = live_model(view, window="1h", filters=Filters(), min_sample=100, horizon="7d")
    fragment = live_fragment(model)
    samples = _samples(view)
    tagged = [t for t in _tagged(fragment) if "_experiment_segment_" in t[0]]
    assert {metric for metric, _, _ in tagged} == {
        "collectpulse_experiment_segment_units",
        "collectpulse_experiment_segment_conversions",
        "collectpulse_experiment_segment_exposed_units",
        "collectpulse_experiment_segment_crossover_customers",
        "collectpulse_experiment_segment_av_p_value",
        "collectpulse_experiment_segment_diff_lower",
        "collectpulse_experiment_segment_diff_upper",
    }
    for metric, labels, value in tagged:
        assert labels["segment"] == "vip"
        assert samples[(metric, frozenset(labels.items()))] == float(value), metric
    assert "not corrected for the number of segments" in fragment
    assert not [key for key in samples if "segment" in dict(key[1]) and "verdict" in key[0]]
