"""Experiments: customer-level anytime-valid results (for decisions) and the fixed-horizon
per-message figures (not for decisions)."""

from __future__ import annotations

from collectpulse.dashboards import promql
from collectpulse.dashboards.boards.common import counter, describe, gauge, legend, ratio
from collectpulse.dashboards.model import Board, Panel, PanelKind, Query, Row, Unit
from collectpulse.dashboards.promql import Selection

VARIANT = ("campaign", "variant")
VERSUS = ("campaign", "variant", "control")
# An experiment compares a campaign's variants over all its channels: no channel filter.
EXPERIMENT = Selection(filters=("campaign", "tenant"))
_LIFT = gauge("experiment_lift_ratio")
_P_VALUE = gauge("experiment_p_value")
_BEAT = gauge("experiment_beat_control_probability")
_VS = "{{campaign}} {{variant}} vs {{control}}"
ARM = ("campaign", "arm", "control")
SPLIT = ("campaign", "control")


def _ratio(name: str) -> str:
    return promql.ratio(ratio(name), VARIANT, EXPERIMENT)


def _variants_row() -> Row:
    columns = (
        ("delivered", promql.windowed_sum(counter("messages_delivered"), VARIANT, EXPERIMENT)),
        ("paid", promql.windowed_sum(counter("messages_paid"), VARIANT, EXPERIMENT)),
        ("message payment ratio", _ratio("message_payment")),
        ("open ratio", _ratio("open")),
        ("click-through ratio", _ratio("click_through")),
    )
    return Row(
        "Variants (messages sent in the window; fixed-horizon, not for decisions)",
        (
            Panel(
                "Per-variant results",
                PanelKind.TABLE,
                tuple(Query(expr, name) for name, expr in columns),
                describe(ratio("message_payment"), ratio("open"), ratio("click_through")),
                width=24,
            ),
            Panel(
                "Message payment ratio by variant",
                PanelKind.TIMESERIES,
                (Query(_ratio("message_payment"), legend(VARIANT)),),
                describe(ratio("message_payment")),
                Unit.RATIO,
                width=24,
            ),
        ),
    )


def _verdict_row() -> Row:
    def versus(kpi_name: str) -> Query:
        return Query(promql.gauge(gauge(kpi_name), VERSUS, EXPERIMENT), _VS)

    return Row(
        "Against control, messages as units (fixed-horizon, not for decisions)",
        (
            Panel(
                "Lift over control",
                PanelKind.BAR_GAUGE,
                (versus(_LIFT.name),),
                describe(_LIFT),
                Unit.RATIO,
                width=8,
                bounded=False,
            ),
            Panel(
                "Probability to beat control",
                PanelKind.BAR_GAUGE,
                (versus(_BEAT.name),),
                describe(_BEAT),
                Unit.RATIO,
                width=8,
            ),
            Panel(
                "p-value (two-proportion z-test)",
                PanelKind.BAR_GAUGE,
                (versus(_P_VALUE.name),),
                describe(_P_VALUE),
                Unit.NONE,
                width=8,
            ),
            Panel(
                "Probability to beat control over time",
                PanelKind.TIMESERIES,
                (versus(_BEAT.name),),
                describe(_BEAT),
                Unit.RATIO,
                width=24,
            ),
        ),
    )


