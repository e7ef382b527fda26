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

An account placed in a replayed history (before ``real_time_until_s``, the live start)
works out in real customer time instead: paid in full weeks later, paid by monthly
instalments on a plan, settled at a discount, written off after months, or left open
and charged interest monthly. So a year of history has placement cohorts whose
recovery grows with their age, and DSO and CEI over 30 and 90 days that mean something.
Live placements keep the demo's compressed minutes. A history account plans at most 13
versions up to a year ahead, so the generator holds a few events per history account
(about 2,400 in the portfolio scenario's year) until their time comes.
"""

from __future__ import annotations

import math
import random
from datetime import timedelta

from collectpulse.events.models import AccountEvent, PaymentEvent
from collectpulse.simulate.factory import Contact, EventFactory, Planned

_DPD_MIX = ((-5, 0.2), (12, 0.3), (45, 0.2), (75, 0.15), (150, 0.15))
"""(days past due at placement, share): current, 1_30, 31_60, 61_90 and 91_plus."""
_TEAMS = ("early", "late")
DAY_S = 86_400.0
REVERSED_SHARE = 0.05
"""Share of accounts paid in full whose payment is later charged back (re-opening them)."""


class AccountPlanner:
    """Plans one account's versions per agent call."""

    def __init__(
        self, make: EventFactory, seed: str, *, real_time_until_s: float | None = None
    ) -> None:
        self._make = make
        self._rng = random.Random(seed)
        self._real_until_s = real_time_until_s

    @property
    def rng(self) -> random.Random:
        """The accounts' own random generator (the rest of the stream does not see it)."""
        return self._rng

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
        plan = [self.version(at_s, contact, state, 1, "placed", balance, balance)]
        if self._real_until_s is not None and at_s < self._real_until_s:
            workout = _Workout(self, contact, state, agent, colleague)
            return plan + workout.run(at_s, balance)
        at_s += rng.uniform(30.0, 600.0)
        version = 2
        if rng.random() < 0.2:  # handed over to a colleague
            state["agent_id"] = colleague
            plan.append(self.version(at_s, contact, state, version, "assigned", balance, 0))
            at_s, version = at_s + rng.uniform(30.0, 600.0), version + 1
        outcome = rng.random()
        if outcome < 0.35:
            state["status"] = "paid_in_full"
            paid, payment = self.paid(at_s, contact, state, agent, balance)
            plan.append(paid)
            account = self.version(at_s, contact, state, version, "payment", 0, -balance)
            plan.append(account)
            if rng.random() < REVERSED_SHARE:  # a chargeback: the account re-opens
                at_s += rng.uniform(600.0, 3600.0)
                refund = self.reversal(at_s, contact, payment)
                state["status"] = "open"
                plan += [
                    refund,
                    self.version(at_s, contact, state, version + 1, "reversal", balance, balance),
                ]
        elif outcome < 0.6:
            state["status"] = "in_plan"
            plan.append(self.version(at_s, contact, state, version, "status", balance, 0))
        elif outcome < 0.65:
            state["status"] = "written_off"
            plan.append(self.version(at_s, contact, state, version, "write_off", 0, -balance))
        return plan

    def paid(
        self,
        at_s: float,
        contact: Contact,
        state: dict[str, object],
        agent: str,
        amount: int,
        plan: str = "full",
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
                "plan": plan,
            }
        )
        return (at_s, event), event

    def reversal(self, at_s: float, contact: Contact, paid: PaymentEvent) -> Planned:
        """A chargeback of ``paid``: a ``reversed`` payment of the same id and amount."""
        envelope = self._make.envelope(at_s, contact.tenant, "pay")
        return at_s, paid.model_copy(update={**envelope, "status": "reversed"})

    def version(
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


class _Workout:
    """One history account's life in real customer time, version by version."""

    def __init__(
        self,
        planner: AccountPlanner,
        contact: Contact,
        state: dict[str, object],
        agent: str,
        colleague: str,
    ) -> None:
        self._planner, self._contact, self._state = planner, contact, state
        self._agent, self._colleague = agent, colleague
        self._rng = planner.rng
        self._version_no = 1
        self._last_s = 0.0
        self._plan: list[Planned] = []

    def run(self, at_s: float, balance: int) -> list[Planned]:
        rng = self._rng
        self._last_s = at_s
        if rng.random() < 0.2:  # handed over to a colleague within days
            self._state["agent_id"] = self._agent = self._colleague
            self._step(at_s + rng.uniform(1, 10) * DAY_S, "assigned", balance, 0)
        outcome = rng.random()
        if outcome < 0.30:
            self._pay_in_full(at_s + _days(rng, 20.0), balance)
        elif outcome < 0.45:
            self._instalments(at_s + _days(rng, 7.0), balance)
        elif outcome < 0.55:
            self._settle(at_s + _days(rng, 45.0), balance)
        elif outcome < 0.63:
            self._state["status"] = "written_off"
            self._step(at_s + rng.uniform(120, 240) * DAY_S, "write_off", 0, -balance)
        elif rng.random() < 0.4:  # left open, charged 1 % interest a month for a year
            for month in range(1, 13):
                interest = max(1, balance // 100)
                balance += interest
                self._step(at_s + month * 30 * DAY_S, "charge", balance, interest)
        return self._plan

    def _pay_in_full(self, at_s: float, balance: int) -> None:
        planner, rng = self._planner, self._rng
        at_s = self._after(at_s)
        self._state["status"] = "paid_in_full"
        paid, payment = planner.paid(at_s, self._contact, self._state, self._agent, balance)
        self._plan.append(paid)
        self._step(at_s, "payment", 0, -balance)
        if rng.random() < REVERSED_SHARE:  # a chargeback weeks later re-opens the account
            at_s = self._after(at_s + rng.uniform(5, 40) * DAY_S)
            self._plan.append(planner.reversal(at_s, self._contact, payment))
            self._state["status"] = "open"
            self._step(at_s, "reversal", balance, balance)

    def _instalments(self, at_s: float, balance: int) -> None:
        """A plan of 3-6 monthly instalments; one plan in ten breaks part way (open again)."""
        rng = self._rng
        self._state["status"] = "in_plan"
        self._step(at_s, "status", balance, 0)
        count = rng.randint(3, 6)
        breaks_after = rng.randint(1, count - 1) if rng.random() < 0.1 else None
        part = max(1, balance // count)
        for n in range(1, count + 1):
            at_s += rng.uniform(27, 33) * DAY_S
            if n == breaks_after:
                self._state["status"] = "open"
                self._step(at_s, "status", balance, 0)
                return
            amount = balance if n == count else min(part, balance)
            if n == count:
                self._state["status"] = "paid_in_full"
            self._pay(at_s, amount, balance - amount, "installment")
            balance -= amount

    def _settle(self, at_s: float, balance: int) -> None:
        """A settlement: a 20-40 % discount, then the rest paid at once."""
        discount = balance * self._rng.randint(20, 40) // 100
        self._step(at_s, "discount", balance - discount, -discount)
        self._state["status"] = "settled"
        self._pay(at_s + 3600.0, balance - discount, 0, "full")

    def _pay(self, at_s: float, amount: int, after: int, plan: str) -> None:
        at_s = self._after(at_s)
        paid, _ = self._planner.paid(
            at_s, self._contact, self._state, self._agent, amount, plan=plan
        )
        self._plan.append(paid)
        self._step(at_s, "payment", after, -amount)

    def _after(self, at_s: float) -> float:
        """``at_s``, or a minute after the previous version: versions chain in time."""
        self._last_s = max(at_s, self._last_s + 60.0)
        return self._last_s

    def _step(self, at_s: float, change: str, balance: int, delta: int) -> None:
        at_s = self._after(at_s)
        self._version_no += 1
        self._plan.append(
            self._planner.version(
                at_s, self._contact, self._state, self._version_no, change, balance, delta
            )
        )


def _days(rng: random.Random, median_days: float) -> float:
    """A log-normal delay in seconds around ``median_days``."""
    return median_days * DAY_S * math.exp(0.8 * rng.gauss(0.0, 1.0))


__all__ = ["AccountPlanner"]
