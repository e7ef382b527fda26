"""The customer-level experiment gauges (kpi-catalog section 10, K23): units, conversions,
the anytime-valid p-value and confidence sequence, the SRM check and the verdict, per arm
and per segment. Part of the one definitions table (``kpi.computed`` gathers them)."""

from __future__ import annotations

from collectpulse.kpi.model import Gauge

_EXPERIMENT = ("campaign", "variant", "control", "tenant")
_ARM = ("campaign", "arm", "control", "tenant")
_EXPERIMENT_SPLIT = ("campaign", "control", "tenant")
_SEGMENT_ARM = ("campaign", "arm", "control", "segment", "tenant")
_SEGMENT_VERSUS = ("campaign", "variant", "control", "segment", "tenant")
_BY_SEGMENT = (
    "by the customer's segment (the exposing message's; K23): descriptive, not for decisions "
    "(not corrected for the number of segments, no SRM check, no verdict) unless the segment "
    "was registered before the start"
)
_CUMULATIVE = "cumulative since the experiment's started_at (experiment topic)"
_AV = "absent until both arms meet the guards (minimum sample, 5 payers, 5 non-payers)"

EXPERIMENT_GAUGES: tuple[Gauge, ...] = (
    Gauge(
        "experiment_units",
        f"Matured customers of the arm (first delivered message at least the horizon ago), "
        f"{_CUMULATIVE}; the unit of the always-valid test.",
        "experiment",
        _ARM,
    ),
    Gauge(
        "experiment_conversions",
        f"Matured customers of the arm who made a succeeded payment within the horizon "
        f"(default 7 d) after exposure, {_CUMULATIVE}.",
        "experiment",
        _ARM,
    ),
    Gauge(
        "experiment_exposed_units",
        f"Customers exposed to the arm, matured or not (crossovers apart), {_CUMULATIVE}; "
        "the sample-ratio check's counts.",
        "experiment",
        _ARM,
    ),
    Gauge(
        "experiment_crossover_customers",
        f"Customers delivered messages of two or more arms: dropped from every arm, {_CUMULATIVE}.",
        "experiment",
        _EXPERIMENT_SPLIT,
    ),
    Gauge(
        "experiment_av_p_value",
        "Always-valid p-value of the variant against control: the running minimum since the "
        f"start, kept in the store; valid however often it is watched; {_AV}.",
        "experiment",
        _EXPERIMENT,
    ),
    Gauge(
        "experiment_diff_lower",
        "Lower bound of the confidence sequence on the variant's payment rate minus "
        f"control's (customers, matured); holds at every look; {_AV}.",
        "experiment",
        _EXPERIMENT,
    ),
    Gauge(
        "experiment_diff_upper",
        "Upper bound of the confidence sequence on the variant's payment rate minus "
        f"control's (customers, matured); holds at every look; {_AV}.",
        "experiment",
        _EXPERIMENT,
    ),
    Gauge(
        "experiment_lift_lower",
        "Lower bound of the variant's relative lift over control (descriptive only, the "
        f"verdict uses the difference); {_AV} or when control's rate is 0.",
        "experiment",
        _EXPERIMENT,
    ),
    Gauge(
        "experiment_lift_upper",
        "Upper bound of the variant's relative lift over control (descriptive only, the "
        f"verdict uses the difference); {_AV} or when control's rate is 0.",
        "experiment",
        _EXPERIMENT,
    ),
    Gauge(
        "experiment_srm_p_value",
        "Sample-ratio mismatch: chi-square p-value of the exposed customers per arm against "
        "the configured split; absent until every expected count is at least 5.",
        "experiment",
        _EXPERIMENT_SPLIT,
    ),
    Gauge(
        "experiment_srm_flag",
        "1 when the arms' sizes contradict the configured split (SRM p < 0.001): a broken "
        "randomiser or an arm that fails to deliver; no verdict is given then. Else 0.",
        "experiment",
        _EXPERIMENT_SPLIT,
    ),
    Gauge(
        "experiment_verdict",
        "1 for the variant's current verdict against control: collecting (guards not met), "
        "significant (always-valid p <= alpha / (arms - 1)), inconclusive, or srm.",
        "experiment",
        (*_EXPERIMENT, "verdict"),
    ),
    Gauge(
        "experiment_segment_units",
        f"Matured customers of the arm, {_CUMULATIVE}, {_BY_SEGMENT}.",
        "experiment",
        _SEGMENT_ARM,
    ),
    Gauge(
        "experiment_segment_conversions",
        f"Matured customers of the arm who paid within the horizon after exposure, "
        f"{_CUMULATIVE}, {_BY_SEGMENT}.",
        "experiment",
        _SEGMENT_ARM,
    ),
    Gauge(
        "experiment_segment_exposed_units",
        f"Customers exposed to the arm, matured or not, {_CUMULATIVE}, {_BY_SEGMENT}.",
        "experiment",
        _SEGMENT_ARM,
    ),
    Gauge(
        "experiment_segment_crossover_customers",
        f"Customers delivered messages of two or more arms, {_CUMULATIVE}, {_BY_SEGMENT}.",
        "experiment",
        ("campaign", "control", "segment", "tenant"),
    ),
    Gauge(
        "experiment_segment_av_p_value",
        f"Always-valid p-value of the variant against control within the segment (its own "
        f"running minimum), {_BY_SEGMENT}; {_AV} within the segment.",
        "experiment",
        _SEGMENT_VERSUS,
    ),
    Gauge(
        "experiment_segment_diff_lower",
        f"Lower bound of the confidence sequence on the payment-rate difference within the "
        f"segment, {_BY_SEGMENT}; {_AV} within the segment.",
        "experiment",
        _SEGMENT_VERSUS,
    ),
    Gauge(
        "experiment_segment_diff_upper",
        f"Upper bound of the confidence sequence on the payment-rate difference within the "
        f"segment, {_BY_SEGMENT}; {_AV} within the segment.",
        "experiment",
        _SEGMENT_VERSUS,
    ),
)