def _anytime_rows() -> tuple[Row, Row]:
    def arm(name: str) -> Query:
        return Query(promql.gauge(gauge(name), ARM, EXPERIMENT), name.removeprefix("experiment_"))

    def versus(name: str) -> Query:
        return Query(
            promql.gauge(gauge(name), VERSUS, EXPERIMENT), name.removeprefix("experiment_")
        )

    def split(name: str) -> Query:
        return Query(promql.gauge(gauge(name), SPLIT, EXPERIMENT), name.removeprefix("experiment_"))

    verdict = promql.gauge(gauge("experiment_verdict"), (*VERSUS, "verdict"), EXPERIMENT)
    interval = ("experiment_diff_lower", "experiment_diff_upper")
    lift = ("experiment_lift_lower", "experiment_lift_upper")
    arms = Row(
        "Customers since the start (always valid: watch any time, stop any time)",
        (
            Panel(
                "Per arm: matured customers and payers within the horizon",
                PanelKind.TABLE,
                tuple(arm(n) for n in ("experiment_units", "experiment_conversions")),
                describe(gauge("experiment_units"), gauge("experiment_conversions")),
                width=12,
            ),
            Panel(
                "Exposed customers (sample-ratio check)",
                PanelKind.TABLE,
                (arm("experiment_exposed_units"), split("experiment_crossover_customers")),
                describe(
                    gauge("experiment_exposed_units"), gauge("experiment_crossover_customers")
                ),
                width=12,
            ),
            Panel(
                "Sample-ratio mismatch",
                PanelKind.TABLE,
                (split("experiment_srm_flag"), split("experiment_srm_p_value")),
                describe(gauge("experiment_srm_flag"), gauge("experiment_srm_p_value")),
                Unit.NONE,
                width=24,
            ),
        ),
    )
    against = Row(
        "Against control, customers as units (for decisions)",
        (
            Panel(
                "Verdict",
                PanelKind.TABLE,
                (Query(f"{verdict} == 1", "verdict"),),
                describe(gauge("experiment_verdict")),
                Unit.NONE,
                width=8,
            ),
            Panel(
                "Always-valid p-value (running minimum)",
                PanelKind.BAR_GAUGE,
                (Query(promql.gauge(gauge("experiment_av_p_value"), VERSUS, EXPERIMENT), _VS),),
                describe(gauge("experiment_av_p_value")),
                Unit.NONE,
                width=8,
            ),
            Panel(
                "Difference and lift intervals",
                PanelKind.TABLE,
                tuple(versus(n) for n in (*interval, *lift)),
                describe(*(gauge(n) for n in (*interval, *lift))),
                Unit.NONE,
                width=8,
            ),
        ),
    )
    return arms, against


def _segments_row() -> Row:
    """K23: the customer-level figures by segment, descriptive (no verdict, no correction)."""
    seg_arm, seg_versus = (*ARM, "segment"), (*VERSUS, "segment")

    def query(name: str, by: tuple[str, ...]) -> Query:
        return Query(promql.gauge(gauge(name), by, EXPERIMENT), name.removeprefix("experiment_"))

    counts = ("experiment_segment_units", "experiment_segment_conversions")
    figures = (
        "experiment_segment_diff_lower",
        "experiment_segment_diff_upper",
        "experiment_segment_av_p_value",
    )
    return Row(
        "By segment (descriptive: uncorrected for the number of segments, not for decisions)",
        (
            Panel(
                "Per segment and arm: matured customers and payers",
                PanelKind.TABLE,
                tuple(query(n, seg_arm) for n in counts),
                describe(*(gauge(n) for n in counts)),
                width=8,
            ),
            Panel(
                "Per segment: exposed customers and crossovers",
                PanelKind.TABLE,
                (
                    query("experiment_segment_exposed_units", seg_arm),
                    query("experiment_segment_crossover_customers", (*SPLIT, "segment")),
                ),
                describe(
                    gauge("experiment_segment_exposed_units"),
                    gauge("experiment_segment_crossover_customers"),
                ),
                width=8,
            ),
            Panel(
                "Per segment: difference interval and always-valid p-value",
                PanelKind.TABLE,
                tuple(query(n, seg_versus) for n in figures),
                describe(*(gauge(n) for n in figures)),
                Unit.NONE,
                width=8,
            ),
        ),
    )


BOARD = Board(
    uid="collectpulse-experiments",
    title="collectpulse / Experiments",
    description=(
        "A/B tests per campaign. For decisions: customers since the start, the always-valid "
        "p-value, the difference interval, the verdict and the sample-ratio check; the same "
        "by segment, descriptive. Below, the fixed-horizon per-message figures (not for "
        "decisions)."
    ),
    rows=(*_anytime_rows(), _segments_row(), _variants_row(), _verdict_row()),
    tags=("experiments",),
)
