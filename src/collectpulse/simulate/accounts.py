"""A small simulated portfolio: an account placed with an agent call, and its next versions.

Each outbound agent call is about a newly placed account of the customer: placed
with a days-past-due mix, assigned to the calling agent, sometimes reassigned to a
colleague, then paid in full, put on a plan, written off or left open. Every event
carries the account's full state and the next ``version``. Paying in full also
publishes the ``payment`` it books, naming the account (schema_version 2), and a few
of those are charged back later (a ``reversed`` payment and a ``reversal`` version that
re-opens the account). Decisions draw from a
random generator of their own, so the rest of a seeded stream does not depend on
how many draws an account takes.
"""

from __future__ import annotations

import random
from datetime import timedelta

from collectpulse.events.models import AccountEvent, PaymentEvent
from collectpulse.simulate.factory import Contact, EventFactory, Planned

_DPD_MIX = ((-5, 0.2), (12, 0.3), (45, 0.2), (75, 0.15), (150, 0.15))
"""(days past due at placement, share): current, 1_30, 31_60, 61_90 and 91_plus."""
_TEAMS = ("early", "late")
REVERSED_SHARE = 0.05
"""Share of accounts paid in full whose payment is later charged back (re-opening them)."""


class AccountPlanner:
    """Plans one account's versions per agent call."""

    def __init__(self, make: EventFactory, seed: str) -> None:
        self._make = make
        self._rng = random.Random(seed)

    def placement(self, at_s: float, contact: Contact, agent: str, colleague: str) -> list[Planned]:
        rng, make = self._rng, self._make
        dpd = rng.choices([d for d, _ in _DPD_MIX], [w for _, w in _DPD_MIX])[0]
        placed_on = make.local_time(at_s, contact.tenant).date()
        state = {
            "account_id": make.new_id("acct"),
            "customer_id": contact.customer_id,
            "currency": contact.tenant.currency,
            "due_date": placed_on - timedelta(days=dpd + rng.randint(0, 9)),
            "status": "open",
            "agent_id": agent,
            "team": rng.choice(_TEAMS),
            "segment": "retail",
        }
        balance = contact.balance_minor
        plan = [self._version(at_s, contact, state, 1, "placed", balance, balance)]
        at_s += rng.uniform(30.0, 600.0)
        version = 2
        if rng.random() < 0.2:  # handed over to a colleague
            state["agent_id"] = colleague
            plan.append(self._version(at_s, contact, state, version, "assigned", balance, 0))
            at_s, version = at_s + rng.uniform(30.0, 600.0), version + 1
        outcome = rng.random()
        if outcome < 0.35:
            state["status"] = "paid_in_full"
            paid, payment = self._paid(at_s, contact, state, agent, balance)
            plan.append(paid)
            account = self._version(at_s, contact, state, version, "payment", 0, -balance)
            plan.append(account)
            if rng.random() < REVERSED_SHARE:  # a chargeback: the account re-opens
                at_s += rng.uniform(600.0, 3600.0)
                refund = self._reversal(at_s, contact, payment)
                state["status"] = "open"
                plan += [
                    refund,
                    self._version(at_s, contact, state, version + 1, "reversal", balance, balance),
                ]
        elif outcome < 0.6:
            state["status"] = "in_plan"
            plan.append(self._version(at_s, contact, state, version, "status", balance, 0))
        elif outcome < 0.65:
            state["status"] = "written_off"
            plan.append(self._version(at_s, contact, state, version, "write_off", 0, -balance))
        return plan

    def _paid(
        self, at_s: float, contact: Contact, state: dict[str, object], agent: str, amount: int
    ) -> tuple[Planned, PaymentEvent]:
        """The ``payment`` event the account's payment version books, naming the account."""
        event = PaymentEvent.model_validate(
            {
                **self._make.envelope(at_s, contact.tenant, "pay"),
                "schema_version": 2,
                "payment_id": self._make.new_id("pay"),
                "customer_id": contact.customer_id,
                "status": "succeeded",
                "amount_minor": max(amount, 1),
                "currency": contact.tenant.currency,
                "agent_id": agent,
                "account_id": state["account_id"],
                "initiated_by": "agent",
                "plan": "full",
            }
        )
        return (at_s, event), event

    def _reversal(self, at_s: float, contact: Contact, paid: PaymentEvent) -> Planned:
        """A chargeback of ``paid``: a ``reversed`` payment of the same id and amount."""
        envelope = self._make.envelope(at_s, contact.tenant, "pay")
        return at_s, paid.model_copy(update={**envelope, "status": "reversed"})

    def _version(
        self,
        at_s: float,
        contact: Contact,
        state: dict[str, object],
        version: int,
        change: str,
        balance: int,
        delta: int,
    ) -> Planned:
        envelope = self._make.envelope(at_s, contact.tenant, "acc")
        event = AccountEvent.model_validate(
            {
                **envelope,
                **state,
                "change": change,
                "version": version,
                "balance_minor": balance,
                "delta_minor": delta,
            }
        )
        return at_s, event


__all__ = ["AccountPlanner"]
