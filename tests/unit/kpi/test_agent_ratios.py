"""K4-K6, K19 and K20 arithmetic over one window's counter values (pure, no servers)."""

from __future__ import annotations

import pytest

from collectpulse.kpi.definitions import ratio_by_name
from collectpulse.kpi.handled import UNASSIGNED, attempts_per_account, handled_accounts
from collectpulse.kpi.ratios import CounterValues, evaluate_ratio, labelset


def contacts(agent: str, outcome: str, n: float, direction: str = "outbound") -> tuple:
    labels = labelset(
        tenant="t",
        direction=direction,
        channel="call",
        outcome=outcome,
        team="north",
        agent=agent,
        dialer_campaign="",
    )
    return labels, n


def cohort(agent: str, status: str, n: float, **labels: str) -> tuple:
    base = {"direction": "outbound", "kind": "promise_to_pay", "agent": agent, "tenant": "t"}
    return labelset({**base, **labels}, status=status), n


VALUES: CounterValues = {
    "contact_attempts": dict(
        [
            contacts("ann", "right_party", 4),
            contacts("ann", "no_answer", 10),
            contacts("ann", "right_party", 3, direction="inbound"),
            contacts("bob", "right_party", 2),
        ]
    ),
    "promise_cohort": dict(
        [
            cohort("ann", "made", 2),
            cohort("ann", "kept", 1),
            cohort("ann", "made", 1, kind="installment_plan"),
            cohort("ann", "kept", 1, kind="installment_plan"),
            cohort("ann", "made", 5, direction="inbound"),
            cohort("ann", "kept", 4, direction="inbound"),
            cohort("cy", "made", 1),
        ]
    ),
}


def by_agent(name: str) -> dict[str, float | None]:
    return {dict(k)["agent"]: v for k, v in evaluate_ratio(ratio_by_name(name), VALUES).items()}


def test_ptp_per_rpc_counts_outbound_promises_to_pay_per_outbound_rpc() -> None:
    # ann: 2 outbound promises to pay (the plan is not one) per 4 outbound RPCs
    # (inbound RPCs and no-answers are not); cy made one without RPCs: no sample
    assert by_agent("outbound_ptp_per_rpc") == {"ann": 0.5, "bob": 0.0, "cy": None}


def test_kept_per_rpc_counts_every_outbound_kind_kept() -> None:
    assert by_agent("outbound_kept_per_rpc") == {"ann": 0.5, "bob": 0.0}  # cy: nothing


def test_kept_cohort_ratio_is_per_direction_and_kind() -> None:
    got = evaluate_ratio(ratio_by_name("promise_kept_cohort"), VALUES)
    summary = {(dict(k)["direction"], dict(k)["kind"], dict(k)["agent"]): v for k, v in got.items()}
    assert summary == {
        ("outbound", "promise_to_pay", "ann"): 0.5,
        ("outbound", "installment_plan", "ann"): 1.0,
        ("inbound", "promise_to_pay", "ann"): 0.8,
        ("outbound", "promise_to_pay", "cy"): 0.0,
    }


def test_self_service_shares_leave_scheduled_out_by_count_and_amount() -> None:
    def who(by: str, n: float) -> tuple:
        return labelset(initiated_by=by, currency="EUR", tenant="t"), n

    values: CounterValues = {
        "initiated_payments": dict([who("self_service", 3), who("agent", 1), who("scheduled", 6)]),
        "initiated_amount_minor": dict(
            [who("self_service", 100), who("agent", 300), who("scheduled", 900)]
        ),
    }
    key = labelset(currency="EUR", tenant="t")
    assert evaluate_ratio(ratio_by_name("self_service_share"), values) == {key: 0.75}
    assert evaluate_ratio(ratio_by_name("self_service_amount_share"), values) == {key: 0.25}


def test_handled_accounts_are_open_now_plus_exits_minus_reentries() -> None:
    values: CounterValues = {
        "account_exits": {labelset(team="north", tenant="t"): 3},
        "account_reentries": {labelset(team="north", tenant="t"): 1},
        "contact_attempts": dict(
            [contacts("ann", "no_answer", 12), contacts("ann", "right_party", 9, "inbound")]
        ),
    }
    open_now = {("north", "t"): 4, (UNASSIGNED, "t"): 2}
    assert handled_accounts(open_now, values) == {("north", "t"): 6, (UNASSIGNED, "t"): 2}
    # 12 outbound attempts over 6 handled accounts; the unassigned ones had none
    assert attempts_per_account(open_now, values) == {("north", "t"): 2.0, (UNASSIGNED, "t"): 0.0}


def test_attempts_without_handled_accounts_have_no_sample_and_no_team_is_unassigned() -> None:
    no_team = labelset(
        tenant="t",
        direction="outbound",
        channel="call",
        outcome="busy",
        team="",
        agent="",
        dialer_campaign="",
    )
    values: CounterValues = {"contact_attempts": {no_team: 3}}
    assert attempts_per_account({}, values) == {}
    assert attempts_per_account({(UNASSIGNED, "t"): 3}, values) == {(UNASSIGNED, "t"): 1.0}
    assert attempts_per_account({(UNASSIGNED, "t"): 0}, values) == {}
    with pytest.raises(KeyError):
        ratio_by_name("outbound_attempts_per_account")  # a gauge, not a ratio
