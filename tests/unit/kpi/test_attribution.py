"""Behaviour of payment attribution, landing silence and struggling customers."""

from __future__ import annotations

import pytest

from collectpulse.kpi.attribution import (
    CandidateMessage,
    Payment,
    PaymentOutcome,
    PaymentStatus,
    StrugglingCustomer,
    attribute_payment,
    landing_silence,
    landing_silence_by_campaign,
    struggling_customers,
)

DAY_S = 86_400
PAID_AT_S = 10 * DAY_S


# --- attribution -----------------------------------------------------------------


def test_the_payments_own_message_id_wins() -> None:
    clicked = CandidateMessage("m-clicked", PAID_AT_S - DAY_S, clicked_at_s=PAID_AT_S - 60)
    payment = Payment(PAID_AT_S, message_id="m-own")
    assert attribute_payment(payment, [clicked]) == "m-own"


def test_a_clicked_message_beats_a_more_recent_delivered_one() -> None:
    candidates = [
        CandidateMessage("m1", PAID_AT_S - 5 * DAY_S, clicked_at_s=PAID_AT_S - 4 * DAY_S),
        CandidateMessage("m2", PAID_AT_S - DAY_S),
    ]
    assert attribute_payment(Payment(PAID_AT_S), candidates) == "m1"


def test_the_most_recently_clicked_message_wins() -> None:
    candidates = [
        CandidateMessage("older-click", PAID_AT_S - 3 * DAY_S, clicked_at_s=PAID_AT_S - 60),
        CandidateMessage("newer-send", PAID_AT_S - DAY_S, clicked_at_s=PAID_AT_S - 3600),
    ]
    assert attribute_payment(Payment(PAID_AT_S), candidates) == "older-click"


def test_without_clicks_the_most_recently_delivered_message_wins() -> None:
    candidates = [
        CandidateMessage("m1", PAID_AT_S - 3 * DAY_S),
        CandidateMessage("m2", PAID_AT_S - DAY_S),
    ]
    assert attribute_payment(Payment(PAID_AT_S), candidates) == "m2"


def test_a_click_outside_the_window_falls_back_to_a_delivery_inside_it() -> None:
    candidates = [
        CandidateMessage("stale", PAID_AT_S - 9 * DAY_S, clicked_at_s=PAID_AT_S - 8 * DAY_S),
        CandidateMessage("recent", PAID_AT_S - 2 * DAY_S),
    ]
    assert attribute_payment(Payment(PAID_AT_S), candidates) == "recent"


def test_the_window_includes_its_boundary() -> None:
    at_boundary = CandidateMessage("edge", PAID_AT_S - 7 * DAY_S)
    just_outside = CandidateMessage("out", PAID_AT_S - 7 * DAY_S - 1)
    assert attribute_payment(Payment(PAID_AT_S), [at_boundary]) == "edge"
    assert attribute_payment(Payment(PAID_AT_S), [just_outside]) is None


def test_the_window_is_a_parameter() -> None:
    candidate = CandidateMessage("m", PAID_AT_S - 2 * DAY_S)
    assert attribute_payment(Payment(PAID_AT_S), [candidate], window_s=DAY_S) is None
    assert attribute_payment(Payment(PAID_AT_S), [candidate], window_s=3 * DAY_S) == "m"


def test_messages_delivered_or_clicked_after_the_payment_are_ignored() -> None:
    after = CandidateMessage("late", PAID_AT_S + 60, clicked_at_s=PAID_AT_S + 120)
    assert attribute_payment(Payment(PAID_AT_S), [after]) is None


def test_no_candidates_means_no_attribution() -> None:
    assert attribute_payment(Payment(PAID_AT_S), []) is None


def test_equal_times_resolve_the_same_way_in_any_order() -> None:
    a = CandidateMessage("a", PAID_AT_S - DAY_S)
    b = CandidateMessage("b", PAID_AT_S - DAY_S)
    assert attribute_payment(Payment(PAID_AT_S), [a, b]) == "b"
    assert attribute_payment(Payment(PAID_AT_S), [b, a]) == "b"


