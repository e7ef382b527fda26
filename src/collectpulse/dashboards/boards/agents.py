"""Agents: promises made per agent and the share kept, credited to the maker (K7).

Agents past the ``agent`` label cap show as ``__other__``; the complete per-agent
table is the JSON API (``GET /api/v1/agents``).
"""

from __future__ import annotations

from collectpulse.dashboards import promql
from collectpulse.dashboards.boards.common import counter, describe, legend, ratio_panel
from collectpulse.dashboards.model import Board, Panel, PanelKind, Query, Row
from collectpulse.dashboards.promql import ALL

AGENT = ("agent",)
_PROMISES = counter("agent_promises")


def _promises_row() -> Row:
    return Row(
        "Promises per agent (credited to the agent who made them)",
        (
            ratio_panel(
                "agent_promise_kept",
                AGENT,
                title="Kept ratio by agent",
                kind=PanelKind.BAR_GAUGE,
                width=12,
            ),
            Panel(
                "Promises made by agent",
                PanelKind.TIMESERIES,
                (
                    Query(
                        promql.windowed_sum(_PROMISES, AGENT, ALL.pin(status="made")),
                        legend(AGENT),
                    ),
                ),
                describe(_PROMISES),
                width=12,
            ),
        ),
    )


BOARD = Board(
    uid="collectpulse-agents",
    title="collectpulse / Agents",
    description=(
        "Per-agent results: promises made and the share kept, credited to the agent who "
        "made each promise. The complete table (every agent, not only those under the "
        "label cap) is GET /api/v1/agents on the exporter."
    ),
    rows=(_promises_row(),),
    tags=("agents", "promises"),
)
