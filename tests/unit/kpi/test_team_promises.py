"""K4-K7 by team from the daily per-agent facts: the agent's team at read time, whole
local days, no sample over a zero denominator (hand-computed values)."""

from __future__ import annotations

from datetime import date, timedelta

from collectpulse.kpi.collectors import RosterRow
from collectpulse.kpi.team_promises import cohort_column, team_promises

TODAY = date(2027, 3, 31)
UN = "__unassigned__"
ROSTER: dict[tuple[str, str], RosterRow] = {
    ("t1", "ann"): ("north", "collector", "active"),
    # bob still holds open accounts of north, but the roster moved him to south
    ("t1", "bob"): ("south", "collector", "active"),
}
COLLECTORS = {("t1", "north"): frozenset({"bob", "eve"})}  # eve: on no roster
Facts = dict[tuple[str, str, str, str, date], int]


def _day(back: int) -> date:
    return TODAY - timedelta(days=back)


def _facts() -> Facts:
    made_ptp = cohort_column("made", "outbound", "promise_to_pay")
    kept_ptp = cohort_column("kept", "outbound", "promise_to_pay")
    self_made = cohort_column("made", "self_service", "promise_to_pay")
    self_kept = cohort_column("kept", "self_service", "promise_to_pay")
    plan_made = cohort_column("made", "inbound", "installment_plan")
    plan_kept = cohort_column("kept", "inbound", "installment_plan")
    rows = [
        ("outbound_rpcs", "ann", 0, 4),
        ("outbound_ptp_made", "ann", 0, 2),
        ("outbound_kept_cohort", "ann", 0, 1),
        (made_ptp, "ann", 0, 2),
        (kept_ptp, "ann", 0, 1),
        ("outbound_rpcs", "ann", 7, 10),  # 7 days back: in 30d only
        ("outbound_rpcs", "ann", -1, 50),  # tomorrow (a zone ahead): in no window
        ("outbound_rpcs", "eve", 6, 6),  # the oldest day of 7d
        ("outbound_ptp_made", "eve", 6, 3),
        (made_ptp, "eve", 6, 3),
        ("outbound_ptp_made", "eve", 30, 100),  # 30 days back: in neither
        ("collected_amount_minor", "ann", 0, 999),  # not a promise fact
        ("promises_made", "bob", 0, 4),
        ("promises_kept", "bob", 0, 1),
        ("promises_broken", "bob", 0, 3),
        (plan_made, "bob", 10, 4),
        (plan_kept, "bob", 10, 1),
        ("promises_made", UN, 0, 2),  # self-service: no agent
        (self_made, UN, 0, 2),
        (self_kept, UN, 0, 1),
        ("promises_made", "zed", 1, 1),  # on no roster, no open account: no team
        (made_ptp, "zed", 1, 1),
    ]
    return {(column, "t1", "", agent, _day(back)): n for column, agent, back, n in rows}


def test_each_team_sums_its_agents_by_roster_then_accounts_and_unclaimed_is_reported() -> None:
    got = team_promises(_facts(), ROSTER, COLLECTORS, TODAY)
    assert got["team_outbound_ptp_per_rpc_ratio"] == {
        ("north", "t1", "7d"): (2 + 3) / (4 + 6),
        ("north", "t1", "30d"): (2 + 3) / (4 + 6 + 10),
    }  # south and __unassigned__ had no RPC: no sample
    assert got["team_outbound_kept_per_rpc_ratio"] == {
        ("north", "t1", "7d"): 1 / 10,
        ("north", "t1", "30d"): 1 / 20,
    }
    assert got["team_promise_kept_cohort_ratio"] == {
        ("outbound", "promise_to_pay", "north", "t1", "7d"): 1 / 5,
        ("outbound", "promise_to_pay", "north", "t1", "30d"): 1 / 5,
        ("outbound", "promise_to_pay", UN, "t1", "7d"): 0.0,
        ("outbound", "promise_to_pay", UN, "t1", "30d"): 0.0,
        ("self_service", "promise_to_pay", UN, "t1", "7d"): 1 / 2,
        ("self_service", "promise_to_pay", UN, "t1", "30d"): 1 / 2,
        ("inbound", "installment_plan", "south", "t1", "30d"): 1 / 4,  # 10 days back
    }
    assert got["team_promises_made"] == {
        ("south", "t1", "7d"): 4,
        ("south", "t1", "30d"): 4,
        (UN, "t1", "7d"): 2 + 1,
        (UN, "t1", "30d"): 2 + 1,
    }  # north made promises in the cohort columns only here: no K7 fact, no sample
    assert got["team_promise_kept_ratio"] == {
        ("south", "t1", "7d"): 1 / 4,
        ("south", "t1", "30d"): 1 / 4,
    }  # __unassigned__ resolved none: no sample


def test_a_team_move_relabels_the_agents_history() -> None:
    moved = ROSTER | {("t1", "ann"): ("south", "collector", "active")}
    got = team_promises(_facts(), moved, COLLECTORS, TODAY)
    assert got["team_outbound_ptp_per_rpc_ratio"] == {
        ("north", "t1", "7d"): 3 / 6,  # eve alone
        ("north", "t1", "30d"): 3 / 6,
        ("south", "t1", "7d"): 2 / 4,
        ("south", "t1", "30d"): 2 / 14,
    }


def test_without_a_roster_an_agent_takes_the_team_of_its_open_accounts() -> None:
    facts: Facts = {
        ("outbound_rpcs", "t2", "", "bob", TODAY): 2,
        ("outbound_ptp_made", "t2", "", "bob", TODAY): 1,
    }
    collectors = {("t2", "east"): frozenset({"bob"})}
    got = team_promises(facts, {}, collectors, TODAY)
    assert got["team_outbound_ptp_per_rpc_ratio"] == {
        ("east", "t2", "7d"): 0.5,
        ("east", "t2", "30d"): 0.5,
    }
    assert team_promises(facts, {}, {}, TODAY)["team_outbound_ptp_per_rpc_ratio"] == {
        (UN, "t2", "7d"): 0.5,
        (UN, "t2", "30d"): 0.5,
    }


def test_each_tenant_has_its_own_local_today_and_nothing_gives_nothing() -> None:
    facts: Facts = {("promises_made", "t1", "", "ann", date(2027, 3, 24)): 3}
    days = {"t1": date(2027, 3, 30)}
    got = team_promises(facts, ROSTER, {}, days.__getitem__)
    assert got["team_promises_made"] == {("north", "t1", "7d"): 3, ("north", "t1", "30d"): 3}
    days["t1"] = date(2027, 3, 31)  # a day later the 24th is 7 days back: 30d only
    got = team_promises(facts, ROSTER, {}, days.__getitem__)
    assert got["team_promises_made"] == {("north", "t1", "30d"): 3}
    empty = team_promises({}, ROSTER, COLLECTORS, TODAY)
    assert empty and all(values == {} for values in empty.values())
