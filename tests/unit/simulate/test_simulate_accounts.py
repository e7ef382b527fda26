"""The simulated portfolio: consistent account versions a value test could replay."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from itertools import pairwise

from collectpulse.events.models import AccountEvent
from collectpulse.simulate.accounts import AccountPlanner
from collectpulse.simulate.factory import Contact, EventFactory
from collectpulse.simulate.scenario import Tenant

TENANT = Tenant("acme", "EUR", 60, 1000, 40_000)
START = datetime(2027, 3, 1, 9, tzinfo=UTC)


def _accounts(calls: int) -> dict[str, list[tuple[float, AccountEvent]]]:
    make = EventFactory(run_id="t", start=START, tenants=(TENANT,))
    planner = AccountPlanner(make, "seed")
    out: dict[str, list[tuple[float, AccountEvent]]] = defaultdict(list)
    for n in range(calls):
        contact = Contact(TENANT, f"c{n}", 1000 + n, struggling=False)
        for at_s, event in planner.placement(n * 10.0, contact, "agent-a", "agent-b"):
            assert isinstance(event, AccountEvent)
            out[event.account_id].append((at_s, event))
    return out


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
