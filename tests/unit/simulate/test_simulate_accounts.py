"""The simulated portfolio: consistent account versions a value test could replay."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from itertools import pairwise

import pytest

from collectpulse.events.base import EventBase
from collectpulse.events.models import AccountEvent, PaymentEvent
from collectpulse.simulate.accounts import AccountPlanner
from collectpulse.simulate.factory import Contact, EventFactory
from collectpulse.simulate.scenario import Tenant

TENANT = Tenant("acme", "EUR", 60, 1000, 40_000)
START = datetime(2027, 3, 1, 9, tzinfo=UTC)


YEAR_S = 365 * 86_400.0


def _planned(calls: int, *, history: bool = False) -> list[tuple[float, EventBase]]:
    """``calls`` placements 10 s apart, or with ``history`` spread over a replayed year."""
    make = EventFactory(run_id="t", start=START, tenants=(TENANT,))
    planner = AccountPlanner(make, "seed", real_time_until_s=YEAR_S if history else None)
    out = []
    gap_s = YEAR_S / calls if history else 10.0
    for n in range(calls):
        contact = Contact(TENANT, f"c{n}", 100_000 + n, struggling=False)
        out += planner.placement(n * gap_s, contact, "agent-a", "agent-b")
    return out


def _accounts(calls: int, *, history: bool = False) -> dict[str, list[tuple[float, AccountEvent]]]:
    out: dict[str, list[tuple[float, AccountEvent]]] = defaultdict(list)
    for at_s, event in _planned(calls, history=history):
        if isinstance(event, AccountEvent):
            out[event.account_id].append((at_s, event))
        else:
            assert isinstance(event, PaymentEvent)
    return out


def test_paying_in_full_publishes_the_payment_naming_the_account_and_some_are_reversed() -> None:
    planned = _planned(600)
    payments = [e for _, e in planned if isinstance(e, PaymentEvent)]
    accounts = _accounts(600)
    paid = {
        aid: versions
        for aid, versions in accounts.items()
        if any(e.status == "paid_in_full" for _, e in versions)
    }
    succeeded = {p.account_id: p for p in payments if p.status == "succeeded"}
    assert succeeded.keys() == paid.keys()
    for aid, payment in succeeded.items():
        assert payment.amount_minor == paid[aid][0][1].balance_minor
        assert payment.customer_id == paid[aid][0][1].customer_id
    reversed_ = [p for p in payments if p.status == "reversed"]
    assert reversed_, "no chargeback in 600 placements"
    for refund in reversed_:
        original = succeeded[refund.account_id]
        assert (refund.payment_id, refund.amount_minor) == (
            original.payment_id,
            original.amount_minor,
        )
        assert refund.event_id != original.event_id
        last = accounts[str(refund.account_id)][-1][1]
        assert (last.change, last.status, last.balance_minor) == (
            "reversal",
            "open",
            original.amount_minor,
        )


@pytest.mark.parametrize("history", [False, True], ids=["live", "history"])
def test_every_account_starts_placed_and_its_versions_chain_in_time(history: bool) -> None:
    for versions in _accounts(300, history=history).values():
        events = [event for _, event in versions]
        assert events[0].change == "placed" and events[0].delta_minor == events[0].balance_minor
        assert [e.version for e in events] == list(range(1, len(events) + 1))
        assert [at for at, _ in versions] == sorted(at for at, _ in versions)
        for before, after in pairwise(events):
            assert after.balance_minor == before.balance_minor + after.delta_minor
            assert after.currency == before.currency and after.customer_id == before.customer_id


def test_the_portfolio_mixes_outcomes_reassignments_and_dpd() -> None:
    finals = [versions[-1][1] for versions in _accounts(300).values()]
    assert {e.status for e in finals} == {"open", "in_plan", "paid_in_full", "written_off"}
    assert {e.agent_id for e in finals} == {"agent-a", "agent-b"}
    placed = {(START.date() - versions[0][1].due_date).days for versions in _accounts(300).values()}
    assert min(placed) <= 0 and max(placed) > 90


def test_history_accounts_work_out_in_real_time_so_older_cohorts_recovered_more() -> None:
    planned = _planned(1200, history=True)
    accounts = _accounts(1200, history=True)
    finals = {e.status for versions in accounts.values() for _, e in versions[-1:]}
    assert finals >= {"open", "paid_in_full", "settled", "written_off"}
    changes = {e.change for versions in accounts.values() for _, e in versions}
    assert changes >= {"placed", "assigned", "payment", "charge", "discount", "write_off"}
    placed_at = {aid: versions[0][0] for aid, versions in accounts.items()}
    placed = sum(versions[0][1].balance_minor for versions in accounts.values())
    net_by_age: dict[int, int] = dict.fromkeys((30, 90, 180), 0)
    for at_s, event in planned:
        if isinstance(event, PaymentEvent):
            sign = -1 if event.status == "reversed" else 1
            age_days = (at_s - placed_at[str(event.account_id)]) / 86_400
            for limit in net_by_age:
                if age_days <= limit:
                    net_by_age[limit] += sign * event.amount_minor
    # a recovery curve that rises with age, as a real portfolio's does
    assert 0 < net_by_age[30] < net_by_age[90] < net_by_age[180] < placed, net_by_age
    plans = [
        [e for _, e in planned if isinstance(e, PaymentEvent) and e.account_id == aid]
        for aid, versions in accounts.items()
        if any(e.status == "in_plan" for _, e in versions)
    ]
    assert any(len(p) >= 3 and all(x.plan == "installment" for x in p) for p in plans)


def test_history_payments_add_up_to_each_account_s_balance_changes() -> None:
    payments: dict[str, int] = defaultdict(int)
    for _, event in _planned(600, history=True):
        if isinstance(event, PaymentEvent) and event.account_id:
            sign = -1 if event.status == "reversed" else 1
            payments[event.account_id] += sign * event.amount_minor
    for aid, versions in _accounts(600, history=True).items():
        booked = -sum(e.delta_minor for _, e in versions if e.change in ("payment", "reversal"))
        assert payments[aid] == booked, aid
