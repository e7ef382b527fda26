"""Deliverability: delivery ratio, hard and soft bounces, by channel and campaign."""

from __future__ import annotations

from collectpulse.dashboards import promql
from collectpulse.dashboards.boards.common import counter, describe, legend, ratio, ratio_panel
from collectpulse.dashboards.model import Board, Panel, PanelKind, Query, Row, Unit
from collectpulse.dashboards.promql import ALL

CHANNEL = ("channel",)
CAMPAIGN_CHANNEL = ("campaign", "channel")
_BOUNCED = counter("messages_bounced")


def _overview_row() -> Row:
    return Row(
        "Messages sent in the window",
        (
            ratio_panel("delivery", (), title="Delivery ratio", kind=PanelKind.STAT, width=6),
            ratio_panel("bounce", (), title="Bounce ratio", kind=PanelKind.STAT, width=6),
            ratio_panel("hard_bounce", (), title="Hard bounce ratio", kind=PanelKind.STAT, width=6),
            ratio_panel("soft_bounce", (), title="Soft bounce ratio", kind=PanelKind.STAT, width=6),
            ratio_panel("delivery", CHANNEL, title="Delivery ratio by channel", width=12),
            Panel(
                "Hard and soft bounce ratio by channel",
                PanelKind.TIMESERIES,
                tuple(
                    Query(promql.ratio(ratio(name), CHANNEL), f"{{{{channel}}}} {kind}")
                    for name, kind in (("hard_bounce", "hard"), ("soft_bounce", "soft"))
                ),
                describe(ratio("hard_bounce"), ratio("soft_bounce")),
                Unit.RATIO,
                width=12,
            ),
        ),
    )


def _campaign_row() -> Row:
    columns = (
        ("sent", promql.windowed_sum(counter("messages_sent"), CAMPAIGN_CHANNEL)),
        ("delivered", promql.windowed_sum(counter("messages_delivered"), CAMPAIGN_CHANNEL)),
        (
            "hard bounced",
            promql.windowed_sum(_BOUNCED, CAMPAIGN_CHANNEL, ALL.pin(bounce_type="hard")),
        ),
        (
            "soft bounced",
            promql.windowed_sum(_BOUNCED, CAMPAIGN_CHANNEL, ALL.pin(bounce_type="soft")),
        ),
        ("bounce ratio", promql.ratio(ratio("bounce"), CAMPAIGN_CHANNEL)),
        ("hard bounce ratio", promql.ratio(ratio("hard_bounce"), CAMPAIGN_CHANNEL)),
    )
    return Row(
        "By campaign",
        (
            Panel(
                "Deliverability by campaign and channel",
                PanelKind.TABLE,
                tuple(Query(expr, name) for name, expr in columns),
                describe(counter("messages_sent"), _BOUNCED, ratio("bounce")),
                width=24,
            ),
            ratio_panel(
                "hard_bounce", CAMPAIGN_CHANNEL, title="Hard bounce ratio by campaign", width=12
            ),
            Panel(
                "Bounces per second by type",
                PanelKind.TIMESERIES,
                (Query(promql.per_second(_BOUNCED, ("bounce_type",)), legend(("bounce_type",))),),
                describe(_BOUNCED, note="All-time counter, so by the time the bounce arrived."),
                Unit.PER_SECOND,
                width=12,
            ),
        ),
    )


BOARD = Board(
    uid="collectpulse-deliverability",
    title="collectpulse / Deliverability",
    description="Delivery and bounce ratios (hard, soft) of the messages sent in the window.",
    rows=(_overview_row(), _campaign_row()),
    tags=("deliverability",),
)
