"""Experiments: per-variant ratios, lift over control, p-value and probability to beat control."""

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
        "Variants (messages sent in the window)",
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
        "Against control (absent below the minimum sample per arm)",
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


BOARD = Board(
    uid="collectpulse-experiments",
    title="collectpulse / Experiments",
    description=(
        "A/B tests per campaign: each variant's message payment ratio (the target), its lift "
        "over control, the z-test p-value and the Bayesian probability to beat control."
    ),
    rows=(_variants_row(), _verdict_row()),
    tags=("experiments",),
)
