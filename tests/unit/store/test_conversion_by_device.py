"""K22 conversion by device in the store's plan: the crediting view's device, either order."""

from __future__ import annotations

from tests.unit.store.test_customer_effects import (
    DAY,
    NOW,
    customer_state,
    installment_plan,
    payment,
    payments,
    total,
    touches,
)

from collectpulse.store.keys import FIELD_SEP
from collectpulse.store.plan import WritePlan
from collectpulse.store.touches import Touch, decode_touches


def paying_pairs(plan: WritePlan) -> set[tuple[str, str]]:
    """(source, device) of the ``landing_paying_customers_by_device`` HLLs c1 is added to."""
    found = set()
    for key, members in plan.pfadd.items():
        name = "landing_paying_customers_by_device"
        if name in key and members == {"c1"}:
            source, device = key.split(name)[1].split(FIELD_SEP)[1:3]
            found.add((source, device))
    return found


def view(at_s: int, source: str, device: str = "") -> Touch:
    return Touch("view", "c1", at_s, source=source, device=device)


def test_a_touch_carries_its_views_device_through_the_repartition_topic() -> None:
    _, value = view(NOW, "sms", "mobile").encode()
    assert decode_touches(b"[" + value + b"]") == [view(NOW, "sms", "mobile")]
    _, old = view(NOW, "sms").encode()
    assert b"dv" not in old, "a view without a device encodes as before"


def test_a_payment_is_credited_to_every_source_and_device_viewed_in_the_window() -> None:
    state = customer_state(
        touches(
            view(NOW - 500, "email", "mobile"),
            view(NOW - 400, "email", "desktop"),
            view(NOW - 300, "sms"),  # schema_version 1: no device
            view(NOW - 8 * DAY, "sms", "tablet"),  # before the window
            view(NOW - 5, "direct", "mobile"),  # after the payment
        )
    )
    paid = payments(payment("p1", NOW - 10), state=state)
    assert paying_pairs(paid) == {("email", "mobile"), ("email", "desktop"), ("sms", "")}


def test_a_view_arriving_after_the_payment_credits_its_device() -> None:
    paid = payments(payment("p1", NOW - 10), state={})
    assert paying_pairs(paid) == set()
    viewed = touches(view(NOW - 100, "email", "tablet"), state=customer_state(paid))
    assert paying_pairs(viewed) == {("email", "tablet")}
    again = touches(view(NOW - 100, "email", "tablet"), state=customer_state(paid, viewed))
    assert paying_pairs(again) == set(), "a repeated touch credits nothing twice"


def test_an_installment_plan_counts_once_per_source_and_device_whichever_came_first() -> None:
    def plans(plan: WritePlan, source: str, device: str) -> int:
        labels = {"source": source, "device": device, "tenant": ""}
        return total(plan, "landing_installment_plans_by_device", labels)

    made = payments(installment_plan(NOW - 10), state={})
    first = touches(view(NOW - 100, "sms", "mobile"), state=customer_state(made))
    assert plans(first, "sms", "mobile") == 1
    same_device = touches(view(NOW - 50, "sms", "mobile"), state=customer_state(made, first))
    assert plans(same_device, "sms", "mobile") == 0
    other = touches(view(NOW - 40, "sms", "desktop"), state=customer_state(made, first))
    assert plans(other, "sms", "desktop") == 1
    # the by-source counter counted the customer once, at the first view
    by_source = {"source": "sms", "tenant": ""}
    assert [total(p, "landing_installment_plans", by_source) for p in (first, other)] == [1, 0]

    viewed = customer_state(touches(view(NOW - 100, "sms", "mobile"), view(NOW - 90, "sms")))
    later = payments(installment_plan(NOW - 10), state=viewed)
    assert plans(later, "sms", "mobile") == plans(later, "sms", "") == 1
    assert total(later, "landing_installment_plans", by_source) == 1


def test_views_stored_without_a_device_read_as_the_empty_device() -> None:
    state = {"c1": {"vw": f'[[{NOW - 100},"email",""]]'}}
    paid = payments(payment("p1", NOW - 10), state=state)
    assert paying_pairs(paid) == {("email", "")}
