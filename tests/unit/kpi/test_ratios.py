"""Behaviour of ratio arithmetic and of evaluating Ratio definitions over counter values."""

from __future__ import annotations

import math

import pytest

from collectpulse.kpi.definitions import RATIOS, ratio_by_name
from collectpulse.kpi.ratios import evaluate_all, evaluate_ratio, labelset, ratio

EMAIL = {"channel": "email", "campaign": "c1", "variant": "a", "segment": "default", "tenant": ""}


def test_ratio_divides() -> None:
    assert ratio(1, 4) == 0.25
    assert ratio(0, 3) == 0.0


@pytest.mark.parametrize("numerator", [0.0, 5.0])
def test_ratio_over_zero_is_none_never_zero_or_nan(numerator: float) -> None:
    assert ratio(numerator, 0) is None


def test_ratio_of_nan_is_none() -> None:
    assert ratio(math.nan, 2) is None
    assert ratio(1, math.nan) is None


def test_promise_kept_ratio_ignores_made_and_cancelled_promises() -> None:
    group = {"direction": "outbound", "kind": "promise_to_pay", "tenant": "t1"}
    values = {
        "promises": {
            labelset(group, status="kept"): 3,
            labelset(group, status="broken"): 1,
            labelset(group, status="cancelled"): 10,
            labelset(group, status="made"): 5,
        }
    }

    assert evaluate_ratio(ratio_by_name("promise_kept"), values) == {labelset(group): 0.75}


def test_payment_ratios_divide_by_attempts_of_every_status() -> None:
    values = {
        "payment_attempts": {
            labelset(tenant="t1", status="succeeded"): 6,
            labelset(tenant="t1", status="failed"): 3,
            labelset(tenant="t1", status="aborted"): 1,
        }
    }

    assert evaluate_ratio(ratio_by_name("payment_success"), values) == {labelset(tenant="t1"): 0.6}
    assert evaluate_ratio(ratio_by_name("payment_abort"), values) == {labelset(tenant="t1"): 0.1}


def test_message_payment_ratio_sums_over_channels_by_segment() -> None:
    sms = {**EMAIL, "channel": "sms"}
    vip = {**EMAIL, "channel": "sms", "segment": "high_balance"}
    values = {
        "messages_paid": {labelset(EMAIL): 2, labelset(sms): 3, labelset(vip): 1},
        "messages_delivered": {labelset(EMAIL): 10, labelset(sms): 40, labelset(vip): 4},
    }

    result = evaluate_ratio(ratio_by_name("message_payment"), values)

    arm = {"campaign": "c1", "variant": "a", "tenant": ""}
    assert result == {
        labelset(**arm, segment=EMAIL["segment"]): 0.1,
        labelset(**arm, segment="high_balance"): 0.25,
    }


def test_group_with_a_zero_denominator_reports_none() -> None:
    values = {
        "messages_opened": {labelset(EMAIL): 0},
        "messages_delivered": {labelset(EMAIL): 0},
        "messages_sent": {labelset(EMAIL): 4},
    }

    assert evaluate_ratio(ratio_by_name("open"), values) == {labelset(EMAIL): None}
    assert evaluate_ratio(ratio_by_name("delivery"), values) == {labelset(EMAIL): 0.0}


def test_group_with_numerator_but_no_denominator_series_reports_none() -> None:
    values = {"messages_clicked": {labelset(EMAIL): 2}}
    assert evaluate_ratio(ratio_by_name("click_to_open"), values) == {labelset(EMAIL): None}


def test_bounce_ratios_by_type_and_overall() -> None:
    values = {
        "messages_sent": {labelset(EMAIL): 20},
        # one message soft-bounced and then hard-bounced: once per type, once overall
        "messages_bounced": {
            labelset(EMAIL, bounce_type="hard"): 2,
            labelset(EMAIL, bounce_type="soft"): 3,
        },
        "messages_bounced_any": {labelset(EMAIL): 4},
    }

    results = evaluate_all(values)

    assert results["hard_bounce"] == {labelset(EMAIL): 0.1}
    assert results["soft_bounce"] == {labelset(EMAIL): 0.15}
    assert results["bounce"] == {labelset(EMAIL): 0.2}


def test_missing_optional_label_groups_under_the_empty_value() -> None:
    values = {"payment_attempts": {labelset(status="succeeded"): 1}}
    assert evaluate_ratio(ratio_by_name("payment_success"), values) == {labelset(tenant=""): 1.0}


def test_empty_window_yields_no_values_for_any_ratio() -> None:
    results = evaluate_all({})
    assert set(results) == {r.name for r in RATIOS}
    assert all(values == {} for values in results.values())


def test_labelset_is_sorted_whatever_the_argument_order() -> None:
    assert labelset({"b": "2"}, a="1") == labelset(a="1", b="2") == (("a", "1"), ("b", "2"))
