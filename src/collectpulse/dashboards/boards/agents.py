"""Agents and contacts: attempts by outcome, right-party, contact and wrong-number ratios,
and promises per agent with the share kept, credited to the agent who made them (K7).

Contact counters carry their own closed ``channel`` (call, chat, email_reply),
so the funnel's channel variable does not filter them: only the tenant does.
The agent label is capped (``__other__`` past the cap); team always shows. The
complete per-agent table is the JSON API (``GET /api/v1/agents``), per-agent target
attainment ``GET /api/v1/targets``.
"""

from __future__ import annotations

from collectpulse.dashboards import promql
from collectpulse.dashboards.boards.common import (
    counter,
    describe,
    gauge,
    legend,
    ratio_panel,
)
from collectpulse.dashboards.model import Board, Panel, PanelKind, Query, Row
from collectpulse.dashboards.promql import Selection

_ATTEMPTS = counter("contact_attempts")
_PROMISES = counter("agent_promises")
_BELOW = gauge("agents_below_target")
_PER_COLLECTOR = gauge("collected_per_collector")
_COLLECTED = ("team", "currency", "window")
_BY_TENANT = Selection(filters=("tenant",))
_OUTBOUND = _BY_TENANT.pin(direction="outbound")
_AGENTS = Selection(filters=("tenant",), exclude=(("agent", ""),))
OUTCOME = ("outcome",)
TEAM = ("team",)


def _attempts_row() -> Row:
    by_direction = ("direction", "channel")
    return Row(
        "Contact attempts in the window",
        (
            Panel(
                "Outbound attempts by outcome",
                PanelKind.TIMESERIES,
                (Query(promql.windowed_sum(_ATTEMPTS, OUTCOME, _OUTBOUND), legend(OUTCOME)),),
                describe(_ATTEMPTS),
                stacked=True,
            ),
            Panel(
                "Attempts by direction and channel",
                PanelKind.TABLE,
                (
                    Query(
                        promql.windowed_sum(_ATTEMPTS, by_direction, _BY_TENANT),
                        legend(by_direction),
                    ),
                ),
                describe(_ATTEMPTS),
            ),
        ),
    )


def _ratios_row() -> Row:
    return Row(
        "Right-party contact (outbound)",
        (
            ratio_panel("rpc", TEAM, _BY_TENANT, title="RPC ratio by team"),
            ratio_panel("contact", TEAM, _BY_TENANT, title="Contact ratio by team"),
            ratio_panel(
                "wrong_number",
                ("dialer_campaign",),
                _BY_TENANT,
                title="Wrong-number share by dialer campaign",
            ),
            ratio_panel(
                "rpc",
                ("agent",),
                _AGENTS,
                title="RPC ratio by agent (capped)",
                kind=PanelKind.BAR_GAUGE,
                width=12,
            ),
            Panel(
                "Right-party contacts by agent (capped)",
                PanelKind.BAR_GAUGE,
                (
                    Query(
                        promql.windowed_sum(
                            _ATTEMPTS, ("agent",), _AGENTS.pin(outcome="right_party")
                        ),
                        legend(("agent",)),
                    ),
                ),
                describe(_ATTEMPTS),
                width=12,
            ),
        ),
    )


def _promises_row() -> Row:
    agent = ("agent",)
    return Row(
        "Promises per agent (credited to the agent who made them)",
        (
            ratio_panel(
                "agent_promise_kept",
                agent,
                _AGENTS,
                title="Kept ratio by agent (capped)",
                kind=PanelKind.BAR_GAUGE,
                width=12,
            ),
            Panel(
                "Promises made by agent (capped)",
                PanelKind.TIMESERIES,
                (
                    Query(
                        promql.windowed_sum(_PROMISES, agent, _AGENTS.pin(status="made")),
                        legend(agent),
                    ),
                ),
                describe(_PROMISES),
                width=12,
            ),
        ),
    )


def _targets_row() -> Row:
    by = ("metric", "team")
    return Row(
        "Targets (K24) and collections per collector (K8)",
        (
            Panel(
                "Agents below target (pro rata of the period)",
                PanelKind.BAR_GAUGE,
                (Query(promql.gauge(_BELOW, by, op="sum"), legend(by)),),
                describe(_BELOW),
                width=12,
            ),
            Panel(
                "Net collected per collector by team",
                PanelKind.TABLE,
                (Query(promql.gauge(_PER_COLLECTOR, _COLLECTED, op="sum"), legend(_COLLECTED)),),
                describe(_PER_COLLECTOR),
                width=12,
            ),
        ),
    )


BOARD = Board(
    uid="collectpulse-agents",
    title="collectpulse / Agents",
    description=(
        "Contact attempts from the dialer and agent desktop: outcomes, the right-party "
        "contact rate by team and agent, the wrong-number share (phone-data quality), and "
        "promises made per agent with the share kept, agents below target and net "
        "collected per collector. Every agent, past the label cap too: GET /api/v1/agents "
        "and GET /api/v1/targets on the exporter."
    ),
    rows=(_attempts_row(), _ratios_row(), _promises_row(), _targets_row()),
    tags=("agents", "promises"),
)