# --- landing silence -------------------------------------------------------------


def test_silence_counts_from_the_last_view_and_deliveries_after_it() -> None:
    silence = landing_silence(
        "c1", now_s=1600, last_view_at_s=1000, delivered_at_s=[900, 1100, 1500]
    )

    assert silence.silence_s == 600
    assert silence.delivered_since_last_view == 2


def test_a_campaign_never_viewed_is_silent_since_its_first_delivery() -> None:
    silence = landing_silence("c1", now_s=1000, last_view_at_s=None, delivered_at_s=[500, 200])

    assert silence.silence_s == 800
    assert silence.delivered_since_last_view == 2


def test_a_campaign_with_neither_views_nor_deliveries_has_no_silence() -> None:
    silence = landing_silence("c1", now_s=1000, last_view_at_s=None, delivered_at_s=[])
    assert silence.silence_s is None
    assert silence.delivered_since_last_view == 0


def test_silence_by_campaign_covers_campaigns_seen_on_either_side() -> None:
    result = landing_silence_by_campaign(
        now_s=1000,
        last_view_at_s={"viewed": 900, "quiet": 100},
        deliveries=[("quiet", 200), ("quiet", 300), ("unviewed", 400)],
    )

    assert sorted(result) == ["quiet", "unviewed", "viewed"]
    assert (result["quiet"].silence_s, result["quiet"].delivered_since_last_view) == (900, 2)
    assert (result["unviewed"].silence_s, result["unviewed"].delivered_since_last_view) == (600, 1)
    assert (result["viewed"].silence_s, result["viewed"].delivered_since_last_view) == (100, 0)


# --- struggling customers --------------------------------------------------------

NOW_S = 100 * DAY_S


def _attempts(
    customer: str, *statuses_and_ages: tuple[PaymentStatus, float]
) -> list[PaymentOutcome]:
    return [PaymentOutcome(customer, NOW_S - age_s, status) for status, age_s in statuses_and_ages]


def test_three_unsuccessful_attempts_without_success_make_a_customer_struggle() -> None:
    attempts = _attempts("a", ("failed", 60), ("aborted", 3600), ("failed", 7200))

    assert struggling_customers(attempts, NOW_S) == [StrugglingCustomer("a", 3, NOW_S - 60)]


def test_a_success_in_the_window_clears_the_customer() -> None:
    attempts = _attempts("b", ("failed", 60), ("failed", 120), ("failed", 180), ("succeeded", 900))
    assert struggling_customers(attempts, NOW_S) == []


def test_attempts_older_than_the_window_do_not_count() -> None:
    attempts = _attempts("d", ("failed", 60), ("failed", 120), ("failed", DAY_S))
    assert struggling_customers(attempts, NOW_S) == []


def test_fewer_failures_than_the_threshold_do_not_count() -> None:
    attempts = _attempts("c", ("failed", 60), ("aborted", 120))
    assert struggling_customers(attempts, NOW_S) == []
    assert [row.customer_id for row in struggling_customers(attempts, NOW_S, min_failures=2)] == [
        "c"
    ]


def test_struggling_customers_are_ordered_by_failures_then_id() -> None:
    three: tuple[tuple[PaymentStatus, float], ...] = (
        ("failed", 60),
        ("failed", 120),
        ("failed", 180),
    )
    attempts = [*_attempts("z", *three), *_attempts("y", *three, ("aborted", 240))]
    attempts += _attempts("x", *three)

    rows = struggling_customers(attempts, NOW_S)

    assert [(row.customer_id, row.unsuccessful_attempts) for row in rows] == [
        ("y", 4),
        ("x", 3),
        ("z", 3),
    ]


def test_no_attempts_means_no_struggling_customers() -> None:
    assert struggling_customers([], NOW_S) == []


def test_a_threshold_below_one_is_rejected() -> None:
    with pytest.raises(ValueError, match="min_failures"):
        struggling_customers([], NOW_S, min_failures=0)
