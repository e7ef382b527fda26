"""Promise cohort (K4-K6) and self-service share (K19), planned without servers: counts
land in the made time's bucket, once per promise, whatever the arrival order."""

from __future__ import annotations

from itertools import permutations
from typing import Any

import pytest
from tests.unit.store.test_customer_effects import (
    DAY,
    KEYS,
    NOW,
    P,
    customer_state,
    iso,
    payment,
    payments,
    total,
)

from collectpulse.store.fields import counter_field
from collectpulse.store.keys import FIELD_SEP
from collectpulse.store.plan import WritePlan

MADE_S = NOW - 3 * DAY
KEPT_S = NOW - DAY


def promise(event_id: str, status: str, at_s: int, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "occurred_at": iso(at_s),
        "promise_id": "pr1",
        "customer_id": "c1",
        "kind": "promise_to_pay",
        "status": status,
        "direction": "outbound",
        "amount_minor": 500,
        "currency": "EUR",
        "due_date": "2027-01-20",
        **extra,
    }


MADE = promise("e-made", "made", MADE_S, agent_id="ann", tenant="t1")
# an outcome event carries another agent and direction: the made event's count
KEPT = promise("e-kept", "kept", KEPT_S, agent_id="bob", direction="inbound")
KEPT_AGAIN = promise("e-kept-2", "kept", KEPT_S + 60)


def cohort(status: str, direction: str = "outbound", agent: str = "ann") -> str:
    labels = {
        "direction": direction,
        "kind": "promise_to_pay",
        "agent": agent,
        "tenant": "t1",
        "status": status,
    }
    return counter_field("promise_cohort", labels)


def bucket_counts(plans: list[WritePlan], at_s: int) -> dict[str, int]:
    """promise_cohort fields in the fine (60 s) bucket of ``at_s``, summed over plans."""
    key = KEYS.bucket(P, 60, at_s - at_s % 60)
    out: dict[str, int] = {}
    for plan in plans:
        for (k, name), n in plan.incr.items():
            if k == key and name.startswith("promise_cohort" + FIELD_SEP) and n:
                out[name] = out.get(name, 0) + n
    return out


def apply_one_by_one(events: tuple[dict[str, Any], ...]) -> list[WritePlan]:
    plans: list[WritePlan] = []
    for event in events:
        state = customer_state(*plans)
        plans.append(payments(event, state=state))
    return plans


@pytest.mark.parametrize("order", list(permutations((MADE, KEPT, KEPT_AGAIN))))
def test_a_kept_counts_once_in_the_made_bucket_in_any_order(
    order: tuple[dict[str, Any], ...],
) -> None:
    plans = apply_one_by_one(order)
    assert bucket_counts(plans, MADE_S) == {cohort("made"): 1, cohort("kept"): 1}
    assert bucket_counts(plans, KEPT_S) == {}
    assert bucket_counts(plans, KEPT_S + 60) == {}


def test_made_and_kept_in_one_batch_count_like_apart() -> None:
    plan = payments(KEPT, MADE, state={})
    assert bucket_counts([plan], MADE_S) == {cohort("made"): 1, cohort("kept"): 1}


def test_a_broken_promise_counts_as_made_only() -> None:
    plans = apply_one_by_one((MADE, promise("e-broken", "broken", KEPT_S)))
    assert bucket_counts(plans, MADE_S) == {cohort("made"): 1}


def test_a_maker_remembered_before_the_cohort_gets_no_cohort_kept() -> None:
    # a pa: value of three parts (made time, agent, tenant): its made was never counted
    old = {"c1": {"pa:pr1": FIELD_SEP.join((str(MADE_S), "ann", "t1"))}}
    plan = payments(KEPT, state=old)
    assert bucket_counts([plan], MADE_S) == {}
    agent_kept = {"status": "kept", "agent": "ann", "tenant": ""}
    assert total(plan, "agent_promises", agent_kept) == 1  # K7 credit unchanged


@pytest.mark.parametrize(
    ("extra", "who"),
    [
        ({"initiated_by": "scheduled", "agent_id": "ann"}, "scheduled"),
        ({"agent_id": "ann"}, "agent"),
        ({}, "self_service"),
        ({"initiated_by": "self_service", "agent_id": "ann"}, "self_service"),
    ],
)
def test_a_succeeded_payment_counts_under_who_started_it(extra: dict[str, Any], who: str) -> None:
    plan = payments(payment("p1", NOW - 60, **extra), state={})
    labels = {"initiated_by": who, "currency": "EUR", "tenant": ""}
    assert total(plan, "initiated_payments", labels) == 1
    assert total(plan, "initiated_amount_minor", labels) == 1000


def test_a_failed_payment_is_no_ones_share() -> None:
    plan = payments(payment("p1", NOW - 60, status="failed"), state={})
    assert not [name for (_, name) in plan.incr if name.startswith("initiated_")]


def test_the_agent_table_counts_the_cohort_at_the_made_time() -> None:
    plans = apply_one_by_one((KEPT, MADE))
    key = KEYS.agent_bucket(P, 60, MADE_S - MADE_S % 60)
    ledger = {
        name.split(FIELD_SEP)[0]: n
        for plan in plans
        for (k, name), n in plan.incr.items()
        if k == key
    }
    assert ledger == {
        "promises_made": 1,
        "promises_made_cohort": 1,
        "promises_kept_cohort": 1,
        "outbound_ptp_made": 1,
        "outbound_kept_cohort": 1,
    }


def daily_cohort(plans: list[WritePlan]) -> dict[str, int]:
    """The daily per-agent facts' cohort columns (K6 by team), summed over plans."""
    out: dict[str, int] = {}
    for plan in plans:
        for (_, name), n in plan.incr.items():
            if name.startswith("cohort_") and n:
                column = name.split(FIELD_SEP)[0]
                out[column] = out.get(column, 0) + n
    return out


TEAM_MADE = "cohort_made:outbound:promise_to_pay"
TEAM_KEPT = "cohort_kept:outbound:promise_to_pay"


@pytest.mark.parametrize("order", list(permutations((MADE, KEPT, KEPT_AGAIN))))
def test_the_team_columns_get_made_and_kept_once_in_any_order(
    order: tuple[dict[str, Any], ...],
) -> None:
    assert daily_cohort(apply_one_by_one(order)) == {TEAM_MADE: 1, TEAM_KEPT: 1}


def test_a_maker_stored_before_the_team_columns_books_no_team_kept() -> None:
    # six parts: made before the daily per-direction-and-kind columns, so no made there;
    # a kept booked there alone would lift the team's kept cohort ratio above 1
    parts = (str(MADE_S), "ann", "t1", "outbound", "promise_to_pay", "0")
    plans = [payments(KEPT, state={"c1": {"pa:pr1": FIELD_SEP.join(parts)}})]
    assert daily_cohort(plans) == {}
    assert bucket_counts(plans, MADE_S) == {cohort("kept"): 1}  # promise_cohort unchanged
    plans.append(payments(KEPT_AGAIN, state=customer_state(*plans)))
    assert daily_cohort(plans) == {}
    assert bucket_counts(plans, MADE_S) == {cohort("kept"): 1}  # still once
