"""Agents and contacts: attempts by outcome, right-party, contact and wrong-number ratios,
promises per agent with the share kept, credited to the agent who made them (K7),
promises made and kept per right-party contact and the kept cohort (K4-K6), the same
and K7 by team (gauges from the daily per-agent facts, team at read time), the
self-service share (K19) and outbound attempts per handled account (K20; its reduction
over 30 days is in the panel's description, a query that needs 30 days of history).

Contact counters carry their own closed ``channel`` (call, chat, email_reply),
so the funnel's channel variable does not filter them: only the tenant does.
The agent label is capped (``__other__`` past the cap); team always shows. The
complete per-agent table is the JSON API (``GET /api/v1/agents``), per-agent target
attainment ``GET /api/v1/targets``.
"""

from __future__ import annotations

from collectpulse.dashboards import promql
from collectpulse.dashboards.boards.common import counter, describe, gauge, legend, ratio_panel
from collectpulse.dashboards.model import Board, Panel, PanelKind, Query, Row, Unit
from collectpulse.dashboards.promql import Selection

_ATTEMPTS = counter("contact_attempts")
_PROMISES = counter("agent_promises")
_INITIATED = counter("initiated_payments")
_PER_ACCOUNT = gauge("outbound_attempts_per_account")
_EXITS, _REENTRIES = counter("account_exits"), counter("account_reentries")
_BELOW = gauge("agents_below_target")
_PER_COLLECTOR = gauge("collected_per_collector")
_COLLECTED = ("team", "currency", "window")
_BY_TEAM = ("team", "tenant", "window")
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


def _cohort_row() -> Row:
    agent = ("agent",)
    return Row(
        "Promises per right-party contact and kept so far (cohort by made time)",
        (
            ratio_panel(
                "outbound_ptp_per_rpc",
                agent,
                _AGENTS,
                title="Promises to pay per RPC by agent (capped)",
                kind=PanelKind.BAR_GAUGE,
                bounded=False,
            ),
            ratio_panel(
                "outbound_kept_per_rpc",
                agent,
                _AGENTS,
                title="Kept promises per RPC by agent (capped)",
                kind=PanelKind.BAR_GAUGE,
                bounded=False,
            ),
            ratio_panel(
                "promise_kept_cohort",
                ("direction", "kind"),
                _BY_TENANT,
                title="Kept so far of the promises made, by direction and kind",
            ),
        ),
    )


def _team_panel(
    name: str,
    title: str,
    by: tuple[str, ...] = _BY_TEAM,
    *,
    kind: PanelKind = PanelKind.BAR_GAUGE,
    unit: Unit = Unit.RATIO,
    width: int = 8,
    bounded: bool = True,
) -> Panel:
    """A K4-K7 team gauge per ``by``, tenant included: each series its own, none summed."""
    kpi = gauge(name)
    query = Query(promql.gauge(kpi, by, _BY_TENANT), legend(by))
    return Panel(title, kind, (query,), describe(kpi), unit, width=width, bounded=bounded)


def _team_row() -> Row:
    kinds = ("direction", "kind", *_BY_TEAM)
    return Row(
        "Promises by team (K4-K7: whole local days, the maker's team now)",
        (
            _team_panel(
                "team_outbound_ptp_per_rpc_ratio", "Promises to pay per RPC by team", bounded=False
            ),
            _team_panel(
                "team_outbound_kept_per_rpc_ratio", "Kept promises per RPC by team", bounded=False
            ),
            _team_panel("team_promise_kept_ratio", "Kept ratio by team (resolved in the window)"),
            _team_panel(
                "team_promises_made",
                "Promises made by team",
                kind=PanelKind.TABLE,
                unit=Unit.COUNT,
                width=10,
            ),
            _team_panel(
                "team_promise_kept_cohort_ratio",
                "Kept so far of the promises made, by team, direction and kind",
                kinds,
                kind=PanelKind.TABLE,
                width=14,
            ),
        ),
    )


def _self_service_row() -> Row:
    return Row(
        "Self-service share",
        (
            ratio_panel(
                "self_service_share",
                ("currency",),
                _BY_TENANT,
                title="Self-service share of payments (count)",
                width=6,
            ),
            ratio_panel(
                "self_service_amount_share",
                ("currency",),
                _BY_TENANT,
                title="Self-service share of payments (amount)",
                width=6,
            ),
            ratio_panel(
                "self_service_promise_share",
                ("kind",),
                _BY_TENANT,
                title="Self-service share of promises made",
                width=6,
            ),
            Panel(
                "Succeeded payments by who started them (scheduled apart)",
                PanelKind.BAR_GAUGE,
                (
                    Query(
                        promql.windowed_sum(_INITIATED, ("initiated_by",), _BY_TENANT),
                        legend(("initiated_by",)),
                    ),
                ),
                describe(_INITIATED),
                width=6,
            ),
        ),
    )


def _load_row() -> Row:
    per_account = promql.gauge(_PER_ACCOUNT, TEAM, _BY_TENANT, op="sum")
    # The reduction (catalog K20) needs 30 days of history, so it is a query to run, not
    # a panel that stays empty on a new install; offset follows the selector itself.
    series = promql.selector(_PER_ACCOUNT, _BY_TENANT)
    earlier = per_account.replace(series, f"{series} offset 30d")
    reduction = f"Reduction vs 30 days earlier: 1 - {per_account} / {earlier}"
    flows = tuple(
        Query(promql.windowed_sum(kpi, TEAM, _BY_TENANT), f"{kpi.name} {{{{team}}}}")
        for kpi in (_EXITS, _REENTRIES)
    )
    return Row(
        "Contact load: outbound attempts per handled account",
        (
            Panel(
                "Outbound attempts per handled account by team (read with window 30d)",
                PanelKind.TIMESERIES,
                (Query(per_account, legend(TEAM)),),
                describe(_PER_ACCOUNT, note=reduction),
                Unit.NONE,
                width=16,
            ),
            Panel(
                "Accounts leaving and re-entering the open statuses by team",
                PanelKind.TABLE,
                flows,
                describe(_EXITS, _REENTRIES),
                width=8,
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
        "promises made per agent with the share kept, promises per right-party contact, "
        "the same by team, "
        "the self-service share, attempts per handled account, agents below target and net "
        "collected per collector. Every agent, past the label cap too: GET /api/v1/agents "
        "and GET /api/v1/targets on the exporter."
    ),
    rows=(
        _attempts_row(),
        _ratios_row(),
        _promises_row(),
        _cohort_row(),
        _team_row(),
        _self_service_row(),
        _load_row(),
        _targets_row(),
    ),
    tags=("agents", "promises"),
)
