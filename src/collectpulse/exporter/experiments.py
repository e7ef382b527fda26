"""The customer-level, anytime-valid experiment families (section 10) of one store view.

No ``window`` label: the counts are cumulative since each experiment's
``started_at`` and the p-value is the running minimum the store keeps
(``store.experiment_reader``), so every exporter serves the same figures.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from collectpulse.exporter.computed import gauge_family
from collectpulse.kpi.sequential import Verdict
from collectpulse.store.reader import StoreView

VERDICTS: tuple[Verdict, ...] = ("collecting", "significant", "inconclusive", "srm")


def customer_experiments(view: StoreView) -> Iterator[Metric]:
    """Units, conversions, exposure, crossovers, SRM; per variant the interval, p and verdict."""
    names = (
        "experiment_units",
        "experiment_conversions",
        "experiment_exposed_units",
        "experiment_crossover_customers",
        "experiment_av_p_value",
        "experiment_diff_lower",
        "experiment_diff_upper",
        "experiment_lift_lower",
        "experiment_lift_upper",
        "experiment_srm_p_value",
        "experiment_srm_flag",
        "experiment_verdict",
    )
    family: dict[str, GaugeMetricFamily] = {name: gauge_family(name) for name in names}
    for result in view.experiments:
        control = result.config.control
        split = [result.campaign, control, result.tenant]
        for arm, counts in result.arms.items():
            labels = [result.campaign, arm, control, result.tenant]
            family["experiment_units"].add_metric(labels, counts.matured)
            family["experiment_conversions"].add_metric(labels, counts.converted)
            family["experiment_exposed_units"].add_metric(labels, counts.exposed)
        family["experiment_crossover_customers"].add_metric(split, result.crossovers)
        if result.srm is not None:
            family["experiment_srm_p_value"].add_metric(split, result.srm.p_value)
        family["experiment_srm_flag"].add_metric(
            split, 1.0 if result.srm is not None and result.srm.flagged else 0.0
        )
        for cmp in result.comparisons:
            labels = [result.campaign, cmp.variant.variant, control, result.tenant]
            if cmp.p_value is not None:
                family["experiment_av_p_value"].add_metric(labels, cmp.p_value)
            stats = cmp.statistics
            if stats is not None and stats.diff is not None:
                family["experiment_diff_lower"].add_metric(labels, stats.diff.lower)
                family["experiment_diff_upper"].add_metric(labels, stats.diff.upper)
            if stats is not None and stats.lift is not None:
                family["experiment_lift_lower"].add_metric(labels, stats.lift.lower)
                family["experiment_lift_upper"].add_metric(labels, stats.lift.upper)
            for verdict in VERDICTS:
                value = 1.0 if cmp.verdict == verdict else 0.0
                family["experiment_verdict"].add_metric([*labels, verdict], value)
    yield from family.values()
    yield from _segments(view)


def _segments(view: StoreView) -> Iterator[Metric]:
    """The same counts and comparisons per customer segment (K23): descriptive, no verdict."""
    names = (
        "experiment_segment_units",
        "experiment_segment_conversions",
        "experiment_segment_exposed_units",
        "experiment_segment_crossover_customers",
        "experiment_segment_av_p_value",
        "experiment_segment_diff_lower",
        "experiment_segment_diff_upper",
    )
    family: dict[str, GaugeMetricFamily] = {name: gauge_family(name) for name in names}
    for result in view.experiments:
        control = result.config.control
        for seg in result.segments:
            for arm, counts in seg.arms.items():
                labels = [result.campaign, arm, control, seg.segment, result.tenant]
                family["experiment_segment_units"].add_metric(labels, counts.matured)
                family["experiment_segment_conversions"].add_metric(labels, counts.converted)
                family["experiment_segment_exposed_units"].add_metric(labels, counts.exposed)
            split = [result.campaign, control, seg.segment, result.tenant]
            family["experiment_segment_crossover_customers"].add_metric(split, seg.crossovers)
            for cmp in seg.comparisons:
                labels = [result.campaign, cmp.variant.variant, control, seg.segment, result.tenant]
                if cmp.p_value is not None:
                    family["experiment_segment_av_p_value"].add_metric(labels, cmp.p_value)
                stats = cmp.statistics
                if stats is not None and stats.diff is not None:
                    family["experiment_segment_diff_lower"].add_metric(labels, stats.diff.lower)
                    family["experiment_segment_diff_upper"].add_metric(labels, stats.diff.upper)
    yield from family.values()
