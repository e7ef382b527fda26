"""Agent credit of a payment that names no agent: the account's assignee at its time.

Catalog section 9: a payment goes to its ``agent_id``, else to the assignee of its
account at the payment's ``occurred_at``, else to ``__unassigned__``. Its account is its
``account_id``, else the customer's only open account in the payment's currency
(the allocation rule). The payment and the account are co-partitioned by customer,
so the customer's hash (read for every payment anyway) keeps, per account, a field
``as:<account_id>``: the currency, the highest version and whether it is open, the
assignee of up to ``HISTORY_SIZE`` versions ``[version, occurred_s, agent_id, team]``
and the times of the last payments credited through it.

Credit is given once, when the payment is applied, to the assignee known then:
reassignment never moves credit already given. An account version that arrives
after such a payment and would have named another assignee at the payment's time
does not re-credit it; it is counted in ``agent_credit_late`` (the one place where
arrival order shows, as the catalog allows). Trimming drops a version that repeats
its predecessor's assignee first, so a version arriving between two known ones
still finds the assignment history it belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from collectpulse.events.models import OPEN_STATUSES, AccountEvent, PaymentEvent, Topic
from collectpulse.store.context import BatchContext
from collectpulse.store.customer_state import customer, write

PREFIX = "as:"
HISTORY_SIZE = 8
"""Assignments kept per account (the catalog's "last 8 assignments")."""
PAYMENTS_KEPT = 8
"""Payment times kept per account to tell which of them a late assignment concerns."""


@dataclass
class Assignments:
    """One account's assignment history as the customer's hash keeps it."""

    currency: str = ""
    version: int = 0
    open: bool = False
    history: list[tuple[int, int, str, str]] = field(default_factory=list)
    """``(version, occurred_s, agent_id, team)`` in version order; ``""`` = unassigned."""
    paid: list[int] = field(default_factory=list)
    """Times of the latest payments credited through this account."""

    @classmethod
    def load(cls, raw: str | None) -> Assignments:
        if not raw:
            return cls()
        data: dict[str, Any] = orjson.loads(raw)
        history = [(int(v), int(s), str(a), str(t)) for v, s, a, t in data.get("h", [])]
        return cls(
            str(data.get("c", "")),
            int(data.get("v", 0)),
            bool(data.get("o", False)),
            history,
            [int(s) for s in data.get("p", [])],
        )

    def dump(self) -> str:
        data = {"c": self.currency, "v": self.version, "o": self.open, "h": self.history}
        return orjson.dumps(data | {"p": self.paid}).decode()

    def at(self, at_s: int) -> tuple[str, str]:
        """(agent_id, team) assigned at ``at_s``: the latest version at or before it."""
        best: tuple[int, int, str, str] | None = None
        for entry in self.history:
            if entry[1] <= at_s and (best is None or entry[:2] >= best[:2]):
                best = entry
        return (best[2], best[3]) if best is not None else ("", "")

    def add(self, entry: tuple[int, int, str, str]) -> None:
        if any(v == entry[0] for v, *_ in self.history):
            return
        self.history = sorted([*self.history, entry])
        while len(self.history) > HISTORY_SIZE:
            repeats = [
                i
                for i in range(1, len(self.history))
                if self.history[i][2:] == self.history[i - 1][2:]
            ]
            del self.history[repeats[0] if repeats else 0]


def on_account(ctx: BatchContext, event: AccountEvent, occurred_s: int) -> None:
    """Add the version's assignee to the history; count payments it would have re-credited."""
    state = customer(ctx, event.customer_id)
    name = PREFIX + event.account_id
    kept = Assignments.load(state.get(name))
    before = [kept.at(s) for s in kept.paid]
    kept.add((event.version, occurred_s, event.agent_id or "", event.team or ""))
    late = sum(1 for s, was in zip(kept.paid, before, strict=True) if kept.at(s) != was)
    if late:
        ctx.quality("agent_credit_late", Topic.ACCOUNT)
    if event.version > kept.version:
        kept.version, kept.open = event.version, event.status in OPEN_STATUSES
        kept.currency = event.currency
    kept.currency = kept.currency or event.currency
    write(ctx, event.customer_id, state, {name: kept.dump()})


def assignee(ctx: BatchContext, event: PaymentEvent, at_s: int) -> str:
    """The agent a payment without ``agent_id`` is credited to (``""``: unassigned)."""
    state = customer(ctx, event.customer_id)
    name = PREFIX + event.account_id if event.account_id else _only_open(state, event.currency)
    if name is None or name not in state:
        return ""
    kept = Assignments.load(state[name])
    kept.paid = sorted([*kept.paid, at_s])[-PAYMENTS_KEPT:]
    write(ctx, event.customer_id, state, {name: kept.dump()})
    return kept.at(at_s)[0]


def _only_open(state: dict[str, str], currency: str) -> str | None:
    names = [
        name
        for name, raw in state.items()
        if name.startswith(PREFIX)
        and (kept := Assignments.load(raw)).open
        and kept.currency == currency
    ]
    return names[0] if len(names) == 1 else None


__all__ = ["HISTORY_SIZE", "Assignments", "assignee", "on_account"]
