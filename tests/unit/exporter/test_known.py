"""Which label sets the exporter reports as 0 (pure: a store view in, label sets out)."""

from __future__ import annotations

from collectpulse.exporter.known import known_label_sets
from collectpulse.kpi.ratios import labelset
from collectpulse.store.reader import StoreView

CONTACT = {
    "tenant": "t1",
    "direction": "outbound",
    "channel": "call",
    "team": "early",
    "agent": "agent-1",
    "dialer_campaign": "dpd-30",
}


def test_a_counted_contact_series_is_known_for_every_outcome_and_nothing_else() -> None:
    counted = labelset(CONTACT, outcome="right_party")
    view = StoreView(now_s=0, partitions=(0,), totals={})
    known = known_label_sets(view, {"contact_attempts": {counted: 3.0}})["contact_attempts"]
    assert {dict(series)["outcome"] for series in known} == {
        "right_party",
        "wrong_party",
        "no_answer",
        "voicemail",
        "busy",
        "invalid_number",
    }
    assert {labelset({k: v for k, v in s if k != "outcome"}) for s in known} == {labelset(CONTACT)}


def test_no_contact_counted_means_no_contact_series() -> None:
    view = StoreView(now_s=0, partitions=(0,), totals={})
    assert known_label_sets(view, {})["contact_attempts"] == frozenset()


def test_a_device_with_visitors_shows_zero_paying_customers_and_plans() -> None:
    seen = labelset({"source": "email", "device": "mobile", "tenant": "t1"})
    paid = labelset({"source": "sms", "device": "desktop", "tenant": "t1"})
    view = StoreView(now_s=0, partitions=(0,), totals={})
    totals = {
        "landing_unique_visitors_by_device": {seen: 4.0, paid: 2.0},
        "landing_paying_customers_by_device": {paid: 1.0},
    }
    known = known_label_sets(view, totals)
    assert known["landing_paying_customers_by_device"] == {seen, paid}
    assert known["landing_installment_plans_by_device"] == {seen, paid}
    assert known_label_sets(view, {})["landing_installment_plans_by_device"] == frozenset()
