"""The live page's customer-level experiments: the figures to decide on (section 10).

Plain data from the store view's evaluated experiments (``store.experiment_reader``),
the very results /metrics exports, so every number here is a
``collectpulse_experiment_*`` sample and carries its name and labels.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from collectpulse.settings import duration_s
from collectpulse.store.experiment_reader import ExperimentResult, SegmentResult
from collectpulse.store.reader import StoreView

METRICS = {
    "units": "collectpulse_experiment_units",
    "conversions": "collectpulse_experiment_conversions",
    "exposed": "collectpulse_experiment_exposed_units",
    "crossovers": "collectpulse_experiment_crossover_customers",
    "p_value": "collectpulse_experiment_av_p_value",
    "diff_low": "collectpulse_experiment_diff_lower",
    "diff_high": "collectpulse_experiment_diff_upper",
    "lift_low": "collectpulse_experiment_lift_lower",
    "lift_high": "collectpulse_experiment_lift_upper",
    "srm_p_value": "collectpulse_experiment_srm_p_value",
    "srm_flag": "collectpulse_experiment_srm_flag",
    "seg_units": "collectpulse_experiment_segment_units",
    "seg_conversions": "collectpulse_experiment_segment_conversions",
    "seg_exposed": "collectpulse_experiment_segment_exposed_units",
    "seg_crossovers": "collectpulse_experiment_segment_crossover_customers",
    "seg_p_value": "collectpulse_experiment_segment_av_p_value",
    "seg_diff_low": "collectpulse_experiment_segment_diff_lower",
    "seg_diff_high": "collectpulse_experiment_segment_diff_upper",
}
"""The sample name of each tagged number."""


def customer_panel(view: StoreView, keep: Mapping[str, str], horizon: str) -> dict[str, Any]:
    """Every configured experiment ``keep`` lets through (tenant, campaign, variant)."""
    return {
        "horizon": horizon,
        "horizon_s": duration_s(horizon),
        "metrics": METRICS,
        "campaigns": [
            _experiment(result, keep.get("variant"))
            for result in view.experiments
            if keep.get("campaign", result.campaign) == result.campaign
            and keep.get("tenant", result.tenant) == result.tenant
        ],
    }


def _experiment(result: ExperimentResult, variant: str | None) -> dict[str, Any]:
    srm = result.srm
    return {
        "campaign": result.campaign,
        "tenant": result.tenant,
        "control": result.config.control,
        "started_s": result.config.started_s,
        "alpha": result.config.alpha,
        "crossovers": result.crossovers,
        "srm_p_value": srm.p_value if srm is not None else None,
        "srm_flag": 1 if srm is not None and srm.flagged else 0,
        "arms": [
            {
                "arm": arm,
                "weight": result.config.variants[arm],
                "exposed": counts.exposed,
                "units": counts.matured,
                "conversions": counts.converted,
                "rate": counts.converted / counts.matured if counts.matured else None,
            }
            for arm, counts in result.arms.items()
        ],
        "comparisons": [
            {
                "variant": cmp.variant.variant,
                "alpha": cmp.alpha,
                "p_value": cmp.p_value,
                "diff_low": stats.diff.lower if stats and stats.diff else None,
                "diff_high": stats.diff.upper if stats and stats.diff else None,
                "lift_low": stats.lift.lower if stats and stats.lift else None,
                "lift_high": stats.lift.upper if stats and stats.lift else None,
                "verdict": cmp.verdict,
            }
            for cmp in result.comparisons
            if variant is None or variant in (cmp.variant.variant, cmp.control.variant)
            for stats in (cmp.statistics,)
        ],
        "segments": [_segment(seg, variant) for seg in result.segments],
    }


def _segment(seg: SegmentResult, variant: str | None) -> dict[str, Any]:
    """One segment's counts and descriptive comparisons (K23): no SRM check, no verdict."""
    return {
        "segment": seg.segment,
        "crossovers": seg.crossovers,
        "arms": [
            {
                "arm": arm,
                "exposed": counts.exposed,
                "units": counts.matured,
                "conversions": counts.converted,
                "rate": counts.converted / counts.matured if counts.matured else None,
            }
            for arm, counts in seg.arms.items()
        ],
        "comparisons": [
            {
                "variant": cmp.variant.variant,
                "p_value": cmp.p_value,
                "diff_low": stats.diff.lower if stats and stats.diff else None,
                "diff_high": stats.diff.upper if stats and stats.diff else None,
            }
            for cmp in seg.comparisons
            if variant is None or variant in (cmp.variant.variant, cmp.control.variant)
            for stats in (cmp.statistics,)
        ],
    }
