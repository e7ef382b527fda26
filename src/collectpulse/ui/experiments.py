"""The live page's experiment panel: per campaign, its arms and each variant against control.

The arms are the exporter's (``exporter.computed.experiment_arms``) and the statistics
``kpi.experiment``'s, so lift, p-value and P(beat control) equal the
``collectpulse_experiment_*`` samples; the lift interval is computed here only
(``kpi.lift_interval``), it has no metric.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from collectpulse.exporter.computed import experiment_arms
from collectpulse.kpi.definitions import GAUGES, ratio_by_name
from collectpulse.kpi.experiment import VariantComparison, evaluate_experiment
from collectpulse.kpi.lift_interval import lift_interval
from collectpulse.kpi.model import metric_name
from collectpulse.kpi.ratios import CounterValues, evaluate_ratio, labelset

PAYMENT_RATIO = ratio_by_name("message_payment")
_ARM_PAYMENT_RATIO = dataclasses.replace(PAYMENT_RATIO, labels=("campaign", "variant", "tenant"))
"""The arm's payment ratio over all its segments (the exported ratio is by segment, K23)."""
_GAUGES = {g.name: g for g in GAUGES}


def metrics() -> dict[str, str]:
    """The sample names of the panel's tagged numbers."""
    return {
        "delivered": "collectpulse_windowed_messages_delivered",
        "lift": metric_name(_GAUGES["experiment_lift_ratio"]),
        "p_value": metric_name(_GAUGES["experiment_p_value"]),
        "beat_control": metric_name(_GAUGES["experiment_beat_control_probability"]),
    }


def experiment_panel(
    values: CounterValues, *, min_sample: int, keep: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Every campaign with two or more variants in the window that ``keep`` lets through
    (its tenant and campaign; a variant filter keeps that variant's comparison)."""
    conversion = evaluate_ratio(_ARM_PAYMENT_RATIO, values)
    panels = []
    for (campaign, tenant), arms in sorted(experiment_arms(values).items()):
        if keep.get("campaign", campaign) != campaign or keep.get("tenant", tenant) != tenant:
            continue
        result = evaluate_experiment(campaign, arms, min_sample)
        if result is None:
            continue
        wanted = keep.get("variant")
        comparisons = [
            _comparison(cmp)
            for cmp in result.comparisons
            if wanted is None or wanted in (cmp.variant.variant, cmp.control.variant)
        ]
        panels.append(
            {
                "campaign": campaign,
                "tenant": tenant,
                "control": result.control.variant,
                "min_sample": min_sample,
                "arms": [
                    {
                        "variant": arm.variant,
                        "delivered": arm.trials,
                        "paid": arm.successes,
                        "conversion": conversion.get(
                            labelset(campaign=campaign, variant=arm.variant, tenant=tenant)
                        ),
                        "sufficient_sample": arm.trials >= min_sample,
                    }
                    for arm in arms
                ],
                "comparisons": comparisons,
            }
        )
    return panels


def _comparison(cmp: VariantComparison) -> dict[str, Any]:
    interval = lift_interval(cmp.variant, cmp.control) if cmp.sufficient_sample else None
    return {
        "variant": cmp.variant.variant,
        "control": cmp.control.variant,
        "sufficient_sample": cmp.sufficient_sample,
        "lift": cmp.lift,
        "lift_low": interval[0] if interval else None,
        "lift_high": interval[1] if interval else None,
        "p_value": cmp.p_value,
        "beat_control": cmp.probability_to_beat_control,
    }
