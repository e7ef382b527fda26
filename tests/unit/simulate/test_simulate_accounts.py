"""The simulated portfolio: consistent account versions a value test could replay."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from itertools import pairwise

from collectpulse.events.base import EventBase
from collectpulse.events.models import AccountEvent, PaymentEvent
from collectpulse.simulate.accounts import AccountPlanner
from collectpulse.simulate.factory import Contact, EventFactory
from collectpulse.simulate.scenario import Tenant

TENANT = Tenant("acme", "EUR", 60, 1000, 40_000)
START = datetime(2027, 3, 1, 9, tzinfo=UTC)


def _planned(calls: int) -> list[tuple[float, EventBase]]:
    make = EventFactory(run_id="t", start=START, tenants=(TENANT,))
    planner = AccountPlanner(make, "seed")
    out = []
    for n in range(calls):
        contact = Contact(TENANT, f"c{n}", 1000 + n, struggling=False)
        out += planner.placement(n * 10.0, contact, "agent-a", "agent-b")
    return out


def _accounts(calls: int) -> dict[str, list[tuple[float, AccountEvent]]]:
    out: dict[str, list[tuple[float, AccountEvent]]] = defaultdict(list)
    for at_s, event in _planned(calls):
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


def test_every_account_starts_placed_and_its_versions_chain_in_time() -> None:
    for versions in _accounts(300).values():
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
